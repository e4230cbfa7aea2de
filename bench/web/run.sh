#!/bin/sh
# bench/web/run.sh [BUILD_DIR] [GPUSxPROCS] [SECONDS]: the dashboard's
# scripting time per update on a simulated machine (gpuctl --simulate),
# in Debian's Chromium.  Needs tests/browser/node_modules (install-deps).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build} shape=${2:-8x64} seconds=${3:-60}
err=$(mktemp)
trap 'kill "$pid" 2>/dev/null; rm -f "$err"' EXIT INT TERM
"$top/$build/gpuctl" --simulate "$shape" serve --listen 127.0.0.1:0 --interval 1 2>"$err" &
pid=$!
for _ in $(seq 100); do grep -q "listening on" "$err" && break; sleep 0.1; done
port=$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$err" | head -n 1)
echo "gpuctl --simulate $shape serve, 1 s interval, $seconds s"
node "$top/bench/web/update.mjs" "http://127.0.0.1:$port/" "$seconds"
