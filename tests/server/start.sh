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
# shellcheck source=tests/lib/certs.sh
. "$SERVER_DIR/../lib/certs.sh"
gen_certs() { sm_make_certs "$DIR" "sm-hub-stand-in test CA"; }

certs_ok() {
    local f
    for f in ca.pem ca.key server.pem server.key; do
        [ -s "$DIR/$f" ] || return 1
    done
    openssl x509 -checkend 3600 -noout -in "$DIR/server.pem" >/dev/null &&
        openssl x509 -checkend 3600 -noout -in "$DIR/ca.pem" >/dev/null
}

certs_ok || gen_certs

# TLS servers the library must refuse (nginx.conf.in, docs/hardening.md), in
# DIR/tls: a cert for the wrong host name, an expired one (openssl ca: only
# it sets a past start date in OpenSSL 3.0), one from a CA nobody trusts,
# and a good one for the TLS 1.0/1.1-only and TLS 1.2-only servers.
gen_tls_certs() {
    local t=$DIR/tls
    rm -rf "$t"
    mkdir -p "$t"
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$t/key.pem" 2>/dev/null
    openssl req -new -key "$t/key.pem" -subj "/CN=sm-hub fault" -out "$t/req.csr"
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$t/other-ca.key" 2>/dev/null
    openssl req -x509 -new -key "$t/other-ca.key" -days 2 -subj "/CN=sm-hub unknown CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
        -out "$t/other-ca.pem"
    sign() { # NAME SAN CA-CERT CA-KEY [openssl ca dates]
        local name=$1 san=$2 cert=$3 key=$4
        shift 4
        printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' "$san" > "$t/$name.ext"
        : > "$t/index.txt"
        printf '%s\n' "$(openssl rand -hex 8)" > "$t/serial"
        printf '[ca]\ndefault_ca=d\n[d]\ndatabase=%s\nnew_certs_dir=%s\nserial=%s\ndefault_md=sha256\npolicy=p\ndefault_days=2\n[p]\ncommonName=supplied\n' \
            "$t/index.txt" "$t" "$t/serial" > "$t/ca.cnf"
        openssl ca -batch -notext -config "$t/ca.cnf" -cert "$cert" -keyfile "$key" \
            -in "$t/req.csr" -extfile "$t/$name.ext" -out "$t/$name.pem" "$@" 2>/dev/null
    }
    sign wrong-host DNS:wrong.example "$DIR/ca.pem" "$DIR/ca.key"
    sign expired IP:127.0.0.13 "$DIR/ca.pem" "$DIR/ca.key" -startdate 20200101000000Z -enddate 20200102000000Z
    sign unknown-ca IP:127.0.0.14 "$t/other-ca.pem" "$t/other-ca.key"
    sign good IP:127.0.0.15,IP:127.0.0.16 "$DIR/ca.pem" "$DIR/ca.key"
}

tls_certs_ok() {
    local f
    for f in key wrong-host expired unknown-ca good; do
        [ -s "$DIR/tls/$f.pem" ] || return 1
    done
    openssl x509 -checkend 3600 -noout -in "$DIR/tls/good.pem" >/dev/null &&
        openssl verify -CAfile "$DIR/ca.pem" "$DIR/tls/good.pem" >/dev/null 2>&1
}

tls_certs_ok || gen_tls_certs

# Compressed bodies for the fault scenarios (fault.lua), made once per DIR:
# a gzip'ed entry, a gzip'ed error envelope, and a "bomb" of about 20 KB on
# the wire that decodes to a 20 MiB JSON object.
make_fault_files() {
    local f=$DIR/fault
    [ -s "$f/bomb.json.gz" ] && return 0
    mkdir -p "$f"
    printf '%s' '{"id":"gzip","log_time":"2025-01-01","status":200,"event":"auth.token.refresh","request":"POST /api/oauth/token_refresh","duration_ms":253,"request_id":"8dc24bc2-8a17-4188-a509-217cb8799929"}' |
        gzip -9n > "$f/seed.json.gz"
    printf '%s' '{"meta":{"request_id":"req_gzip_404"},"error":{"code":"NOT_FOUND","message":"A compressed envelope."}}' |
        gzip -9n > "$f/404.json.gz"
    { printf '{"id":"bomb","pad":"'; head -c 20971520 /dev/zero | tr '\0' x; printf '"}'; } |
        gzip -9n > "$f/bomb.json.gz.tmp" && mv "$f/bomb.json.gz.tmp" "$f/bomb.json.gz"
}
make_fault_files

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
SM_TEST_TLS_WRONG_HOST_URL=https://127.0.0.12:$HTTPS_PORT
SM_TEST_TLS_EXPIRED_URL=https://127.0.0.13:$HTTPS_PORT
SM_TEST_TLS_UNKNOWN_CA_URL=https://127.0.0.14:$HTTPS_PORT
SM_TEST_TLS_OLD_URL=https://127.0.0.15:$HTTPS_PORT
SM_TEST_TLS_12_URL=https://127.0.0.16:$HTTPS_PORT
ENV
