-- busted --helper: makes the checkout's Lua layer and the freshly built C
-- core (SM_BUILD_DIR, set by tests/run.sh) the ones `require` finds.
local build = assert(os.getenv("SM_BUILD_DIR"), "run the suite through tests/run.sh")
package.path = "./lua/?.lua;./lua/?/init.lua;./?.lua;" .. package.path
package.cpath = build .. "/?.so;" .. package.cpath
