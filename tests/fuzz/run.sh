#!/usr/bin/env bash
# Runs the fuzz harnesses: the libFuzzer ones built by `make fuzz`
# (build/fuzz), or the plain ones built by `make replay` (build/replay).
#   run.sh replay          every input of tests/fuzz/regress/NAME and
#                          tests/fuzz/corpus/NAME, once, through libFuzzer
#                          and the sanitizers (seconds)
#   run.sh replay-plain    the same through the plain driver (replay.c: no
#                          libFuzzer, no sanitizer; make test)
#   run.sh fuzz SECONDS [NAME...]
#                          each harness (or those named) for SECONDS, two at
#                          a time (FUZZ_JOBS, 2 cores), starting from its
#                          corpus; new inputs go to tests/tmp/fuzz/NAME,
#                          crashes to tests/tmp/fuzz/
# Exits non-zero on any crash, leak, timeout or failed invariant. A crash
# found here becomes a regression: copy the crash file into
# tests/fuzz/regress/NAME/ with a name that says what it was.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1
BIN=$ROOT/build/fuzz
OUT=$ROOT/tests/tmp/fuzz
mkdir -p "$OUT"
names=$(cd tests/fuzz && ls fuzz_*.c | sed 's/\.c$//')

dict_of() {
    case $1 in
        fuzz_response | fuzz_reply) echo "-dict=tests/fuzz/response.dict" ;;
        fuzz_http1) echo "-dict=tests/fuzz/http1.dict" ;;
        fuzz_args) echo "-dict=tests/fuzz/args.dict" ;;
        fuzz_entry | fuzz_page) echo "-dict=tests/fuzz/json.dict" ;;
    esac
}

replay() {
    local bin=$1 name files rc=0
    for name in $names; do
        files=$(find "tests/fuzz/regress/$name" "tests/fuzz/corpus/$name" -type f 2>/dev/null)
        [ -n "$files" ] || continue
        # shellcheck disable=SC2086
        if "$bin/$name" $files >"$OUT/replay-$name.log" 2>&1; then
            echo "$name: $(echo "$files" | wc -l) inputs replayed"
        else
            echo "$name: FAILED on a stored input"; tail -n 30 "$OUT/replay-$name.log"
            rc=1
        fi
    done
    return $rc
}

fuzz_one() {
    local name=$1 seconds=$2
    mkdir -p "$OUT/$name" "tests/fuzz/corpus/$name"
    # shellcheck disable=SC2046
    "$BIN/$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -max_len=8192 -print_final_stats=1 -artifact_prefix="$OUT/$name-" \
        $(dict_of "$name") "$OUT/$name" "tests/fuzz/corpus/$name" >"$OUT/$name.log" 2>&1
}

fuzz() {
    local seconds=$1 name rc=0 pids=() running=0
    shift
    [ $# -gt 0 ] && names=$*
    for name in $names; do
        fuzz_one "$name" "$seconds" &
        pids+=("$!:$name")
        running=$((running + 1))
        if [ "$running" -ge "${FUZZ_JOBS:-2}" ]; then
            wait -n
            running=$((running - 1))
        fi
    done
    for p in "${pids[@]}"; do
        name=${p#*:}
        if wait "${p%%:*}"; then
            echo "$name: $(grep -a '^stat::number_of_executed_units' "$OUT/$name.log" | awk '{print $2}') runs," \
                "$(grep -a '^stat::peak_rss_mb' "$OUT/$name.log" | awk '{print $2}') MB peak, no finding"
        else
            echo "$name: FINDING (log: $OUT/$name.log)"
            grep -a -E 'ERROR|runtime error|invariant failed|Test unit written' "$OUT/$name.log" | head -n 10
            rc=1
        fi
    done
    return $rc
}

case "${1:-}" in
    replay) replay "$BIN" ;;
    replay-plain) replay "$ROOT/build/replay" ;;
    fuzz) shift; fuzz "${1:-15}" "${@:2}" ;;
    *) echo "usage: $0 replay | replay-plain | fuzz SECONDS [NAME...]" >&2; exit 2 ;;
esac
