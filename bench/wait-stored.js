#!/usr/bin/env node
// Waits until our service says it has stored N readings (telemetry_readings_stored_total on /metrics, counted once
// InfluxDB has accepted each write) and prints the time it saw N in Unix milliseconds (publish.sh). Polls over one
// kept-alive connection every 100 ms, and every POLL_MS from 90 % of N on, so the end is seen within POLL_MS at ~20
// requests a second (each costs the service ~0.5 ms of CPU). Cheaper than the harness's SELECT count() every 250 ms,
// which at 1M points cost influxd ~0.1-0.2 CPU-s a query, and finer than a curl per poll. Prints "polling" once the
// service has answered (the caller starts the publisher then: the endpoint's first request, compiled on the spot,
// costs the service ~0.15 CPU-s). Exits 1 with "stalled" or "timeout" and the last count when the counter stops
// growing for STALL_MS or the whole wait passes TIMEOUT_MS.
//   node wait-stored.js URL N [POLL_MS=10] [STALL_MS=60000] [TIMEOUT_MS=900000]
'use strict';
const http = require('http');

const [url, nArg, pollArg, stallArg, timeoutArg] = process.argv.slice(2);
const n = Number(nArg);
const pollMs = Number(pollArg ?? 10);
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
    if (count >= 0 && last < 0) console.log('polling');
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
    await new Promise((r) => setTimeout(r, count >= 0.9 * n ? pollMs : 100));
  }
})();
