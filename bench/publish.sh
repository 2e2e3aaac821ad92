#!/usr/bin/env bash
# Publishing-while-consuming, timed the way the broker-alone limit is: the harness's publisher sends N readings at full
# speed (QoS 1, the same load and window as its phases) to our service on fresh servers, timed from the first publish
# until the service's own counter says InfluxDB has accepted all N (wait-stored.js, every 10 ms near the end), then checked once
# with the harness's SELECT count(). The harness's phase instead polls that count every 250 ms throughout, and at 1M
# points each query costs influxd ~0.1-0.2 CPU-s (7 CPU-s of a 1M run) on the two cores everything else shares;
# broker-node's mosquitto_sub just stops at N. run.sh reports both.
#   bench/publish.sh N      (needs PEERS, RES and the consumer.sh variables; see run.sh)
# Prints one line: "publish-ours N seconds rate lost peak_rss_kb cpu_s broker_dropped S/D/I/L broker_cpu_s/db_cpu_s"
# (S/D/I/L: alert_events_sdil in lib.sh; the CPU figures from the first publish to the end)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
N="${1:?usage: publish.sh N}"
TIMEOUT_S="${PUBLISH_TIMEOUT_S:-900}"
trap 'stop_service' EXIT
fresh_servers
HZ="$(getconf CLK_TCK)"
cid="bench-publish"
fresh_service_log "$cid"
start_service "$cid" 60 || die "service did not subscribe (log: $RES/service-$cid.log)"
drop0="$(broker_dropped)"
node "$BENCH_DIR/wait-stored.js" "http://127.0.0.1:${SVC_HTTP_PORT:-28091}/metrics" "$N" 10 60000 $((TIMEOUT_S * 1000)) \
  >"$RES/publish-wait.out" &
wait_pid=$!
# the poller's start and the endpoint's first answer before the first publish, not inside the timed run
for ((i = 0; i < 100; i++)); do grep -q '^polling$' "$RES/publish-wait.out" && break; sleep 0.1; done
s0="$(cpu_ticks "$SVC_PID")"; b0="$(cpu_ticks "$BROKER_PID")"; d0="$(cpu_ticks "$DB_PID")"
publish_load "$N" "$RES/publish-pub.json" || log "publisher failed: $(cat "$RES/publish-pub.json")"
wait "$wait_pid" || log "wait-stored: $(cat "$RES/publish-wait.out")"
s1="$(cpu_ticks "$SVC_PID")"; b1="$(cpu_ticks "$BROKER_PID")"; d1="$(cpu_ticks "$DB_PID")"
t_end="$(grep -xE '[0-9]+' "$RES/publish-wait.out" || echo 0)"
t_first="$(jq -r '.first_publish_ms // 0' "$RES/publish-pub.json")"
count="$(influx_count)"
hwm="$(vm_kb "$SVC_PID" VmHWM)"
alert_events="$(alert_events_sdil)"
stop_service
((t_end > 0 && t_first > 0)) || die "no end or no first publish (wait: $(cat "$RES/publish-wait.out"), publisher: $(cat "$RES/publish-pub.json"))"
secs="$(awk -v a="$t_first" -v b="$t_end" 'BEGIN{printf "%.3f", (b-a)/1000}')"
awk -v n="$N" -v c="$count" -v s="$secs" -v hwm="$hwm" -v k=$((s1 - s0)) -v b=$((b1 - b0)) -v d=$((d1 - d0)) -v hz="$HZ" \
  -v dropped=$(($(broker_dropped) - drop0)) -v ae="$alert_events" \
  'BEGIN { printf "publish-ours %d %s %d %d %s %.2f %d %s %.1f/%.1f\n", n, s, (s > 0) ? c / s : 0, n - c, hwm, k / hz, dropped, ae, b / hz, d / hz }'
