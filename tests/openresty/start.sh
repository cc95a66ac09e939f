#!/usr/bin/env bash
# Start the OpenResty test app rooted in DIR, calling the stand-in described
# by HUB_ENV (the env file tests/server/start.sh wrote), with WORKERS nginx
# workers (default 1). Writes DIR/env with VAR=its URL (default
# SM_TEST_APP_URL). Needs the LuaJIT build: make LUA=luajit. SM_APP_ENV:
# nginx `env` directives to add (e.g. "env https_proxy; env no_proxy;").
# SM_APP_TEMPLATE: another template of this folder (default nginx.conf.in;
# 38-nginx_edges_spec starts edges.conf.in), from port SM_APP_FIRST_PORT
# (default 39280), @HTTPS_PORT@ being SM_APP_GAP above it (default 0).
# Usage: start.sh DIR HUB_ENV [WORKERS VAR]
set -euo pipefail

if [ $# -ne 2 ] && [ $# -ne 4 ]; then
    echo "usage: $0 DIR HUB_ENV [WORKERS VAR]" >&2
    exit 2
fi
APP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$APP_DIR/../.." && pwd)
mkdir -p "$1"
DIR=$(cd "$1" && pwd)
# shellcheck disable=SC1090
. "$2"

"$ROOT/tests/server/stop.sh" "$DIR"
# shellcheck source=tests/lib/nginx.sh
. "$ROOT/tests/lib/nginx.sh"
sm_nginx_start "$DIR" "$APP_DIR/${SM_APP_TEMPLATE:-nginx.conf.in}" "${SM_APP_FIRST_PORT:-39280}" \
    "${SM_APP_GAP:-0}" \
    -e "s|@ROOT@|$ROOT|g" -e "s|@APP_DIR@|$APP_DIR|g" -e "s|@HUB_DIR@|$SM_TEST_DIR|g" \
    -e "s|@HUB_HTTP@|$SM_TEST_HTTP_URL|g" -e "s|@HUB_HTTPS@|$SM_TEST_HTTPS_LOCALHOST_URL|g" \
    -e "s|@HUB_CA@|$SM_TEST_CA|g" -e "s|@WORKERS@|${3:-1}|g" \
    -e "s|@ENV_DIRECTIVES@|${SM_APP_ENV:-}|g"

echo "${4:-SM_TEST_APP_URL}=http://127.0.0.1:$HTTP_PORT" > "$DIR/env"
