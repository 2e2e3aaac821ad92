#!/usr/bin/env bash
# The README's test command: installs what the tests need when it is missing, then runs every test.
#   bash scripts/test.sh            all tests
#   bash scripts/test.sh --filter X  passes extra arguments to dotnet test
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[[ -x /usr/sbin/mosquitto ]] || need+=(mosquitto)
[[ -x /usr/bin/influxd ]] || need+=(influxdb)
if ((${#need[@]})); then
  echo "test.sh: installing ${need[*]} (Debian packages: the tests start their own servers on loopback)"
  if [[ $(id -u) -eq 0 ]]; then sudo=(); elif command -v sudo >/dev/null; then sudo=(sudo); else
    echo "test.sh: cannot install ${need[*]}: run as root or install them with 'apt-get install -y ${need[*]}'" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  # The packages may try to start system services; the tests never use them (they pick free ports).
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v dotnet >/dev/null || { echo "test.sh: the .NET 10 SDK is required (dotnet on PATH)" >&2; exit 1; }

results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT
set +e
dotnet test Telemetry.sln --nologo --logger "trx" --results-directory "$results" \
  --blame-hang-timeout 10m "$@"
rc=$?
set -e

# One closing line in the plain form CI reads: "N passed, N failed".
passed=0 failed=0
for f in "$results"/*.trx; do
  [[ -e "$f" ]] || continue
  counters="$(grep -o '<Counters [^>]*>' "$f" | head -n 1)"
  p="$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")"
  fl="$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")"
  passed=$((passed + ${p:-0})); failed=$((failed + ${fl:-0}))
done
echo "tests: $passed passed, $failed failed"
exit "$rc"
