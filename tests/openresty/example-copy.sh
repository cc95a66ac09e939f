#!/usr/bin/env bash
# Start a copy of examples/openresty in DIR whose TLS settings are the
# example's own, on Debian's nginx: what differs is only where it listens
# (127.0.0.1, a free port from 39580 on), whom it trusts (CA, not the
# system's bundle), where it finds the library (this checkout), its error
# log (DIR/error.log, not stderr) and the load_module lines (as start.sh
# gives them with -g); plus the EDIT sed expressions given (a spec adds a
# line with them). The handler calls SUPERMETRICS_BASE_URL with
# SUPERMETRICS_API_KEY from the environment. Writes DIR/env with
# SM_TEST_EXAMPLE_COPY_URL=... Stop it with tests/server/stop.sh DIR.
# Usage: example-copy.sh DIR CA [EDIT...]
set -euo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 DIR CA [EDIT...]" >&2
    exit 2
fi
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
EXAMPLE=$ROOT/examples/openresty
mkdir -p "$1"
DIR=$(cd "$1" && pwd)
CA=$2
shift 2
edits=()
for e in "$@"; do
    edits+=(-e "$e")
done

"$ROOT/tests/server/stop.sh" "$DIR"
cp "$EXAMPLE/handler.lua" "$EXAMPLE/debian-modules.conf" "$DIR/"
echo "resolver 127.0.0.1:9 ipv6=off;" > "$DIR/resolver.conf" # loopback only: never asked
{
    echo "@USER_DIRECTIVE@"
    echo "include debian-modules.conf;"
    sed -e "s|^\( *listen\) 127\.0\.0\.1:8080;|\1 127.0.0.1:@HTTP_PORT@;|" \
        -e "s|^\( *lua_ssl_trusted_certificate\) .*;|\1 $CA;|" \
        -e "s|\\\$prefix/\.\./\.\./|$ROOT/|g" \
        -e "s|^error_log stderr|error_log error.log|" \
        ${edits[@]+"${edits[@]}"} "$EXAMPLE/nginx.conf"
} > "$DIR/nginx.conf.in"
# shellcheck source=tests/lib/nginx.sh
. "$ROOT/tests/lib/nginx.sh"
sm_nginx_start "$DIR" "$DIR/nginx.conf.in" 39580 0
echo "SM_TEST_EXAMPLE_COPY_URL=http://127.0.0.1:$HTTP_PORT" > "$DIR/env"
