#!/usr/bin/env bash
# Start the Supermetrics Hub API stand-in (nginx + Lua) rooted in DIR.
# Usage: start.sh DIR    (ports: SM_TEST_PORT, default 39080; HTTPS = +363)
# Writes DIR/env with the URLs and CA path for the tests to source.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi

SERVER_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$1"
DIR=$(cd "$1" && pwd)
# A previous stand-in from the same DIR would hold the ports.
"$SERVER_DIR/stop.sh" "$DIR"

# Throwaway CA + server cert, reused while valid for at least another hour.
gen_certs() {
    local ext="$DIR/server.ext"
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -out "$DIR/ca.key" 2>/dev/null
    openssl req -x509 -new -key "$DIR/ca.key" -days 2 \
        -subj "/CN=sm-hub-stand-in test CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out "$DIR/ca.pem"
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -out "$DIR/server.key" 2>/dev/null
    cat > "$ext" <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid,issuer
EXT
    openssl req -new -key "$DIR/server.key" -subj "/CN=localhost" \
        -out "$DIR/server.csr"
    openssl x509 -req -in "$DIR/server.csr" -CA "$DIR/ca.pem" \
        -CAkey "$DIR/ca.key" -set_serial "0x$(openssl rand -hex 8)" \
        -days 2 -extfile "$ext" -out "$DIR/server.pem" 2>/dev/null
    rm -f "$DIR/server.csr" "$ext"
}

certs_ok() {
    local f
    for f in ca.pem ca.key server.pem server.key; do
        [ -s "$DIR/$f" ] || return 1
    done
    openssl x509 -checkend 3600 -noout -in "$DIR/server.pem" >/dev/null &&
        openssl x509 -checkend 3600 -noout -in "$DIR/ca.pem" >/dev/null
}

certs_ok || gen_certs

# shellcheck source=tests/lib/nginx.sh
. "$SERVER_DIR/../lib/nginx.sh"
sm_nginx_start "$DIR" "$SERVER_DIR/nginx.conf.in" 39080 363 -e "s|@SERVER_DIR@|$SERVER_DIR|g"

cat > "$DIR/env" <<ENV
SM_TEST_DIR=$DIR
SM_TEST_HTTP_PORT=$HTTP_PORT
SM_TEST_HTTPS_PORT=$HTTPS_PORT
SM_TEST_HTTP_URL=http://127.0.0.1:$HTTP_PORT
SM_TEST_HTTPS_URL=https://127.0.0.1:$HTTPS_PORT
SM_TEST_HTTPS_LOCALHOST_URL=https://localhost:$HTTPS_PORT
SM_TEST_CA=$DIR/ca.pem
ENV
