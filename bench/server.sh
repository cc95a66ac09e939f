#!/usr/bin/env bash
# The benchmark's fixed local server: plain nginx (no Lua), one worker,
# keep-alive, HTTP and HTTPS with a throwaway CA, serving the seed entry.
# Usage: server.sh start DIR [CPU]  (writes DIR/env: BENCH_HTTP_URL, BENCH_HTTPS_URL,
#                                    BENCH_CA; CPU pins the worker to that core)
#        server.sh stop DIR          (idempotent)
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)

if [ $# -lt 2 ] || { [ "$1" != start ] && [ "$1" != stop ]; }; then
    echo "usage: $0 start DIR [CPU] | stop DIR" >&2
    exit 2
fi
mkdir -p "$2"
DIR=$(cd "$2" && pwd)
"$ROOT/tests/server/stop.sh" "$DIR"
[ "$1" = stop ] && exit 0

# Throwaway CA + server cert (EC P-256, the same steps as
# tests/server/start.sh), made anew for each run.
ext="$DIR/server.ext"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$DIR/ca.key" 2>/dev/null
openssl req -x509 -new -key "$DIR/ca.key" -days 2 -subj "/CN=lua-supermetrics bench CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$DIR/ca.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$DIR/server.key" 2>/dev/null
cat > "$ext" <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid,issuer
EXT
openssl req -new -key "$DIR/server.key" -subj "/CN=localhost" -out "$DIR/server.csr"
openssl x509 -req -in "$DIR/server.csr" -CA "$DIR/ca.pem" -CAkey "$DIR/ca.key" \
    -set_serial "0x$(openssl rand -hex 8)" -days 2 -extfile "$ext" \
    -out "$DIR/server.pem" 2>/dev/null
rm -f "$DIR/server.csr" "$ext"

# worker_cpu_affinity takes a bit mask: core n is a 1 followed by n zeros.
affinity=""
if [ -n "${3:-}" ]; then
    affinity="worker_cpu_affinity 1$(printf "%${3}s" "" | tr ' ' 0);"
fi

# shellcheck source=tests/lib/nginx.sh
. "$ROOT/tests/lib/nginx.sh"
sm_nginx_start "$DIR" "$BENCH_DIR/nginx.conf.in" 39280 363 -e "s|@BENCH_DIR@|$BENCH_DIR|g" \
    -e "s|@CPU_AFFINITY@|$affinity|"

cat > "$DIR/env" <<ENV
BENCH_HTTP_URL=http://127.0.0.1:$HTTP_PORT
BENCH_HTTPS_URL=https://127.0.0.1:$HTTPS_PORT
BENCH_CA=$DIR/ca.pem
ENV
