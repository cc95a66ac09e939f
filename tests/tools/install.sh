#!/usr/bin/env bash
# `make install` into a staging folder (DESTDIR, PREFIX=/usr), then use the
# staged module and command line against the stand-in described by HUB_ENV.
# Usage: install.sh HUB_ENV
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
stage=$ROOT/tests/tmp/stage
rm -rf "$stage"
make -s install DESTDIR="$stage" PREFIX=/usr
set -a
# shellcheck disable=SC1090
. "$1"
set +a
head -n 1 "$stage/usr/bin/supermetrics-logs" | grep -qx '#!/usr/bin/env lua5.4'
cmp share/man/man1/supermetrics-logs.1 "$stage/usr/share/man/man1/supermetrics-logs.1"
cmp share/bash-completion/completions/supermetrics-logs \
    "$stage/usr/share/bash-completion/completions/supermetrics-logs"
# No LUA_PATH: the command finds the modules of its own PREFIX.
out=$(env -u LUA_PATH -u LUA_CPATH SUPERMETRICS_API_KEY=api_test_key \
    "$stage/usr/bin/supermetrics-logs" --base-url "$SM_TEST_HTTP_URL" get 936506 T3S70 123)
case "$out" in
    *'"duration_ms":253'*) echo "the staged install works" ;;
    *) echo "the staged command line printed: $out"; exit 1 ;;
esac
