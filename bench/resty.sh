#!/usr/bin/env bash
# Optional contender: lua-resty-http (with lua-resty-string) in a
# one-process nginx from Debian (LuaJIT, lua-resty-core). Only bench/run.sh
# calls it, when SM_BENCH_RESTY_HTTP names a checkout of lua-resty-http
# (SM_BENCH_RESTY_STRING one of lua-resty-string, if it is not installed);
# their code is used from there and never copied here.
# Usage: resty.sh URL N SECONDS [CA_FILE]
# Prints "ok REQUESTS SECONDS" (wall time of the request loop).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${SM_BENCH_RESTY_HTTP:?names a checkout of lua-resty-http}"
mkdir -p "$BENCH_DIR/tmp"
DIR=$(mktemp -d "$BENCH_DIR/tmp/resty.XXXXXX")
[ -n "${SM_BENCH_KEEP:-}" ] || trap 'rm -rf "$DIR"' EXIT

path="$SM_BENCH_RESTY_HTTP/lib/?.lua;"
[ -n "${SM_BENCH_RESTY_STRING:-}" ] && path="$path$SM_BENCH_RESTY_STRING/lib/?.lua;"
path="$path$BENCH_DIR/?.lua;;"
ssl=""
[ -n "${4:-}" ] && ssl="lua_ssl_trusted_certificate $4; lua_ssl_verify_depth 2;"
user=""
[ "$(id -u)" -eq 0 ] && user="user root;"

cat > "$DIR/nginx.conf" <<CONF
$user
worker_processes 1;
master_process off;
daemon off;
pid $DIR/nginx.pid;
error_log $DIR/error.log warn;
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
env BENCH_URL;
env BENCH_N;
env BENCH_SECONDS;
env BENCH_OUT;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $DIR/client_body_temp;
    proxy_temp_path $DIR/proxy_temp;
    fastcgi_temp_path $DIR/fastcgi_temp;
    uwsgi_temp_path $DIR/uwsgi_temp;
    scgi_temp_path $DIR/scgi_temp;
    lua_package_path "$path";
    lua_package_cpath "/usr/lib/x86_64-linux-gnu/lua/5.1/?.so;;";
    $ssl
    init_worker_by_lua_block { require("resty_client").start() }
}
CONF

# A loop that never ends the process (a bug here, a hung server) is cut off.
BENCH_URL=$1 BENCH_N=$2 BENCH_SECONDS=$3 BENCH_OUT=$DIR/out \
    timeout $(($3 + 60)) nginx -q -p "$DIR" -e "$DIR/error.log" -c "$DIR/nginx.conf"
if ! grep -q '^ok ' "$DIR/out" 2>/dev/null; then
    echo "lua-resty-http contender failed: $(cat "$DIR/out" 2>/dev/null)" >&2
    tail -n 5 "$DIR/error.log" >&2
    exit 1
fi
cat "$DIR/out"
