#!/usr/bin/env bash
# Reading-published -> stored-and-queryable latency at a fixed rate, against our service on fresh servers.
#   bench/latency.sh RATE SECONDS     (needs PEERS, RES, PROBE_DLL and the consumer.sh variables; see run.sh)
# Prints the probe's JSON line (LatencyProbe.cs).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
RATE="${1:-2000}"
SECS="${2:-30}"
trap 'stop_service' EXIT
"$PEERS/start-services.sh" --fresh 2>&1 | sed 's/^/    /' >&2
reset_db
start_service bench-latency 60 || die "service did not subscribe (log: $RES/service-bench-latency.log)"
timeout $((SECS + 180)) dotnet "${PROBE_DLL:?}" latency --mqtt "$MQTT_HOST:$MQTT_PORT" --influx "$INFLUX_URL" --db "$DB" \
  --rate "$RATE" --seconds "$SECS" --poll-ms "${POLL_MS:-20}" --flip-every "${FLIP_EVERY:-10}" --stagger "${STAGGER:-0}" --warmup "${WARMUP_S:-0}"
# How long the broker took to acknowledge our alert publishes meanwhile (histogram, seconds), before the service stops
curl -s --max-time 5 "http://127.0.0.1:${SVC_HTTP_PORT:-28091}/metrics" | grep '^telemetry_alert_publish_duration_seconds' >&2 || true
