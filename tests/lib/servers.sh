# shellcheck shell=bash
# Sourced by tests/run.sh (make test) and tests/check.sh (make check): the
# servers every busted run needs. Expects ROOT; sets HUB_DIR, APP_DIR,
# APP4_DIR, EXAMPLE_LOG and exports what the specs read.
#
# sm_start_hub        the Hub API stand-in, plus the blackhole helper
# sm_start_openresty  the OpenResty test app (one worker, and four), and
#                     examples/openresty, on the LuaJIT build; returns
#                     non-zero if they cannot start
# sm_start_proxies    tinyproxy on free loopback ports (tests/lib/proxy.sh), in
#                     front of the stand-in's HTTPS; returns non-zero if
#                     they cannot start (the gateway specs then skip)
# sm_stop_servers     stops them all (idempotent), and any OpenResty app a
#                     spec started (tests/tmp/openresty-gw*)
HUB_DIR=$ROOT/tests/tmp/hub
PROXY_DIR=$ROOT/tests/tmp/proxy
APP_DIR=$ROOT/tests/tmp/openresty
APP4_DIR=$ROOT/tests/tmp/openresty-4
EXAMPLE_LOG=$ROOT/tests/tmp/openresty-example.log

sm_start_hub() {
    # A loopback port whose connects hang, for the connect_timeout specs.
    export SM_TEST_BLACKHOLE=$ROOT/tests/tmp/blackhole
    mkdir -p "$ROOT/tests/tmp"
    ${CC:-cc} -std=c99 -Wall -Wextra -Werror -o "$SM_TEST_BLACKHOLE" "$ROOT/tests/tools/blackhole.c" ||
        return 1
    "$ROOT/tests/server/start.sh" "$HUB_DIR" || return 1
    set -a
    # shellcheck disable=SC1091
    . "$HUB_DIR/env"
    set +a
    # The credential the stand-in accepts, for the "from the environment" specs.
    export SUPERMETRICS_API_KEY=api_test_key
}

sm_start_openresty() {
    make -s -C "$ROOT" LUA=luajit >"$ROOT/tests/tmp/build-luajit.log" 2>&1 || {
        cat "$ROOT/tests/tmp/build-luajit.log"
        return 1
    }
    "$ROOT/tests/openresty/start.sh" "$APP_DIR" "$HUB_DIR/env" &&
        "$ROOT/tests/openresty/start.sh" "$APP4_DIR" "$HUB_DIR/env" 4 SM_TEST_APP4_URL &&
        "$ROOT/tests/openresty/start-example.sh" "$HUB_DIR/env" "$EXAMPLE_LOG" || return 1
    set -a
    # shellcheck disable=SC1091
    . "$APP_DIR/env"
    # shellcheck disable=SC1091
    . "$APP4_DIR/env"
    # shellcheck disable=SC1091
    . "$EXAMPLE_LOG.env"
    set +a
}

sm_start_proxies() {
    "$ROOT/tests/lib/proxy.sh" start "$PROXY_DIR" "$SM_TEST_HTTPS_PORT" || return 1
    set -a
    # shellcheck disable=SC1091
    . "$PROXY_DIR/env"
    set +a
}

sm_stop_servers() {
    local d
    for d in "$HUB_DIR" "$APP_DIR" "$APP4_DIR" "$ROOT"/tests/tmp/openresty-gw*; do
        "$ROOT/tests/server/stop.sh" "$d"
    done
    "$ROOT/tests/openresty/start-example.sh" stop
    "$ROOT/tests/lib/proxy.sh" stop "$PROXY_DIR"
}
