rockspec_format = "3.0"
package = "lua-supermetrics"
version = "scm-1"
source = {
  url = "git+https://github.com/lua-supermetrics/lua-supermetrics.git",
}
description = {
  summary = "Fast, safe access to the Supermetrics Hub API (libcurl + lua-cjson)",
  detailed = [[
    A C extension module for Lua that fetches Codeless Connector log entries
    from the Supermetrics Hub API through libcurl, with structured errors,
    retries within one deadline, and connection reuse.
  ]],
  license = "MIT",
  homepage = "https://github.com/lua-supermetrics/lua-supermetrics",
}
dependencies = {
  "lua >= 5.1, < 5.5",
  "lua-cjson >= 2.1.0",
}
external_dependencies = {
  -- Only the library: Debian keeps curl.h in a multiarch folder that
  -- LuaRocks 3.8 does not search, while the compiler finds it there.
  CURL = { library = "curl" },
  -- hiredis (Debian libhiredis-dev): Redis's protocol, for the rate budget's
  -- shared store.
  HIREDIS = { library = "hiredis" },
}
build = {
  type = "make",
  -- The same Makefile as a manual build; LuaRocks passes its own paths.
  build_variables = {
    CFLAGS = "$(CFLAGS)",
    LIBFLAG = "$(LIBFLAG)",
    LUA_INCDIR = "$(LUA_INCDIR)",
    CURL_CFLAGS = "-I$(CURL_INCDIR)",
    CURL_LIBS = "-L$(CURL_LIBDIR) -lcurl",
    HIREDIS_CFLAGS = "-I$(HIREDIS_INCDIR)",
    HIREDIS_LIBS = "-L$(HIREDIS_LIBDIR) -lhiredis",
    -- A user's build never treats warnings as errors, whatever WERROR the
    -- environment holds (make test exports it for the project's builds).
    WERROR = "",
  },
  install_variables = {
    LUA_INCDIR = "$(LUA_INCDIR)",
    LUA_LIBDIR = "$(LIBDIR)",
    LUA_SHAREDIR = "$(LUADIR)",
    -- The rock's folder: bin/ (deployed to the tree's bin/), share/man and
    -- share/bash-completion (kept there: `luarocks show --rock-dir`).
    PREFIX = "$(PREFIX)",
    -- The command's first line: this Lua, or LuaJIT for a LuaJIT build.
    LUA_INTERPRETER = "$(LUA)",
  },
  -- make all: supermetrics/core.so, the library's C, and
  -- supermetrics/cli_native.so, the command line's own (src/cli/).
  build_target = "all",
  -- make install: the modules (both C modules among them), the types for
  -- editors (README.md, "Editor support": Teal's beside the modules,
  -- lua-language-server's in supermetrics/types) and the command line.
  install_target = "install",
}
-- The command is not wrapped: LuaRocks' wrapper runs LuaRocks' own Lua
-- (PUC 5.1 for a LuaJIT build) with the paths of its configured trees only
-- (none for a --tree of your own). Its first line names the right
-- interpreter and it finds its tree's modules itself.
deploy = {
  wrap_bin_scripts = false,
}
-- `luarocks test` in a checkout: the busted specs, as `make check` runs
-- them; they need the stand-in's environment (make check starts it).
test = {
  type = "busted",
  flags = { "--helper=tests/spec/helpers.lua", "--exclude-tags=slow", "tests/spec" },
}
