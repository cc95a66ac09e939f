#!/usr/bin/env bash
# `make doc`: the reference (docs/*.html) from the public modules' doc
# comments (config.ld). A page is rewritten only when more than its "Last
# updated" line changed, so a run over unchanged sources changes nothing,
# and pages of modules no longer listed go.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ldoc -q -c config.ld -d "$tmp" . >/dev/null
changed=0
while IFS= read -r page; do
    rel=${page#"$tmp"/}
    if [ -f "docs/$rel" ] && diff -q -I "Last updated" "docs/$rel" "$page" >/dev/null; then
        continue
    fi
    mkdir -p "$(dirname "docs/$rel")"
    cp "$page" "docs/$rel"
    echo "updated docs/$rel"
    changed=1
done < <(find "$tmp" -type f | sort)
# Generated pages ldoc no longer writes (a module left config.ld).
while IFS= read -r old; do
    rel=${old#docs/}
    if [ ! -e "$tmp/$rel" ]; then
        rm "$old"
        echo "removed $old"
        changed=1
    fi
done < <(find docs -type f \( -name '*.html' -o -name 'ldoc.css' \) | sort)
[ "$changed" -eq 1 ] || echo "docs/ is up to date"
