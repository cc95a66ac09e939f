# shellcheck shell=bash
# Sourced by tests/run.sh (make test, make test-all), tests/lib/lanes.sh and
# tests/check.sh (make check): runs busted one spec file at a time, each
# under a wall-clock budget, so that a spec that hangs fails by name and the
# run goes on. Expects ROOT; adds to the callers' counters $passed and
# $failed.
#
# sm_busted NAME INTERP OPENRESTY [BUSTED-OPTION...] SPEC...
#   Runs each SPEC (a file, or a folder: its *_spec.lua files) with busted
#   under INTERP, the build in build/NAME, SM_TEST_OPENRESTY=OPENRESTY.
#   Prints a line per file, and what the file printed besides busted's
#   progress marks (failures, figures). Adds each file's successes to
#   $passed and its failures and errors to $failed; a file that does not end
#   within its budget is killed and counts as one failure, named.
#
# sm_busted_file NAME INTERP OPENRESTY FILE [BUSTED-OPTION...]
#   The same for one file (its output in tests/tmp/busted-NAME/), its line
#   prefixed with SM_BUSTED_LABEL when set; also sets SM_FILE_OK and
#   SM_FILE_BAD to what it added to $passed and $failed.
#
# sm_bounded SECONDS COMMAND...
#   Runs COMMAND (stdin /dev/null) under `timeout -k`: SIGTERM after SECONDS,
#   SIGKILL SM_GRACE seconds (10) later; then whatever is left of its process
#   group is killed too. Returns its status; sets SM_KILLED=1 if it had to be
#   stopped, else 0.
#
# sm_cap SECONDS
#   Prints SECONDS, or less: what is left before SM_SUITE_DEADLINE (epoch
#   seconds, if set); 0 once it has passed (the step is then not run).
#
# Budgets: SM_SPEC_BUDGET seconds per spec file (default 300), unless the
# file says otherwise in a line "-- budget: N s" among its first 20 lines;
# times SM_SPEC_BUDGET_FACTOR (1; the ASan run's is 2).
#
# Each spec file costs as few processes as the bounds allow: under the ASan
# run every process here has the sanitizer's runtime preloaded (the
# wrapper exports it for the specs' child interpreters), and each one,
# every forked subshell included, pays its start and a leak check at exit.

# sm_cap_to VAR SECONDS: sm_cap's answer in VAR, without a subshell.
sm_cap_to() {
    local b=$2 now
    if [ -n "${SM_SUITE_DEADLINE:-}" ]; then
        printf -v now '%(%s)T' -1
        [ $((SM_SUITE_DEADLINE - now)) -lt "$b" ] && b=$((SM_SUITE_DEADLINE - now))
    fi
    [ "$b" -gt 0 ] || b=0
    printf -v "$1" '%s' "$b"
}

sm_cap() {
    local b
    sm_cap_to b "$1"
    echo "$b"
}

SM_BOUNDED_PID=
sm_bounded() {
    local budget=$1 note noted="" status
    shift
    note=${TMPDIR:-/tmp}/sm-bounded.$BASHPID.$RANDOM
    : >"$note" || return 1
    # timeout's own messages (--verbose: the signals it sent) go to $note;
    # fd 3 carries stderr past it to the command.
    timeout --verbose -k "${SM_GRACE:-10}" "$budget" \
        bash -c 'exec 2>&3 3>&-; exec "$@"' sm_bounded "$@" 3>&2 2>"$note" </dev/null &
    SM_BOUNDED_PID=$!
    wait "$SM_BOUNDED_PID"
    status=$?
    # timeout leads a process group of its own: sweep what outlived it
    kill -s KILL -- -"$SM_BOUNDED_PID" 2>/dev/null
    SM_BOUNDED_PID=
    SM_KILLED=0
    IFS= read -r -d '' noted <"$note"
    [[ $noted == *"sending signal"* ]] && SM_KILLED=1
    rm -f "$note"
    return "$status"
}

# Ctrl-C or SIGTERM to the runner: the bounded command is in a process group
# of its own, out of the terminal's reach; end it with the runner.
sm_interrupted() {
    [ -n "$SM_BOUNDED_PID" ] && kill -s KILL -- -"$SM_BOUNDED_PID" 2>/dev/null
    echo "interrupted"
    exit 130
}
trap sm_interrupted INT TERM

# sm_spec_budget_to VAR FILE: the file's budget (capped) in VAR.
sm_spec_budget_to() {
    local line n=0 b=""
    while [ "$n" -lt 20 ] && IFS= read -r line; do
        n=$((n + 1))
        if [[ $line =~ ^--\ budget:\ ([0-9]+)\ s($|[^[:alnum:]_]) ]]; then
            b=${BASH_REMATCH[1]}
            break
        fi
    done <"$2"
    sm_cap_to "$1" $((${b:-${SM_SPEC_BUDGET:-300}} * ${SM_SPEC_BUDGET_FACTOR:-1}))
}

sm_spec_budget() {
    local b
    sm_spec_budget_to b "$1"
    echo "$b"
}

# Ends the tmux servers whose sockets are in DIR, and what runs in them
# (as cli_support.lua's terminal close() does), then removes DIR.
sm_sweep_terminals() {
    local s p
    for s in "$1"/*; do
        [ -S "$s" ] || continue
        for p in $(tmux -S "$s" list-panes -a -F '#{pane_pid}' 2>/dev/null); do
            kill -s KILL -- -"$p" 2>/dev/null
        done
        tmux -S "$s" kill-server 2>/dev/null
    done
    rm -rf "$1"
}

# What a spec file printed besides busted's progress marks and summary.
sm_spec_output() {
    sed -nE '/^[-+*.]*$|^[0-9]+ success(es)? \/ [0-9]+ failures? \/ [0-9]+ errors? \/ [0-9]+ pending/!s/^/    /p' "$1"
}

sm_busted() {
    local name=$1 interp=$2 openresty=$3 opts=() specs=() f started
    shift 3
    while [ $# -gt 0 ] && [ "${1#-}" != "$1" ]; do opts+=("$1"); shift; done
    for f in "$@"; do
        if [ -d "$f" ]; then specs+=("${f%/}"/*_spec.lua); else specs+=("$f"); fi
    done
    rm -rf "$ROOT/tests/tmp/busted-$name"
    started=$SECONDS
    echo "== busted under $interp: ${#specs[@]} spec file$([ ${#specs[@]} -eq 1 ] || echo s)"
    for f in "${specs[@]}"; do
        sm_busted_file "$name" "$interp" "$openresty" "$f" "${opts[@]}"
    done
    echo "== busted under $interp: done in $((SECONDS - started)) s"
}

sm_busted_file() {
    local name=$1 interp=$2 openresty=$3 f=$4 opts=() dir
    local base out budget status summary ok failures errors bad tmux_dir took line try tracer_crashed
    shift 4
    opts=("$@")
    SM_FILE_OK=0
    SM_FILE_BAD=0
    dir=$ROOT/tests/tmp/busted-$name
    [ -d "$dir" ] || mkdir -p "$dir"
    base=${f##*/}
    base=${base%.lua}
    out=$dir/$base.out
    sm_spec_budget_to budget "$f"
    if [ "$budget" -le 0 ]; then
        echo "FAILED: $f under $interp: not run, the suite's time is up"
        failed=$((failed + 1))
        SM_FILE_BAD=1
        return
    fi
    for try in 1 2; do
        tmux_dir=${TMPDIR:-/tmp}/sm-tmux.$BASHPID.$RANDOM$RANDOM
        mkdir -m 0700 "$tmux_dir" || return 1
        took=$SECONDS
        # (The budget factor is this file's, not its children's: 32-bounds
        # runs this runner again with budgets of its own.)
        sm_bounded "$budget" env -u SM_SPEC_BUDGET_FACTOR SM_BUILD_DIR="$ROOT/build/$name" LUA="$interp" \
            SM_TEST_OPENRESTY="$openresty" SM_TEST_TMUX_DIR="$tmux_dir" \
            "$interp" /usr/bin/busted --helper=tests/spec/helpers.lua "${opts[@]}" "$f" >"$out" 2>&1
        status=$?
        took=$((SECONDS - took))
        sm_sweep_terminals "$tmux_dir"
        summary=$(sed -nE '/^[0-9]+ success(es)? \/ [0-9]+ failures? \/ [0-9]+ errors? \/ [0-9]+ pending/h; ${x;p}' "$out")
        # LeakSanitizer's own tracer can crash at exit ("Tracer caught
        # signal 11"): no leak report, just no leak check. The crash
        # once seen in about one ASan spec file per run (clang 14
        # misreading a dynamic TLS block) is avoided by the wrapper's
        # intercept_tls_get_addr=0 (tests/sanitize/lua5.4-asan); that one
        # repeated on a second run, decided by what the file allocated.
        # For any other: the file runs once more; a leak or a failure
        # still fails, and a run with no summary too.
        tracer_crashed=0
        if [ "$SM_KILLED" != 1 ] && [ "$status" -ne 0 ] &&
            grep -aq 'LeakSanitizer has encountered a fatal error' "$out" &&
            ! grep -aq 'ERROR: LeakSanitizer: detected memory leaks' "$out"; then
            tracer_crashed=1
        fi
        if [ "$try" = 1 ] && [ "$tracer_crashed" = 1 ]; then
            echo "  $base: LeakSanitizer's tracer failed at exit (not a leak report): run again"
            sm_spec_budget_to budget "$f"
            [ "$budget" -gt 0 ] && continue
        fi
        break
    done
    if [ -z "$summary" ]; then
        if [ "$SM_KILLED" = 1 ]; then
            echo "FAILED: $f under $interp: over its $budget s budget, killed"
        else
            echo "FAILED: $f under $interp: busted printed no summary (exit $status)"
        fi
        sm_spec_output "$out" | tail -n 40
        failed=$((failed + 1))
        SM_FILE_BAD=1
        return
    fi
    read -r ok _ _ failures _ _ errors _ <<<"$summary"
    bad=$((failures + errors))
    passed=$((passed + ok))
    failed=$((failed + bad))
    line="${SM_BUSTED_LABEL:+$SM_BUSTED_LABEL }$base: $ok passed"
    if [ "$tracer_crashed" = 1 ] && [ "$bad" -eq 0 ]; then
        # Every test passed, twice; only the leak check could not run.
        line+=" (LeakSanitizer's tracer crashed at exit twice: no leak check of this file)"
    elif [ "$status" -ne 0 ] && [ "$bad" -eq 0 ]; then
        # its tests passed, but the process did not end well
        failed=$((failed + 1))
        bad=1
        if [ "$SM_KILLED" = 1 ]; then
            line+=", then did not exit within its $budget s budget (killed)"
        else
            line+=", then exit status $status"
        fi
    elif [ "$bad" -gt 0 ]; then
        line+=", $bad failed"
    fi
    if [ "$bad" -gt 0 ]; then echo "FAILED: $f under $interp: $line ($took s)"; else echo "  $line ($took s)"; fi
    sm_spec_output "$out"
    # shellcheck disable=SC2034 # the caller's
    SM_FILE_OK=$ok
    # shellcheck disable=SC2034
    SM_FILE_BAD=$bad
}
