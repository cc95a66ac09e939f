#!/usr/bin/env bash
# Runs a C driver of tests/c against a running stand-in (its env file: $2),
# with its negative control first, so a check that cannot fail never passes.
#   check.sh wipe ENV      build/c/wipe-mutant (never wipes) must be caught,
#                          then build/c/wipe must find no unwiped credential
#   check.sh threads ENV   a deliberate race must be reported by TSan, then
#                          the two-thread run must give no report
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
set -a
# shellcheck disable=SC1090
. "$2"
set +a
B=build/c

case $1 in
    wipe)
        if out=$("$B/wipe-mutant" "$SM_TEST_HTTP_URL" 2>&1) || ! grep -q "unwiped$" <<<"$out"; then
            echo "the mutant that never wipes was not caught:"; echo "$out"; exit 1
        fi
        echo "negative control: the mutant that never wipes is caught"
        "$B/wipe" "$SM_TEST_HTTP_URL"
        ;;
    threads)
        export TSAN_OPTIONS="halt_on_error=1:exitcode=66:second_deadlock_stack=1"
        out=$("$B/threads" --race 2>&1)
        if [ $? -ne 66 ] || ! grep -q "WARNING: ThreadSanitizer: data race" <<<"$out"; then
            echo "ThreadSanitizer did not report the deliberate race:"; echo "$out"; exit 1
        fi
        echo "negative control: ThreadSanitizer reports a deliberate race"
        "$B/threads" "$SM_TEST_HTTP_URL"
        ;;
    *) echo "usage: $0 wipe|threads ENV_FILE" >&2; exit 2 ;;
esac
