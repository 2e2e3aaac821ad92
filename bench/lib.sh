# shellcheck shell=bash
# Shared by bench/run.sh, bench/backlog.sh and bench/latency.sh: the peers harness's lib.sh (ports, paths,
# influx_count, cpu_ticks, wait_for_subscription, ...) plus starting and stopping our service by its pid.
# Expects PEERS (a runnable copy of ../shared/peers, see run.sh) and the service variables of consumer.sh.
# shellcheck source=/dev/null
source "$PEERS/lib.sh"
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SVC_PID=""

# fresh_service_log CLIENT_ID -> empties $RES/service-CLIENT_ID.log. Each script run calls it once before its first
# start: in the storm the service logs a line per alert event (~250 MB per 1M readings), and appending across runs
# had grown one log to 8.7 GB.
fresh_service_log() {
  : >"$RES/service-$1.log"
}

# start_service CLIENT_ID TIMEOUT_S -> starts consumer.sh in the background, waits (bounded) until the broker
# log shows CLIENT_ID subscribed to tunnels/#; SVC_PID is its pid. Its output is appended to $RES/service-CLIENT_ID.log.
start_service() {
  local cid="$1" timeout_s="$2" off
  off="$(mosq_log_lines)"
  BENCH_MQTT_HOST="$MQTT_HOST" BENCH_MQTT_PORT="$MQTT_PORT" BENCH_INFLUX_URL="$INFLUX_URL" BENCH_DB="$DB" SVC_CLIENT_ID="$cid" \
    setsid "$BENCH_DIR/consumer.sh" </dev/null >>"$RES/service-$cid.log" 2>&1 &
  SVC_PID=$!
  wait_for_subscription "$off" 'tunnels/#' "$timeout_s" "$cid"
}

# fresh_servers -> mosquitto and influxd started afresh by the harness and the benchmark database empty; BROKER_PID and
# DB_PID are theirs (0 when not found), for counting their CPU
fresh_servers() {
  "$PEERS/start-services.sh" --fresh 2>&1 | sed 's/^/    /' >&2
  reset_db
  BROKER_PID="$(pid_alive "$PID_DIR/mosquitto.pid" mosquitto || echo 0)"
  DB_PID="$(pid_alive "$PID_DIR/influxd.pid" influxd || echo 0)"
}

# stop_service -> SIGTERM (the service drains and exits 0), bounded wait, then KILL.
stop_service() {
  local i
  [[ -n "$SVC_PID" ]] || return 0
  kill -TERM "$SVC_PID" 2>/dev/null || true
  for ((i = 0; i < 400; i++)); do kill -0 "$SVC_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$SVC_PID" 2>/dev/null || true
  wait "$SVC_PID" 2>/dev/null || true
  SVC_PID=""
}

# stored_metric -> readings our service has stored since it started (/metrics), 0 while it is not answering
stored_metric() {
  curl -s --max-time 5 "http://127.0.0.1:${SVC_HTTP_PORT:-28091}/metrics" 2>/dev/null |
    awk '/^telemetry_readings_stored_total / { v = $2 } END { printf "%d", v + 0 }'
}

# alert_events_sdil -> "S/D/I/L" from our service's /metrics: alert events the MQTT alert channel replaced by a newer
# event of the same alert while it was behind (S), and events dropped because 10,000 waited: by MQTT (D), by the
# InfluxDB alert channel (I) and by the log channel (L)
alert_events_sdil() {
  curl -s --max-time 5 "http://127.0.0.1:${SVC_HTTP_PORT:-28091}/metrics" | awk '
    /^telemetry_alert_channel_events_total\{channel="mqtt",outcome="superseded"\}/ { s = $2 }
    /^telemetry_alert_channel_events_total\{channel="mqtt",outcome="dropped"\}/ { d = $2 }
    /^telemetry_alert_channel_events_total\{channel="influxdb",outcome="dropped"\}/ { i = $2 }
    /^telemetry_alert_channel_events_total\{channel="log",outcome="dropped"\}/ { l = $2 }
    END { printf "%d/%d/%d/%d", s, d, i, l }'
}

# broker_dropped -> $SYS/broker/publish/messages/dropped (absent = 0, mosquitto publishes it once non-zero)
broker_dropped() {
  local v
  v="$(timeout 5 mosquitto_sub -h "$MQTT_HOST" -p "$MQTT_PORT" -t '$SYS/broker/publish/messages/dropped' -C 1 -W 3 2>/dev/null || true)"
  echo "${v:-0}"
}

# publish_load N OUT_JSON -> the harness's publisher (pub.js) publishes the N-reading load, QoS 1
publish_load() {
  local dir
  dir="$("$PEERS/gen-load.sh" "$1")"
  node "$PEERS/pub.js" "$dir/messages.tsv" --url "mqtt://$MQTT_HOST:$MQTT_PORT" --qos 1 \
    --window "${PUB_WINDOW:-1000}" --timeout 900 >"$2"
}

# children_cpu_s OUT CMD... -> runs CMD and writes the CPU seconds it used (user + system) to OUT; returns CMD's status.
# From the shell's own /proc record of the children it waited for (cutime + cstime), so nothing to install.
children_cpu_s() {
  local out="$1"
  shift
  bash -c '"$@"; rc=$?; sed "s/^.*) //" /proc/$$/stat | awk -v hz="$(getconf CLK_TCK)" "{ print (\$14 + \$15) / hz }" >"$0"; exit $rc' "$out" "$@"
}
