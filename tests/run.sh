#!/usr/bin/env bash
# The gates: `make test` (tests/run.sh quick) and `make test-all`
# (tests/run.sh all); tests/README.md says what runs where. Both start the
# local Hub API stand-in and the OpenResty test apps once per lane, and
# Stoplight Prism (the contract specs) once, run their jobs in parallel
# lanes (tests/lib/lanes.sh: a spec file under one interpreter, a check, a
# build), stop the servers, and print how long they took and
# "N passed, M failed"; the exit status is non-zero on any failure.
#
#   quick  every spec file once under Lua 5.4 and inside nginx, leaving out
#          the #slow tests (real-time twins of tests run on a fake clock,
#          long walks); the #abi tests under Lua 5.1, 5.2, 5.3 and LuaJIT;
#          luacheck; the fuzz corpora replayed through the plain driver.
#   all    every spec file, #slow included, under Lua 5.4 and inside nginx,
#          under Lua 5.1, 5.2, 5.3 and LuaJIT, and against the ASan + UBSan
#          build; luacheck, the replay, valgrind, the install and docs
#          checks, libFuzzer, the C drivers (wipe, TSan), cppcheck,
#          clang-tidy, clang -Werror builds.
#
# SM_LANES: how many lanes (default 3). SM_LUA_VERSIONS: the interpreters
# besides 5.4 (default "5.1 5.2 5.3 luajit"). Every step is bounded
# (tests/lib/busted.sh): each spec file by its budget (SM_SPEC_BUDGET, 300 s
# unless the file says otherwise), each other check by SM_CHECK_BUDGET (900
# s), and all of them by SM_SUITE_BUDGET (3600 s) from the start of make
# test: a step that overruns is killed and fails by name, and the run goes
# on; steps left when the suite's time is up fail unrun.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
mode=${1:-quick}
case $mode in
    quick) gate="make test" ;;
    all) gate="make test-all" ;;
    *) echo "usage: $0 quick|all" >&2; exit 2 ;;
esac
# make sets SM_SUITE_STARTED when it starts (deps and build included).
started=${SM_SUITE_STARTED:-$(date +%s)}
export SM_SUITE_DEADLINE=$((started + ${SM_SUITE_BUDGET:-3600}))
# shellcheck source=tests/lib/servers.sh
. "$ROOT/tests/lib/servers.sh"
# shellcheck source=tests/lib/busted.sh
. "$ROOT/tests/lib/busted.sh"
# shellcheck source=tests/lib/lanes.sh
. "$ROOT/tests/lib/lanes.sh"
mkdir -p "$ROOT/tests/tmp"
SM_DURATIONS=durations-$mode # the order of the lanes' jobs (lanes.sh)

passed=0
failed=0
skipped=() # what this machine lacks; named again at the end
skip() {
    echo "skipped: $1"
    skipped+=("$1")
}
finish() {
    local took
    if [ ${#skipped[@]} -gt 0 ]; then
        echo "Not tested on this machine:"
        printf '  %s\n' "${skipped[@]}"
        echo "Add what they need with: sudo tests/deps.sh ci   (then $gate again)"
    fi
    took=$(($(date +%s) - started))
    printf '%s took %d min %02d s\n' "$gate" $((took / 60)) $((took % 60))
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}
has() { command -v "$1" >/dev/null 2>&1; }

# ---- What this machine has ------------------------------------------------
# Every Lua that is installed with its headers: 5.4 always, the others when
# present (CI installs them all).
abis=() # interpreter names besides lua5.4: lua5.1 ... luajit
for v in ${SM_LUA_VERSIONS:-5.1 5.2 5.3 luajit}; do
    if [ "$v" = luajit ]; then interp=luajit pc=luajit name=luajit; else interp=lua$v pc=lua$v name=lua$v; fi
    if has "$interp" && pkg-config --exists "$pc"; then
        abis+=("$name:$v:$interp")
    else
        skip "Lua $v (no $interp or no headers)"
    fi
done
openresty=1
if ! pkg-config --exists luajit; then
    openresty=0
    skip "OpenResty specs (no LuaJIT headers: libluajit2-5.1-dev)"
fi
has tinyproxy || skip "proxy specs (no tinyproxy)"
asan_runtime=$(clang -print-file-name=libclang_rt.asan-x86_64.so 2>/dev/null)
clang_rt=0
if has clang && [ -f "$asan_runtime" ]; then clang_rt=1; fi

# ---- The builds the servers need, then the servers -------------------------
# Lua 5.4 (make built it) and LuaJIT (the OpenResty app); the other ABIs
# are jobs.
# Side by side: each build's last steps (linking, make's own start) leave
# a core idle.
builds=()
for v in 5.4 luajit; do
    [ "$v" = luajit ] && [ "$openresty" = 0 ] && continue
    make -s -j2 LUA="$v" >"$ROOT/tests/tmp/build-$v.log" 2>&1 &
    builds+=("$v:$!")
done
built=()
for b in "${builds[@]}"; do
    wait "${b#*:}"
    built+=("${b%%:*}:$?")
done
for b in "${built[@]}"; do
    v=${b%%:*}
    if [ "${b#*:}" != 0 ]; then
        echo "FAILED: build for Lua $v"
        cat "$ROOT/tests/tmp/build-$v.log"
        failed=$((failed + 1))
        [ "$v" = 5.4 ] && finish
        openresty=0
    fi
done

# Three lanes on two cores: much of a lane's time is spent waiting on
# servers (latencies, timeouts, process starts), which a third lane fills.
lanes=${SM_LANES:-3}
rm -f "$PRISM_DIR/env" # the last run's: Prism starts as a job
trap 'sm_stop_servers; echo interrupted; exit 130' INT TERM
trap sm_stop_servers EXIT
# Each lane's servers, side by side (lane 1 also starts examples/openresty).
sm_start_lanes "$lanes" "$openresty"
if ! sm_wait_lanes; then
    failed=$((failed + 1))
    finish
fi
# examples/openresty (08-openresty runs it): on lane 1's stand-in.
if [ "$openresty" = 1 ] && ! sm_start_example >"$ROOT/tests/tmp/example.start.log" 2>&1; then
    echo "FAILED: examples/openresty did not start:"
    cat "$ROOT/tests/tmp/example.start.log"
    failed=$((failed + 1))
fi

# ---- The jobs ----------------------------------------------------------------
# Whether a spec file has #abi tests.
is_abi() { grep -q '#abi' "$1"; }

# Prism: started by a job (only 25-contract waits for it).
start_prism() {
    sm_start_prism
    case $? in
        0) ;;
        2) sm_skip "contract specs against Prism ($SM_TEST_PRISM_SKIP)" ;;
        *) echo "Prism did not start: the contract specs fail"; return 1 ;;
    esac
}
sm_job prism 10 --gives prism -- check prism start_prism

specs=(tests/spec/*_spec.lua)
slow=(--exclude-tags=slow)
[ "$mode" = all ] && slow=()
for f in "${specs[@]}"; do
    base=$(basename "$f" .lua)
    needs=()
    [ "$base" = 25-contract_spec ] && needs=(--needs prism)
    # examples/openresty's port is fixed, and 08 restarts it from lane 1's
    # stand-in: lane 1 only.
    lane=()
    [ "$base" = 08-openresty_spec ] && lane=(--lane 1)
    sm_job "lua5.4:$base" "$(sm_spec_weight "$f")" "${lane[@]}" "${needs[@]}" --lock "$base" -- \
        spec lua5.4 lua5.4 "$openresty" "$f" "${slow[@]}"
done
for a in "${abis[@]}"; do
    IFS=: read -r name v interp <<<"$a"
    gives=()
    if [ "$name" != luajit ] || [ "$openresty" = 0 ]; then
        sm_job "build-$name" 5 --gives "$name" -- check "build-$name" make -s -j2 LUA="$v"
        gives=(--needs "$name")
    fi
    for f in "${specs[@]}"; do
        base=$(basename "$f" .lua)
        if [ "$mode" = quick ]; then
            is_abi "$f" || continue
            tags=(--tags=abi --exclude-tags=slow)
        else
            tags=()
        fi
        needs=("${gives[@]}")
        [ "$base" = 25-contract_spec ] && needs+=(--needs prism)
        sm_job "$name:$base" "$(($(sm_spec_weight "$f") / 2 + 1))" "${needs[@]}" --lock "$base" -- \
            spec "$name" "$interp" 0 "$f" "${tags[@]}"
    done
done
sm_job luacheck 15 -- check luacheck luacheck --no-color --quiet --cache "$ROOT/tests/tmp/luacheck.cache" \
    lua tests examples bench bin
sm_job build-replay 10 --gives replay -- check build-replay make -s -j2 replay
sm_job replay 5 --needs replay -- check fuzz-replay-plain tests/fuzz/run.sh replay-plain
# The floors of src/ (docs/design.md): a second, from the #include lines and
# the built objects' symbols.
sm_job layers 2 -- check layers tests/tools/static.sh layers

if [ "$mode" = all ]; then
    if has valgrind; then
        sm_job memcheck 40 -- check memcheck env SM_BUILD_DIR="$ROOT/build/lua5.4" LUA=lua5.4 \
            bash -c 'tests/tools/memcheck.sh "$HUB_DIR/env"'
    else
        skip "valgrind memcheck (no valgrind)"
    fi
    sm_job make-install 10 --lock rocks -- check make-install bash -c 'tests/tools/install.sh "$HUB_DIR/env"'
    if has ldoc; then
        # docs/ is committed for readers: its generated pages must match the
        # sources (the page footers carry the generation date, which may
        # differ); the hand-written *.md beside them are not generated.
        sm_job docs-current 5 -- check docs-current bash -c 'rm -rf tests/tmp/docs &&
            ldoc -c config.ld -d tests/tmp/docs . && diff -r -x "*.md" -I "Last updated" docs tests/tmp/docs'
    else
        skip "docs-current (no ldoc)"
    fi
    if has luarocks && has zip; then
        sm_job luarocks-lint 3 -- check luarocks-lint luarocks lint lua-supermetrics-scm-1.rockspec
        # make dist, then the README's install lines for 5.4, 5.1 and LuaJIT;
        # the rock builds share the checkout's build folders: one at a time.
        sm_job rock-install 60 --gives dist --lock rocks -- check rock-install \
            bash -c 'tests/tools/rock.sh "$HUB_DIR/env"'
        sm_job dist-lint 3 --needs dist -- check dist-lint bash -c 'luarocks lint dist/lua-supermetrics-*-1.rockspec'
        for v in 5.4 5.1; do
            has "lua$v" && sm_job "luarocks-make-$v" 30 --lock rocks -- check "luarocks-make-$v" \
                bash -c "tests/tools/luarocks.sh $v \"\$HUB_DIR/env\""
        done
    else
        skip "LuaRocks install checks (no luarocks or zip)"
    fi
    if has clang; then
        sm_job clang-build 15 -- check clang-build make -s CC=clang BUILD="$ROOT/tests/tmp/clang-build" \
            "$ROOT/tests/tmp/clang-build/supermetrics/core.so" "$ROOT/tests/tmp/clang-build/supermetrics/cli_native.so"
        # The wipe driver is built with gcc below; clang must build it too.
        sm_job clang-build-wipe 20 -- check clang-build-wipe make -s CC=clang CDRV="$ROOT/tests/tmp/clang-c" wipe-check
    fi
    # ==== Hardening (docs/hardening.md): sanitizers, fuzzing, C drivers ====
    # They need clang and its runtimes (libclang-rt-dev): CI installs them
    # (tests/deps.sh ci). SM_FUZZ_SECONDS: fuzzing time per harness.
    if [ "$clang_rt" = 1 ]; then
        sm_job build-asan 30 --gives asan -- check build-asan make -s -j2 asan
        for f in "${specs[@]}"; do
            base=$(basename "$f" .lua)
            needs=(--needs asan)
            # Twice each file's budget: everything is slower under ASan.
            # Every file, not its #slow tests: each is a real-time twin of
            # a test that runs here on a fake clock, or a long walk whose
            # short form runs here; the plain 5.4 build and the other
            # interpreters run them (a sanitizer finds no more in the same
            # C run again slower, and 44's speed ratio is not judged here).
            sm_job "asan:$base" "$(($(sm_spec_weight "$f") * 2))" "${needs[@]}" --lock "$base" \
                --env SM_SPEC_BUDGET_FACTOR=2 -- \
                spec asan "$ROOT/tests/sanitize/lua5.4-asan" 0 "$f" --exclude-tags=slow
        done
        sm_job fuzz-build 40 --gives fuzz -- check fuzz-build make -s -j2 fuzz
        sm_job fuzz-replay 10 --needs fuzz -- check fuzz-replay tests/fuzz/run.sh replay
        for h in tests/fuzz/fuzz_*.c; do
            h=$(basename "$h" .c)
            sm_job "$h" "${SM_FUZZ_SECONDS:-12}" --needs fuzz --show -- check "$h" \
                tests/fuzz/run.sh fuzz "${SM_FUZZ_SECONDS:-12}" "$h"
        done
        sm_job wipe-build 20 --gives wipe -- check wipe-build make -s wipe-check
        sm_job wipe 5 --needs wipe --show -- check wipe bash -c 'tests/c/check.sh wipe "$HUB_DIR/env"'
        sm_job tsan-build 20 --gives tsan -- check tsan-build make -s tsan-check
        sm_job tsan-threads 10 --needs tsan --show -- check tsan-threads \
            bash -c 'tests/c/check.sh threads "$HUB_DIR/env"'
    else
        skip "ASan/UBSan suite, fuzzing, wipe and TSan drivers (no clang or libclang-rt-dev)"
    fi
    for tool in cppcheck clang-tidy; do
        if has "$tool"; then
            sm_job "$tool" 60 -- check "$tool" tests/tools/static.sh "$tool"
        else
            skip "$tool (not installed)"
        fi
    done
fi

echo "lanes start after $(($(date +%s) - started)) s (builds, servers)"
sm_lanes "$lanes"
while IFS= read -r line; do
    [ -n "$line" ] && skip "$line"
done <<<"$SM_SKIPPED"
echo "Tests per interpreter (passed failed):"
sed 's/^/  /' <<<"$SM_ABI_COUNTS"

# Every server a test started must be gone: stop ours, then look for any
# nginx still rooted in tests/tmp.
sm_stop_servers
no_strays() {
    local left
    left=$(pgrep -f "nginx: master process nginx (-q -p $ROOT/tests/tmp/|-p $ROOT/examples/)|prism mock .* $ROOT/tests/contract/|tinyproxy -c $ROOT/tests/tmp/")
    [ -z "$left" ] || { echo "still running: $left"; return 1; }
}
SM_QUEUE=$ROOT/tests/tmp/lanes
SM_JOB_SHOWING=0
sm_job_check no-stray-servers no_strays
finish
