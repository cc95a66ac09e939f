-- Memory over many calls on one client: RSS after a warm-up, after every
-- tenth of the run, and at the end; the Lua heap likewise.
-- Usage: LUA_PATH/LUA_CPATH at the checkout; lua rss.lua BASE_URL CALLS [CA_FILE]
-- Prints "rss WARM_KIB END_KIB MAX_KIB HWM_KIB luaheap WARM_KIB END_KIB".
local supermetrics = require "supermetrics"

local base_url, calls, ca_file = arg[1], tonumber(arg[2]), arg[3]
local WARMUP = 2000

local function rss_kib()
  local rss, hwm
  for line in io.lines("/proc/self/status") do
    rss = rss or tonumber(line:match("^VmRSS:%s*(%d+)"))
    hwm = hwm or tonumber(line:match("^VmHWM:%s*(%d+)"))
  end
  return rss, hwm
end

local client = supermetrics.new { api_key = "api_bench_key", base_url = base_url, ca_file = ca_file }
for _ = 1, WARMUP do
  client:get_connector_log(936506, "T3S70", "123")
end
collectgarbage()
local warm_rss = rss_kib()
local warm_heap = collectgarbage("count")
local max_rss = warm_rss
local step = math.max(1, math.floor(calls / 10))
for i = 1, calls do
  local entry = client:get_connector_log(936506, "T3S70", "123")
  if entry.id ~= "123" then
    error("call " .. i .. ": unexpected body")
  end
  if i % step == 0 then
    max_rss = math.max(max_rss, (rss_kib()))
  end
end
collectgarbage()
local end_rss, hwm = rss_kib()
print(string.format("rss %d %d %d %d luaheap %.0f %.0f", warm_rss, end_rss, math.max(max_rss, end_rss), hwm,
  warm_heap, collectgarbage("count")))
client:close()
