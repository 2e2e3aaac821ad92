#!/bin/bash
# Container health check: exit 0 when GET http://127.0.0.1:PORT/PATH answers 200.
# The .NET runtime images have no curl or wget, and bash can open a TCP connection itself.
#   http-health 8080 /health/ready
set -euo pipefail
port="${1:-8080}"
path="${2:-/health/ready}"
exec 3<>"/dev/tcp/127.0.0.1/${port}"
printf 'GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$path" >&3
read -r _ status _ <&3
[[ "$status" == "200" ]]
