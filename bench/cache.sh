#!/usr/bin/env bash
# The entry cache's section of `make bench` (bench/run.sh runs it after the
# rate budget's; it also runs alone): issue 30's load. A front nginx with ONE
# worker on a core of its own (bench/cache.conf.in, bench/cache_app.lua)
# answers wrk -c 32 with the bench server's seed entry (bench/server.sh, HTTP
# keep-alive upstream on the other core, with wrk) in six ways: nginx's
# proxy_cache (all hits after the first request: the anchor), proxy_pass,
# the library's cache hit as text (get_connector_log_json + ngx.print) and
# as a table (get_connector_log + cjson.encode), and the same two calls
# without a cache (a request each); and the floor under any Lua cache (a
# string from lua-resty-lrucache printed). Interleaved rounds, the median round of
# each location; the ratios are to proxy_cache hits in the same run. Writes
# the section "## The entry cache inside nginx (one worker, wrk -c 32)" of
# bench/RESULTS.md (the rest of the file stays).
#
# Environment: BENCH_CACHE_SECONDS (each wrk run, 5), BENCH_CACHE_ROUNDS (3),
# BENCH_CACHE_CONNECTIONS (32), BENCH_CPU (the front worker's core; default
# the last one), BENCH_LIB_ROOT (as for run.sh: the library of another
# checkout; RESULTS.md is then left alone and the section goes to
# bench/tmp/cache/results/).
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
cd "$ROOT"
TMP=$BENCH/tmp/cache
SECS=${BENCH_CACHE_SECONDS:-5}
ROUNDS=${BENCH_CACHE_ROUNDS:-3}
CONNS=${BENCH_CACHE_CONNECTIONS:-32}
LOCATIONS="proxy_cache proxy floor hit_json hit_table lib_json lib"
LOG_PATH=/v1/teams/936506/connector_builder/connectors/T3S70/logs/123
LIB_ROOT=$(cd "${BENCH_LIB_ROOT:-$ROOT}" && pwd)
OUT=$BENCH
[ "$LIB_ROOT" = "$ROOT" ] || OUT=$TMP/results

if ! command -v wrk >/dev/null; then
    echo "cache.sh needs wrk (tests/deps.sh bench)" >&2
    exit 1
fi
make -s -C "$LIB_ROOT" LUA=luajit
mkdir -p "$TMP" "$OUT"
rm -f "$TMP"/*.tsv

FRONT_CPU=${BENCH_CPU:-$(($(nproc) - 1))}
LOAD_CPU=$FRONT_CPU
[ "$(nproc)" -gt 1 ] && LOAD_CPU=$(( FRONT_CPU == 0 ? 1 : 0 ))

cleanup() {
    "$ROOT/tests/server/stop.sh" "$TMP/front" || true
    "$BENCH/server.sh" stop "$TMP/upstream" || true
}
trap cleanup EXIT

"$BENCH/server.sh" start "$TMP/upstream" "$LOAD_CPU"
# shellcheck disable=SC1091
. "$TMP/upstream/env"

# shellcheck source=tests/lib/nginx.sh
. "$ROOT/tests/lib/nginx.sh"
mkdir -p "$TMP/front"
rm -rf "$TMP/front/proxy_cache"
affinity="worker_cpu_affinity 1$(printf "%${FRONT_CPU}s" "" | tr ' ' 0);"
sm_nginx_start "$TMP/front" "$BENCH/cache.conf.in" 39680 0 \
    -e "s|@CPU_AFFINITY@|$affinity|" \
    -e "s|@LUA_PATH@|$LIB_ROOT/lua/?.lua;$LIB_ROOT/lua/?/init.lua;$BENCH/?.lua;;|" \
    -e "s|@LUA_CPATH@|$LIB_ROOT/build/luajit/?.so;;|" \
    -e "s|@UP_HTTP_URL@|$BENCH_HTTP_URL|g" -e "s|@UP_HTTP@|${BENCH_HTTP_URL#http://}|g" \
    -e "s|@LOG_PATH@|$LOG_PATH|g"
FRONT=http://127.0.0.1:$HTTP_PORT

# Every location answers the entry before anything is measured (and the
# caches hold it).
for loc in $LOCATIONS; do
    body=$(curl -sS --max-time 10 "$FRONT/$loc")
    if [[ "$body" != *'"id":"123"'* ]]; then
        echo "FAILED: /$loc answered: ${body:0:200}; error.log tail:" >&2
        tail -n 5 "$TMP/front/error.log" >&2
        exit 1
    fi
done

echo "== the entry cache inside nginx: 1 worker (core $FRONT_CPU), wrk -c $CONNS, ${SECS} s per run, $ROUNDS rounds"
for round in $(seq "$ROUNDS"); do
    for loc in $LOCATIONS; do
        line=$(taskset -c "$LOAD_CPU" timeout $((SECS + 60)) wrk -t 1 -c "$CONNS" -d "${SECS}s" --timeout 10s \
            -s "$BENCH/wrk_report.lua" "$FRONT/$loc" | grep '^wrk_report ')
        rps=$(sed -n 's/.* rps=\([^ ]*\).*/\1/p' <<<"$line")
        non2xx=$(sed -n 's/.* non2xx=\([^ ]*\).*/\1/p' <<<"$line")
        printf '%s\t%s\t%s\t%s\n' "$loc" "$round" "$rps" "$non2xx" >> "$TMP/runs.tsv"
        printf '  %-12s round %s: %s requests/s (%s non-2xx)\n' "$loc" "$round" "$rps" "$non2xx"
    done
done

BENCH_RESULTS_DIR=$OUT lua5.4 "$BENCH/cache_report.lua" "$TMP" "$CONNS" "$SECS" "$ROUNDS" \
    "$(git -C "$LIB_ROOT" log -1 --format=%h -- src lua 2>/dev/null || echo unknown)"
