#!/usr/bin/env bash
# The test command (`make test`): starts the local Hub API stand-in (nginx +
# Lua, HTTP and HTTPS with a CA made now), runs the busted suite through the
# real module, stops the server, and prints "N passed, M failed".
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
LUA=${LUA:-lua5.4}
LUA_VERSION=${LUA_VERSION:-5.4}
export SM_BUILD_DIR=${SM_BUILD_DIR:-$ROOT/build/lua$LUA_VERSION}
HUB_DIR=$ROOT/tests/tmp/hub

tests/server/start.sh "$HUB_DIR" || { echo "0 passed, 1 failed"; exit 1; }
trap 'tests/server/stop.sh "$HUB_DIR"' EXIT
set -a
# shellcheck disable=SC1091
. "$HUB_DIR/env"
set +a

# The credential the stand-in accepts, for the "from the environment" specs.
export SUPERMETRICS_API_KEY=api_test_key LUA

out=$ROOT/tests/tmp/busted.out
"$LUA" /usr/bin/busted --helper=tests/spec/helpers.lua tests/spec 2>&1 | tee "$out"
status=${PIPESTATUS[0]}

# busted ends with "N successes / N failures / N errors / N pending".
summary=$(grep -aE '^[0-9]+ success(es)? / [0-9]+ failures? / [0-9]+ errors? / [0-9]+ pending' "$out" | tail -n 1)
if [ -z "$summary" ]; then
    echo "busted printed no summary (exit $status)"
    echo "0 passed, 1 failed"
    exit 1
fi
read -r passed _ _ failures _ _ errors _ <<<"$summary"
failed=$((failures + errors))
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ]
