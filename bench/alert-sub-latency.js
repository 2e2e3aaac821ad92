#!/usr/bin/env node
// Alert latency as an independent mosquitto_sub saw it (latency.sh): reads lines of
// "<unix seconds with nanoseconds> <event JSON>" and, for each ch4-lel event that is not a repeat, takes arrival minus
// the reading's ts (the probe sets ts to the publish time, nudged forward by at most a few ms). Prints one line:
// events, p50, p99 and max in ms, and the max of each 2-second slice from the first event (the probe's slicing).
// Node, not Python: the peers harness already needs Node, and nothing else.
'use strict';
const fs = require('fs');

const lat = [];
for (const line of fs.readFileSync(process.argv[2], 'utf8').split('\n')) {
  const space = line.indexOf(' ');
  const body = line.slice(space + 1);
  if (space < 0 || !body.startsWith('{')) continue; // a retained state's removal (empty payload)
  const ev = JSON.parse(body);
  if (ev.rule !== 'ch4-lel' || 'repeat' in ev) continue;
  const ts = Date.parse(ev.ts) / 1000;
  lat.push([ts, (parseFloat(line.slice(0, space)) - ts) * 1000]);
}
if (lat.length === 0) {
  console.log('alert-sub: no ch4-lel events');
  process.exit(1);
}
const values = lat.map(([, v]) => v).sort((a, b) => a - b);
const pct = (q) => values[Math.min(values.length - 1, Math.ceil(q * values.length) - 1)];
const first = Math.min(...lat.map(([t]) => t));
const slices = new Map();
for (const [t, v] of lat) {
  const k = Math.floor((t - first) / 2);
  slices.set(k, Math.max(slices.get(k) ?? 0, v));
}
const perSlice = [...slices.keys()].sort((a, b) => a - b).map((k) => Math.round(slices.get(k)));
console.log(`alert-sub: events ${values.length} p50 ${pct(0.5).toFixed(0)} ms p99 ${pct(0.99).toFixed(0)} ms ` +
  `max ${values[values.length - 1].toFixed(0)} ms; max per 2 s: [${perSlice.join(', ')}]`);
