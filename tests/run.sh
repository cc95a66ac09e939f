#!/usr/bin/env bash
# The test command (`make test`): starts the local Hub API stand-in (nginx +
# Lua, HTTP and HTTPS with a CA made now) and Stoplight Prism (the contract
# specs), runs the busted suite through the real module, stops the servers,
# and prints how long it took and "N passed, M failed".
#
# Every step is bounded (tests/lib/busted.sh): each spec file by its budget
# (SM_SPEC_BUDGET, 300 s unless the file says otherwise), each other check
# by SM_CHECK_BUDGET (900 s), and all of them by SM_SUITE_BUDGET (3600 s)
# from the start of make test: a step that overruns is killed and fails by
# name, and the run goes on; steps left when the suite's time is up fail
# unrun.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
# make test sets SM_SUITE_STARTED when it starts (deps and build included).
started=${SM_SUITE_STARTED:-$(date +%s)}
export SM_SUITE_DEADLINE=$((started + ${SM_SUITE_BUDGET:-3600}))
# shellcheck source=tests/lib/servers.sh
. "$ROOT/tests/lib/servers.sh"
# shellcheck source=tests/lib/busted.sh
. "$ROOT/tests/lib/busted.sh"
sm_start_hub || { echo "0 passed, 1 failed"; exit 1; }
trap sm_stop_servers EXIT

passed=0
failed=0
skipped=() # what this machine lacks; named again at the end
skip() {
    echo "skipped: $1"
    skipped+=("$1")
}
if ! command -v tinyproxy >/dev/null 2>&1; then
    skip "proxy specs (no tinyproxy)"
elif ! sm_start_proxies; then
    echo "FAILED: the test proxies (tinyproxy) did not start"
    failed=$((failed + 1))
fi

# Stoplight Prism for the contract specs (tests/contract/): without node
# they skip; a Prism that does not start makes them fail (each says why).
sm_start_prism
case $? in
    0) ;;
    2) skip "contract specs against Prism ($SM_TEST_PRISM_SKIP)" ;;
    *) echo "Prism did not start: the contract specs fail" ;;
esac

# One whole-project check counted as one test, bounded by SM_CHECK_BUDGET
# seconds; its output shows on failure.
check() {
    local name=$1 log budget status
    shift
    log=$ROOT/tests/tmp/check-$name.log
    budget=$(sm_cap "${SM_CHECK_BUDGET:-900}")
    if [ "$budget" -le 0 ]; then
        echo "FAILED: $name: not run, the suite's time is up"
        failed=$((failed + 1))
        return
    fi
    if declare -F "$1" >/dev/null; then
        "$@" >"$log" 2>&1 # one of ours: quick, and timeout cannot run it
        status=$?
        SM_KILLED=0
    else
        sm_bounded "$budget" "$@" >"$log" 2>&1
        status=$?
    fi
    if [ "$status" -eq 0 ]; then
        echo "ok: $name"
        passed=$((passed + 1))
    else
        if [ "$SM_KILLED" = 1 ]; then echo "FAILED: $name: over its $budget s budget, killed"; else echo "FAILED: $name"; fi
        tail -n 30 "$log"
        failed=$((failed + 1))
    fi
}

# The busted suite under one interpreter, a spec file at a time; each
# file's closing line "N successes / N failures / N errors / N pending"
# becomes part of our own count (tests/lib/busted.sh).
run_busted() {
    sm_busted "$1" "$2" "$3" tests/spec
}

# Every Lua that is installed with its headers: 5.4 always (make test needs
# it), the others when present (CI installs them all).
for v in ${SM_LUA_VERSIONS:-5.4 5.1 5.2 5.3 luajit}; do
    if [ "$v" = luajit ]; then interp=luajit pc=luajit name=luajit; else interp=lua$v pc=lua$v name=lua$v; fi
    if ! command -v "$interp" >/dev/null 2>&1 || ! pkg-config --exists "$pc"; then
        [ "$v" = 5.4 ] && { echo "FAILED: Lua 5.4 is missing"; failed=$((failed + 1)); }
        skip "Lua $v (no $interp or no headers)"
        continue
    fi
    if ! make -s LUA="$v" >"$ROOT/tests/tmp/build-$name.log" 2>&1; then
        echo "FAILED: build for Lua $v"; cat "$ROOT/tests/tmp/build-$name.log"
        failed=$((failed + 1))
        continue
    fi
    # The OpenResty app needs the LuaJIT build; its specs test nginx, not
    # the interpreter busted runs under, so they run once (with 5.4).
    openresty=0
    if [ "$v" = 5.4 ]; then
        if ! pkg-config --exists luajit; then
            skip "OpenResty specs (no LuaJIT headers: libluajit2-5.1-dev)"
        elif sm_start_openresty; then
            openresty=1
        else
            echo "FAILED: the OpenResty test servers did not start"
            failed=$((failed + 1))
        fi
    fi
    run_busted "$name" "$interp" "$openresty"
done

check luacheck luacheck --no-color --quiet lua tests examples bench bin
if command -v valgrind >/dev/null 2>&1; then
    check memcheck env SM_BUILD_DIR="$ROOT/build/lua5.4" LUA=lua5.4 tests/tools/memcheck.sh "$HUB_DIR/env"
fi
check make-install tests/tools/install.sh "$HUB_DIR/env"
if command -v ldoc >/dev/null 2>&1; then
    # docs/ is committed for readers: its generated pages must match the
    # sources (the page footers carry the generation date, which may
    # differ); the hand-written *.md beside them are not generated.
    check docs-current bash -c 'rm -rf tests/tmp/docs && ldoc -c config.ld -d tests/tmp/docs . &&
        diff -r -x "*.md" -I "Last updated" docs tests/tmp/docs'
fi
if command -v luarocks >/dev/null 2>&1 && command -v zip >/dev/null 2>&1; then
    check luarocks-lint luarocks lint lua-supermetrics-scm-1.rockspec
    # make dist, then the README's install lines for 5.4, 5.1 and LuaJIT.
    check rock-install tests/tools/rock.sh "$HUB_DIR/env"
    check dist-lint bash -c 'luarocks lint dist/lua-supermetrics-*-1.rockspec' 
    for v in 5.4 5.1; do
        command -v "lua$v" >/dev/null 2>&1 && check "luarocks-make-$v" tests/tools/luarocks.sh "$v" "$HUB_DIR/env"
    done
else
    skip "LuaRocks install checks (no luarocks or zip)"
fi
if command -v clang >/dev/null 2>&1; then
    check clang-build make -s CC=clang BUILD="$ROOT/tests/tmp/clang-build" "$ROOT/tests/tmp/clang-build/supermetrics/core.so"
fi

# ==== Hardening (docs/hardening.md): sanitizers, fuzzing, C drivers, static =====
# checks. They need clang and its runtimes (libclang-rt-dev), cppcheck and
# clang-tidy: CI installs them (tests/deps.sh ci); without them this block
# says what it skipped. SM_FUZZ_SECONDS: fuzzing time per harness.
asan_runtime=$(clang -print-file-name=libclang_rt.asan-x86_64.so 2>/dev/null)
if command -v clang >/dev/null 2>&1 && [ -f "$asan_runtime" ]; then
    # The whole busted suite again, against the ASan + UBSan build.
    if make -s asan >"$ROOT/tests/tmp/build-asan.log" 2>&1; then
        run_busted asan "$ROOT/tests/sanitize/lua5.4-asan" 0
    else
        echo "FAILED: the ASan build"; tail -n 30 "$ROOT/tests/tmp/build-asan.log"
        failed=$((failed + 1))
    fi
    check fuzz-build make -s fuzz
    check fuzz-replay tests/fuzz/run.sh replay
    check fuzz tests/fuzz/run.sh fuzz "${SM_FUZZ_SECONDS:-12}"
    sed 's/^/  /' "$ROOT/tests/tmp/check-fuzz.log"
    check wipe-build make -s wipe-check
    check wipe tests/c/check.sh wipe "$HUB_DIR/env"
    check tsan-build make -s tsan-check
    check tsan-threads tests/c/check.sh threads "$HUB_DIR/env"
    sed 's/^/  /' "$ROOT/tests/tmp/check-wipe.log" "$ROOT/tests/tmp/check-tsan-threads.log"
else
    skip "ASan/UBSan suite, fuzzing, wipe and TSan drivers (no clang or libclang-rt-dev)"
fi
for tool in cppcheck clang-tidy; do
    if command -v "$tool" >/dev/null 2>&1; then
        check "$tool" tests/tools/static.sh "$tool"
    else
        skip "$tool (not installed)"
    fi
done
# The wipe driver is built with gcc above; clang must build it too.
if command -v clang >/dev/null 2>&1; then
    check clang-build-wipe make -s CC=clang CDRV="$ROOT/tests/tmp/clang-c" wipe-check
fi
# ==== end of the hardening block ============================================

# Every server a test started must be gone: stop ours, then look for any
# nginx still rooted in tests/tmp.
sm_stop_servers
no_strays() {
    local left
    left=$(pgrep -f "nginx: master process nginx (-q -p $ROOT/tests/tmp/|-p $ROOT/examples/)|prism mock .* $ROOT/tests/contract/|tinyproxy -c $ROOT/tests/tmp/")
    [ -z "$left" ] || { echo "still running: $left"; return 1; }
}
check no-stray-servers no_strays

if [ ${#skipped[@]} -gt 0 ]; then
    echo "Not tested on this machine:"
    printf '  %s\n' "${skipped[@]}"
    echo "Add what they need with: sudo tests/deps.sh ci   (then make test again)"
fi
took=$(($(date +%s) - started))
printf 'make test took %d min %02d s\n' $((took / 60)) $((took % 60))
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
