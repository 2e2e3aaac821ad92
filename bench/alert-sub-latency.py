#!/usr/bin/env python3
"""Alert latency as an independent mosquitto_sub saw it (latency.sh with ALERT_SUB=1).

Reads lines of "<unix seconds with nanoseconds> <event JSON>" and, for each ch4-lel event that is not a repeat,
takes arrival minus the reading's ts (the probe sets ts to the publish time, nudged forward by at most a few ms).
Prints one line: events, p50, p99 and max in ms, and the max of each 2-second slice from the first event, the same
slicing as the probe's alert_max_ms_per_2s.
"""
import json
import math
import sys
from datetime import datetime

lat = []
for line in open(sys.argv[1], encoding="utf-8"):
    stamp, _, body = line.strip().partition(" ")
    if not body.startswith("{"):
        continue  # a retained state's removal (empty payload)
    ev = json.loads(body)
    if ev.get("rule") != "ch4-lel" or "repeat" in ev:
        continue
    ts = datetime.fromisoformat(ev["ts"].replace("Z", "+00:00")).timestamp()
    lat.append((ts, (float(stamp) - ts) * 1000))
if not lat:
    print("alert-sub: no ch4-lel events")
    sys.exit(1)
values = sorted(v for _, v in lat)
def pct(q):
    return values[min(len(values) - 1, math.ceil(q * len(values)) - 1)]
first = min(t for t, _ in lat)
slices = {}
for t, v in lat:
    k = int((t - first) // 2)
    slices[k] = max(slices.get(k, 0), v)
print("alert-sub: events %d p50 %.0f ms p99 %.0f ms max %.0f ms; max per 2 s: %s" % (
    len(values), pct(0.5), pct(0.99), values[-1], [round(slices[k]) for k in sorted(slices)]))
