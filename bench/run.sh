#!/usr/bin/env bash
# End-to-end benchmark of the ingestion service against the machine's limits and the Node-RED peer, in one run,
# on loopback (issue 7). Prints figures; it is not a test. Uses the peers harness (../shared/peers, read-only:
# a runnable copy is made under BENCH_TMP) for the servers, the load, the publisher and the peer.
#
#   bench/run.sh [--n "100000 1000000"] [--repeat 3] [--repeat-large 1] [--large-from 1000000]
#                [--phases "peers publish backlog latency"] [--rate 2000] [--latency-s 30] [--load storm|calm] [--no-build]
#   bench/run.sh --summarize ROWS.tsv...    medians and ratios of earlier runs' rows (e.g. a 100k and a 1M run)
#
#   peers    harness phases broker-node broker-c db nodered-batch and our service as CONSUMER_CMD (publish while
#            consuming, QoS 1, durable ack), HARNESS_PHASES to change
#   publish  ours publishing while consuming again, timed as broker-node is: from the first publish until our service
#            has stored N (its own counter, then one SELECT count() to confirm), without the harness's count() every
#            250 ms, which costs influxd ~7 CPU-s of a 1M run on the shared cores (publish.sh)
#   backlog  drain N queued readings: a plain persistent mosquitto_sub (the limit), then our service (backlog.sh)
#   latency  published -> stored-and-queryable p50/p99 at a fixed rate (latency.sh)
# --repeat runs of each phase for N < --large-from, --repeat-large for larger N; medians are reported.
# --load (or BENCH_LOAD): storm, the harness's own load (co_ppm uniform in 0-50 around the 30 ppm amber level and
#          o2_pct down to the 19.5 % amber level, so ~93 % of readings raise or clear an alert), or calm: the same
#          messages with co_ppm in 0-25 and o2_pct in 20.2-20.9, inside every default level, so the rules are evaluated
#          on every reading and fire never. A calm load is generated into BENCH_TMP/load-calm, never mixed with the
#          storm's; rate.sh and backlog.sh honour BENCH_LOAD too.
# Environment: BENCH_TMP (default /tmp/tt-bench), PEERS_SRC (default <repo>/../shared/peers).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
export BENCH_TMP="${BENCH_TMP:-/tmp/tt-bench}"
PEERS_SRC="${PEERS_SRC:-$REPO/../shared/peers}"
SIZES="100000 1000000"; REPEAT=3; REPEAT_LARGE=1; LARGE_FROM=1000000
PHASES="peers publish backlog latency"; RATE=2000; LAT_S=30; BUILD=1
export BENCH_LOAD="${BENCH_LOAD:-storm}"
# The harness's broker-c (4 x mosquitto_pub) stalls at 1M until its 300 s timeout in every full run since the first
# session; it is not the lower limit (broker-node is), so sizes from LARGE_FROM leave it out unless HARNESS_PHASES is set.
HARNESS_PHASES_GIVEN="${HARNESS_PHASES:+1}"
HARNESS_PHASES="${HARNESS_PHASES:-broker-node broker-c db nodered-batch consumer}"
# summarize ROWS.tsv... -> medians per phase and N, ratios to the limits, CPU per million readings (markdown)
summarize() {
  echo "Tunnel Telemetry end-to-end benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, load avg at end $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  awk -F'\t' -v cores="$(nproc)" '
    function med(k,   n, i, j, t, a) { n = split(vals[k], a, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
      return n ? a[int((n + 1) / 2)] : "-" }
    FNR > 1 && $3 != "FAILED" {
      k = $1 SUBSEP $2; if (!(k in seen)) { seen[k] = 1; order[++no] = k }
      vals[k] = vals[k] " " $4; runs[k]++; lost[k] = lost[k] " " $5; adrop[k] = adrop[k] " " (($8 == "") ? "-" : $8)
      if ($9 ~ /^[0-9.]+\/[0-9.]+$/) {
        split($9, sv, "/"); servers[k] = servers[k] sprintf(" %.1f/%.1f", sv[1] / $2 * 1e6, sv[2] / $2 * 1e6)
        # the fastest any consumer could drain with the servers doing this much work per reading: all cores, minus theirs
        if (sv[1] + sv[2] > 0) ceil[k] = ceil[k] " " (cores * $2 / (sv[1] + sv[2]))
      }
      else servers[k] = servers[k] " -"
      if ($6 != "-" && $6 != "") rss[k] = rss[k] " " $6
      if ($7 != "-" && $7 != "") cpu[k] = cpu[k] " " ($7 / $2 * 1e6)
      rate[k] = 1
    }
    FNR > 1 && $3 == "FAILED" { failed[$1 SUBSEP $2]++ }
    END {
      printf "| phase | N | runs | readings/s (median) | all runs | lost (each run) | peak RSS MB (median) | CPU s per 1M readings (median) | alert events: MQTT superseded/dropped, InfluxDB/log dropped (each run) | publish-ours and drains: mosquitto/influxd CPU s per 1M readings meanwhile (each run) |\n|---|---|---|---|---|---|---|---|---|---|\n"
      for (i = 1; i <= no; i++) {
        k = order[i]; split(k, pn, SUBSEP)
        m[k] = med(k)
        vr = vals[k]; vals[k] = rss[k]; r = (rss[k] == "") ? "-" : sprintf("%.0f", med(k) / 1024)
        vals[k] = cpu[k]; c = (cpu[k] == "") ? "-" : sprintf("%.1f", med(k)); vals[k] = vr
        printf "| %s | %d | %d%s | %d | %s | %s | %s | %s | %s | %s |\n", pn[1], pn[2], runs[k], (failed[k] ? " (+" failed[k] " failed)" : ""), m[k], vr, lost[k], r, c, adrop[k], servers[k]
      }
      print ""
      for (i = 1; i <= no; i++) {
        k = order[i]; split(k, pn, SUBSEP); n = pn[2]
        if (pn[1] == "tunnel-telemetry") {
          b = m["broker-node" SUBSEP n]; d = m["db" SUBSEP n]; lim = (b != "" && (d == "" || b + 0 < d + 0)) ? b : d
          nr = m["nodered-batch" SUBSEP n]
          if (lim != "") printf "N=%d publish-while-consuming: %.0f %% of the lower limit (broker-node %s, db %s)", n, 100 * m[k] / lim, b, d
          if (nr != "") printf "; %.1fx the Node-RED batching flow (%s)", m[k] / nr, nr
          print ""
        }
        if (pn[1] == "publish-ours" && m["broker-node" SUBSEP n] != "")
          printf "N=%d publish-while-consuming, timed as broker-node is (no count() polling): %.0f %% of broker-node (%s)\n", n, 100 * m[k] / m["broker-node" SUBSEP n], m["broker-node" SUBSEP n]
        if (pn[1] == "backlog-ours" && m["backlog-sub" SUBSEP n] != "")
          printf "N=%d backlog drain: %.0f %% of a plain persistent subscriber draining the same backlog (%s)\n", n, 100 * m[k] / m["backlog-sub" SUBSEP n], m["backlog-sub" SUBSEP n]
        if (pn[1] == "backlog-ours" && ceil[k] != "") {
          vals[k] = ceil[k]; c = med(k)
          printf "N=%d backlog drain: mosquitto and influxd alone, doing the work our drain gave them, leave room for at most %.0f readings/s on %d cores (%.0f %% of the plain subscriber), even for a consumer that cost nothing\n", n, c, cores, (m["backlog-sub" SUBSEP n] != "") ? 100 * c / m["backlog-sub" SUBSEP n] : 0
        }
      }
    }' "$@"
}

# harness N -> runs the peers harness (PHASES, REPEAT and the CONSUMER_* variables from the environment); SUMMARY is
# the summary it wrote for N, empty when it wrote none (a failed run must not reuse an older one)
harness() {
  local before
  before="$(find "$RES" -maxdepth 1 -name "summary-$1-*.tsv" | wc -l)"
  "$PEERS/bench-peers.sh" "$1" >&2 || log "harness run failed"
  SUMMARY=""
  if (($(find "$RES" -maxdepth 1 -name "summary-$1-*.tsv" | wc -l) > before)); then
    SUMMARY="$(find "$RES" -maxdepth 1 -name "summary-$1-*.tsv" -newer "$ROWS" | sort | tail -n 1)"
  fi
}

# harness_rows SUMMARY.tsv -> appends the harness's rows (phase n seconds rate lost rss cpu) to ours
harness_rows() {
  awk -F'\t' 'NR > 1 { print $1 "\t" $2 "\t" $3 "\t" $4 "\t" $5 "\t" $7 "\t" $8 "\t-" }' "$1" >>"$ROWS"
}

while (($#)); do
  case "$1" in
  --n) SIZES="$2"; shift 2 ;;
  --repeat) REPEAT="$2"; shift 2 ;;
  --repeat-large) REPEAT_LARGE="$2"; shift 2 ;;
  --large-from) LARGE_FROM="$2"; shift 2 ;;
  --phases) PHASES="$2"; shift 2 ;;
  --rate) RATE="$2"; shift 2 ;;
  --latency-s) LAT_S="$2"; shift 2 ;;
  --load) BENCH_LOAD="$2"; shift 2 ;;
  --no-build) BUILD=0; shift ;;
  --summarize) shift; summarize "$@"; exit 0 ;;
  *) echo "unknown option $1 (see the head of $0)" >&2; exit 2 ;;
  esac
done

mkdir -p "$BENCH_TMP"
# A runnable copy of the harness: setup.sh installs node modules next to its scripts.
export PEERS="$BENCH_TMP/peers"
[[ -d "$PEERS_SRC" ]] || { echo "peers harness not found at $PEERS_SRC (set PEERS_SRC)" >&2; exit 1; }
mkdir -p "$PEERS"
(cd "$PEERS_SRC" && find . -maxdepth 1 -type f -exec cp -f {} "$PEERS/" \;)
chmod -R u+w "$PEERS"
[[ "$BENCH_LOAD" == storm || "$BENCH_LOAD" == calm ]] || { echo "--load must be storm or calm, not '$BENCH_LOAD'" >&2; exit 2; }
# BENCH_LOAD=calm in the copy's generator (a no-op for the storm): co_ppm over half its range and o2_pct over half of
# its, in a load folder of its own, so a storm run never reuses a calm load or the other way round.
sed -i -e 's|const co = r1(((i \* 104729) % 500) / 10);|const co = r1(((i * 104729) % (process.env.BENCH_LOAD === "calm" ? 250 : 500)) / 10);|' \
  -e 's|const o2 = r1(20.9 - ((i \* 31) % 15) / 10);|const o2 = r1(20.9 - ((i * 31) % (process.env.BENCH_LOAD === "calm" ? 8 : 15)) / 10);|' "$PEERS/gen-load.js"
sed -i 's|^DIR="$BENCH_TMP/load/$N"$|DIR="$BENCH_TMP/load$([[ "${BENCH_LOAD:-storm}" != calm ]] \|\| echo -calm)/$N"|' "$PEERS/gen-load.sh"
(($(grep -c 'BENCH_LOAD === "calm"' "$PEERS/gen-load.js") == 2)) && grep -q 'echo -calm' "$PEERS/gen-load.sh" ||
  { echo "--load: the harness's gen-load.js or gen-load.sh changed; could not teach the copy the calm load" >&2; exit 1; }
# BROKER_NODELAY=1: the broker sends without Nagle's algorithm (set_tcp_nodelay true), as deploy/mosquitto does; off
# by default so every figure stays comparable with the harness's own and the issue's. An experiment's knob.
if [[ "${BROKER_NODELAY:-0}" == 1 ]]; then
  sed -i 's/^max_queued_bytes 0$/max_queued_bytes 0\nset_tcp_nodelay true/' "$PEERS/start-services.sh"
  grep -q '^set_tcp_nodelay true$' "$PEERS/start-services.sh" || { echo "BROKER_NODELAY: could not set it in $PEERS/start-services.sh" >&2; exit 1; }
fi
# Like the test command, install the Debian packages the harness needs (mosquitto, influxdb, influxdb-client,
# nodejs, jq, ...) when we can; otherwise setup.sh names what is missing.
if [[ $(id -u) -eq 0 ]]; then "$PEERS/setup.sh" --install-apt; else "$PEERS/setup.sh"; fi
# shellcheck source=/dev/null
source "$PEERS/lib.sh"
export RES="$BENCH_TMP/results"; mkdir -p "$RES"

if ((BUILD)); then
  log "building the service and the probe (Release)"
  dotnet build -c Release "$REPO/bench/Telemetry.Benchmarks/Telemetry.Benchmarks.csproj" -v q -nologo >&2
fi
export SVC_DLL="${SVC_DLL:-$REPO/src/Telemetry.Ingestion/bin/Release/net10.0/Telemetry.Ingestion.dll}"
export PROBE_DLL="$REPO/bench/Telemetry.Benchmarks/bin/Release/net10.0/Telemetry.Benchmarks.dll"
export SPOOL_DIR="$BENCH_TMP/spool"
[[ -f "$SVC_DLL" && -f "$PROBE_DLL" ]] || { echo "build output missing: run without --no-build" >&2; exit 1; }

STAMP="$(date -u +%Y%m%d-%H%M%S)"
# phase N seconds rate lost peak_rss_kb cpu_s alert events S/D/I/L: MQTT superseded/dropped, InfluxDB/log dropped;
# for publish-ours and drains, the CPU seconds mosquitto/influxd used meanwhile (one row per run)
ROWS="$RES/bench-$STAMP.tsv"
printf 'phase\tn\tseconds\trate\tlost\tpeak_rss_kb\tcpu_s\talert_events_s_d_i_l\tbroker_db_cpu_s\n' >"$ROWS"
log "load: $BENCH_LOAD; machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GB", $2/1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg)"

for n in $SIZES; do
  r=$REPEAT; ((n >= LARGE_FROM)) && r=$REPEAT_LARGE
  for phase in $PHASES; do
    case "$phase" in
    peers)
      hp="$HARNESS_PHASES"
      if ((n >= LARGE_FROM)) && [[ -z "$HARNESS_PHASES_GIVEN" ]]; then hp="${hp/broker-c /}"; fi
      log "=== harness phases ($hp), N=$n, $r run(s)"
      PHASES="$hp" REPEAT="$r" CONSUMER_LABEL=tunnel-telemetry CONSUMER_TOPIC='tunnels/#' \
        CONSUMER_CMD="$REPO/bench/consumer.sh" SVC_CLIENT_ID=tunnel-telemetry-bench harness "$n"
      if [[ -n "$SUMMARY" ]]; then
        tsv="$SUMMARY"
        harness_rows "$tsv"
        # The harness's start of Node-RED can lose a race on a fast box: it checks that node-red is alive before the
        # forked shell has become node ("node-red exited:" with an empty log; at 1M in every full run of the eleventh
        # session). Such a phase never ran, so run it again, alone, as often as it failed; the table says "(+k failed)".
        while read -r failed times; do
          log "=== $failed, N=$n: its start failed $times time(s); running it again"
          PHASES="$failed" REPEAT="$times" harness "$n"
          if [[ -n "$SUMMARY" ]]; then harness_rows "$SUMMARY"; fi
        done < <(awk -F'\t' 'NR > 1 && $1 ~ /^nodered-/ && $3 == "FAILED" { c[$1]++ } END { for (p in c) print p, c[p] }' "$tsv")
      fi
      # the harness keeps only the last run's consumer log: our service says its alert channels' totals at shutdown
      totals="$(grep -o 'Alert channel mqtt at shutdown: .*' "$RES/tunnel-telemetry.log" 2>/dev/null | tail -n 1 || true)"
      [[ -n "$totals" ]] && log "last publishing run of ours, N=$n: $totals"
      ;;
    publish)
      for ((i = 1; i <= r; i++)); do
        log "=== publish-ours, N=$n (run $i/$r)"
        if line="$("$REPO/bench/publish.sh" "$n")"; then
          read -r p nn secs rate lost hwm cpu dropped adropped servers <<<"$line"
          ((dropped == 0)) || log "broker dropped $dropped messages in publish-ours"
          printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$p" "$nn" "$secs" "$rate" "$lost" "$hwm" "$cpu" "${adropped:--}" "${servers:--}" >>"$ROWS"
        else
          printf 'publish-ours\t%s\tFAILED\t-\t-\t-\t-\t-\t-\n' "$n" >>"$ROWS"
        fi
      done
      ;;
    backlog)
      for ((i = 1; i <= r; i++)); do
        for mode in sub ours; do
          log "=== backlog-$mode, N=$n (run $i/$r)"
          if line="$("$REPO/bench/backlog.sh" "$n" "$mode")"; then
            read -r p nn secs rate lost hwm cpu dropped adropped servers <<<"$line"
            ((dropped == 0)) || log "broker dropped $dropped messages in backlog-$mode"
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$p" "$nn" "$secs" "$rate" "$lost" "$hwm" "$cpu" "${adropped:--}" "${servers:--}" >>"$ROWS"
          else
            printf 'backlog-%s\t%s\tFAILED\t-\t-\t-\t-\t-\t-\n' "$mode" "$n" >>"$ROWS"
          fi
        done
      done
      ;;
    latency) ;; # once, after the sizes
    *) echo "unknown phase $phase" >&2; exit 2 ;;
    esac
  done
done

LAT=""
if [[ " $PHASES " == *" latency "* ]]; then
  log "=== latency at $RATE readings/s for ${LAT_S}s"
  LAT="$("$REPO/bench/latency.sh" "$RATE" "$LAT_S" | tail -n 1)" || log "latency run failed"
  echo "$LAT" >"$RES/latency-$STAMP.json"
fi
"$PEERS/stop-services.sh" >/dev/null 2>&1 || true

{
  summarize "$ROWS"
  echo
  echo "load: $BENCH_LOAD (see --load at the head of bench/run.sh)"
  [[ -n "$LAT" ]] && { echo; echo "latency at $RATE readings/s for ${LAT_S}s: $LAT"; }
  echo
  echo "rows: $ROWS; harness summaries and logs: $RES"
} | tee "$RES/bench-$STAMP.md"
