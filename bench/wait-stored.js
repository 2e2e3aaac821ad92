#!/usr/bin/env node
// Waits until our service says it has stored N readings (telemetry_readings_stored_total on /metrics, counted once
// InfluxDB has accepted each write), polling every POLL_MS over one kept-alive connection, and prints the time it saw
// N in Unix milliseconds (publish.sh). Cheaper than the harness's SELECT count() every 250 ms, which at 1M points cost
// influxd ~0.1-0.2 CPU-s a query, and finer than a curl per poll. Exits 1 with "stalled" or "timeout" and the last
// count when the counter stops growing for STALL_MS or the whole wait passes TIMEOUT_MS.
//   node wait-stored.js URL N [POLL_MS=20] [STALL_MS=60000] [TIMEOUT_MS=900000]
'use strict';
const http = require('http');

const [url, nArg, pollArg, stallArg, timeoutArg] = process.argv.slice(2);
const n = Number(nArg);
const pollMs = Number(pollArg ?? 20);
const stallMs = Number(stallArg ?? 60000);
const timeoutMs = Number(timeoutArg ?? 900000);
if (!url || !(n > 0)) {
  console.error('usage: wait-stored.js URL N [POLL_MS] [STALL_MS] [TIMEOUT_MS]');
  process.exit(2);
}
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const start = Date.now();
let last = -1;
let lastChange = start;

function stored() {
  return new Promise((resolve) => {
    const req = http.get(url, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => {
        const m = /^telemetry_readings_stored_total (\S+)$/m.exec(body);
        resolve(m ? Number(m[1]) : 0);
      });
    });
    req.on('error', () => resolve(-1)); // not answering yet, or restarting
    req.setTimeout(5000, () => req.destroy());
  });
}

(async () => {
  for (;;) {
    const count = await stored();
    const now = Date.now();
    if (count >= n) {
      console.log(now);
      process.exit(0);
    }
    if (count !== last) {
      last = count;
      lastChange = now;
    }
    if (now - lastChange > stallMs) {
      console.log(`stalled ${last}`);
      process.exit(1);
    }
    if (now - start > timeoutMs) {
      console.log(`timeout ${last}`);
      process.exit(1);
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
})();
