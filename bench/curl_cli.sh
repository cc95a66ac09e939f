#!/usr/bin/env bash
# Contender: the curl command line, one process per request. It only
# fetches (nothing decodes the body); a failed request stops the loop.
# Usage: curl_cli.sh URL N SECONDS [CA_FILE]
# Prints "ok REQUESTS SECONDS" (wall time of the request loop).
set -euo pipefail
url=$1 n=$2 budget=$3
ca=()
[ $# -ge 4 ] && ca=(--cacert "$4")
usec() { echo "${EPOCHREALTIME/./}"; }
start=$(usec)
deadline=$((start + budget * 1000000))
done=0
while [ "$done" -lt "$n" ] && [ "$(usec)" -lt "$deadline" ]; do
    curl -sSf "${ca[@]}" -H "Authorization: Bearer api_bench_key" \
        -H "Accept: application/json" -o /dev/null "$url"
    done=$((done + 1))
done
elapsed=$(($(usec) - start))
printf 'ok %d %d.%06d\n' "$done" $((elapsed / 1000000)) $((elapsed % 1000000))
