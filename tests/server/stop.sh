#!/usr/bin/env bash
# Stop the stand-in started by start.sh DIR. Idempotent.
set -uo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi

[ -d "$1" ] || exit 0
DIR=$(cd "$1" && pwd)
PIDFILE="$DIR/nginx.pid"
[ -s "$PIDFILE" ] || exit 0
PID=$(cat "$PIDFILE")

# True while PID is our nginx master. Checking the command line (not
# kill -0) also guards against a stale pid file naming an unrelated process,
# and treats an exited-but-unreaped master (zombie: empty cmdline) as gone;
# the daemonized master is reparented, so reaping may be slow.
master_alive() {
    local cmdline
    cmdline=$(tr '\0' ' ' < "/proc/$PID/cmdline" 2>/dev/null) || return 1
    [[ "$cmdline" == *"master process"*"$DIR/nginx.conf"* ]]
}

if ! master_alive; then
    rm -f "$PIDFILE"
    exit 0
fi

# TERM = fast shutdown: in-flight scenarios (slow, drip) are cut off
# instead of delaying the stop; a graceful QUIT would wait for them.
kill -TERM "$PID" 2>/dev/null
for _ in $(seq 50); do
    master_alive || break
    sleep 0.1
done
if master_alive; then
    echo "stop.sh: nginx master $PID still running after 5s" >&2
    exit 1
fi
rm -f "$PIDFILE"
