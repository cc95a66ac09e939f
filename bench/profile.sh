#!/usr/bin/env bash
# Where the time of one call goes: instruction counts (valgrind's callgrind,
# deterministic, unlike timers on a shared VM) of the raw libcurl loop and
# of the library on Lua 5.4, per request, with the library's own functions
# broken out. Not part of `make bench` (about two minutes); needs valgrind.
# Usage: bench/profile.sh [http|https]   (bench/PROFILE.md explains the output)
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
cd "$ROOT"
TMP=$BENCH/tmp/profile
LOG_PATH=/v1/teams/936506/connector_builder/connectors/T3S70/logs/123
K=2000
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }

make -s
mkdir -p "$TMP"
# shellcheck disable=SC2046 # pkg-config prints several words on purpose
cc -O2 -g -std=c99 -Wall -Wextra -Werror -pedantic $(pkg-config --cflags libcurl libcjson) \
    bench/raw.c -o "$TMP/raw" $(pkg-config --libs libcurl libcjson)
bench/server.sh start "$TMP/server"
trap 'bench/server.sh stop "$TMP/server"' EXIT
# shellcheck disable=SC1091
. "$TMP/server/env"
base=$BENCH_HTTP_URL ca=()
if [ "${1:-http}" = https ]; then base=$BENCH_HTTPS_URL ca=("$BENCH_CA"); fi
export LUA_PATH="lua/?.lua;lua/?/init.lua;;" LUA_CPATH="build/lua5.4/?.so;;"

# ir OUT COUNT COMMAND...: runs COMMAND under callgrind, prints total Ir.
ir() {
    local out=$1
    shift
    valgrind --tool=callgrind --callgrind-out-file="$out" "$@" >/dev/null 2>"$out.log"
    awk '/Collected/ { print $4 }' "$out.log"
}
# incl FILE PATTERN: "function inclusive-Ir" for the functions matching PATTERN.
incl() {
    callgrind_annotate --threshold=100 --inclusive=yes "$1" 2>/dev/null |
        awk -v pat="$2" '/^ *[0-9,]+ \(/ && $0 ~ pat {
            n = $1; gsub(",", "", n); line = $0
            sub(/^ *[0-9,]+ +\( *[0-9.]+%\) +/, "", line); split(line, f, " "); fn = f[1]
            if (fn == "PROGRAM") fn = "whole_run"
            sub(/^.*\//, "", fn); sub(/^\?\?\?:/, "", fn)
            if (fn !~ /^=>/ && fn != "" && !seen[fn]++) print fn, n }'
}
# inclusive SHORT LONG PATTERN: per request, the long run minus the short
# one over K (start-up cancels out), at least 20 instructions.
inclusive() {
    join <(incl "$1" "$3" | sort) <(incl "$2" "$3" | sort) |
        awk -v k=$K '{ d = ($3 - $2) / k; if (d >= 20) printf "    %-44s %8.0f\n", $1, d }' | sort -k2 -nr
}

echo "== Ir per request (runs of $K and $((2 * K)) requests, the difference over $K)"
a=$(ir "$TMP/raw.1" "$TMP/raw" "$base$LOG_PATH" $K "${ca[@]}")
b=$(ir "$TMP/raw.2" "$TMP/raw" "$base$LOG_PATH" $((2 * K)) "${ca[@]}")
raw=$(((b - a) / K))
a=$(ir "$TMP/lib.1" lua5.4 bench/lib.lua "$base" $K "${ca[@]}")
b=$(ir "$TMP/lib.2" lua5.4 bench/lib.lua "$base" $((2 * K)) "${ca[@]}")
lib=$(((b - a) / K))
echo "  raw libcurl + cJSON          $raw"
echo "  lua-supermetrics, Lua 5.4    $lib  (+$((lib - raw)), x$(awk -v a="$lib" -v b="$raw" 'BEGIN { printf "%.3f", a / b }'))"
echo "== raw loop, inclusive Ir per request"
inclusive "$TMP/raw.1" "$TMP/raw.2" 'curl_easy_perform|cJSON_ParseWithLength |cJSON_Delete \[|PROGRAM TOTALS'
echo "== library, inclusive Ir per request"
inclusive "$TMP/lib.1" "$TMP/lib.2" 'PROGRAM TOTALS|curl_easy_perform|lua_callk \[|src/[a-z]+\.c:'
echo "(lua_callk from client_perform is the cjson.safe decode; client_perform includes curl_easy_perform)"
