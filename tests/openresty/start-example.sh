#!/usr/bin/env bash
# Start examples/openresty/nginx.conf as shipped, rooted in DIR, on a free
# port instead of 8080 and with the checkout's absolute paths, fetching from
# the stand-in described by HUB_ENV. Writes DIR/env with SM_TEST_EXAMPLE_URL.
# Usage: start-example.sh DIR HUB_ENV
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 DIR HUB_ENV" >&2
    exit 2
fi
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
mkdir -p "$1"
DIR=$(cd "$1" && pwd)
# shellcheck disable=SC1090
. "$2"

"$ROOT/tests/server/stop.sh" "$DIR"
export SUPERMETRICS_API_KEY=api_test_key
export SUPERMETRICS_BASE_URL=$SM_TEST_HTTPS_URL
export SUPERMETRICS_CA_FILE=$SM_TEST_CA
# shellcheck source=tests/lib/nginx.sh
. "$ROOT/tests/lib/nginx.sh"
sm_nginx_start "$DIR" "$ROOT/examples/openresty/nginx.conf" 39380 0 \
    -e "s|127.0.0.1:8080|127.0.0.1:@HTTP_PORT@|" \
    -e "s|\"\.\./\.\./|\"$ROOT/|g" -e "s|;\.\./\.\./|;$ROOT/|g" \
    -e "s|;\./?\.lua|;$ROOT/examples/openresty/?.lua|" \
    -e "s|^error_log stderr|error_log @DIR@/error.log|" \
    -e "s|^worker_processes auto|worker_processes 1|" \
    -e "1s|^|@USER_DIRECTIVE@\n|"

echo "SM_TEST_EXAMPLE_URL=http://127.0.0.1:$HTTP_PORT" > "$DIR/env"
