#!/usr/bin/env bash
# The quick loop (`make check`, or tests/check.sh [SPEC...]): builds for Lua
# 5.4 and LuaJIT, starts the stand-in, Prism and the OpenResty app, runs busted
# under Lua 5.4 (or $LUA) on tests/spec (or the given spec files), a file at a time
# within its budget (tests/lib/busted.sh), stops the servers and prints
# "N passed, M failed". `make test` is the full gate.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
# shellcheck source=tests/lib/servers.sh
. "$ROOT/tests/lib/servers.sh"
# shellcheck source=tests/lib/busted.sh
. "$ROOT/tests/lib/busted.sh"

# LUA=luajit, 5.1, 5.2 or 5.3 (make check LUA=...) runs the specs under
# that interpreter instead; the OpenResty app always runs the LuaJIT build.
case ${LUA:-5.4} in
    luajit) lua_name=luajit interp=luajit ;;
    *) lua_name=lua${LUA:-5.4} interp=lua${LUA:-5.4} ;;
esac
make -s LUA="${LUA:-5.4}" || exit 1
sm_start_hub || exit 1
trap sm_stop_servers EXIT
sm_start_prism
case $? in
    0) ;;
    2) echo "skipped: contract specs ($SM_TEST_PRISM_SKIP)" ;;
    *) echo "FAILED: Prism did not start: the contract specs fail" ;;
esac
sm_start_proxies || echo "skipped: proxy specs (tinyproxy did not start)"
openresty=0
if pkg-config --exists luajit && sm_start_openresty; then
    openresty=1
else
    echo "skipped: OpenResty specs (no LuaJIT build or the app did not start)"
fi
# Specs tagged #slow (long paging walks, waits measured in seconds) are
# left to make test, which keeps the loop under a minute.
[ $# -gt 0 ] || set -- --exclude-tags=slow tests/spec
passed=0
failed=0
sm_busted "$lua_name" "$interp" "$openresty" "$@"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
