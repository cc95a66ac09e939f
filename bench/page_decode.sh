#!/usr/bin/env bash
# The list body's decode alone (bench/page_decode.c), not part of make bench:
#   bench/page_decode.sh [LUA_PC...]     default: lua5.4 luajit
# builds page_decode against each pkg-config Lua (-O2, as the module) into
# tests/tmp/page_decode/, then for pages of 100 and 1000 entries prints the
# wall time per page (median of 5 runs) and, when valgrind is installed,
# the instructions of one decode (callgrind, counting inside decode_page
# only: the page's set-up is left out), each twice: with a full GC between
# pages outside the count (the decode alone), and with Lua's incremental
# GC left to run where it falls (its share of the garbage counted in).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
OUT=tests/tmp/page_decode
mkdir -p "$OUT"
[ $# -gt 0 ] || set -- lua5.4 luajit
ITER=${PAGE_DECODE_ITER:-200}

for pc in "$@"; do
    bin=$OUT/page_decode-$pc
    # shellcheck disable=SC2046
    cc -std=c99 -O2 -g -D_POSIX_C_SOURCE=200809L -Isrc $(pkg-config --cflags "$pc" libcurl) \
        -o "$bin" bench/page_decode.c src/*.c $(pkg-config --libs "$pc" libcurl hiredis) -lm
    for gc in 0 1; do
        for n in 100 1000; do
            times=$(for _ in 1 2 3 4 5; do "$bin" "$n" "$ITER" "$gc" | sed 's/.*: \([0-9.]*\) us.*/\1/'; done | sort -n)
            median=$(echo "$times" | sed -n 3p)
            ir=
            if command -v valgrind >/dev/null; then
                out=$OUT/cg-$pc-$n-$gc
                valgrind --tool=callgrind --toggle-collect=decode_page \
                    --callgrind-out-file="$out.out" "$bin" "$n" 50 "$gc" >/dev/null 2>"$out.log"
                total=$(sed -n 's/^summary: //p' "$out.out")
                ir=", $((total / 50)) Ir per page"
            fi
            echo "$pc, $([ "$gc" = 0 ] && echo "decode only" || echo "Lua's GC in"): $n entries:" \
                "$median us per page (median of 5)$ir"
        done
    done
done
