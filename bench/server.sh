#!/usr/bin/env bash
# The benchmark's fixed local server: plain nginx (no Lua), one worker,
# keep-alive, HTTP and HTTPS with a throwaway CA, serving the seed entry.
# Usage: server.sh start DIR [CPU]  (writes DIR/env: BENCH_HTTP_URL, BENCH_HTTPS_URL,
#                                    BENCH_CA; CPU pins the worker to that core)
#        server.sh stop DIR          (idempotent)
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)

if [ $# -lt 2 ] || { [ "$1" != start ] && [ "$1" != stop ]; }; then
    echo "usage: $0 start DIR [CPU] | stop DIR" >&2
    exit 2
fi
mkdir -p "$2"
DIR=$(cd "$2" && pwd)
"$ROOT/tests/server/stop.sh" "$DIR"
[ "$1" = stop ] && exit 0

# Throwaway CA + server cert, made anew for each run.
# shellcheck source=tests/lib/certs.sh
. "$ROOT/tests/lib/certs.sh"
sm_make_certs "$DIR" "lua-supermetrics bench CA"

# worker_cpu_affinity takes a bit mask: core n is a 1 followed by n zeros.
affinity=""
if [ -n "${3:-}" ]; then
    affinity="worker_cpu_affinity 1$(printf "%${3}s" "" | tr ' ' 0);"
fi

# shellcheck source=tests/lib/nginx.sh
. "$ROOT/tests/lib/nginx.sh"
sm_nginx_start "$DIR" "$BENCH_DIR/nginx.conf.in" 39280 363 -e "s|@BENCH_DIR@|$BENCH_DIR|g" \
    -e "s|@CPU_AFFINITY@|$affinity|"

cat > "$DIR/env" <<ENV
BENCH_HTTP_URL=http://127.0.0.1:$HTTP_PORT
BENCH_HTTPS_URL=https://127.0.0.1:$HTTPS_PORT
BENCH_CA=$DIR/ca.pem
ENV
