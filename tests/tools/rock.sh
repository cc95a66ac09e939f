#!/usr/bin/env bash
# The README's LuaRocks install, as a user runs it: `make dist`, then the
# lines of README.md's "rock-install" blocks exactly as written: the
# packages block as root (skipped otherwise), then from the checkout (the
# blocks `cd dist` themselves) with a fresh HOME, for Lua 5.4, 5.1 (the 5.4
# block with 5.1 in its place, as the README says) and LuaJIT. Then, with
# no LUA_PATH or LUA_CPATH (no `luarocks path`), the tree's command fetches
# the seed entry from the stand-in, called by its path and from its bin
# folder, and runs the interpreter the module was built for; a script that
# sees only the tree fetches it through the library; the man page and the
# completion are in the rock's folder where the README says.
# ROCK_USER=NAME (as root): the README's lines run as that user instead, in
# a scratch copy of dist/ and a HOME of their own (e.g. a throwaway user
# made with useradd).
# Usage: rock.sh HUB_ENV
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
set -a
# shellcheck disable=SC1090
. "$1"
set +a
make -s dist >/dev/null
user=${ROCK_USER:-}
if [ -n "$user" ] && [ "$(id -u)" -ne 0 ]; then
    echo "ROCK_USER needs root" >&2
    exit 1
fi

# The shell lines of the README block marked "rock-install NAME".
block() {
    awk -v want="<!-- rock-install $1:" '
        index($0, want) == 1 { found = 1; next }
        found && /^```sh$/ { inside = 1; next }
        inside && /^```$/ { exit }
        inside { print }' README.md
}

deps=$(block packages)
[ -n "$deps" ] || { echo "README.md has no rock-install packages block" >&2; exit 1; }
if [ "$(id -u)" -eq 0 ]; then
    echo "== packages: the README's lines, as root"
    DEBIAN_FRONTEND=noninteractive bash -euo pipefail -c "$deps" >/dev/null ||
        { echo "the README's package lines failed" >&2; exit 1; }
else
    echo "== packages: not root, the README's package lines are not run"
fi
mkdir -p "$ROOT/tests/tmp"

run_block() { # NAME LUA_VERSION INTERPRETER
    local name=$1 v=$2 lua=$3 lines home tree where out first rockdir
    lines=$(block "$name")
    [ -n "$lines" ] || { echo "README.md has no rock-install $name block" >&2; return 1; }
    if [ "$v" = 5.1 ] && [ "$name" = 5.4 ]; then
        lines=$(sed -e 's/5\.4/5.1/g' <<<"$lines")
    fi
    grep -q sudo <<<"$lines" && { echo "the $name lines use sudo" >&2; return 1; }
    if [ -n "$user" ]; then
        # Somewhere the user may write: a HOME and a copy of dist/ beside it.
        where=$(mktemp -d /tmp/rock-user.XXXXXX)
        home=$where/home
        mkdir "$home"
        cp -r dist "$where/"
        chown -R "$user:" "$where"
        chmod 0755 "$where"
        echo "== $name (Lua $v): the README's lines as $user in $where, HOME=$home"
        (cd "$where" && runuser -u "$user" -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$home" \
            bash -euo pipefail -c "$lines") ||
            { echo "the README's $name lines failed as $user" >&2; return 1; }
        as() { runuser -u "$user" -- "$@"; }
    else
        where=$ROOT
        home=$(mktemp -d "$ROOT/tests/tmp/rock-home.XXXXXX")
        echo "== $name (Lua $v): the README's lines, HOME=$home"
        (cd "$where" && HOME=$home DEBIAN_FRONTEND=noninteractive bash -euo pipefail -c "$lines") ||
            { echo "the README's $name lines failed" >&2; return 1; }
        as() { "$@"; }
    fi
    case $name in
        luajit) tree=$home/.luarocks-jit ;;
        *) tree=$home/.luarocks ;;
    esac

    # The command: the interpreter the module was built for, on its first
    # line; no paths from the environment, by its path and from its folder.
    first=$(head -n 1 "$tree/bin/supermetrics-logs")
    [ "$first" = "#!$(command -v "$lua")" ] ||
        { echo "$tree/bin/supermetrics-logs starts with $first, not $lua" >&2; return 1; }
    for how in path folder; do
        if [ $how = path ]; then
            out=$(cd / && as env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_4 -u LUA_CPATH_5_4 \
                SUPERMETRICS_API_KEY=api_test_key "$tree/bin/supermetrics-logs" --base-url "$SM_TEST_HTTP_URL" \
                get 936506 T3S70 123)
        else
            out=$(cd "$tree/bin" && as env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_4 -u LUA_CPATH_5_4 \
                SUPERMETRICS_API_KEY=api_test_key ./supermetrics-logs --base-url "$SM_TEST_HTTP_URL" \
                get 936506 T3S70 123)
        fi
        case "$out" in
            *'"duration_ms":253'*) echo "supermetrics-logs from $tree works (called by its $how)" ;;
            *) echo "supermetrics-logs from the tree printed: $out" >&2; return 1 ;;
        esac
    done

    # The man page and completion, in the rock's folder (the README's line).
    rockdir=$(HOME=$home luarocks --lua-version "$v" --tree "$tree" show --rock-dir lua-supermetrics)
    cmp share/man/man1/supermetrics-logs.1 "$rockdir/share/man/man1/supermetrics-logs.1"
    cmp share/bash-completion/completions/supermetrics-logs \
        "$rockdir/share/bash-completion/completions/supermetrics-logs"

    # The library: only the tree's paths (and the system's, for lua-cjson).
    LUA_PATH="$tree/share/lua/$v/?.lua;$tree/share/lua/$v/?/init.lua;;" \
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
    if [ -n "$user" ]; then rm -rf "$where"; else rm -rf "$home"; fi
}

run_block 5.4 5.4 lua5.4
run_block 5.4 5.1 lua5.1
run_block luajit 5.1 luajit
