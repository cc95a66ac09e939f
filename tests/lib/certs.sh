# shellcheck shell=bash
# Sourced by the test and bench server scripts.
#
# sm_make_certs DIR CA_NAME
#   A throwaway CA (DIR/ca.pem, DIR/ca.key) and a server certificate it signs
#   (DIR/server.pem, DIR/server.key) for 127.0.0.1 and localhost: EC P-256,
#   valid 2 days. Nothing here is ever trusted outside the test that made it.
sm_make_certs() {
    local dir=$1 name=$2 ext="$1/server.ext"
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -out "$dir/ca.key" 2>/dev/null
    openssl req -x509 -new -key "$dir/ca.key" -days 2 -subj "/CN=$name" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out "$dir/ca.pem"
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -out "$dir/server.key" 2>/dev/null
    cat > "$ext" <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid,issuer
EXT
    openssl req -new -key "$dir/server.key" -subj "/CN=localhost" \
        -out "$dir/server.csr"
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" \
        -CAkey "$dir/ca.key" -set_serial "0x$(openssl rand -hex 8)" \
        -days 2 -extfile "$ext" -out "$dir/server.pem" 2>/dev/null
    rm -f "$dir/server.csr" "$ext"
}
