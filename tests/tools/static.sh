#!/usr/bin/env bash
# Static checks of the C code (src/ and the C files of tests/), for
# `make test-all`: the layers, cppcheck, then clang-tidy. Each must be clean.
#   static.sh layers | cppcheck | clang-tidy
# cppcheck checks the layers first (tests/tools/layers.lua: every file of
# src/ on a declared floor, no include or call into a higher one, no circle).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1

C_FILES="src/*.c src/cli/*.c tests/c/*.c tests/fuzz/*.c tests/tools/*.c"
LUA_INC=$(pkg-config --cflags lua5.4)
CURL_INC=$(pkg-config --cflags libcurl)

# clang-tidy: the bug-finding families. Left out, and why:
#   bugprone-easily-swappable-parameters  (pointer, length) pairs everywhere
#   cert-err33-c  unchecked snprintf/fprintf results: every snprintf writes
#                 a bounded decimal or constant into a buffer sized for it
#   bugprone-implicit-widening-of-multiplication-result  flags constant
#                 expressions such as 256 * 1024, which cannot overflow
#   bugprone-reserved-identifier, cert-dcl37-c, cert-dcl51-cpp  the
#                 --wrap functions of tests/c/wipe.c must be named __wrap_*
#   misc-no-recursion  none in src; Lua's own API is recursive by design
TIDY_CHECKS='-*,bugprone-*,cert-*,clang-analyzer-*,misc-*,performance-*,portability-*'
TIDY_CHECKS+=',-bugprone-easily-swappable-parameters,-cert-err33-c'
TIDY_CHECKS+=',-bugprone-implicit-widening-of-multiplication-result'
TIDY_CHECKS+=',-bugprone-reserved-identifier,-cert-dcl37-c,-cert-dcl51-cpp,-misc-no-recursion'

# The layers, from the #include lines and from the Lua 5.4 build's objects
# (who calls whom); `make all` is a no-op after the gates' own build.
layers() {
    make -s all >/dev/null || return 1
    lua5.4 tests/tools/layers.lua build/lua5.4/obj build/lua5.4/cli/obj
}

case "${1:-}" in
    layers) layers ;;
    cppcheck)
        layers || exit 1
        # Both Lua ABIs: the integer and the double-only branches of compat.h.
        # unassignedVariable in entry.c: `field` is only used where Lua has
        # integers, and (void)field marks it otherwise.
        for v in 504 501; do
            # shellcheck disable=SC2086
            cppcheck --quiet --error-exitcode=1 --inline-suppr --std=c99 \
                --enable=warning,style,performance,portability \
                --suppress=missingIncludeSystem --suppress=unassignedVariable:src/entry.c \
                -I src -D_POSIX_C_SOURCE=200809L -DLUA_VERSION_NUM=$v $C_FILES || exit 1
        done
        echo "cppcheck: clean"
        ;;
    clang-tidy)
        # Two files at a time (2 cores): the analyzer is the slow part.
        # Findings print on stdout; stderr only counts suppressed warnings.
        # shellcheck disable=SC2086
        printf '%s\n' $C_FILES | xargs -P 2 -I{} clang-tidy --quiet -checks="$TIDY_CHECKS" \
            -warnings-as-errors='*' {} -- -std=c99 -D_POSIX_C_SOURCE=200809L -Isrc \
            $LUA_INC $CURL_INC 2>/dev/null
        status=$?
        [ "$status" -eq 0 ] && echo "clang-tidy: clean"
        exit "$status"
        ;;
    *) echo "usage: $0 layers | cppcheck | clang-tidy" >&2; exit 2 ;;
esac
