#!/usr/bin/env bash
# Installs the Debian packages the project needs when they are missing. As
# root it installs them (one apt-get update first); otherwise it says what to
# install. The only list of the project's packages.
# Usage: deps.sh demo|test|ci|bench
set -u

build="gcc make pkg-config liblua5.4-dev lua5.4 libcurl4-openssl-dev libhiredis-dev lua-cjson"
server="nginx libnginx-mod-http-lua openssl"
# The OpenResty specs need the LuaJIT build and the curl command line;
# the command-line specs drive a real terminal with tmux and render the man
# page with groff; the gateway specs go through tinyproxy; the rate budget's
# specs share windows through redis-server (libhiredis-dev: its protocol, in
# the module).
# Every Lua ABI the README claims: make test and make test-all test them all.
other_luas="lua5.1 liblua5.1-0-dev lua5.2 liblua5.2-dev lua5.3 liblua5.3-dev"
# The contract specs run Stoplight Prism (npm, tests/contract/) on node; the
# gateway specs put tinyproxy in front of the stand-in.
# supermetrics.testing's server form (supermetrics-logs serve) listens
# through LuaSocket; the specs call the test apps inside nginx through it
# (support.get).
test="lua-busted lua-check curl tmux groff-base tinyproxy redis-server luajit2 libluajit2-5.1-dev nodejs npm lua-socket $other_luas"
# CI also runs the static checks, the install checks (LuaRocks, make dist
# needs zip) and the docs check.
# Hardening (docs/hardening.md): clang's sanitizer and libFuzzer runtimes (only
# recommended by clang, so named), cppcheck and clang-tidy.
hardening="libclang-rt-dev cppcheck clang-tidy"
ci="clang valgrind luarocks zip lua-ldoc $hardening"
# `make bench`: the other contenders, the limit's JSON decoder, the chart.
bench="luajit2 libluajit2-5.1-dev curl time wrk libcjson-dev lua-socket lua-sec lua-http python3-httpx gnuplot-nox valgrind"

case "${1:-test}" in
    demo) packages="$build $server" ;;
    test) packages="$build $server $test" ;;
    ci) packages="$build $server $test $ci" ;;
    bench) packages="$build $server $bench" ;;
    *) echo "usage: $0 demo|test|ci|bench" >&2; exit 2 ;;
esac

# node and npm may come from elsewhere (NodeSource's nodejs carries npm and
# conflicts with Debian's): a command on the PATH will do.
provided() {
    case $1 in
        nodejs) command -v node >/dev/null 2>&1 ;;
        npm) command -v npm >/dev/null 2>&1 ;;
        *) return 1 ;;
    esac
}
missing=""
for p in $packages; do
    provided "$p" && continue
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
apt-get update -q >/dev/null || exit 1
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null || exit 1
