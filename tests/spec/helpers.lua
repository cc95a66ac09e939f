-- busted --helper: makes the checkout's Lua layer and its built C core the
-- ones `require` finds. The core is SM_BUILD_DIR's (tests/run.sh and
-- tests/check.sh set it), else the build folder `make` uses for the running
-- interpreter (build/lua5.4, build/luajit...). The specs also need the
-- stand-in's environment (SM_TEST_*): tests/check.sh provides it, or
-- `set -a; . tests/tmp/hub/env` while its servers run.
local function default_build()
  if type(rawget(_G, "jit")) == "table" then
    return "build/luajit"
  end
  return "build/lua" .. _VERSION:match("%d+%.%d+")
end

-- Busted's report goes out as it is written: a process that dies at exit
-- (LeakSanitizer's tracer has crashed there) must not take the summary
-- with it (tests/lib/busted.sh reads it).
io.stdout:setvbuf("no")

local build = os.getenv("SM_BUILD_DIR") or default_build()
package.path = "./lua/?.lua;./lua/?/init.lua;./?.lua;" .. package.path
package.cpath = build .. "/?.so;" .. package.cpath
