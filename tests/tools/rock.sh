#!/usr/bin/env bash
# The README's LuaRocks install, as a user runs it: `make dist`, then the
# lines of README.md's "rock-install" blocks exactly as written (sudo
# dropped when already root), in the dist folder with a fresh HOME, for Lua
# 5.4, 5.1 (the 5.4 block with 5.1 in its place, as the README says) and
# LuaJIT. Then a script that sees only that tree fetches the seed entry from
# the stand-in, and the installed command line does too.
# Usage: rock.sh HUB_ENV
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
set -a
# shellcheck disable=SC1090
. "$1"
set +a
make -s dist >/dev/null

# The shell lines of the README block marked "rock-install NAME".
block() {
    awk -v want="<!-- rock-install $1:" '
        index($0, want) == 1 { found = 1; next }
        found && /^```sh$/ { inside = 1; next }
        inside && /^```$/ { exit }
        inside { print }' README.md
}

run_block() { # NAME LUA_VERSION INTERPRETER TREE_FLAGS
    local name=$1 v=$2 lua=$3 lines home tree
    lines=$(block "$name")
    [ -n "$lines" ] || { echo "README.md has no rock-install $name block" >&2; return 1; }
    if [ "$v" = 5.1 ] && [ "$name" = 5.4 ]; then
        lines=$(sed -e 's/liblua5\.4-dev/liblua5.1-0-dev/g' -e 's/5\.4/5.1/g' <<<"$lines")
    fi
    [ "$(id -u)" -eq 0 ] && lines=$(sed 's/^sudo //' <<<"$lines")
    home=$(mktemp -d "$ROOT/tests/tmp/rock-home.XXXXXX")
    echo "== $name (Lua $v): the README's lines, HOME=$home"
    (cd dist && HOME=$home DEBIAN_FRONTEND=noninteractive bash -euo pipefail -c "$lines") ||
        { echo "the README's $name lines failed" >&2; return 1; }
    case $name in
        luajit) tree=$home/.luarocks-jit ;;
        *) tree=$home/.luarocks ;;
    esac
    # Only the tree's paths (and the system's, for lua-cjson).
    LUA_PATH="$tree/share/lua/5.1/?.lua;$tree/share/lua/5.1/?/init.lua;$tree/share/lua/$v/?.lua;$tree/share/lua/$v/?/init.lua;;" \
    LUA_CPATH="$tree/lib/lua/$v/?.so;;" TREE=$tree "$lua" - <<'LUA'
local tree = os.getenv("TREE")
local supermetrics = require "supermetrics"
-- Where require found a module (Lua 5.1 has no package.searchpath).
local function found(name, path)
  for pattern in path:gmatch("[^;]+") do
    local file = pattern:gsub("%?", (name:gsub("%.", "/")))
    local f = io.open(file, "rb")
    if f then
      f:close()
      return file
    end
  end
end
for _, name in ipairs { "supermetrics", "supermetrics.core" } do
  local where = assert(found(name, name == "supermetrics" and package.path or package.cpath), name)
  assert(where:find(tree, 1, true) == 1, name .. " not from the tree: " .. where)
end
local c = supermetrics.new { api_key = "api_test_key", base_url = os.getenv("SM_TEST_HTTP_URL") }
local entry = c:get_connector_log(936506, "T3S70", "123")
assert(entry.id == "123" and entry.duration_ms == 253, "wrong entry")
c:close()
print("supermetrics " .. supermetrics._VERSION .. " from " .. tree .. " fetched the seed entry")
LUA
    local out
    # As after the README's `eval "$(luarocks ... path)"`.
    out=$(eval "$(HOME=$home luarocks --lua-version "$v" --tree "$tree" path)" &&
        SUPERMETRICS_API_KEY=api_test_key "$tree/bin/supermetrics-logs" --base-url "$SM_TEST_HTTP_URL" \
            get 936506 T3S70 123)
    case "$out" in
        *'"duration_ms":253'*) echo "supermetrics-logs from $tree works" ;;
        *) echo "supermetrics-logs from the tree printed: $out" >&2; return 1 ;;
    esac
    rm -rf "$home"
}

run_block 5.4 5.4 lua5.4
run_block 5.4 5.1 lua5.1
run_block luajit 5.1 luajit
