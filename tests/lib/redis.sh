#!/usr/bin/env bash
# A throwaway redis-server on 127.0.0.1 for the rate budget's specs and bench
# (Debian's redis-server, never the system service): no persistence (--save
# '' --appendonly no), its files in DIR, on the first free port from FIRST
# (default or "-": 39700 plus a random offset, so runs side by side rarely
# meet).
# EXTRA: more redis-server arguments (e.g. --requirepass WORD).
#   redis.sh serve DIR [FIRST [EXTRA...]]
#     prints "PORT PID" and becomes the server (PID is its own): run it
#     bounded (support.spawn, timeout -k) and stop it by PID (kill), which
#     the caller then waits for.
set -euo pipefail

if [ $# -lt 2 ] || [ "$1" != serve ]; then
    echo "usage: $0 serve DIR [FIRST_PORT [REDIS-SERVER-ARGS...]]" >&2
    exit 2
fi
mkdir -p "$2"
dir=$(cd "$2" && pwd)
port=${3:--}
[ "$port" != - ] || port=$((39700 + RANDOM % 200))
shift $(($# < 3 ? $# : 3))
tries=0
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    port=$((port + 1))
    tries=$((tries + 1))
    if [ "$tries" -ge 200 ]; then
        echo "no free port for redis-server" >&2
        exit 1
    fi
done
echo "$port $$"
exec redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
    --dir "$dir" --logfile "$dir/redis.log" "$@"
