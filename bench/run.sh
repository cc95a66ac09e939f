#!/usr/bin/env bash
# `make bench`: the speed of one get_connector_log call against a fixed local
# nginx, for this library and the usual alternatives, over HTTP and HTTPS.
# Starts and stops its own server, runs every contender as its own process
# (CPU and peak RSS from /usr/bin/time), prints the table and writes
# bench/RESULTS.md and bench/results.png. Last, bench/nginx_inside.sh: the
# library inside one nginx worker under wrk, next to proxy_pass and
# lua-resty-http (its section of RESULTS.md, bench/results-nginx.png).
#
# Environment: BENCH_N (requests per contender, 200000), BENCH_REPEAT (runs of
# the raw loop and of the library, 3: the fastest counts), BENCH_SECONDS (time
# budget per contender, 8: the slow ones stop there and the table says how
# many they made), BENCH_RSS_CALLS (200000), BENCH_CPU (the core that client
# and server share; default the last one), SM_BENCH_RESTY_HTTP (a checkout of
# lua-resty-http: adds that contender; SM_BENCH_RESTY_STRING for
# lua-resty-string if it is needed too), BENCH_LIB_ROOT (benchmark the
# library of another checkout, e.g. one with a proposed patch applied);
# BENCH_CALLGRIND (0: no instruction counts; they also need valgrind),
# BENCH_CALLGRIND_N (requests per callgrind run, 500: Ir per request is the
# difference between a run of 2N and one of N, over N);
# BENCH_NGINX_* for the inside-nginx section (see bench/nginx_inside.sh).
# Ends with issue 21's targets, each with its ratio in this run and
# whether it was met (also in RESULTS.md).
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
cd "$ROOT"
TMP=$BENCH/tmp
N=${BENCH_N:-200000}
REPEAT=${BENCH_REPEAT:-3}
SECONDS_MAX=${BENCH_SECONDS:-8}
RSS_CALLS=${BENCH_RSS_CALLS:-200000}
CPU=${BENCH_CPU:-$(($(nproc) - 1))}
LOG_PATH=/v1/teams/936506/connector_builder/connectors/T3S70/logs/123

STARTED=$SECONDS
tests/deps.sh bench
# The library under test: this checkout, or BENCH_LIB_ROOT (another checkout,
# e.g. with a proposed patch applied) against the same harness.
LIB_ROOT=$(cd "${BENCH_LIB_ROOT:-$ROOT}" && pwd)
make -s -C "$LIB_ROOT"
make -s -C "$LIB_ROOT" LUA=luajit
mkdir -p "$TMP"
CFLAGS_BENCH=(-O2 -std=c99 -Wall -Wextra -Werror -pedantic)
# shellcheck disable=SC2046 # pkg-config prints several words on purpose
cc "${CFLAGS_BENCH[@]}" $(pkg-config --cflags libcurl libcjson) bench/raw.c -o "$TMP/raw" \
    $(pkg-config --libs libcurl libcjson)
cc "${CFLAGS_BENCH[@]}" -shared -fPIC bench/malloc_count.c -o "$TMP/malloc_count.so"

bench/server.sh start "$TMP/server" "$CPU"
trap 'bench/server.sh stop "$TMP/server"' EXIT
# shellcheck disable=SC1091
. "$TMP/server/env"
# Client and server share one core (the server pins its worker; each
# contender runs under taskset): on this kind of machine (a VM) a wake-up
# across cores costs more than a whole request and varies 2x from run to
# run; on one core the numbers are stable and a contender's own CPU cost
# shows in its requests/s.

export LUA_PATH="$LIB_ROOT/lua/?.lua;$LIB_ROOT/lua/?/init.lua;;"
LIB54=(env "LUA_CPATH=$LIB_ROOT/build/lua5.4/?.so;;" lua5.4 bench/lib.lua)
LIBJIT=(env "LUA_CPATH=$LIB_ROOT/build/luajit/?.so;;" luajit bench/lib.lua)

# contender ID LABEL PROTO COMMAND...: one run; appends a row to $ROWS.
ROWS=$TMP/rows.tsv
: > "$ROWS"
contender() {
    local id=$1 label=$2 proto=$3 out
    shift 3
    if ! out=$(taskset -c "$CPU" /usr/bin/time -f '%U %S %M' -o "$TMP/time.txt" "$@" 2>"$TMP/err.txt"); then
        echo "FAILED: $label over $proto" >&2
        tail -n 5 "$TMP/err.txt" >&2
        return 1
    fi
    # "ok REQUESTS SECONDS" + "USER SYS MAXRSS_KIB"
    read -r _ requests seconds <<<"$(grep '^ok ' <<<"$out")"
    read -r user sys rss < <(tail -n 1 "$TMP/time.txt")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$proto" "$id" "$label" "$requests" "$seconds" \
        "$user" "$sys" "$rss" >> "$ROWS"
    printf '  %-6s %-44s %8s requests in %6.2f s\n' "$proto" "$label" "$requests" "$seconds"
}

resty_contender() {
    [ -n "${SM_BENCH_RESTY_HTTP:-}" ] || return 0
    contender 7 "lua-resty-http (nginx + LuaJIT)" "$1" bench/resty.sh "$2" "$N" "$SECONDS_MAX" ${3:+"$3"}
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== contenders: $N requests each (at most ${SECONDS_MAX}s), client and nginx on CPU $CPU; load average $LOAD_BEFORE"
for proto in HTTP HTTPS; do
    if [ "$proto" = HTTP ]; then
        base=$BENCH_HTTP_URL ca=()
    else
        base=$BENCH_HTTPS_URL ca=("$BENCH_CA")
    fi
    url=$base$LOG_PATH
    # The limit and the library: REPEAT runs each, interleaved, so that a
    # burst of other load on the machine hits all of them alike; the report
    # keeps each one's fastest run (and shows the spread).
    for _ in $(seq "$REPEAT"); do
        contender 1 "raw libcurl, one easy handle (C + cJSON)" "$proto" "$TMP/raw" "$url" "$N" "${ca[@]}"
        contender 2 "lua-supermetrics, Lua 5.4" "$proto" "${LIB54[@]}" "$base" "$N" "${ca[@]}"
        contender 2 "lua-supermetrics, LuaJIT" "$proto" "${LIBJIT[@]}" "$base" "$N" "${ca[@]}"
    done
    contender 3 "LuaSocket + LuaSec + cjson, Lua 5.4" "$proto" lua5.4 bench/luasocket.lua "$url" "$N" "$SECONDS_MAX" "${ca[@]}"
    contender 4 "lua-http + cjson, LuaJIT" "$proto" luajit bench/luahttp.lua "$url" "$N" "$SECONDS_MAX" "${ca[@]}"
    contender 5 "curl command line, one process per request" "$proto" bench/curl_cli.sh "$url" "$N" "$SECONDS_MAX" "${ca[@]}"
    contender 6 "Python httpx, one Client + json" "$proto" /usr/bin/python3 bench/httpx_bench.py "$url" "$N" "$SECONDS_MAX" "${ca[@]}"
    resty_contender "$proto" "$url" "${ca[@]}"
done

# The same two on separate cores (client on another core than nginx): how
# the comparison looks when the wake-up latency, not CPU, sets the pace.
if [ "$(nproc)" -gt 1 ]; then
    OTHER_CPU=$(( CPU == 0 ? 1 : 0 ))
    SPLIT_N=$((N / 8))
    echo "== the limit and the library with the client on CPU $OTHER_CPU: $SPLIT_N requests, 2 runs each"
    for proto in HTTP HTTPS; do
        if [ "$proto" = HTTP ]; then base=$BENCH_HTTP_URL ca=(); else base=$BENCH_HTTPS_URL ca=("$BENCH_CA"); fi
        for _ in 1 2; do
            CPU=$OTHER_CPU contender 1 "raw libcurl, one easy handle (C + cJSON)" "$proto-2cores" "$TMP/raw" "$base$LOG_PATH" "$SPLIT_N" "${ca[@]}"
            CPU=$OTHER_CPU contender 2 "lua-supermetrics, Lua 5.4" "$proto-2cores" "${LIB54[@]}" "$base" "$SPLIT_N" "${ca[@]}"
        done
    done
fi

# Memory: many calls on one client, and allocations per call (K and 2K
# calls under the malloc counter; the difference over K).
echo "== memory: $RSS_CALLS calls on one client"
MEM=$TMP/memory.tsv
: > "$MEM"
for proto in HTTP HTTPS; do
    if [ "$proto" = HTTP ]; then base=$BENCH_HTTP_URL ca=(); else base=$BENCH_HTTPS_URL ca=("$BENCH_CA"); fi
    for lua in lua5.4 luajit; do
        build=lua5.4
        [ "$lua" = luajit ] && build=luajit
        line=$(LUA_CPATH="$LIB_ROOT/build/$build/?.so;;" taskset -c "$CPU" "$lua" bench/rss.lua "$base" "$RSS_CALLS" "${ca[@]}")
        read -r _ warm end max _ _ heap0 heap1 <<<"$line"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$proto" "$lua" "$warm" "$end" "$max" "$heap0" "$heap1" >> "$MEM"
        printf '  %-6s %-7s RSS %s -> %s KiB (max %s), Lua heap %s -> %s KiB\n' "$proto" "$lua" "$warm" "$end" "$max" "$heap0" "$heap1"
    done
done
ALLOC=$TMP/alloc.tsv
: > "$ALLOC"
allocs() { LD_PRELOAD=$TMP/malloc_count.so "$@" 2>&1 >/dev/null | awk '/^allocations /{print $2}'; }
per_call() { # per_call URL CA_FILE COMMAND...: runs COMMAND URL K [CA_FILE]
    local url=$1 cafile=$2 a b k=2000
    shift 2
    a=$(allocs "$@" "$url" "$k" ${cafile:+"$cafile"})
    b=$(allocs "$@" "$url" $((2 * k)) ${cafile:+"$cafile"})
    awk -v a="$a" -v b="$b" -v k="$k" 'BEGIN { printf "%.1f", (b - a) / k }'
}
for proto in HTTP HTTPS; do
    if [ "$proto" = HTTP ]; then base=$BENCH_HTTP_URL cafile=""; else base=$BENCH_HTTPS_URL cafile=$BENCH_CA; fi
    r=$(per_call "$base$LOG_PATH" "$cafile" "$TMP/raw")
    l=$(per_call "$base" "$cafile" "${LIB54[@]}")
    j=$(per_call "$base" "$cafile" "${LIBJIT[@]}")
    printf '%s\t%s\t%s\t%s\n' "$proto" "$r" "$l" "$j" >> "$ALLOC"
    printf '  %-6s allocations per request: raw libcurl + cJSON %s, lua-supermetrics Lua 5.4 %s, LuaJIT %s\n' "$proto" "$r" "$l" "$j"
done

# Instructions per request (callgrind: deterministic, unlike timers on a
# shared VM) of the raw loop and the library on Lua 5.4 and LuaJIT: a run
# of N requests and one of 2N, the difference over N (start-up cancels out).
# With them, callgrind's simulated first-level cache misses per request
# (instruction reads, data reads, data writes): where time goes that the
# instruction counts do not show.
IR=$TMP/ir.tsv
MISSES=$TMP/misses.tsv
: > "$IR"
: > "$MISSES"
CG_N=${BENCH_CALLGRIND_N:-500}
export BENCH_CALLGRIND_N=$CG_N # for report.lua
if [ "${BENCH_CALLGRIND:-1}" = 0 ]; then
    :
elif ! command -v valgrind >/dev/null; then
    echo "(no valgrind: no instruction counts; apt-get install valgrind for them)"
else
    echo "== instructions per request (callgrind): runs of $CG_N and $((2 * CG_N)) requests, the difference over $CG_N"
    # cg_total OUT CPATH COMMAND...: the total Ir of COMMAND under callgrind.
    cg_total() {
        local out=$1 cpath=$2
        shift 2
        if ! LUA_CPATH=$cpath timeout 900 valgrind --tool=callgrind --cache-sim=yes --callgrind-out-file="$out" "$@" \
            >/dev/null 2>"$out.log"; then
            echo "callgrind run failed: $*" >&2
            tail -n 5 "$out.log" >&2
            return 1
        fi
        sed -n 's/^summary: *//p' "$out"
    }
    # ir_per_request NAME URL CA_FILE CPATH COMMAND...: runs COMMAND URL N
    # [CA_FILE]; prints "Ir I1mr D1mr D1mw" per request (the summary's
    # events: Ir Dr Dw I1mr D1mr D1mw ...).
    ir_per_request() {
        local name=$1 url=$2 cafile=$3 cpath=$4 a b
        shift 4
        a=$(cg_total "$TMP/cg.$name.1" "$cpath" "$@" "$url" "$CG_N" ${cafile:+"$cafile"}) || return 1
        b=$(cg_total "$TMP/cg.$name.2" "$cpath" "$@" "$url" $((2 * CG_N)) ${cafile:+"$cafile"}) || return 1
        awk -v n="$CG_N" 'NR == 1 { split($0, a) } NR == 2 {
            printf "%d %d %d %d\n", ($1 - a[1]) / n, ($4 - a[4]) / n, ($5 - a[5]) / n, ($6 - a[6]) / n }' \
            <<<"$a"$'\n'"$b"
    }
    for proto in HTTP HTTPS; do
        if [ "$proto" = HTTP ]; then base=$BENCH_HTTP_URL cafile=""; else base=$BENCH_HTTPS_URL cafile=$BENCH_CA; fi
        read -r r r_i1 r_d1r r_d1w < <(ir_per_request raw "$base$LOG_PATH" "$cafile" "" "$TMP/raw")
        read -r l l_i1 l_d1r l_d1w < <(ir_per_request lua54 "$base" "$cafile" "$LIB_ROOT/build/lua5.4/?.so;;" lua5.4 bench/lib.lua)
        read -r j j_i1 j_d1r j_d1w < <(ir_per_request luajit "$base" "$cafile" "$LIB_ROOT/build/luajit/?.so;;" luajit bench/lib.lua)
        printf '%s\t%s\t%s\n' "$proto" "raw libcurl, one easy handle (C + cJSON)" "$r" \
            "$proto" "lua-supermetrics, Lua 5.4" "$l" "$proto" "lua-supermetrics, LuaJIT" "$j" >> "$IR"
        printf '%s\t%s\t%s\t%s\t%s\n' "$proto" "raw libcurl, one easy handle (C + cJSON)" "$r_i1" "$r_d1r" "$r_d1w" \
            "$proto" "lua-supermetrics, Lua 5.4" "$l_i1" "$l_d1r" "$l_d1w" \
            "$proto" "lua-supermetrics, LuaJIT" "$j_i1" "$j_d1r" "$j_d1w" >> "$MISSES"
        printf '  %-6s Ir per request: raw libcurl + cJSON %s, lua-supermetrics Lua 5.4 %s, LuaJIT %s\n' "$proto" "$r" "$l" "$j"
        printf '  %-6s L1 misses per request (instruction / data read / data write): raw %s/%s/%s, Lua 5.4 %s/%s/%s, LuaJIT %s/%s/%s\n' \
            "$proto" "$r_i1" "$r_d1r" "$r_d1w" "$l_i1" "$l_d1r" "$l_d1w" "$j_i1" "$j_d1r" "$j_d1w"
    done
fi

# Batch: get_connector_logs of 1,000 ids against the test stand-in, which
# adds 20 ms to each response (its "slow" route), at concurrency 32, next to
# the same 1,000 ids one by one. Not pinned: the 32 transfers are the point.
echo "== batch: 1,000 ids, 20 ms each, concurrency 32"
BATCH=$TMP/batch.tsv
: > "$BATCH"
tests/server/start.sh "$TMP/hub" >/dev/null
# shellcheck disable=SC1091
. "$TMP/hub/env"
for proto in HTTP HTTPS; do
    if [ "$proto" = HTTP ]; then base=$SM_TEST_HTTP_URL ca=(); seq=1; else base=$SM_TEST_HTTPS_URL ca=("$SM_TEST_CA"); seq=0; fi
    out=$(LUA_CPATH="$LIB_ROOT/build/lua5.4/?.so;;" lua5.4 bench/batch.lua "$base" 1000 20 32 "$seq" "${ca[@]}")
    read -r _ took got failed <<<"$(grep '^batch ' <<<"$out")"
    sequential=$(awk '/^sequential /{print $2}' <<<"$out")
    printf '%s	%s	%s	%s	%s
' "$proto" "$took" "$got" "$failed" "${sequential:--}" >> "$BATCH"
    printf '  %-6s batch %s s (%s entries, %s errors); one by one %s s\n' "$proto" "$took" "$got" "$failed" "${sequential:--}"
done
tests/server/stop.sh "$TMP/hub"

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
# Results of another checkout's library stay out of bench/ (scratch only).
OUT=$BENCH
[ "$LIB_ROOT" = "$ROOT" ] || OUT=$TMP/results
mkdir -p "$OUT"
other_root=""
[ "$LIB_ROOT" = "$ROOT" ] || other_root=$LIB_ROOT
BENCH_LIB_ROOT=$other_root BENCH_RESULTS_DIR=$OUT lua5.4 bench/report.lua "$TMP" "$N" "$SECONDS_MAX" "$RSS_CALLS" "$CPU" "$REPEAT" "$LOAD_BEFORE" "$LOAD_AFTER"

# Inside nginx: what an OpenResty user sees (its own servers, wrk, and its
# own section of RESULTS.md); the front worker on the same core as above.
# It fails when the library failed there: the summary still follows.
inside=0
BENCH_CPU=$CPU bench/nginx_inside.sh || inside=$?
# The rate budget inside nginx (issue 29): requests sent into a closed
# window and requests/s while open, budget off / per worker / dict / Redis.
budget=0
bench/budget.sh || budget=$?

# The summary: issue 21's targets, each with its ratio in this run.
echo
echo "== issue 21's targets in this run (details above and in RESULTS.md)"
cat "$TMP/targets.txt"
if [ -s "$TMP/inside/targets.txt" ]; then
    cat "$TMP/inside/targets.txt"
else
    echo "- inside nginx: no figures (bench/nginx_inside.sh failed, status $inside)"
fi
[ "$budget" = 0 ] || echo "- the rate budget's section: bench/budget.sh failed (status $budget)"
elapsed=$((SECONDS - STARTED))
echo "(make bench took $((elapsed / 60)) min $((elapsed % 60)) s)"
[ "$inside" != 0 ] || inside=$budget
exit "$inside"
