#!/usr/bin/env bash
# The "inside nginx" section of `make bench` (bench/run.sh calls it last;
# it also runs alone): what an OpenResty user sees. A front nginx with ONE
# worker fetches the seed log entry from the bench server (bench/server.sh,
# keep-alive on loopback) in six ways per upstream scheme, HTTP and HTTPS
# (bench/inside.conf.in, bench/inside_app.lua): nginx's own proxy_pass (the
# limit), a bare cosocket (fixed request bytes on a pooled connection, one
# read, the body as is: the floor of any Lua location) and the same +
# cjson.decode / cjson.encode, lua-resty-http + cjson, lua-supermetrics +
# cjson.encode, and lua-supermetrics' pass-through form
# (get_connector_log_json; skipped, with a note, for a library without it).
# wrk loads each location at each concurrency, in interleaved rounds (each
# round visits every location in turn; the report keeps each location's
# median round); the front worker's CPU time per request comes from /proc.
# Then a 500-id batch through the library in the same worker while wrk
# loads it, the worker's RSS over many library requests, and (with
# valgrind) instructions per request of every location: a second front
# nginx, one process under callgrind. Prints a table; writes the section
# "## Inside nginx (one worker, wrk)" of bench/RESULTS.md (the rest of the
# file stays) and bench/results-nginx.png.
#
# Environment: BENCH_NGINX_SECONDS (each measured wrk run, 5),
# BENCH_NGINX_WARMUP (unmeasured wrk run before each, 1),
# BENCH_NGINX_ROUNDS (rounds over the locations, 3), BENCH_NGINX_PICK
# (which round stands for a location: median or best, by requests/s;
# median), BENCH_NGINX_CONNECTIONS (wrk concurrencies, "32 256"),
# BENCH_NGINX_WRK_THREADS (1), BENCH_NGINX_RSS_REQUESTS (200000),
# BENCH_NGINX_LOCATIONS (a subset of "proxy bare bare_cjson resty lib
# lib_json"; RESULTS.md is only written with all of them),
# BENCH_CALLGRIND (0: no instruction counts; they also need valgrind),
# BENCH_NGINX_CALLGRIND_REQUESTS (requests per callgrind sample, 500: Ir
# per request is the difference between a sample of 2x and one of 1x that,
# over the difference in requests),
# BENCH_CPU (the front worker's core; default the last one: wrk and the
# upstream get another), SM_BENCH_RESTY_HTTP / SM_BENCH_RESTY_STRING
# (checkouts of lua-resty-http / lua-resty-string; default
# ../shared/peers/...), BENCH_LIB_ROOT (as for run.sh).
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
cd "$ROOT"
TMP=$BENCH/tmp/inside
SECS=${BENCH_NGINX_SECONDS:-5}
WARMUP=${BENCH_NGINX_WARMUP:-1}
ROUNDS=${BENCH_NGINX_ROUNDS:-3}
PICK=${BENCH_NGINX_PICK:-median}
CG_REQUESTS=${BENCH_NGINX_CALLGRIND_REQUESTS:-500}
read -r -a CONNECTIONS <<<"${BENCH_NGINX_CONNECTIONS:-32 256}"
THREADS=${BENCH_NGINX_WRK_THREADS:-1}
RSS_REQUESTS=${BENCH_NGINX_RSS_REQUESTS:-200000}
ALL_LOCATIONS="proxy bare bare_cjson resty lib lib_json"
read -r -a LOCATIONS <<<"${BENCH_NGINX_LOCATIONS:-$ALL_LOCATIONS}"
LOG_PATH=/v1/teams/936506/connector_builder/connectors/T3S70/logs/123
BATCH_CONNECTIONS=256

if ! command -v wrk >/dev/null; then
    echo "nginx_inside.sh needs wrk: apt-get install wrk" >&2
    exit 1
fi
for loc in "${LOCATIONS[@]}"; do
    if [[ " $ALL_LOCATIONS " != *" $loc "* ]]; then
        echo "BENCH_NGINX_LOCATIONS: no location \"$loc\" (there are: $ALL_LOCATIONS)" >&2
        exit 2
    fi
done
if [ "$PICK" != median ] && [ "$PICK" != best ]; then
    echo "BENCH_NGINX_PICK must be median or best" >&2
    exit 2
fi
CALLGRIND=${BENCH_CALLGRIND:-1}
if [ "$CALLGRIND" != 0 ] && ! command -v valgrind >/dev/null; then
    echo "(no valgrind: no instruction counts; apt-get install valgrind for them)"
    CALLGRIND=0
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
CG=$TMP/callgrind
WRK_PID=""
CG_PID=""
cleanup() {
    # A wrk still running (interrupted batch run) is ours: stop it first.
    if [ -n "$WRK_PID" ]; then kill "$WRK_PID" 2>/dev/null || true; fi
    # The front under callgrind: its timeout passes TERM on to valgrind.
    if [ -n "$CG_PID" ]; then kill "$CG_PID" 2>/dev/null || true; wait "$CG_PID" 2>/dev/null || true; fi
    "$ROOT/tests/server/stop.sh" "$FRONT" || true
    "$BENCH/server.sh" stop "$UP" || true
}
trap cleanup EXIT
mkdir -p "$TMP"
rm -f "$TMP"/*.tsv "$TMP"/*.out "$TMP"/notes.txt "$TMP"/targets.txt

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
# its row would mean anything. Returns 3 for a lib_json location whose
# library has no get_connector_log_json (the row is skipped).
check_location() {
    local body code
    code=$(curl -sS --max-time 30 -o "$TMP/check.out" -w '%{http_code}' "$FRONT_URL$1") || code=000
    body=$(cat "$TMP/check.out" 2>/dev/null || true)
    if [ "$code" = 501 ] && [[ "$body" == *"no get_connector_log_json"* ]]; then
        return 3
    fi
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

# Every location answers the seed entry over both schemes before anything
# is measured; lib_json leaves the list when the library lacks the form.
MEASURED=()
for loc in "${LOCATIONS[@]}"; do
    rc=0
    for scheme in http https; do
        check_location "/$scheme/$loc" || { rc=$?; break; }
    done
    if [ "$rc" = 3 ]; then
        echo "  (lib_json skipped: the library in $LIB_ROOT has no client:get_connector_log_json)"
        echo "lib_json: skipped, the library under test has no client:get_connector_log_json" >> "$TMP/notes.txt"
    elif [ "$rc" != 0 ]; then
        exit 1
    else
        MEASURED+=("$loc")
    fi
done

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
ROWS=$TMP/rows.tsv
echo "== inside nginx: front worker $WORKER on CPU $FRONT_CPU, upstream + wrk ($THREADS thread(s)) on CPU $LOAD_CPU;" \
    "$ROUNDS round(s) of ${SECS}s per location after ${WARMUP}s of warm-up each; load average $LOAD_BEFORE"
# Rounds interleaved: per scheme and concurrency, each round visits every
# location in turn, so that a burst of other load hits them alike.
for scheme in http https; do
    for c in "${CONNECTIONS[@]}"; do
        for round in $(seq "$ROUNDS"); do
            for loc in "${MEASURED[@]}"; do
                # Warm-up: JIT, connection pools, TLS sessions; not measured.
                if [ "$WARMUP" -gt 0 ]; then run_wrk "$c" "$WARMUP" "/$scheme/$loc" >/dev/null; fi
                t0=$(worker_ticks)
                line=$(run_wrk "$c" "$SECS" "/$scheme/$loc")
                t1=$(worker_ticks)
                worker_same
                requests=$(field requests "$line")
                seconds=$(field seconds "$line")
                cpu_us=$(awk -v d=$((t1 - t0)) -v t="$TICK" -v n="$requests" 'BEGIN { printf "%.1f", d * 1e6 / t / n }')
                busy=$(awk -v d=$((t1 - t0)) -v t="$TICK" -v s="$seconds" 'BEGIN { printf "%.0f", d / t / s * 100 }')
                printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scheme" "$c" "$loc" "$requests" \
                    "$seconds" "$(field rps "$line")" "$(field p50_ms "$line")" "$(field p99_ms "$line")" \
                    "$(field non2xx "$line")" "$(field socket_errors "$line")" "$cpu_us" "$busy" "$round" >> "$ROWS"
                printf '  %-5s c=%-4s round %s %-10s %9s req/s  p99 %8s ms  %7s us CPU/req (front busy %s%%)  non-2xx %s, socket errors %s\n' \
                    "$scheme" "$c" "$round" "$loc" "$(field rps "$line")" "$(field p99_ms "$line")" "$cpu_us" "$busy" \
                    "$(field non2xx "$line")" "$(field socket_errors "$line")"
            done
        done
    done
done

# RESULTS.md only from a run of every location (lib_json may have been
# skipped: the note says so).
full=1
for loc in $ALL_LOCATIONS; do
    [[ " ${LOCATIONS[*]} " == *" $loc "* ]] || full=0
done
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

# Instructions per request (callgrind; deterministic where timers on a
# shared VM are not): a second front from the same template, one process
# (master_process off, daemon off) under callgrind, on the front's core.
# Per location: 1,000 unmeasured requests at wrk -c 64 (JIT; the pools
# filled past the 32 connections the samples need, so that no sample pays
# for a new upstream connection or TLS handshake, as the wrk rows above do
# not after their warm-up), then the counters zeroed, N requests (wrk -c
# 32, ended at N responses by wrk_report.lua), the process left to go idle,
# dumped; the same with 2N; the Ir difference over the difference in
# requests finished (counted by callgrind: wrk's, and the ones in flight
# when it stopped) takes out what any run costs (wrk's connections).
# Only the front's own instructions count, not the upstream's nor wrk's.
if [ "$CALLGRIND" != 0 ]; then
    echo "== instructions per request: the front under callgrind, ${CG_REQUESTS} and $((2 * CG_REQUESTS)) requests per location (wrk -c 32)"
    cg_started=$SECONDS
    rm -rf "$CG"
    mkdir -p "$CG"
    # cg_start PORT: the front under callgrind on PORT; true once it
    # answers, false when it exits (its port taken meanwhile, say).
    cg_start() {
        sed -e 's|^daemon on;|daemon off;\nmaster_process off;|' -e "s|@CPU_AFFINITY@||" -e "s|@LUA_PATH@|$lua_path|" \
            -e "s|@LUA_CPATH@|$LIB_ROOT/build/luajit/?.so;;|" -e "s|@CA@|$BENCH_CA|g" \
            -e "s|@UP_HTTP_URL@|$BENCH_HTTP_URL|g" -e "s|@UP_HTTPS_URL@|$BENCH_HTTPS_URL|g" \
            -e "s|@UP_HTTP@|${BENCH_HTTP_URL#http://}|g" -e "s|@UP_HTTPS@|${BENCH_HTTPS_URL#https://}|g" \
            -e "s|@LOG_PATH@|$LOG_PATH|g" -e "s|@DIR@|$CG|g" -e "s|@HTTP_PORT@|$1|g" \
            -e "s|@USER_DIRECTIVE@||g" "$BENCH/inside.conf.in" > "$CG/nginx.conf"
        grep -q '^master_process off;' "$CG/nginx.conf" || { echo "inside.conf.in: no 'daemon on;' line" >&2; exit 1; }
        : > "$CG/error.log"
        # Bounded: the whole section takes minutes; cleanup() stops it early.
        taskset -c "$FRONT_CPU" timeout 1800 valgrind --tool=callgrind --callgrind-out-file="$CG/callgrind.out" \
            nginx -p "$CG" -e "$CG/error.log" -c "$CG/nginx.conf" > "$CG/valgrind.out" 2>&1 &
        CG_PID=$!
        for _ in $(seq 240); do
            curl -s --max-time 5 -o /dev/null "http://127.0.0.1:$1/gc" && return 0
            if ! kill -0 "$CG_PID" 2>/dev/null; then
                wait "$CG_PID" 2>/dev/null || true
                CG_PID=""
                return 1
            fi
            sleep 0.5
        done
        return 1
    }
    # From a port no other script of the project starts at; the next one
    # when another process binds it first.
    CG_PORT=39880
    while :; do
        while sm_port_busy "$CG_PORT"; do CG_PORT=$((CG_PORT + 1)); done
        cg_start "$CG_PORT" && break
        if [ -n "$CG_PID" ] || ! grep -q "Address already in use" "$CG/error.log" || [ "$CG_PORT" -ge 39980 ]; then
            echo "the front under callgrind did not start; valgrind.out and error.log tails:" >&2
            tail -n 20 "$CG/valgrind.out" "$CG/error.log" >&2
            exit 1
        fi
        CG_PORT=$((CG_PORT + 1))
    done
    CG_URL=http://127.0.0.1:$CG_PORT
    CG_NGINX=$(cat "$CG/nginx.pid")
    cg_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$CG_NGINX/stat"; }
    # Until the process has used no CPU for half a second (bounded: 30 s).
    cg_idle() {
        local a b
        a=$(cg_ticks)
        for _ in $(seq 60); do
            sleep 0.5
            b=$(cg_ticks)
            [ "$a" = "$b" ] && return 0
            a=$b
        done
        echo "the front under callgrind does not go idle" >&2
        return 1
    }
    # cg_requests COUNT PATH [CONNECTIONS]: COUNT responses through PATH
    # (wrk -c CONNECTIONS, 32 by default), then the front left to go idle.
    cg_requests() {
        local line
        line=$(WRK_STOP_AFTER=$1 taskset -c "$LOAD_CPU" timeout 600 wrk -t 1 -c "${3:-32}" -d 590s --timeout 30s \
            -s "$BENCH/wrk_report.lua" "$CG_URL$2" | grep '^wrk_report ') || {
            echo "wrk failed against the front under callgrind ($2)" >&2
            return 1
        }
        if [ "$(field non2xx "$line")" != 0 ]; then
            echo "the front under callgrind answered errors for $2: $line" >&2
            return 1
        fi
        cg_idle
    }
    # cg_sample COUNT PATH: sets CG_IR to the Ir of COUNT requests through
    # PATH and CG_N to the requests the front finished meanwhile (calls of
    # ngx_http_free_request: wrk's COUNT and the ones in flight when it
    # stopped); the one dump file there is, moved aside once read.
    cg_sample() {
        local dump
        timeout 60 callgrind_control -z "$CG_NGINX" >/dev/null
        cg_requests "$1" "$2"
        timeout 60 callgrind_control -d "$CG_NGINX" >/dev/null
        dump=$(compgen -G "$CG/callgrind.out.[0-9]*" | head -n 1) || true
        CG_IR=$(sed -n 's/^summary: *//p' "${dump:-/dev/null}")
        if [ -z "$CG_IR" ]; then
            echo "callgrind wrote no dump for $2" >&2
            return 1
        fi
        CG_N=$(awk -v fn=ngx_http_free_request -f "$BENCH/callgrind_calls.awk" "$dump")
        mv "$dump" "$CG/read.$(basename "$dump")"
    }
    for scheme in http https; do
        for loc in "${MEASURED[@]}"; do
            cg_requests 1000 "/$scheme/$loc" 64
            cg_sample "$CG_REQUESTS" "/$scheme/$loc"
            a=$CG_IR na=$CG_N
            cg_sample $((2 * CG_REQUESTS)) "/$scheme/$loc"
            b=$CG_IR nb=$CG_N
            if [ "$nb" -le "$na" ]; then
                echo "callgrind: $nb requests in the long sample of /$scheme/$loc, $na in the short one" >&2
                exit 1
            fi
            ir=$(( (b - a) / (nb - na) ))
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scheme" "$loc" "$ir" "$a" "$b" "$na" "$nb" >> "$TMP/ir.tsv"
            printf '  %-5s %-10s %9s Ir/request\n' "$scheme" "$loc" "$ir"
        done
    done
    kill "$CG_PID" 2>/dev/null || true
    wait "$CG_PID" 2>/dev/null || true
    CG_PID=""
    echo "  (callgrind section: $((SECONDS - cg_started)) s)"
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
    "$RSS_REQUESTS" "$LOAD_BEFORE" "$LOAD_AFTER" "${resty_version:-?}" "$LIB_ROOT" "$ROUNDS" "$PICK" "$CG_REQUESTS"
