#!/usr/bin/env bash
# Fixed-rate mode: what a reading costs at a steady trickle. The harness's publisher sends N readings at RATE/s
# (below what the box can carry, so every process keeps up) to our service on fresh servers; prints CPU seconds per
# million readings of our service, mosquitto, influxd and the publisher itself, counted from the first publish until
# our service has stored all N. A RATE above what the box carries publishes at full speed (as run.sh's peers phase
# does) and shows what a publishing-mode run costs each process; with those, the line's last figure is the fastest
# any consumer could go while the other three do that much work per reading: all cores, minus theirs.
#   bench/rate.sh N RATE      (needs PEERS, RES and the consumer.sh variables; see run.sh)
# Prints one line: "rate-ours N RATE achieved_rate ours_cpu_s_per_1M broker_cpu_s_per_1M db_cpu_s_per_1M stored
# publisher_cpu_s_per_1M ceiling_readings_s"
set -euo pipefail
source "$(dirname "$0")/lib.sh"
N="${1:?usage: rate.sh N RATE}"
RATE="${2:?usage: rate.sh N RATE}"
TIMEOUT_S="${RATE_TIMEOUT_S:-$((N / RATE + 120))}"
trap 'stop_service' EXIT
fresh_servers
dir="$("$PEERS/gen-load.sh" "$N")"
fresh_service_log bench-rate
start_service bench-rate 60 || die "service did not subscribe (log: $RES/service-bench-rate.log)"
s0="$(cpu_ticks "$SVC_PID")"; b0="$(cpu_ticks "$BROKER_PID")"; d0="$(cpu_ticks "$DB_PID")"
children_cpu_s "$RES/rate-pub.cpu" node "$PEERS/pub.js" "$dir/messages.tsv" --url "mqtt://$MQTT_HOST:$MQTT_PORT" --qos 1 --window "${PUB_WINDOW:-1000}" \
  --rate "$RATE" --timeout "$TIMEOUT_S" >"$RES/rate-pub.json" || die "publisher failed: $(cat "$RES/rate-pub.json")"
deadline=$(($(now_ms) + 120000))
while (($(stored_metric) < N)) && (($(now_ms) < deadline)); do sleep 0.1; done
stored="$(stored_metric)"
s1="$(cpu_ticks "$SVC_PID")"; b1="$(cpu_ticks "$BROKER_PID")"; d1="$(cpu_ticks "$DB_PID")"
achieved="$(grep -o '"rate_msg_s":[0-9]*' "$RES/rate-pub.json" | cut -d: -f2)"
pub_s="$(cat "$RES/rate-pub.cpu")"
awk -v n="$N" -v r="$RATE" -v a="${achieved:-0}" -v s=$((s1 - s0)) -v b=$((b1 - b0)) -v d=$((d1 - d0)) -v hz="$(getconf CLK_TCK)" -v st="$stored" \
  -v p="$pub_s" -v cores="$(nproc)" \
  'BEGIN { f = 1e6 / n / hz; others = (b + d) / hz + p
    printf "rate-ours %d %d %d %.1f %.1f %.1f %d %.1f %.0f\n", n, r, a, s * f, b * f, d * f, st, p * 1e6 / n, (others > 0 ? cores * n / others : 0) }'
