#!/usr/bin/env bash
# Drain-a-backlog mode: N readings queued by the broker for a stopped consumer's persistent session, then the
# consumer started and timed until it has all N. Two consumers on the same backlog, fresh servers for each:
#   sub   the limit: mosquitto_sub -c -i ID -q 1 (persistent session) counting what it receives
#   ours  our service (consumer.sh): started once to create its session, stopped, N published, started again,
#         timed from its start until SELECT count(*) == N
#   bench/backlog.sh N sub|ours      (needs PEERS, RES and the consumer.sh variables; see run.sh)
# Prints one line: "MODE N seconds rate lost peak_rss_kb cpu_s broker_dropped S/D/I/L broker_cpu_s/db_cpu_s" (S/D/I/L,
# from /metrics: alert events our MQTT alert channel replaced by a newer event of the same alert while it was behind
# (S), and events dropped because 10,000 waited: by MQTT (D), by the InfluxDB alert channel (I) and by the log channel
# (L); "-" for the plain subscriber. The last field: CPU seconds mosquitto and influxd used during the drain, which
# share the machine's cores with the consumer)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
N="${1:?usage: backlog.sh N sub|ours}"
MODE="${2:?usage: backlog.sh N sub|ours}"
TIMEOUT_S="${BACKLOG_TIMEOUT_S:-900}"
STALL_S="${STALL_S:-60}"
# the whole backlog must fit in the broker's per-client queue, or mosquitto drops the excess
export MOSQ_MAX_QUEUED=$((N * 2))
trap 'stop_service' EXIT
fresh_servers
HZ="$(getconf CLK_TCK)"
# servers_cpu B0 D0 -> "broker_s/db_s" used since the tick counts B0 and D0
servers_cpu() {
  awk -v b="$(($(cpu_ticks "$BROKER_PID") - $1))" -v d="$(($(cpu_ticks "$DB_PID") - $2))" -v hz="$HZ" 'BEGIN{printf "%.1f/%.1f", b/hz, d/hz}'
}

case "$MODE" in
sub)
  cid="bench-backlog-sub-$$"
  off="$(mosq_log_lines)"
  timeout 30 mosquitto_sub -h "$MQTT_HOST" -p "$MQTT_PORT" -i "$cid" -c -q 1 -t 'tunnels/#' >/dev/null &
  sp=$!
  wait_for_subscription "$off" 'tunnels/#' 10 "$cid" || die "mosquitto_sub did not subscribe"
  kill -TERM "$sp" 2>/dev/null; wait "$sp" 2>/dev/null || true
  drop0="$(broker_dropped)"
  publish_load "$N" "$RES/backlog-sub-pub.json"
  t0="$(now_ms)"; b0="$(cpu_ticks "$BROKER_PID")"; d0="$(cpu_ticks "$DB_PID")"
  got="$(timeout "$TIMEOUT_S" mosquitto_sub -h "$MQTT_HOST" -p "$MQTT_PORT" -i "$cid" -c -q 1 -t 'tunnels/#' -C "$N" | wc -l)"
  t1="$(now_ms)"
  secs="$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", (b-a)/1000}')"
  echo "backlog-sub $N $secs $(awk -v n="$got" -v s="$secs" 'BEGIN{printf "%d", n/s}') $((N - got)) - - $(($(broker_dropped) - drop0)) - $(servers_cpu "$b0" "$d0")"
  ;;
ours)
  cid="bench-backlog-ours"
  fresh_service_log "$cid"
  start_service "$cid" 60 || die "service did not subscribe (log: $RES/service-$cid.log)"
  stop_service
  drop0="$(broker_dropped)"
  publish_load "$N" "$RES/backlog-ours-pub.json"
  [[ "$(influx_count)" == 0 ]] || die "readings stored while the service was stopped"
  t0="$(now_ms)"; b0="$(cpu_ticks "$BROKER_PID")"; d0="$(cpu_ticks "$DB_PID")"
  start_service "$cid" 60 || log "service did not log its subscription (draining anyway)"
  # Progress comes from the service's own counter of readings InfluxDB accepted (cheap), and the end from the database:
  # the drain is over when SELECT count() says N. Counting in the database every 250 ms throughout (BACKLOG_POLL=db,
  # the harness's way) cost influxd up to 0.34 CPU-s per query at 1M points, taken from the cores the drain runs on.
  count=0; last=0; t_change="$t0"; t_last="$t0"; poll="${BACKLOG_POLL:-metric}"
  while :; do
    sleep 0.25
    now="$(now_ms)"
    if [[ "$poll" == metric ]]; then
      count="$(stored_metric)"
      ((count >= N)) && poll=db
    fi
    if [[ "$poll" == db ]]; then
      count="$(influx_count)"
      if ((count >= N)); then t_last="$now"; break; fi
    fi
    if ((count != last)); then last="$count"; t_change="$now"; t_last="$now"; fi
    if ((now - t_change > STALL_S * 1000)); then log "backlog: no progress for ${STALL_S}s, count=$count of $N"; break; fi
    if ((now - t0 > TIMEOUT_S * 1000)); then log "backlog: timeout, count=$count of $N"; break; fi
  done
  count="$(influx_count)"
  servers="$(servers_cpu "$b0" "$d0")"
  hwm="$(vm_kb "$SVC_PID" VmHWM)"
  cpu="$(awk -v t="$(cpu_ticks "$SVC_PID")" -v hz="$HZ" 'BEGIN{printf "%.2f", t/hz}')"
  alert_dropped="$(alert_events_sdil)"
  stop_service
  secs="$(awk -v a="$t0" -v b="$t_last" 'BEGIN{printf "%.3f", (b-a)/1000}')"
  echo "backlog-ours $N $secs $(awk -v n="$count" -v s="$secs" 'BEGIN{printf "%d", (s>0)?n/s:0}') $((N - count)) $hwm $cpu $(($(broker_dropped) - drop0)) $alert_dropped $servers"
  ;;
*) die "mode must be sub or ours" ;;
esac
