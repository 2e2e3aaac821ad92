#!/usr/bin/env bash
# Runs the ingestion service in the foreground as the peers harness's CONSUMER_CMD: configures it through the
# SPEC §9 environment variables from the harness's BENCH_* variables, with a fresh spool (a stale spool would be
# forwarded into the freshly reset database and spoil the count), then execs it so the harness measures its pid.
#   SVC_DLL        the built Telemetry.Ingestion.dll (Release)
#   SPOOL_DIR      spool directory (wiped unless KEEP_SPOOL=1)
#   SVC_HTTP_PORT  HTTP endpoints (default 28091: the harness's ports are 288xx/280xx)
#   ALERT_STATE    alert state file (default: beside the spool, wiped with it)
#   SEED_STATE     a state file to start from instead (bench/latency.sh's SEED_SENSORS writes one)
set -euo pipefail
: "${SVC_DLL:?}" "${SPOOL_DIR:?}" "${BENCH_MQTT_HOST:?}" "${BENCH_MQTT_PORT:?}" "${BENCH_INFLUX_URL:?}" "${BENCH_DB:?}"
ALERT_STATE="${ALERT_STATE:-$SPOOL_DIR.alerts-state.json}"
if [[ "${KEEP_SPOOL:-0}" != 1 ]]; then rm -rf "$SPOOL_DIR" "$ALERT_STATE" "$ALERT_STATE.journal"; fi
mkdir -p "$SPOOL_DIR"
if [[ -n "${SEED_STATE:-}" ]]; then cp "$SEED_STATE" "$ALERT_STATE"; fi
export DOTNET_ENVIRONMENT=Production
export Telemetry__Mqtt__Host="$BENCH_MQTT_HOST"
export Telemetry__Mqtt__Port="$BENCH_MQTT_PORT"
export Telemetry__Mqtt__TopicRoot=tunnels
export Telemetry__Mqtt__ClientId="${SVC_CLIENT_ID:-tunnel-telemetry-bench}"
export Telemetry__Influx__Url="$BENCH_INFLUX_URL"
export Telemetry__Influx__ApiVersion=1
export Telemetry__Influx__Database="$BENCH_DB"
# InfluxDB on loopback: request compression would only cost both sides CPU (the product default follows SPEC §8: gzip)
export Telemetry__Influx__Gzip="${Telemetry__Influx__Gzip:-false}"
export Telemetry__Spool__Directory="$SPOOL_DIR"
export Telemetry__Alerts__StateFile="$ALERT_STATE"
export urls="http://127.0.0.1:${SVC_HTTP_PORT:-28091}"
exec dotnet "$SVC_DLL"
