#!/usr/bin/env bash
# Instructions per call (callgrind) of the three calls issue 28 holds
# steady, on both transports: get_connector_log, get_connector_log_json and
# a page of 1,000 entries; libcurl on Lua 5.4 and LuaJIT, cosockets in one
# nginx process (master_process off) calling the same upstream. Per call =
# (run of 2N - run of N) / N, so start-up cancels out; single runs move by
# up to ~2% (how often an event loop finds the answer not there yet, when
# the garbage collector runs), so each checkout runs ROUNDS times,
# interleaved, and the mean is printed. Not part of `make bench`; needs
# valgrind. Usage: bench/paths.sh [CHECKOUT...] (default: this one; each
# built with `make` and `make LUA=luajit`). Environment: PATHS_ROUNDS (3),
# PATHS_N (calls per entry run, 1000), PATHS_PAGE_N (pages per run, 40).
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
TMP=$BENCH/tmp/paths
ROUNDS=${PATHS_ROUNDS:-3}
N=${PATHS_N:-1000}
PAGE_N=${PATHS_PAGE_N:-40}
UP_PORT=${PATHS_UP_PORT:-39701}
FRONT_PORT=${PATHS_FRONT_PORT:-39702}
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
[ $# -gt 0 ] || set -- "$ROOT"
mkdir -p "$TMP/up" "$TMP/front"

# The upstream: the seed entry and a page of 1,000 entries, as files.
lua5.4 - "$TMP/up" <<'LUA'
local items = {}
for i = 1, 1000 do
  items[i] = string.format("{\"id\":\"%d\",\"log_time\":\"2025-01-01T00:%02d:%02dZ\",\"status\":200,"
    .. "\"event\":\"auth.token.refresh\",\"request\":\"POST /api/oauth/token_refresh\",\"duration_ms\":%d,"
    .. "\"request_id\":\"8dc24bc2-8a17-4188-a509-%012d\"}", 100001 - i, (i // 60) % 60, i % 60, 252 + i, i)
end
io.open(arg[1] .. "/page.json", "w"):write("{\"logs\":[" .. table.concat(items, ",") .. "]}")
io.open(arg[1] .. "/entry.json", "w"):write("{\"id\":\"123\",\"log_time\":\"2025-01-01\",\"status\":200,"
  .. "\"event\":\"auth.token.refresh\",\"request\":\"POST /api/oauth/token_refresh\",\"duration_ms\":253,"
  .. "\"request_id\":\"8dc24bc2-8a17-4188-a509-217cb8799929\"}")
LUA
temps() { local d=$1; echo "client_body_temp_path $d/cb; proxy_temp_path $d/pt; fastcgi_temp_path $d/ft; uwsgi_temp_path $d/ut; scgi_temp_path $d/st;"; }
cat > "$TMP/up.conf" <<CONF
worker_processes 1;
daemon on;
pid $TMP/up/nginx.pid;
error_log $TMP/up/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    $(temps "$TMP/up")
    default_type application/json;
    server {
        listen 127.0.0.1:$UP_PORT;
        add_header X-Request-Id req_bench_0000000001 always;
        location = /v1/teams/936506/connector_builder/connectors/T3S70/logs/123 { alias $TMP/up/entry.json; }
        location = /v1/teams/936506/connector_builder/connectors/T3S70/logs { alias $TMP/up/page.json; }
    }
}
CONF
nginx -p "$TMP/up" -c "$TMP/up.conf"
trap 'kill "$(cat "$TMP/up/nginx.pid")" 2>/dev/null || true' EXIT

total() { sed -n 's/^summary: *//p' "$1" | awk '{print $1}'; }

# per_call CHECKOUT KIND WHAT N: Ir per call.
per_call() {
    local lib=$1 kind=$2 what=$3 n=$4 k out pid a b
    for k in 1 2; do
        out=$TMP/$kind-$what-$k.out
        if [ "$kind" = nginx ]; then
            cat > "$TMP/front.conf" <<CONF
worker_processes 1;
master_process off;
daemon off;
pid $TMP/front/nginx.pid;
error_log $TMP/front/error.log warn;
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
events { worker_connections 1024; }
http {
    access_log off;
    $(temps "$TMP/front")
    lua_package_path "$lib/lua/?.lua;$lib/lua/?/init.lua;$BENCH/?.lua;;";
    lua_package_cpath "$lib/build/luajit/?.so;;";
    server {
        listen 127.0.0.1:$FRONT_PORT;
        location = /calls { content_by_lua_block { require("paths_calls").serve($UP_PORT) } }
    }
}
CONF
            timeout 900 valgrind --tool=callgrind --callgrind-out-file="$out" nginx -p "$TMP/front" \
                -c "$TMP/front.conf" 2>"$out.log" &
            pid=$!
            for _ in $(seq 600); do
                curl -s -o /dev/null "http://127.0.0.1:$FRONT_PORT/" && break
                sleep 0.1
            done
            curl -fs "http://127.0.0.1:$FRONT_PORT/calls?what=$what&n=$((k * n))" | grep -q '^ok' \
                || echo "the calls failed inside nginx ($what)" >&2
            kill -QUIT "$pid"
            wait "$pid" || true
        else
            LUA_PATH="$lib/lua/?.lua;$lib/lua/?/init.lua;;" LUA_CPATH="$lib/build/$kind/?.so;;" \
                timeout 900 valgrind --tool=callgrind --callgrind-out-file="$out" \
                "$([ "$kind" = luajit ] && echo luajit || echo lua5.4)" "$BENCH/paths_calls.lua" "$UP_PORT" \
                "$what" $((k * n)) >/dev/null 2>"$out.log"
        fi
    done
    a=$(total "$TMP/$kind-$what-1.out")
    b=$(total "$TMP/$kind-$what-2.out")
    echo $(((b - a) / n))
}

RESULTS=$TMP/results.tsv
: > "$RESULTS"
for round in $(seq "$ROUNDS"); do
    for lib in "$@"; do
        lib=$(cd "$lib" && pwd)
        for what in log json page; do
            n=$N
            [ "$what" != page ] || n=$PAGE_N
            for kind in lua5.4 luajit nginx; do
                ir=$(per_call "$lib" "$kind" "$what" "$n")
                printf '%s\t%s\t%s\t%s\t%s\n' "$lib" "$kind" "$what" "$round" "$ir" >> "$RESULTS"
                echo "round $round $lib: $kind $what $ir Ir per call" >&2
            done
        done
    done
done
echo "== instructions per call, mean of $ROUNDS rounds (libcurl on Lua 5.4, LuaJIT; cosockets in nginx)"
awk -F'\t' '{ s[$1 "\t" $3 "\t" $2] += $5; c[$1 "\t" $3 "\t" $2]++ }
    END { for (k in s) printf "%s\t%d\n", k, s[k] / c[k] }' "$RESULTS" | sort
