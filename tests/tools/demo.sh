#!/usr/bin/env bash
# `make demo`: starts the local Hub API stand-in, fetches the seed's log entry
# through the real module (HTTPS, throwaway CA), prints it, stops the server.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
HUB_DIR=$ROOT/tests/tmp/demo-hub
LUA_VERSION=${LUA_VERSION:-5.4}

tests/server/start.sh "$HUB_DIR"
trap 'tests/server/stop.sh "$HUB_DIR"' EXIT
# shellcheck disable=SC1091
. "$HUB_DIR/env"

export LUA_PATH="$ROOT/lua/?.lua;$ROOT/lua/?/init.lua;;"
export LUA_CPATH="$ROOT/build/lua$LUA_VERSION/?.so;;"
export SUPERMETRICS_API_KEY=api_test_key
export SUPERMETRICS_BASE_URL=$SM_TEST_HTTPS_URL
export SUPERMETRICS_CA_FILE=$SM_TEST_CA

echo "GET $SUPERMETRICS_BASE_URL/v1/teams/936506/connector_builder/connectors/T3S70/logs/123"
"lua$LUA_VERSION" examples/get_log.lua 936506 T3S70 123
"lua$LUA_VERSION" -e '
  local c <close> = require("supermetrics").new {
    base_url = os.getenv("SUPERMETRICS_BASE_URL"), ca_file = os.getenv("SUPERMETRICS_CA_FILE") }
  local e = c:get_connector_log(936506, "T3S70", "123")
  print(("status is an %s, duration_ms is an %s"):format(math.type(e.status), math.type(e.duration_ms)))'
echo "And an error (the stand-in answering 404 with the API's error envelope):"
"lua$LUA_VERSION" examples/get_log.lua 936506 status 404 ||
    echo "(get_log.lua exits with status $? after an error, as a script should; the demo went as expected)"
