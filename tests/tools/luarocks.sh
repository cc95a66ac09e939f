#!/usr/bin/env bash
# `luarocks make` into a local tree for one Lua version (no server: deps are
# Debian's), then check that `require "supermetrics"` loads both halves from
# that tree, and that a call works end to end against the stand-in.
# Usage: luarocks.sh 5.4|5.1 HUB_ENV
set -euo pipefail
v=$1
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
tree=$ROOT/tests/tmp/rocks-$v
rm -rf "$tree"
luarocks --lua-version "$v" make --tree "$tree" --deps-mode=none lua-supermetrics-scm-1.rockspec
set -a
# shellcheck disable=SC1090
. "$2"
set +a
"lua$v" - "$tree" "$v" <<'LUA'
local tree, v = arg[1], arg[2]
package.path = tree .. "/share/lua/" .. v .. "/?.lua;" .. tree .. "/share/lua/" .. v .. "/?/init.lua;" .. package.path
package.cpath = tree .. "/lib/lua/" .. v .. "/?.so;" .. package.cpath
-- The first supermetrics/core.so on package.cpath must be the tree's.
local found
for pattern in package.cpath:gmatch("[^;]+") do
  local f = io.open((pattern:gsub("%?", "supermetrics/core")), "rb")
  if f then
    f:close()
    found = pattern
    break
  end
end
assert(found and found:find(tree, 1, true) == 1, "core.so not from the tree: " .. tostring(found))
local supermetrics = require "supermetrics"
local c = supermetrics.new { api_key = "api_test_key", base_url = os.getenv("SM_TEST_HTTP_URL") }
assert(c:get_connector_log(936506, "T3S70", "123").duration_ms == 253)
c:close()
print("supermetrics " .. supermetrics._VERSION .. " from " .. tree .. " works on Lua " .. v)
LUA
# The command line LuaRocks installed: run by this Lua, finding the tree's
# modules itself (no `luarocks path`).
[ "$(head -n 1 "$tree/bin/supermetrics-logs")" = "#!$(command -v "lua$v")" ]
out=$(env -u LUA_PATH -u LUA_CPATH SUPERMETRICS_API_KEY=api_test_key "$tree/bin/supermetrics-logs" \
    --base-url "$SM_TEST_HTTP_URL" get 936506 T3S70 123)
case "$out" in
    *'"duration_ms":253'*) echo "supermetrics-logs from the tree works" ;;
    *) echo "supermetrics-logs from the tree printed: $out"; exit 1 ;;
esac
