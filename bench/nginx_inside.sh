#!/usr/bin/env bash
# The "inside nginx" section of `make bench` (bench/run.sh calls it last;
# it also runs alone): what an OpenResty user sees. A front nginx with ONE
# worker fetches the seed log entry from the bench server (bench/server.sh,
# keep-alive on loopback) in three ways per upstream scheme, HTTP and HTTPS:
# nginx's own proxy_pass (the limit), lua-resty-http + cjson, and
# lua-supermetrics + cjson (bench/inside.conf.in, bench/inside_app.lua).
# wrk loads each location at each concurrency; the front worker's CPU time
# per request comes from /proc. Then a 500-id batch through the library in
# the same worker while wrk loads it, and the worker's RSS over many library
# requests. Prints a table; writes the section "## Inside nginx (one worker,
# wrk)" of bench/RESULTS.md (the rest of the file stays) and
# bench/results-nginx.png.
#
# Environment: BENCH_NGINX_SECONDS (each measured wrk run, 10),
# BENCH_NGINX_WARMUP (unmeasured wrk run before each, 2),
# BENCH_NGINX_CONNECTIONS (wrk concurrencies, "32 256"),
# BENCH_NGINX_WRK_THREADS (1), BENCH_NGINX_RSS_REQUESTS (200000),
# BENCH_NGINX_LOCATIONS (a subset of "proxy resty lib"; RESULTS.md is only
# written with all three), BENCH_CPU (the front worker's core; default the
# last one: wrk and the upstream get another), SM_BENCH_RESTY_HTTP /
# SM_BENCH_RESTY_STRING (checkouts of lua-resty-http / lua-resty-string;
# default ../shared/peers/...), BENCH_LIB_ROOT (as for run.sh).
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
cd "$ROOT"
TMP=$BENCH/tmp/inside
SECS=${BENCH_NGINX_SECONDS:-10}
WARMUP=${BENCH_NGINX_WARMUP:-2}
read -r -a CONNECTIONS <<<"${BENCH_NGINX_CONNECTIONS:-32 256}"
THREADS=${BENCH_NGINX_WRK_THREADS:-1}
RSS_REQUESTS=${BENCH_NGINX_RSS_REQUESTS:-200000}
read -r -a LOCATIONS <<<"${BENCH_NGINX_LOCATIONS:-proxy resty lib}"
LOG_PATH=/v1/teams/936506/connector_builder/connectors/T3S70/logs/123
BATCH_CONNECTIONS=256

if ! command -v wrk >/dev/null; then
    echo "nginx_inside.sh needs wrk: apt-get install wrk" >&2
    exit 1
fi
LIB_ROOT=$(cd "${BENCH_LIB_ROOT:-$ROOT}" && pwd)
# The contender's code is used where it lies, never copied into the project.
RESTY_HTTP=${SM_BENCH_RESTY_HTTP:-$ROOT/../shared/peers/lua-resty-http}
RESTY_STRING=${SM_BENCH_RESTY_STRING:-$ROOT/../shared/peers/lua-resty-string}
for f in "$RESTY_HTTP/lib/resty/http.lua" "$RESTY_STRING/lib/resty/string.lua"; do
    if [ ! -f "$f" ]; then
        echo "no $f: set SM_BENCH_RESTY_HTTP / SM_BENCH_RESTY_STRING to checkouts of" \
            "lua-resty-http / lua-resty-string" >&2
        exit 1
    fi
done
# nginx resolves relative paths against its prefix: absolute ones only.
RESTY_HTTP=$(cd "$RESTY_HTTP" && pwd)
RESTY_STRING=$(cd "$RESTY_STRING" && pwd)
make -s -C "$LIB_ROOT" LUA=luajit

# Cores: the front worker alone on its core (by default the last one, the
# core run.sh uses), wrk and the upstream worker together on another. The
# front is what is measured: alone on its core it can use all of it, and
# its CPU time per request is its own. With one core all three share it.
FRONT_CPU=${BENCH_CPU:-$(($(nproc) - 1))}
LOAD_CPU=$FRONT_CPU
[ "$(nproc)" -gt 1 ] && LOAD_CPU=$(( FRONT_CPU == 0 ? 1 : 0 ))
TICK=$(getconf CLK_TCK)

UP=$TMP/upstream
FRONT=$TMP/front
WRK_PID=""
cleanup() {
    # A wrk still running (interrupted batch run) is ours: stop it first.
    if [ -n "$WRK_PID" ]; then kill "$WRK_PID" 2>/dev/null || true; fi
    "$ROOT/tests/server/stop.sh" "$FRONT" || true
    "$BENCH/server.sh" stop "$UP" || true
}
trap cleanup EXIT
mkdir -p "$TMP"
rm -f "$TMP"/*.tsv "$TMP"/*.out

"$BENCH/server.sh" start "$UP" "$LOAD_CPU"
# shellcheck disable=SC1091
. "$UP/env"

mkdir -p "$FRONT"
"$ROOT/tests/server/stop.sh" "$FRONT"
# shellcheck source=tests/lib/nginx.sh
. "$ROOT/tests/lib/nginx.sh"
lua_path="$LIB_ROOT/lua/?.lua;$LIB_ROOT/lua/?/init.lua;$BENCH/?.lua;$RESTY_HTTP/lib/?.lua;$RESTY_STRING/lib/?.lua;;"
# worker_cpu_affinity takes a bit mask: core n is a 1 followed by n zeros.
affinity="worker_cpu_affinity 1$(printf "%${FRONT_CPU}s" "" | tr ' ' 0);"
sm_nginx_start "$FRONT" "$BENCH/inside.conf.in" 39480 0 \
    -e "s|@CPU_AFFINITY@|$affinity|" -e "s|@LUA_PATH@|$lua_path|" \
    -e "s|@LUA_CPATH@|$LIB_ROOT/build/luajit/?.so;;|" -e "s|@CA@|$BENCH_CA|g" \
    -e "s|@UP_HTTP_URL@|$BENCH_HTTP_URL|g" -e "s|@UP_HTTPS_URL@|$BENCH_HTTPS_URL|g" \
    -e "s|@UP_HTTP@|${BENCH_HTTP_URL#http://}|g" -e "s|@UP_HTTPS@|${BENCH_HTTPS_URL#https://}|g" \
    -e "s|@LOG_PATH@|$LOG_PATH|g"
FRONT_URL=http://127.0.0.1:$HTTP_PORT
MASTER=$(cat "$FRONT/nginx.pid")
WORKER=""
for _ in $(seq 50); do
    WORKER=$(pgrep -P "$MASTER" | head -n 1 || true)
    [ -n "$WORKER" ] && break
    sleep 0.1
done
if [ -z "$WORKER" ]; then
    echo "the front nginx (master $MASTER) has no worker" >&2
    exit 1
fi

# utime + stime of the front worker, in clock ticks (fields 14 and 15 of
# /proc/PID/stat; counted after the ") " that ends the command name).
worker_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$WORKER/stat"; }
worker_rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$WORKER/status"; }
# A respawned worker (a crash) would make every figure after it wrong.
worker_same() {
    if [ "$(pgrep -P "$MASTER" | head -n 1 || true)" != "$WORKER" ]; then
        echo "the front worker $WORKER is gone (crashed?); error.log tail:" >&2
        tail -n 20 "$FRONT/error.log" >&2
        exit 1
    fi
}

# run_wrk CONNECTIONS SECONDS PATH: prints wrk_report.lua's line. timeout
# bounds a wrk that would not end (it should after SECONDS).
run_wrk() {
    local line
    line=$(taskset -c "$LOAD_CPU" timeout $(($2 + 60)) wrk -t "$THREADS" -c "$1" -d "${2}s" \
        --timeout 10s -s "$BENCH/wrk_report.lua" "$FRONT_URL$3" | grep '^wrk_report ') || {
        echo "wrk failed against $3" >&2
        return 1
    }
    echo "$line"
}
# field NAME LINE: the value of NAME=... in a wrk_report line.
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

# One request through LOCATION must answer the seed entry, or nothing of
# its row would mean anything.
check_location() {
    local body code
    code=$(curl -sS --max-time 30 -o "$TMP/check.out" -w '%{http_code}' "$FRONT_URL$1") || code=000
    body=$(cat "$TMP/check.out" 2>/dev/null || true)
    if [ "$code" != 200 ] || [[ "$body" != *'"id":"123"'* ]] || [[ "$body" != *'"event":"auth.token.refresh"'* ]]; then
        echo "FAILED: $1 answered $code: ${body:0:300}" >&2
        echo "front error.log tail:" >&2
        tail -n 5 "$FRONT/error.log" >&2
        return 1
    fi
}

# batch_fields ANSWER: "ITEMS ENTRIES ERRORS SECONDS FIRST_ERROR" from the
# JSON of /SCHEME/batch; anything else counts as 500 failed items.
batch_fields() {
    lua5.4 - "$1" <<'LUA'
local ok, cjson = pcall(require, "cjson")
local r = ok and select(2, pcall(cjson.decode, arg[1]))
if type(r) ~= "table" then
  print("500 0 500 - " .. (arg[1]:gsub("%s+", " ")))
else
  print(string.format("%d %d %d %.3f %s", r.items, r.entries, r.errors, r.seconds,
    ((r.first_error or "-"):gsub("%s+", " "))))
end
LUA
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
ROWS=$TMP/rows.tsv
echo "== inside nginx: front worker $WORKER on CPU $FRONT_CPU, upstream + wrk ($THREADS thread(s)) on CPU $LOAD_CPU;" \
    "${SECS}s per run after ${WARMUP}s of warm-up; load average $LOAD_BEFORE"
for scheme in http https; do
    for loc in "${LOCATIONS[@]}"; do
        check_location "/$scheme/$loc"
    done
    for c in "${CONNECTIONS[@]}"; do
        for loc in "${LOCATIONS[@]}"; do
            # Warm-up: JIT, connection pools, TLS sessions; not measured.
            run_wrk "$c" "$WARMUP" "/$scheme/$loc" >/dev/null
            t0=$(worker_ticks)
            line=$(run_wrk "$c" "$SECS" "/$scheme/$loc")
            t1=$(worker_ticks)
            worker_same
            requests=$(field requests "$line")
            seconds=$(field seconds "$line")
            cpu_us=$(awk -v d=$((t1 - t0)) -v t="$TICK" -v n="$requests" 'BEGIN { printf "%.1f", d * 1e6 / t / n }')
            busy=$(awk -v d=$((t1 - t0)) -v t="$TICK" -v s="$seconds" 'BEGIN { printf "%.0f", d / t / s * 100 }')
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scheme" "$c" "$loc" "$requests" \
                "$seconds" "$(field rps "$line")" "$(field p50_ms "$line")" "$(field p99_ms "$line")" \
                "$(field non2xx "$line")" "$(field socket_errors "$line")" "$cpu_us" "$busy" >> "$ROWS"
            printf '  %-5s c=%-4s %-6s %9s req/s  p99 %8s ms  %7s us CPU/req (front busy %s%%)  non-2xx %s, socket errors %s\n' \
                "$scheme" "$c" "$loc" "$(field rps "$line")" "$(field p99_ms "$line")" "$cpu_us" "$busy" \
                "$(field non2xx "$line")" "$(field socket_errors "$line")"
        done
    done
done

full=0
[[ " ${LOCATIONS[*]} " == *" proxy "* && " ${LOCATIONS[*]} " == *" resty "* && " ${LOCATIONS[*]} " == *" lib "* ]] && full=1
if [[ " ${LOCATIONS[*]} " == *" lib "* ]]; then
    # (a) A batch in the worker that is serving wrk: a wrk run of its own
    # (not one of the measured ones, which it would slow), the batch 1 s in
    # when all wrk connections are open.
    echo "== batch: 500 ids at concurrency 32 in the front worker while wrk -c $BATCH_CONNECTIONS loads /SCHEME/lib"
    for scheme in http https; do
        taskset -c "$LOAD_CPU" timeout $((SECS + 60)) wrk -t "$THREADS" -c "$BATCH_CONNECTIONS" -d "${SECS}s" \
            --timeout 10s -s "$BENCH/wrk_report.lua" "$FRONT_URL/$scheme/lib" > "$TMP/wrk_batch.out" &
        WRK_PID=$!
        sleep 1
        answer=$(curl -sS --max-time 120 "$FRONT_URL/$scheme/batch") || answer="curl failed"
        wait "$WRK_PID" || { echo "wrk failed during the batch" >&2; exit 1; }
        WRK_PID=""
        worker_same
        line=$(grep '^wrk_report ' "$TMP/wrk_batch.out")
        read -r items entries errors batch_s first_error < <(batch_fields "$answer")
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scheme" "$items" "$entries" "$errors" "$batch_s" \
            "$(field rps "$line")" "$(field non2xx "$line")" "$(field socket_errors "$line")" "$first_error" \
            >> "$TMP/batch.tsv"
        printf '  %-5s %s entries, %s errors of %s in %s s (first error: %s); wrk meanwhile %s req/s, non-2xx %s, socket errors %s\n' \
            "$scheme" "$entries" "$errors" "$items" "$batch_s" "$first_error" "$(field rps "$line")" \
            "$(field non2xx "$line")" "$(field socket_errors "$line")"
    done

    # (b) The worker's RSS over RSS_REQUESTS library requests (wrk -c 32,
    # one thread, ended by wrk_report.lua at that count); a full Lua GC
    # (/gc, which answers the Lua heap) before each reading.
    echo "== memory: front worker RSS over $RSS_REQUESTS requests to /SCHEME/lib (wrk -c 32)"
    for scheme in http https; do
        heap0=$(curl -sS --max-time 30 "$FRONT_URL/gc")
        rss0=$(worker_rss)
        # Bounded: at 1,000 requests/s or more this ends well before -d.
        line=$(WRK_STOP_AFTER=$RSS_REQUESTS taskset -c "$LOAD_CPU" timeout $((RSS_REQUESTS / 1000 + 120)) \
            wrk -t 1 -c 32 -d "$((RSS_REQUESTS / 1000 + 60))s" --timeout 10s -s "$BENCH/wrk_report.lua" \
            "$FRONT_URL/$scheme/lib" | grep '^wrk_report ')
        worker_same
        heap1=$(curl -sS --max-time 30 "$FRONT_URL/gc")
        rss1=$(worker_rss)
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scheme" "$(field requests "$line")" "$rss0" "$rss1" "$heap0" "$heap1" \
            "$(field non2xx "$line")" >> "$TMP/rss.tsv"
        printf '  %-5s %s requests: RSS %s -> %s KiB, Lua heap %s -> %s KiB, non-2xx %s\n' "$scheme" \
            "$(field requests "$line")" "$rss0" "$rss1" "$heap0" "$heap1" "$(field non2xx "$line")"
    done
fi
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# Another checkout's library writes to scratch only (as run.sh does); a
# subset of the locations never replaces the committed section.
OUT=$BENCH
[ "$LIB_ROOT" = "$ROOT" ] || OUT=$TMP/results
[ "$full" = 1 ] || OUT=$TMP/results
mkdir -p "$OUT"
resty_version=$(sed -n "s/.*_VERSION = ['\"]\([^'\"]*\)['\"].*/\1/p" "$RESTY_HTTP/lib/resty/http.lua" | head -n 1)
lua5.4 "$BENCH/inside_report.lua" "$TMP" "$OUT" "$SECS" "$WARMUP" "$THREADS" "$FRONT_CPU" "$LOAD_CPU" \
    "$RSS_REQUESTS" "$LOAD_BEFORE" "$LOAD_AFTER" "${resty_version:-?}" "$LIB_ROOT"
