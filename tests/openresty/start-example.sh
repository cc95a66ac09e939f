#!/usr/bin/env bash
# Start examples/openresty exactly as its header says (its start.sh, from
# another working directory, nothing rewritten) on Debian's nginx + lua
# module, fetching from the stand-in described by HUB_ENV over plain HTTP
# (allowed on loopback). Its error log (stderr) goes to LOG. Writes
# SM_TEST_EXAMPLE_URL=... to LOG.env. SM_EXAMPLE_KEY: the key it gets
# (default api_test_key; "none": SUPERMETRICS_API_KEY unset).
# Usage: start-example.sh HUB_ENV LOG | start-example.sh stop
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
EXAMPLE=$ROOT/examples/openresty

if [ "${1:-}" = stop ]; then
    [ -s "$EXAMPLE/nginx.pid" ] || exit 0
    pid=$(cat "$EXAMPLE/nginx.pid")
    NGINX_BIN=nginx "$EXAMPLE/start.sh" stop 2>/dev/null || true
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05 # the master's exit is not ours to wait on
    done
    if kill -0 "$pid" 2>/dev/null; then
        # Its workers first: killed alone, the master leaves them holding
        # port 8080, and the next start's first requests are refused.
        pkill -9 -P "$pid" 2>/dev/null || true
        kill -9 "$pid" 2>/dev/null || true
    fi
    exit 0
fi
listening() { (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null; }
if [ $# -ne 2 ]; then
    echo "usage: $0 HUB_ENV LOG | $0 stop" >&2
    exit 2
fi
# shellcheck disable=SC1090
. "$1"
"$0" stop
# A worker of the stopped server may still be closing its listener.
for _ in $(seq 100); do
    listening || break
    sleep 0.05
done
if listening; then
    echo "port 8080 is taken: examples/openresty listens there" >&2
    exit 1
fi
key=${SM_EXAMPLE_KEY:-api_test_key}
cd /
if [ "$key" = none ]; then
    env -u SUPERMETRICS_API_KEY NGINX_BIN=nginx SUPERMETRICS_BASE_URL="$SM_TEST_HTTP_URL" \
        "$EXAMPLE/start.sh" 2>"$2"
else
    SUPERMETRICS_API_KEY=$key NGINX_BIN=nginx SUPERMETRICS_BASE_URL=$SM_TEST_HTTP_URL \
        "$EXAMPLE/start.sh" 2>"$2"
fi
# nginx listens before its start returns; this bounds the rare case where
# it does not yet (a loaded machine) instead of failing the next request.
for _ in $(seq 100); do
    listening && break
    sleep 0.05
done
listening || { echo "examples/openresty did not start listening on 8080; its log: $2" >&2; exit 1; }
echo "SM_TEST_EXAMPLE_URL=http://127.0.0.1:8080" > "$2.env"
