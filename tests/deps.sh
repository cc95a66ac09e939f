#!/usr/bin/env bash
# Installs the Debian packages that `make test` / `make demo` need when they
# are missing. As root it installs them; otherwise it says what to install.
# Usage: deps.sh test|demo
set -u

need_build="gcc make pkg-config liblua5.4-dev lua5.4 libcurl4-openssl-dev lua-cjson"
need_server="nginx libnginx-mod-http-lua openssl"
need_test="lua-busted"

packages="$need_build $need_server"
[ "${1:-test}" = test ] && packages="$packages $need_test"

missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "Missing Debian packages:$missing" >&2
    echo "Install them with: sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "Installing:$missing"
export DEBIAN_FRONTEND=noninteractive
if [ -z "${SM_APT_UPDATED:-}" ]; then
    apt-get update -q >/dev/null || exit 1
fi
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null || exit 1
