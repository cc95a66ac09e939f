#!/bin/sh
# Starts this example (nginx.conf) on OpenResty or on Debian's nginx +
# libnginx-mod-http-lua; `start.sh stop` stops it. From any folder:
#   SUPERMETRICS_API_KEY=api_... examples/openresty/start.sh
# The server: NGINX_BIN if set (not NGINX: nginx reads that one), else
# `openresty` if on PATH, else `nginx`. What differs between the two is
# done here, nginx.conf being the same:
# - OpenResty (its `-v` says "openresty/"): the lua module is built in.
#   Debian's nginx: -g 'include debian-modules.conf;' loads it.
# - resolver.conf, written at each start: `resolver local=on ipv6=off;` on
#   OpenResty 1.19.3+, which then reads /etc/resolv.conf itself; elsewhere
#   (Debian's nginx 1.22 has no local=on) the name servers /etc/resolv.conf
#   lists now: start again after they change.
set -eu

dir=$(cd "$(dirname "$0")" && pwd)
server=${NGINX_BIN:-$(command -v openresty || echo nginx)}
# "nginx version: openresty/1.21.4.3" (on stderr)
openresty=$("$server" -v 2>&1 | sed -n 's|^nginx version: openresty/\([0-9.]*\).*|\1|p')
modules=
[ -n "$openresty" ] || modules="include debian-modules.conf;"

if [ "${1:-}" = stop ]; then
    exec "$server" -p "$dir" -c nginx.conf ${modules:+-g "$modules"} -s stop
fi

newer() { # A B: whether version A >= B
    [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]
}
if [ -n "$openresty" ] && newer "$openresty" 1.19.3; then
    echo "resolver local=on ipv6=off;" > "$dir/resolver.conf"
else
    servers=$(awk '$1 == "nameserver" { a = $2; if (a ~ /:/) a = "[" a "]"; printf " %s", a }' /etc/resolv.conf)
    if [ -z "$servers" ]; then
        echo "no nameserver in /etc/resolv.conf: write $dir/resolver.conf yourself" >&2
        exit 1
    fi
    echo "resolver$servers ipv6=off;" > "$dir/resolver.conf"
fi
exec "$server" -p "$dir" -c nginx.conf ${modules:+-g "$modules"}
