# shellcheck shell=bash
# Sourced by the start scripts of the test servers (bash).
#
# sm_nginx_start DIR TEMPLATE FIRST_PORT SECOND_GAP [sed-args...]
#   Renders TEMPLATE into DIR/nginx.conf (markers @DIR@, @HTTP_PORT@,
#   @HTTPS_PORT@ = HTTP_PORT + SECOND_GAP, @USER_DIRECTIVE@, plus the extra
#   sed arguments) and starts nginx rooted in DIR. With SM_TEST_PORT unset it
#   takes the first port (pair) from FIRST_PORT on where nothing answers, and
#   moves on if another process binds it between that check and nginx's own
#   bind. Sets HTTP_PORT and HTTPS_PORT. nginx binds its sockets before it
#   daemonizes: once this returns, the server accepts connections.

sm_port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

sm_nginx_start() {
    local dir=$1 template=$2 first=$3 gap=$4 tries=0 user="" err
    shift 4
    HTTP_PORT=${SM_TEST_PORT:-$first}
    # Workers run as root only when we are root: otherwise nginx would
    # switch them to "nobody", which may not be able to read DIR or the repo.
    [ "$(id -u)" -eq 0 ] && user="user root;"
    while :; do
        HTTPS_PORT=$((HTTP_PORT + gap))
        if [ -z "${SM_TEST_PORT:-}" ] && { sm_port_busy "$HTTP_PORT" || sm_port_busy "$HTTPS_PORT"; }; then
            :
        else
            # The caller's expressions first: they may insert markers.
            sed "$@" -e "s|@DIR@|$dir|g" -e "s|@HTTP_PORT@|$HTTP_PORT|g" \
                -e "s|@HTTPS_PORT@|$HTTPS_PORT|g" -e "s|@USER_DIRECTIVE@|$user|g" \
                "$template" > "$dir/nginx.conf"
            : > "$dir/error.log" # fresh per attempt: a failure shows only its own lines
            # -e keeps even the pre-config error log out of /var/log/nginx;
            # nginx repeats its messages on stderr, shown only if error.log
            # could not be written.
            if err=$(nginx -q -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" 2>&1); then
                return 0
            fi
            if [ -n "${SM_TEST_PORT:-}" ] || ! grep -q "Address already in use" "$dir/error.log"; then
                echo "nginx failed to start in $dir; error.log tail:" >&2
                tail -n 20 "$dir/error.log" >&2 2>/dev/null || echo "$err" >&2
                return 1
            fi
        fi
        HTTP_PORT=$((HTTP_PORT + 1))
        tries=$((tries + 1))
        if [ "$tries" -ge 300 ]; then
            echo "no free port from $first on" >&2
            return 1
        fi
    done
}
