#!/usr/bin/env bash
# The rate budget's section of `make bench` (bench/run.sh runs it after the
# inside-nginx section; it also runs alone): issue 29's load. A front nginx
# with TWO workers (bench/budget.conf.in, bench/budget_app.lua) calls the
# test stand-in's enforced window (tests/server/window.lua) through
# lua-supermetrics, one get_connector_log per wrk request, wrk -c 16 (16
# callers), with the key's rate budget off (each call faces the window alone,
# as before the budget), per worker (local, the default), in a
# lua_shared_dict (dict) and in Redis (redis, a redis-server of its own:
# tests/lib/redis.sh). Two figures per budget:
#   - requests sent into the closed window: a window of 100 requests that
#     then stays closed (Retry-After: 3600) for the whole run; what reaches
#     the stand-in after its first 429 (its "late" count: requests in flight
#     when the 429 went out count too);
#   - requests/s while the window is open: a window that never closes, in
#     interleaved rounds (the median round).
# Writes the section "## The rate budget inside nginx (two workers, wrk -c 16)"
# of bench/RESULTS.md (the rest of the file stays).
#
# Environment: BENCH_BUDGET_SECONDS (each wrk run, 3), BENCH_BUDGET_ROUNDS
# (rounds of the open runs, 3), BENCH_BUDGET_CONNECTIONS (16), BENCH_LIB_ROOT
# (as for run.sh: the library of another checkout; RESULTS.md is then left
# alone and the section goes to bench/tmp/budget/results/).
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
cd "$ROOT"
TMP=$BENCH/tmp/budget
SECS=${BENCH_BUDGET_SECONDS:-3}
ROUNDS=${BENCH_BUDGET_ROUNDS:-3}
CONNS=${BENCH_BUDGET_CONNECTIONS:-16}
STORES="off local dict redis"
LIB_ROOT=$(cd "${BENCH_LIB_ROOT:-$ROOT}" && pwd)
OUT=$BENCH
[ "$LIB_ROOT" = "$ROOT" ] || OUT=$TMP/results

for tool in wrk redis-server redis-cli; do
    if ! command -v "$tool" >/dev/null; then
        echo "budget.sh needs $tool (tests/deps.sh bench)" >&2
        exit 1
    fi
done
make -s -C "$LIB_ROOT" LUA=luajit
mkdir -p "$TMP" "$OUT"
rm -f "$TMP"/*.tsv

REDIS_PID=""
cleanup() {
    "$ROOT/tests/server/stop.sh" "$TMP/front" || true
    "$ROOT/tests/server/stop.sh" "$TMP/hub" || true
    if [ -n "$REDIS_PID" ]; then
        kill "$REDIS_PID" 2>/dev/null || true
        wait "$REDIS_PID" 2>/dev/null || true
    fi
}
trap cleanup EXIT

"$ROOT/tests/server/start.sh" "$TMP/hub" >/dev/null
# shellcheck disable=SC1091
. "$TMP/hub/env"

# Redis, bounded (an hour at most), on a free port; ready once it answers.
timeout -k 5 3600 "$ROOT/tests/lib/redis.sh" serve "$TMP/redis" - >"$TMP/redis.addr" &
REDIS_PID=$!
REDIS_PORT=""
for _ in $(seq 100); do
    read -r REDIS_PORT _ <"$TMP/redis.addr" 2>/dev/null || true
    if [ -n "$REDIS_PORT" ] && [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; then
        break
    fi
    REDIS_PORT=""
    sleep 0.05
done
if [ -z "$REDIS_PORT" ]; then
    echo "redis-server did not start" >&2
    exit 1
fi

# shellcheck source=tests/lib/nginx.sh
. "$ROOT/tests/lib/nginx.sh"
mkdir -p "$TMP/front"
sm_nginx_start "$TMP/front" "$BENCH/budget.conf.in" 39580 0 \
    -e "s|@LUA_PATH@|$LIB_ROOT/lua/?.lua;$LIB_ROOT/lua/?/init.lua;$BENCH/?.lua;;|" \
    -e "s|@LUA_CPATH@|$LIB_ROOT/build/luajit/?.so;;|" \
    -e "s|@HUB@|$SM_TEST_HTTP_URL|" -e "s|@REDIS@|redis://127.0.0.1:$REDIS_PORT|"
FRONT=http://127.0.0.1:$HTTP_PORT

# run_wrk PATH: wrk_report.lua's line for CONNS connections over SECS s.
run_wrk() {
    timeout $((SECS + 60)) wrk -t 1 -c "$CONNS" -d "${SECS}s" --timeout 10s -s "$BENCH/wrk_report.lua" \
        "$FRONT$1" | grep '^wrk_report '
}
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
# window_stats KEY FIELD: one field of the stand-in's window stats.
window_stats() {
    curl -sS --max-time 10 "$SM_TEST_HTTP_URL/v1/teams/1/connector_builder/connectors/windowstats/logs/$1" |
        FIELD=$2 lua5.4 -e 'print(math.floor(require("cjson").decode(io.read("a"))[os.getenv("FIELD")]))'
}
nonce() { echo "otok_valid_bench$1$(date +%s%N)"; }

echo "== the rate budget inside nginx: 2 workers, wrk -c $CONNS, ${SECS} s per run"
# A call through each budget must work before anything is measured.
for store in $STORES; do
    code=$(curl -sS -o /dev/null -w '%{http_code}' "$FRONT/load?store=$store&key=$(nonce check)&connector=T3S70")
    if [ "$code" != 200 ]; then
        echo "FAILED: /load?store=$store answered $code; error.log tail:" >&2
        tail -n 5 "$TMP/front/error.log" >&2
        exit 1
    fi
done

# The closed window.
for store in $STORES; do
    key=$(nonce "closed$store")
    line=$(run_wrk "/load?store=$store&key=$key&connector=window-100-3600-429")
    printf '%s\t%s\t%s\t%s\t%s\n' "$store" "$(field requests "$line")" "$(window_stats "$key" ok)" \
        "$(window_stats "$key" late)" "$(field socket_errors "$line")" >> "$TMP/closed.tsv"
    printf '  %-6s closed window: %s calls, %s answered by the window, %s requests sent into it after its 429\n' \
        "$store" "$(field requests "$line")" "$(window_stats "$key" ok)" "$(window_stats "$key" late)"
done
# The open window, interleaved rounds.
for round in $(seq "$ROUNDS"); do
    for store in $STORES; do
        key=$(nonce "open$store")
        line=$(run_wrk "/load?store=$store&key=$key&connector=window-1000000000-3600-429")
        printf '%s\t%s\t%s\t%s\n' "$store" "$round" "$(field rps "$line")" "$(field non2xx "$line")" >> "$TMP/open.tsv"
        printf '  %-6s open window, round %s: %s requests/s (%s non-2xx)\n' "$store" "$round" \
            "$(field rps "$line")" "$(field non2xx "$line")"
    done
done

BENCH_RESULTS_DIR=$OUT lua5.4 "$BENCH/budget_report.lua" "$TMP" "$CONNS" "$SECS" "$ROUNDS" \
    "$(git -C "$LIB_ROOT" log -1 --format=%h -- src lua 2>/dev/null || echo unknown)"
