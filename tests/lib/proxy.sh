#!/usr/bin/env bash
# Start or stop the forward proxies the gateway specs go through: Debian's
# tinyproxy on 127.0.0.1, each on a free port, rooted in DIR/<name> (its
# config, log and pid file there).
#   open: lets CONNECT through to the stand-in's HTTPS port only (any other
#         port: 403), logging every request;
#   auth: the same behind Basic credentials (none or wrong ones: 407).
# Usage: proxy.sh start DIR HTTPS_PORT   writes DIR/env (SM_TEST_PROXY_*)
#        proxy.sh stop DIR               idempotent
set -uo pipefail

USER_NAME=smproxy
# tinyproxy takes [-A-Za-z0-9._] only; the URL percent-encodes the '.', so
# that the specs check the library decodes it as libcurl does.
PASSWORD='pr0xy.pa_ss'
PASSWORD_URL='pr0xy%2Epa_ss'

# True while PID (from DIR/NAME/tinyproxy.pid) is that tinyproxy.
alive() {
    local cmdline
    cmdline=$(tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null) || return 1
    [[ "$cmdline" == *tinyproxy*"$2"* ]]
}

stop_one() {
    local dir=$1 pid
    [ -s "$dir/tinyproxy.pid" ] || return 0
    pid=$(cat "$dir/tinyproxy.pid")
    if alive "$pid" "$dir/tinyproxy.conf"; then
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 50); do
            alive "$pid" "$dir/tinyproxy.conf" || break
            sleep 0.1
        done
        if alive "$pid" "$dir/tinyproxy.conf"; then
            kill -KILL "$pid" 2>/dev/null
        fi
    fi
    rm -f "$dir/tinyproxy.pid"
}

# Waits (at most SECONDS) for a line of FILE matching the ERE PATTERN, as
# it is written; prints it. Returns 1 when none came in time.
wait_line() {
    local file=$1 pattern=$2 seconds=$3 line fd pid
    exec {fd}< <(exec timeout -k 1 "$seconds" tail -n +1 -F "$file" 2>/dev/null)
    pid=$!
    while IFS= read -r -u "$fd" line; do
        if [[ $line =~ $pattern ]]; then
            kill "$pid" 2>/dev/null
            exec {fd}<&-
            echo "$line"
            return 0
        fi
    done
    exec {fd}<&-
    return 1
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_one DIR HTTPS_PORT FIRST_PORT [extra config lines]: sets PORT.
start_one() {
    local dir=$1 https_port=$2 extra=${4:-} line tries=0
    PORT=$3
    mkdir -p "$dir"
    stop_one "$dir"
    while :; do
        if ! port_busy "$PORT"; then
            cat > "$dir/tinyproxy.conf" <<CONF
Port $PORT
Listen 127.0.0.1
Timeout 30
LogFile "$dir/tinyproxy.log"
LogLevel Info
PidFile "$dir/tinyproxy.pid"
MaxClients 200
Allow 127.0.0.1
ConnectPort $https_port
DisableViaHeader Yes
$extra
CONF
            : > "$dir/tinyproxy.log"
            # A bad configuration fails here; a port taken meanwhile fails
            # in the daemon, which binds after it forks: its log says.
            timeout -k 1 10 tinyproxy -c "$dir/tinyproxy.conf" || return 1
            line=$(wait_line "$dir/tinyproxy.log" "Accepting connections|[Cc]ould not|[Uu]nable|ERROR" 10)
            case $line in
            *"Accepting connections"*) return 0 ;;
            esac
            stop_one "$dir"
        fi
        PORT=$((PORT + 1))
        tries=$((tries + 1))
        if [ "$tries" -ge 100 ]; then
            echo "proxy.sh: no tinyproxy could start in $dir; log tail:" >&2
            tail -n 5 "$dir/tinyproxy.log" >&2
            return 1
        fi
    done
}

case ${1:-} in
start)
    [ $# -eq 3 ] || { echo "usage: $0 start DIR HTTPS_PORT" >&2; exit 2; }
    command -v tinyproxy >/dev/null || { echo "proxy.sh: tinyproxy is not installed" >&2; exit 1; }
    mkdir -p "$2"
    DIR=$(cd "$2" && pwd)
    start_one "$DIR/open" "$3" 39600 || exit 1
    OPEN_PORT=$PORT
    start_one "$DIR/auth" "$3" $((OPEN_PORT + 1)) "BasicAuth $USER_NAME $PASSWORD" || exit 1
    cat > "$DIR/env" <<ENV
SM_TEST_PROXY_URL=http://127.0.0.1:$OPEN_PORT
SM_TEST_PROXY_LOG=$DIR/open/tinyproxy.log
SM_TEST_AUTH_PROXY_URL=http://127.0.0.1:$PORT
SM_TEST_AUTH_PROXY_CREDENTIALS=$USER_NAME:$PASSWORD_URL
SM_TEST_AUTH_PROXY_LOG=$DIR/auth/tinyproxy.log
ENV
    ;;
stop)
    [ $# -eq 2 ] || { echo "usage: $0 stop DIR" >&2; exit 2; }
    [ -d "$2" ] || exit 0
    for d in "$2"/open "$2"/auth; do stop_one "$d"; done
    ;;
*)
    echo "usage: $0 start DIR HTTPS_PORT | stop DIR" >&2
    exit 2
    ;;
esac
