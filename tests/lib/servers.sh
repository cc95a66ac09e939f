# shellcheck shell=bash
# Sourced by tests/run.sh (make test, make test-all) and tests/check.sh (make
# check): the servers every busted run needs. Expects ROOT; sets HUB_DIR,
# APP_DIR, APP4_DIR, PROXY_DIR, EXAMPLE_LOG and exports what the specs read.
#
# Specs run in lanes (tests/lib/lanes.sh), each with servers of its own:
# the stand-in counts requests (stats, await<n>, connection ids) and the
# specs read those counts, so two lanes never share one. Lane 1's live in
# tests/tmp (hub, openresty, openresty-4, proxy), lane K's in
# tests/tmp/lane-K/; Prism is shared (only 25-contract uses it, and a spec
# file never runs in two lanes at once), and so is examples/openresty (its
# port is fixed: lane 1 only).
#
# sm_lane K           points HUB_DIR, APP_DIR, APP4_DIR, PROXY_DIR at lane
#                     K's servers (1 when never called)
# sm_start_lane K OPENRESTY
#                     starts lane K's stand-in, its OpenResty apps (with
#                     OPENRESTY=1; they need the LuaJIT build) and its
#                     proxies (when tinyproxy is installed), and writes what
#                     its specs read to tests/tmp/lane-K.env. Returns
#                     non-zero (the reason on stderr) when one cannot start
# sm_start_example    examples/openresty, as its header says, on lane 1's
#                     stand-in (port 8080: one per machine); adds its URL
#                     to tests/tmp/lane-1.env
# sm_start_hub        the Hub API stand-in, plus the blackhole helper
# sm_start_openresty [EXAMPLE]
#                     the OpenResty test app (one worker, and four), and
#                     examples/openresty unless EXAMPLE is 0, on the LuaJIT
#                     build; returns non-zero if they cannot start
# sm_start_prism      Stoplight Prism mocking the API from its OpenAPI
#                     document (tests/contract/), twice: the official
#                     document and paging.yaml; returns 2 (and sets
#                     SM_TEST_PRISM_SKIP) without node and npm, 1 on failure
# sm_start_proxies    tinyproxy on free loopback ports (tests/lib/proxy.sh), in
#                     front of the stand-in's HTTPS; returns non-zero if
#                     they cannot start (the gateway specs then skip)
# sm_stop_servers     stops them all, every lane's (idempotent), and any
#                     OpenResty app a spec started (tests/tmp/openresty-gw*)
# shellcheck source=tests/lib/nginx.sh
. "$ROOT/tests/lib/nginx.sh" # sm_port_busy
PRISM_DIR=$ROOT/tests/tmp/prism
CONTRACT_DIR=$ROOT/tests/contract
EXAMPLE_LOG=$ROOT/tests/tmp/openresty-example.log

# The folder of lane K's servers (lane 1: tests/tmp itself, where the
# specs that name a path expect them).
sm_lane_base() {
    if [ "$1" = 1 ]; then echo "$ROOT/tests/tmp"; else echo "$ROOT/tests/tmp/lane-$1"; fi
}

sm_lane() {
    local base
    base=$(sm_lane_base "$1")
    HUB_DIR=$base/hub
    APP_DIR=$base/openresty
    APP4_DIR=$base/openresty-4
    PROXY_DIR=$base/proxy
}
sm_lane 1

# What a lane's specs read: the SM_TEST_* and key exported by the starts.
sm_lane_env() {
    export -p | sed -n 's/^declare -x \(SM_TEST_[A-Z0-9_]*=\)/export \1/p; s/^declare -x \(SUPERMETRICS_API_KEY=\)/export \1/p'
}

# Starts lanes 1..$1's servers side by side ($2: openresty, as for
# sm_start_lane), each logging to tests/tmp/lane-K.start.log; sm_wait_lanes
# waits for them.
sm_start_lanes() {
    local k
    SM_LANE_PIDS=()
    for ((k = 1; k <= $1; k++)); do
        (
            exec >"$ROOT/tests/tmp/lane-$k.start.log" 2>&1
            sm_start_lane "$k" "$2"
        ) &
        SM_LANE_PIDS+=("$!")
    done
}

# Waits for sm_start_lanes' starts; the first that failed is named, with
# the end of its log, and the status is 1.
sm_wait_lanes() {
    local k
    for ((k = 1; k <= ${#SM_LANE_PIDS[@]}; k++)); do
        if ! wait "${SM_LANE_PIDS[$((k - 1))]}"; then
            echo "FAILED: the servers of lane $k did not start:"
            tail -n 30 "$ROOT/tests/tmp/lane-$k.start.log"
            return 1
        fi
    done
}

sm_start_lane() {
    local k=$1 openresty=$2
    sm_lane "$k"
    sm_start_hub || return 1
    # The test apps listen with reuseport (one socket per worker), so a
    # second nginx binding a port another lane's app took at the same
    # moment is not refused: the two would share it. Each lane's apps look
    # for free ports in a range of their own.
    export SM_APP_FIRST_PORT=$((39280 + 40 * (k - 1)))
    if [ "$openresty" = 1 ] && ! sm_start_openresty 0; then
        echo "the OpenResty test apps of lane $k did not start" >&2
        return 1
    fi
    if command -v tinyproxy >/dev/null 2>&1; then
        sm_start_proxies || {
            echo "the test proxies (tinyproxy) of lane $k did not start" >&2
            return 1
        }
    fi
    sm_lane_env >"$ROOT/tests/tmp/lane-$k.env"
}

sm_start_example() {
    sm_lane 1
    "$ROOT/tests/openresty/start-example.sh" "$HUB_DIR/env" "$EXAMPLE_LOG" || return 1
    sed 's/^/export /' "$EXAMPLE_LOG.env" >>"$ROOT/tests/tmp/lane-1.env"
}

sm_start_hub() {
    # A loopback port whose connects hang, for the connect_timeout specs.
    export SM_TEST_BLACKHOLE=$ROOT/tests/tmp/blackhole
    mkdir -p "$ROOT/tests/tmp"
    # (Built aside and moved in: lanes start their servers side by side, in
    # subshells of one shell: $BASHPID, not $$, tells them apart.)
    if ! [ "$SM_TEST_BLACKHOLE" -nt "$ROOT/tests/tools/blackhole.c" ]; then
        ${CC:-cc} -std=c99 -Wall -Wextra -Werror -o "$SM_TEST_BLACKHOLE.$BASHPID" "$ROOT/tests/tools/blackhole.c" &&
            mv -f "$SM_TEST_BLACKHOLE.$BASHPID" "$SM_TEST_BLACKHOLE" || return 1
    fi
    "$ROOT/tests/server/start.sh" "$HUB_DIR" || return 1
    set -a
    # shellcheck disable=SC1091
    . "$HUB_DIR/env"
    set +a
    # The credential the stand-in accepts, for the "from the environment" specs.
    export SUPERMETRICS_API_KEY=api_test_key
}

sm_start_openresty() {
    local example=${1:-1}
    make -s -C "$ROOT" LUA=luajit >"$ROOT/tests/tmp/build-luajit.log" 2>&1 || {
        cat "$ROOT/tests/tmp/build-luajit.log"
        return 1
    }
    "$ROOT/tests/openresty/start.sh" "$APP_DIR" "$HUB_DIR/env" &&
        "$ROOT/tests/openresty/start.sh" "$APP4_DIR" "$HUB_DIR/env" 4 SM_TEST_APP4_URL || return 1
    if [ "$example" = 1 ]; then
        "$ROOT/tests/openresty/start-example.sh" "$HUB_DIR/env" "$EXAMPLE_LOG" || return 1
    fi
    # Their error logs, for the specs that read them (each lane's own).
    export SM_TEST_APP_LOG=$APP_DIR/error.log SM_TEST_APP4_LOG=$APP4_DIR/error.log
    set -a
    # shellcheck disable=SC1091
    . "$APP_DIR/env"
    # shellcheck disable=SC1091
    . "$APP4_DIR/env"
    if [ "$example" = 1 ]; then
        # shellcheck disable=SC1091
        . "$EXAMPLE_LOG.env"
    fi
    set +a
}

# Prism, pinned in tests/contract/package-lock.json, installed there with
# npm ci (again only when the lock file changed since the last install).
sm_install_prism() {
    local stamp=$CONTRACT_DIR/node_modules/.sm-installed-lock
    if [ -x "$CONTRACT_DIR/node_modules/.bin/prism" ] && cmp -s "$CONTRACT_DIR/package-lock.json" "$stamp"; then
        return 0
    fi
    if ! (cd "$CONTRACT_DIR" && timeout -k 10 600 npm ci --no-audit --no-fund --silent) >"$PRISM_DIR/npm.log" 2>&1; then
        echo "npm ci in tests/contract failed:" >&2
        tail -n 20 "$PRISM_DIR/npm.log" >&2
        return 1
    fi
    cp "$CONTRACT_DIR/package-lock.json" "$stamp"
}

# One Prism instance: NAME DOCUMENT VAR. Mocks DOCUMENT in --errors mode
# (a request that breaks it gets a 4xx and a "Violation" line in the log) on
# the first free loopback port from 39480, with static examples. Bounded
# twice: timeout ends it after two hours whatever happens to us, and
# sm_stop_servers ends it at once. Ready when its log says it listens
# (polled, for at most 60 s). Exports VAR (its URL) and VAR's _URL made
# _LOG (its log).
sm_prism_instance() {
    local name=$1 doc=$2 var=$3 port=39480 tries=0 log pid i
    log=$PRISM_DIR/$name.log
    while [ "$tries" -lt 50 ]; do
        tries=$((tries + 1))
        if sm_port_busy "$port"; then
            port=$((port + 1))
            continue
        fi
        : >"$log"
        timeout -k 5 7200 "$CONTRACT_DIR/node_modules/.bin/prism" mock --errors -h 127.0.0.1 -p "$port" "$doc" \
            >"$log" 2>&1 </dev/null &
        pid=$!
        echo "$pid" >"$PRISM_DIR/$name.pid"
        for ((i = 0; i < 600; i++)); do
            if grep -q "Prism is listening on" "$log"; then
                export "$var=http://127.0.0.1:$port" "${var%_URL}_LOG=$log"
                return 0
            fi
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        sm_stop_prism "$name"
        if ! grep -q EADDRINUSE "$log"; then
            echo "Prism ($name) did not start; its log:" >&2
            tail -n 20 "$log" >&2
            return 1
        fi
        port=$((port + 1)) # taken between our check and Prism's bind
    done
    echo "no free port for Prism from 39480 on" >&2
    return 1
}

# Stops the Prism instance NAME if it runs: TERM, then KILL after 5 s.
sm_stop_prism() {
    local f=$PRISM_DIR/$1.pid pid i
    [ -f "$f" ] || return 0
    pid=$(cat "$f")
    rm -f "$f"
    kill "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
}

# Also writes what the specs read (or why they skip) to PRISM_DIR/env.
sm_start_prism() {
    local status=0
    mkdir -p "$PRISM_DIR"
    rm -f "$PRISM_DIR/env"
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        export SM_TEST_PRISM_SKIP="no node and npm (Debian: nodejs npm; sudo tests/deps.sh test)"
        status=2
    else
        sm_install_prism &&
            sm_prism_instance official "$CONTRACT_DIR/openapi-spec.yaml" SM_TEST_PRISM_URL &&
            sm_prism_instance paging "$CONTRACT_DIR/paging.yaml" SM_TEST_PRISM_PAGING_URL || status=1
    fi
    export -p | sed -n 's/^declare -x \(SM_TEST_PRISM_[A-Z_]*=\)/export \1/p' >"$PRISM_DIR/env"
    return $status
}

sm_start_proxies() {
    "$ROOT/tests/lib/proxy.sh" start "$PROXY_DIR" "$SM_TEST_HTTPS_PORT" || return 1
    set -a
    # shellcheck disable=SC1091
    . "$PROXY_DIR/env"
    set +a
}

sm_stop_servers() {
    local d base
    for base in "$ROOT/tests/tmp" "$ROOT"/tests/tmp/lane-*/; do
        base=${base%/}
        [ -d "$base" ] || continue
        for d in "$base/hub" "$base/openresty" "$base/openresty-4"; do
            "$ROOT/tests/server/stop.sh" "$d"
        done
        "$ROOT/tests/lib/proxy.sh" stop "$base/proxy"
    done
    for d in "$ROOT"/tests/tmp/openresty-gw*; do
        "$ROOT/tests/server/stop.sh" "$d"
    done
    "$ROOT/tests/openresty/start-example.sh" stop
    sm_stop_prism official
    sm_stop_prism paging
}
