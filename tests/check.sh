#!/usr/bin/env bash
# The quick loop (`make check`, or tests/check.sh [SPEC...]): builds for Lua
# 5.4 and LuaJIT, starts the stand-in, Prism and the OpenResty apps, runs busted
# under Lua 5.4 (or $LUA), stops the servers and prints "N passed, M failed".
#   no SPEC     every spec file but the #slow tests, in parallel lanes each
#               with servers of its own (tests/lib/lanes.sh; SM_LANES, 3):
#               make test without the other interpreters, luacheck and the
#               fuzz replay
#   SPEC...     those files (or folders) only, #slow tests included, one
#               after the other (a file within its budget, tests/lib/busted.sh)
# `make test` and `make test-all` are the gates (tests/run.sh).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
# shellcheck source=tests/lib/servers.sh
. "$ROOT/tests/lib/servers.sh"
# shellcheck source=tests/lib/busted.sh
. "$ROOT/tests/lib/busted.sh"
# shellcheck source=tests/lib/lanes.sh
. "$ROOT/tests/lib/lanes.sh"

# LUA=luajit, 5.1, 5.2 or 5.3 (make check LUA=...) runs the specs under
# that interpreter instead; the OpenResty app always runs the LuaJIT build.
case ${LUA:-5.4} in
    luajit) lua_name=luajit interp=luajit ;;
    *) lua_name=lua${LUA:-5.4} interp=lua${LUA:-5.4} ;;
esac
make -s LUA="${LUA:-5.4}" || exit 1
openresty=0
if pkg-config --exists luajit && make -s LUA=luajit; then
    openresty=1
else
    echo "skipped: OpenResty specs (no LuaJIT build)"
fi
mkdir -p "$ROOT/tests/tmp"
lanes=1
[ $# -gt 0 ] || lanes=${SM_LANES:-3}
trap sm_stop_servers EXIT
sm_start_lanes "$lanes" "$openresty"
sm_start_prism
case $? in
    0) ;;
    2) echo "skipped: contract specs ($SM_TEST_PRISM_SKIP)" ;;
    *) echo "FAILED: Prism did not start: the contract specs fail" ;;
esac
if ! sm_wait_lanes; then
    echo "0 passed, 1 failed"
    exit 1
fi
passed=0
failed=0
if [ "$openresty" = 1 ] && ! sm_start_example >"$ROOT/tests/tmp/example.start.log" 2>&1; then
    echo "FAILED: examples/openresty did not start:"
    cat "$ROOT/tests/tmp/example.start.log"
    failed=1
fi

if [ $# -gt 0 ]; then
    # shellcheck disable=SC1091
    . "$ROOT/tests/tmp/lane-1.env"
    # shellcheck disable=SC1091
    . "$PRISM_DIR/env"
    sm_busted "$lua_name" "$interp" "$openresty" "$@"
else
    for f in tests/spec/*_spec.lua; do
        base=$(basename "$f" .lua)
        lane=()
        [ "$base" = 08-openresty_spec ] && lane=(--lane 1)
        sm_job "$lua_name:$base" "$(sm_spec_weight "$f")" "${lane[@]}" --lock "$base" -- \
            spec "$lua_name" "$interp" "$openresty" "$f" --exclude-tags=slow
    done
    started=$SECONDS
    sm_lanes "$lanes"
    echo "make check took $((SECONDS - started)) s"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
