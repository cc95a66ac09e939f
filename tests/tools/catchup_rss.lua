-- Catching up from a point in time (follow_connector_logs with since) in a
-- fresh interpreter, so that the memory measured is the library's. Prints
-- one line:
--   count=N first_requests=N requests=N descending=0|1 rss_first=KiB rss_end=KiB error=...
-- count entries taken (at most TAKE), the requests made before the first
-- one and in all, whether every id n<i> was one below the one before
-- (tests/server/hostile_pages.lua's endless log, oldest first), the RSS
-- after 2,000 entries and at the end. The client's token_provider refuses
-- after BUDGET requests, so an iterator that never yields still ends.
-- Usage: catchup_rss.lua BASE_URL CONNECTOR SINCE TAKE BUDGET (SM_BUILD_DIR: the build)
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = assert(os.getenv("SM_BUILD_DIR")) .. "/?.so;" .. package.cpath
local supermetrics = require "supermetrics"

local base_url, connector, since, take, budget = arg[1], arg[2], arg[3], tonumber(arg[4]), tonumber(arg[5])
assert(base_url and connector and since and take and budget,
  "usage: catchup_rss.lua BASE_URL CONNECTOR SINCE TAKE BUDGET")

local function rss_kib()
  local f = assert(io.open("/proc/self/status"))
  local s = f:read("*a")
  f:close()
  return tonumber(s:match("VmRSS:%s*(%d+)"))
end

local requests = 0
local client = supermetrics.new { base_url = base_url, max_retries = 0, token_provider = function()
  requests = requests + 1
  if requests > budget then
    error("request budget of " .. budget .. " spent")
  end
  return "otok_valid_catchup"
end }
local count, first_requests, descending, previous, rss_first = 0, -1, 1, nil, 0
local ok, err = pcall(function()
  for entry in client:follow_connector_logs(1, connector, { since = since, interval = 0.01 }) do
    count = count + 1
    local n = tonumber(tostring(entry.id):match("^n(%d+)$"))
    if count == 1 then
      first_requests = requests
    elseif not n or n ~= previous - 1 then
      descending = 0
    end
    previous = n
    if count == 2000 then
      collectgarbage()
      rss_first = rss_kib()
    end
    if count >= take then
      break
    end
  end
end)
collectgarbage()
print(string.format("count=%d first_requests=%d requests=%d descending=%d rss_first=%d rss_end=%d error=%s",
  count, first_requests, requests, descending, rss_first, rss_kib(),
  ok and "none" or (tostring(err):gsub("%s", "_"))))
client:close()
