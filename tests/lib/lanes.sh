# shellcheck shell=bash
# Sourced by tests/run.sh (make test, make test-all) and tests/check.sh (make
# check): runs a list of jobs (a spec file under one interpreter, a
# whole-project check, a build) in parallel lanes. Expects ROOT, and
# tests/lib/busted.sh sourced; each lane K runs its jobs against its own
# servers (tests/lib/servers.sh, sm_start_lane: tests/tmp/lane-K.env).
#
# sm_job KEY WEIGHT [OPTION...] -- KIND ARG...
#   Adds a job. KEY names it (unique; the time it took is kept under that
#   name in tests/tmp/$SM_DURATIONS for the next run's order). WEIGHT: the
#   seconds it is expected to take when no durations file says (below).
#   Options:
#     --lane K      only lane K may run it
#     --needs TOKEN runs once a job that gives TOKEN has passed (when that
#                   job failed: fails unrun, saying so); may come again
#     --gives TOKEN on success, lets the jobs that need TOKEN run
#     --lock NAME   never runs while another job holding NAME runs (a spec
#                   file is never run in two lanes at once: its tmp paths,
#                   its servers' logs)
#     --show        prints a check's whole output, not only on failure
#     --env VAR=VAL the job runs with VAR set so (may come again)
#   Kinds:
#     spec NAME INTERP OPENRESTY FILE [BUSTED-OPTION...]
#                   the spec file under INTERP and build/NAME
#                   (sm_busted_file); its tests count
#     check NAME COMMAND...
#                   one check counted as one test: COMMAND (a shell
#                   function runs as is, anything else bounded by
#                   SM_CHECK_BUDGET seconds, 900), its output in
#                   tests/tmp/check-NAME.log, shown on failure. HUB_DIR
#                   is exported: bash -c '... "$HUB_DIR/env"' is the lane's.
#
# sm_lanes N
#   Runs the jobs in N lanes (fewer when there are fewer jobs): each lane
#   takes the next job it may run, the longest first (builds first of all),
#   prints its report when it ends (never interleaved), and goes on until
#   none is left. Adds every job's counts to $passed and $failed; sets
#   SM_ABI_COUNTS (lines "NAME PASSED FAILED", the tests per build name)
#   and SM_SKIPPED (what the checks reported as skipped, a line each).

# sm_spec_weight FILE
#   The seconds a spec file took under Lua 5.4 here (2 cores, other work
#   running): the first run's order, when no durations file has this
#   machine's.
sm_spec_weight() {
    local base=${1##*/}
    case ${base%_spec.lua} in
        17-cosocket) echo 45 ;; 09-list) echo 30 ;; 28-gateway) echo 16 ;; 08-openresty) echo 15 ;;
        13-cli) echo 15 ;; 33-decoder) echo 11 ;; 26-desync) echo 10 ;; 34-json) echo 8 ;;
        25-contract | 22-cli_tail) echo 7 ;; 14-faults) echo 5 ;; 32-bounds | 12-batch) echo 4 ;;
        *) echo 2 ;;
    esac
}

SM_JOB_KEY=()
SM_JOB_WEIGHT=()
SM_JOB_LANE=()
SM_JOB_NEEDS=()
SM_JOB_GIVES=()
SM_JOB_LOCK=()
SM_JOB_SHOW=()
SM_JOB_ENV=()
SM_JOB_CMD=()

sm_job() {
    local key=$1 weight=$2 lane="" needs="" gives="" lock="" show=0 env="" cmd="" a
    shift 2
    while [ $# -gt 0 ]; do
        case $1 in
            --lane) lane=$2; shift 2 ;;
            --needs) needs+="${needs:+ }$2"; shift 2 ;;
            --gives) gives=$2; shift 2 ;;
            --lock) lock=$2; shift 2 ;;
            --show) show=1; shift ;;
            --env) env+=" $(printf '%q' "$2")"; shift 2 ;;
            --) shift; break ;;
            *) echo "sm_job: unknown option $1" >&2; return 2 ;;
        esac
    done
    for a in "$@"; do cmd+=" $(printf '%q' "$a")"; done
    SM_JOB_KEY+=("$key")
    SM_JOB_WEIGHT+=("$weight")
    SM_JOB_LANE+=("$lane")
    SM_JOB_NEEDS+=("$needs")
    SM_JOB_GIVES+=("$gives")
    SM_JOB_LOCK+=("$lock")
    SM_JOB_SHOW+=("$show")
    SM_JOB_ENV+=("${env# }")
    SM_JOB_CMD+=("${cmd# }")
}

# A check job: bounded unless a shell function; its log shown on failure
# (or always, --show). Output goes to the job's report.
sm_job_check() {
    local name=$1 log budget status
    shift
    log=$ROOT/tests/tmp/check-$name.log
    sm_cap_to budget "${SM_CHECK_BUDGET:-900}"
    if [ "$budget" -le 0 ]; then
        echo "FAILED: $name: not run, the suite's time is up"
        failed=$((failed + 1))
        return
    fi
    if declare -F "$1" >/dev/null; then
        "$@" >"$log" 2>&1 # one of ours: quick, and timeout cannot run it
        status=$?
        SM_KILLED=0
    else
        sm_bounded "$budget" "$@" >"$log" 2>&1
        status=$?
    fi
    if [ "$status" -eq 0 ]; then
        echo "ok: $name"
        passed=$((passed + 1))
        [ "$SM_JOB_SHOWING" = 1 ] && sed 's/^/  /' "$log"
    else
        if [ "$SM_KILLED" = 1 ]; then echo "FAILED: $name: over its $budget s budget, killed"; else echo "FAILED: $name"; fi
        if [ "$SM_JOB_SHOWING" = 1 ]; then sed 's/^/  /' "$log"; else tail -n 30 "$log"; fi
        failed=$((failed + 1))
    fi
}

# A check's note that something was not tested here (printed at the end).
sm_skip() {
    echo "$1" >>"$SM_QUEUE/skipped"
}

# Runs job i in this lane; its report printed whole once it ends.
sm_run_job() {
    local i=$1 started out
    out=$SM_QUEUE/out.$i
    local passed=0 failed=0
    started=$SECONDS
    SM_JOB_SHOWING=${SM_JOB_SHOW[$i]}
    # What a job started for later ones exported (Prism's URLs).
    # shellcheck disable=SC1091
    [ -f "$PRISM_DIR/env" ] && . "$PRISM_DIR/env"
    eval "set -- ${SM_JOB_CMD[$i]}"
    {
        # (--env: assignments before a function call last for the call.)
        case $1 in
            spec)
                shift
                eval "SM_BUSTED_LABEL=\$1 ${SM_JOB_ENV[$i]} sm_busted_file \"\$@\""
                echo "$1 $SM_FILE_OK $SM_FILE_BAD" >"$SM_QUEUE/abi.$i"
                ;;
            check) shift; eval "${SM_JOB_ENV[$i]} sm_job_check \"\$@\"" ;;
            *) echo "FAILED: ${SM_JOB_KEY[$i]}: unknown kind $1"; failed=1 ;;
        esac
    } >"$out" 2>&1
    echo "$passed $failed" >"$SM_QUEUE/res.$i"
    echo "${SM_JOB_KEY[$i]} $((SECONDS - started))" >"$SM_QUEUE/took.$i"
    SM_LANE_BUSY=$((SM_LANE_BUSY + SECONDS - started))
    if [ -n "${SM_JOB_GIVES[$i]}" ]; then
        if [ "$failed" -eq 0 ]; then : >"$SM_QUEUE/gave.${SM_JOB_GIVES[$i]}"; else : >"$SM_QUEUE/failed.${SM_JOB_GIVES[$i]}"; fi
    fi
    {
        flock 9
        cat "$out"
    } 9>"$SM_QUEUE/print.lock"
}

# A job that cannot run because what it needs failed: fails unrun.
sm_unrun_job() {
    local i=$1
    echo "0 1" >"$SM_QUEUE/res.$i"
    if [ -n "${SM_JOB_GIVES[$i]}" ]; then : >"$SM_QUEUE/failed.${SM_JOB_GIVES[$i]}"; fi
    {
        flock 9
        echo "FAILED: ${SM_JOB_KEY[$i]}: not run, what it needs ($2) failed"
    } 9>"$SM_QUEUE/print.lock"
}

# Lane K: takes jobs until none is left that it may run.
sm_lane_loop() {
    local k=$1 i ran waiting lane needs lock t ready broken lane_started=$SECONDS
    SM_LANE_BUSY=0
    # A subshell: the runner's traps are not ours. TERM from the runner
    # ends the command in flight (its process group) and the lane.
    trap sm_interrupted TERM INT
    sm_lane "$k"
    export HUB_DIR SM_LANE=$k
    # shellcheck disable=SC1090
    [ -f "$ROOT/tests/tmp/lane-$k.env" ] && . "$ROOT/tests/tmp/lane-$k.env"
    while :; do
        ran=0
        waiting=0
        for i in "${SM_ORDER[@]}"; do
            [ -e "$SM_QUEUE/claim.$i" ] && continue
            lane=${SM_JOB_LANE[$i]}
            [ -n "$lane" ] && [ "$lane" != "$k" ] && continue
            needs=${SM_JOB_NEEDS[$i]}
            ready=1
            broken=""
            for t in $needs; do
                [ -e "$SM_QUEUE/gave.$t" ] && continue
                ready=0
                [ -e "$SM_QUEUE/failed.$t" ] && broken=$t
            done
            if [ -n "$broken" ]; then
                mkdir "$SM_QUEUE/claim.$i" 2>/dev/null && sm_unrun_job "$i" "$broken"
                ran=1
                break
            fi
            if [ "$ready" = 0 ]; then
                waiting=1
                continue
            fi
            lock=${SM_JOB_LOCK[$i]}
            if [ -n "$lock" ] && ! mkdir "$SM_QUEUE/lock.$lock" 2>/dev/null; then
                waiting=1
                continue
            fi
            if ! mkdir "$SM_QUEUE/claim.$i" 2>/dev/null; then
                [ -n "$lock" ] && rmdir "$SM_QUEUE/lock.$lock"
                continue
            fi
            # Prism (and whatever else a check starts for later jobs) lives on
            # after the lane: sm_stop_servers ends it.
            sm_run_job "$i"
            [ -n "$lock" ] && rmdir "$SM_QUEUE/lock.$lock"
            ran=1
            break # the longest job left first, again
        done
        if [ "$ran" = 0 ]; then
            [ "$waiting" = 1 ] || break
            sleep 0.2 # another lane holds what the next job waits for
        fi
    done
    echo "lane $k: $SM_LANE_BUSY s of jobs, done after $((SECONDS - lane_started)) s" >"$SM_QUEUE/lane.$k"
}

# The order jobs are taken in: builds (jobs that give a token) first, then
# the longest first, by the time each took last run here
# (tests/tmp/$SM_DURATIONS), else on a quiet machine of this size
# (tests/lib/$SM_DURATIONS: a fresh clone's first run), else its weight.
# SM_DURATIONS: durations-quick (make test, make check) or durations-all
# (make test-all: the same key runs the #slow tests too).
SM_DURATIONS=${SM_DURATIONS:-durations-quick}
sm_job_order() {
    local i d=$ROOT/tests/tmp/$SM_DURATIONS seed=$ROOT/tests/lib/$SM_DURATIONS
    [ -f "$d" ] || d=/dev/null
    [ -f "$seed" ] || seed=/dev/null
    for i in "${!SM_JOB_KEY[@]}"; do
        echo "$i ${SM_JOB_KEY[$i]} ${SM_JOB_WEIGHT[$i]} ${SM_JOB_GIVES[$i]:+gives}"
    done | awk 'FILENAME != "-" { if (!($1 in took)) took[$1] = $2; next }
        { w = ($2 in took) ? took[$2] : $3; if ($4 == "gives") w += 100000; print w, $1 }' "$d" "$seed" - |
        sort -s -k1,1nr | awk '{ print $2 }'
}

SM_LANE_PIDS=()
sm_lanes_interrupted() {
    local p
    for p in "${SM_LANE_PIDS[@]}"; do kill -s TERM "$p" 2>/dev/null; done
    wait
    echo "interrupted"
    exit 130
}

sm_lanes() {
    local n=$1 k i ok bad
    SM_QUEUE=$ROOT/tests/tmp/lanes
    rm -rf "$SM_QUEUE"
    mkdir -p "$SM_QUEUE"
    : >"$SM_QUEUE/skipped"
    mapfile -t SM_ORDER < <(sm_job_order)
    [ "$n" -gt "${#SM_ORDER[@]}" ] && n=${#SM_ORDER[@]}
    [ "$n" -ge 1 ] || n=1
    trap sm_lanes_interrupted INT TERM
    SM_LANE_PIDS=()
    for ((k = 1; k <= n; k++)); do
        sm_lane_loop "$k" &
        SM_LANE_PIDS+=("$!")
    done
    for k in "${SM_LANE_PIDS[@]}"; do wait "$k"; done
    trap sm_interrupted INT TERM
    cat "$SM_QUEUE"/lane.* 2>/dev/null
    for i in "${!SM_JOB_KEY[@]}"; do
        if [ -f "$SM_QUEUE/res.$i" ]; then
            read -r ok bad <"$SM_QUEUE/res.$i"
        else
            echo "FAILED: ${SM_JOB_KEY[$i]}: never run"
            ok=0 bad=1
        fi
        passed=$((passed + ok))
        failed=$((failed + bad))
    done
    # The tests per build (interpreter), and the durations for next time.
    # shellcheck disable=SC2034 # the caller's
    SM_ABI_COUNTS=$(cat "$SM_QUEUE"/abi.* 2>/dev/null |
        awk '{ ok[$1] += $2; bad[$1] += $3 } END { for (n in ok) print n, ok[n], bad[n] }' | sort)
    # shellcheck disable=SC2034 # the caller's
    SM_SKIPPED=$(cat "$SM_QUEUE/skipped")
    {
        cat "$SM_QUEUE"/took.* 2>/dev/null
        if [ -f "$ROOT/tests/tmp/$SM_DURATIONS" ]; then cat "$ROOT/tests/tmp/$SM_DURATIONS"; fi
    } | awk '!seen[$1]++' >"$SM_QUEUE/durations" && mv "$SM_QUEUE/durations" "$ROOT/tests/tmp/$SM_DURATIONS"
}
