-- Soak: N calls on one client in a fresh interpreter (so the measure is the
-- library's, not the test runner's heap). Prints one line:
--   rss_warm=KiB rss_end=KiB first_conn=N last_conn=N first_req=N last_req=N
-- Usage: soak.lua BASE_URL CALLS   (SM_BUILD_DIR: the module build to load)
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = assert(os.getenv("SM_BUILD_DIR")) .. "/?.so;" .. package.cpath
local supermetrics = require "supermetrics"

local base_url, calls = arg[1], tonumber(arg[2])
assert(base_url and calls, "usage: soak.lua BASE_URL CALLS")

local function rss_kib()
  local f = assert(io.open("/proc/self/status"))
  local s = f:read("*a")
  f:close()
  return tonumber(s:match("VmRSS:%s*(%d+)"))
end

local client = supermetrics.new { api_key = "api_test_key", base_url = base_url }
-- Warm up until buffers, the allocator and the GC reach their steady size.
for _ = 1, math.min(calls, 3000) do
  client:get_connector_log(936506, "T3S70", "123")
end
collectgarbage()
local warm = rss_kib()
local first = client:get_connector_log(1, "echo", "soak")
for _ = 1, calls do
  client:get_connector_log(936506, "T3S70", "123")
end
local last = client:get_connector_log(1, "echo", "soak")
collectgarbage()
print(string.format("rss_warm=%d rss_end=%d first_conn=%d last_conn=%d first_req=%d last_req=%d",
  warm, rss_kib(), first.connection, last.connection, first.connection_requests, last.connection_requests))
client:close()
