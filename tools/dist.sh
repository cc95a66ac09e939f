#!/usr/bin/env bash
# `make dist`: a release of the checkout in dist/ (Debian: zip).
#   lua-supermetrics-VERSION.tar.gz       what a build needs, plus README,
#                                         LICENSE, CHANGELOG.md, examples and
#                                         the types for editors (types/)
#   lua-supermetrics-VERSION-1.rockspec   the scm rockspec with that version
#                                         and that tarball as its source (md5)
#   lua-supermetrics-VERSION-1.src.rock   both, as LuaRocks packs them (a zip),
#                                         so `luarocks install FILE.src.rock`
#                                         builds offline
# RELEASE_URL: where the tarball will be published (the rockspec's source
# url; installing from the .src.rock never fetches it).
# Usage: tools/dist.sh VERSION
set -euo pipefail

version=${1:?usage: $0 VERSION}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
name=lua-supermetrics-$version
url=${RELEASE_URL:-https://github.com/lua-supermetrics/lua-supermetrics/releases/download/v$version}/$name.tar.gz
out=$ROOT/dist
stage=$out/stage
rm -rf "$out"
mkdir -p "$stage/$name"

# The files of the release: tracked ones only, so nothing built or local
# slips in. A checkout with uncommitted changes releases what is committed.
git ls-files -z Makefile LICENSE README.md CHANGELOG.md src lua bin share examples types | tar --null -T - -cf - | tar -xf - -C "$stage/$name"
grep -q "^Client.VERSION = \"$version\"$" "$stage/$name/lua/supermetrics/client.lua" || {
    echo "lua/supermetrics/client.lua does not say version $version" >&2
    exit 1
}
# Reproducible: fixed owner, order and times (the last commit's).
stamp=$(git log -1 --format=%ct)
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$stamp" \
    -C "$stage" -cf - "$name" | gzip -n -9 > "$out/$name.tar.gz"
md5=$(md5sum "$out/$name.tar.gz" | cut -d' ' -f1)

rockspec=$out/$name-1.rockspec
sed -e "s|^version = \"scm-1\"$|version = \"$version-1\"|" \
    -e "/^source = {$/,/^}$/c\\
source = {\\
  url = \"$url\",\\
  md5 = \"$md5\",\\
  dir = \"$name\",\\
}" lua-supermetrics-scm-1.rockspec > "$rockspec"
grep -q "md5 = \"$md5\"" "$rockspec" && grep -q "^version = \"$version-1\"$" "$rockspec" || {
    echo "could not make $rockspec from the scm rockspec" >&2
    exit 1
}

# A source rock is a zip of the rockspec and the source archive.
(cd "$out" && zip -q -X "$name-1.src.rock" "$name-1.rockspec" "$name.tar.gz")
rm -rf "$stage"
ls -l "$out"
