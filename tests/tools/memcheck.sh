#!/usr/bin/env bash
# valgrind memcheck over tests/tools/memcheck.lua against a running stand-in (its
# env file is $1). Fails on any memory error or any leak, definite, indirect
# or possible. No suppressions: none were needed.
set -euo pipefail
set -a
# shellcheck disable=SC1090
. "$1"
set +a
exec valgrind --quiet --leak-check=full \
    --show-leak-kinds=definite,indirect,possible \
    --errors-for-leak-kinds=definite,indirect,possible \
    --error-exitcode=9 "${LUA:-lua5.4}" tests/tools/memcheck.lua
