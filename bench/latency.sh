#!/usr/bin/env bash
# Reading-published -> stored-and-queryable latency at a fixed rate, against our service on fresh servers.
#   bench/latency.sh RATE SECONDS     (needs PEERS, RES, PROBE_DLL and the consumer.sh variables; see run.sh)
# Prints the probe's JSON line (LatencyProbe.cs).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
RATE="${1:-2000}"
SECS="${2:-30}"
trap 'stop_service' EXIT
fresh_servers
# SEED_SENSORS=N: the service starts from the alert state of N more gas sensors that have run for hours (full 15-minute
# and 8-hour windows; bench/Telemetry.Benchmarks/WarmState.cs), as after a shift on a large site: what its snapshots cost.
if [[ "${SEED_SENSORS:-0}" -gt 0 ]]; then
  export SEED_STATE="$RES/seed-state.json"
  dotnet "${PROBE_DLL:?}" seed-state --sensors "$SEED_SENSORS" --out "$SEED_STATE"
fi
fresh_service_log bench-latency
start_service bench-latency 60 || die "service did not subscribe (log: $RES/service-bench-latency.log)"
# An independent mosquitto_sub also receives the alerts, stamping each on arrival (ALERT_SUB=0: not), so a slow alert
# can be placed on either side of the broker's delivery: the probe's own receive path (a .NET client that also
# publishes 2,000 readings/s; it stalled alone for up to ~1 s, ninth session), or the broker and everything before it.
SUB_PID=""
if [[ "${ALERT_SUB:-1}" == 1 ]]; then
  : >"$RES/latency-alert-sub.log"
  mosquitto_sub -h "$MQTT_HOST" -p "$MQTT_PORT" -q 1 -i "latency-sub-$$" -t 'alerts/lat/#' -F '%U %p' >"$RES/latency-alert-sub.log" 2>&1 &
  SUB_PID=$!
  trap 'kill "$SUB_PID" 2>/dev/null || true; stop_service' EXIT
fi
timeout $((SECS + 180)) dotnet "${PROBE_DLL:?}" latency --mqtt "$MQTT_HOST:$MQTT_PORT" --influx "$INFLUX_URL" --db "$DB" \
  --rate "$RATE" --seconds "$SECS" --poll-ms "${POLL_MS:-20}" --flip-every "${FLIP_EVERY:-10}" --stagger "${STAGGER:-0}" --warmup "${WARMUP_S:-0}"
if [[ -n "$SUB_PID" ]]; then
  kill "$SUB_PID" 2>/dev/null || true
  wait "$SUB_PID" 2>/dev/null || true
  node "$(dirname "$0")/alert-sub-latency.js" "$RES/latency-alert-sub.log" >&2 || true
fi
# How long the broker took to acknowledge our alert publishes meanwhile (histogram, seconds), before the service stops
curl -s --max-time 5 "http://127.0.0.1:${SVC_HTTP_PORT:-28091}/metrics" | grep '^telemetry_alert_publish_duration_seconds' >&2 || true
