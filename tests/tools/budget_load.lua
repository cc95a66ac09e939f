-- One caller's load against a rate window (tests/spec/40-budget_spec.lua): for
-- SECONDS, get_connector_log(1, CONNECTOR, ...) with KEY on one client whose
-- budget is STORE (local, off, or a redis:// URL), in a fresh interpreter
-- (a process of its own, as another machine's client would be). Prints a
-- line "started" after its first call, then one JSON line:
--   { ok =, refused = (calls the budget refused: TOO_MANY_REQUESTS without
--   a status), limited = (429 answers), other =, first_other =,
--   refused_max_ms =, refused_over_5ms =, calls_max_ms =, ends = [the
--   distinct times, to 0.1 s, refusals said the window reopens], warnings =
--   (on_response events with budget_warning; events=1 only) }
-- Usage: budget_load.lua BASE_URL KEY CONNECTOR SECONDS STORE [name=value...]
--   timeout (s, 5), max_retry_wait (s, 0), pause (s after a failed call, 0.005),
--   redis_timeout (s), events (1: with an on_response hook, off the common
--   call's path). SM_BUILD_DIR: the module build to load.
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = assert(os.getenv("SM_BUILD_DIR")) .. "/?.so;" .. package.cpath
io.stdout:setvbuf("line")
local cjson = require "cjson"
local core = require "supermetrics.core"
local supermetrics = require "supermetrics"

local base_url, key, connector, seconds, store = arg[1], arg[2], arg[3], tonumber(arg[4]), arg[5]
assert(base_url and key and connector and seconds and store,
  "usage: budget_load.lua BASE_URL KEY CONNECTOR SECONDS STORE [name=value...]")
local o = {}
for i = 6, #arg do
  if arg[i] ~= "" then
    local name, value = arg[i]:match("^([%w_]+)=(.*)$")
    o[assert(name, "not name=value: " .. arg[i])] = tonumber(value) or value
  end
end

local budget
if store == "off" then
  budget = false
elseif store ~= "local" then
  budget = { redis = store, timeout = o.redis_timeout }
end
local warnings = 0
local client = supermetrics.new {
  api_key = key, base_url = base_url, budget = budget, timeout = o.timeout or 5,
  max_retry_wait = o.max_retry_wait or 0,
  on_response = o.events == 1 and function(e)
    if e.budget_warning then
      warnings = warnings + 1
    end
  end or nil,
}

local now, wall, sleep = core.monotonic, core.wall_clock, core.sleep
local out = { ok = 0, refused = 0, limited = 0, other = 0, refused_max_ms = 0, refused_over_5ms = 0,
  calls_max_ms = 0 }
local ends = {}
local stop = now() + seconds
local i = 0
while now() < stop do
  i = i + 1
  local t0, w0 = now(), wall()
  local ok, err = pcall(client.get_connector_log, client, 1, connector, "p" .. i)
  local ms = (now() - t0) * 1000
  out.calls_max_ms = math.max(out.calls_max_ms, ms)
  if i == 1 then
    print("started")
  end
  if ok then
    out.ok = out.ok + 1
  else
    if supermetrics.is_error(err) and err.code == "TOO_MANY_REQUESTS" and err.status == nil then
      out.refused = out.refused + 1
      out.refused_max_ms = math.max(out.refused_max_ms, ms)
      if ms >= 5 then
        out.refused_over_5ms = out.refused_over_5ms + 1
      end
      if err.retry_after then
        ends[math.floor((w0 + err.retry_after) * 10) / 10] = true
      end
    elseif supermetrics.is_error(err) and err.status == 429 then
      out.limited = out.limited + 1
    else
      out.other = out.other + 1
      out.first_other = out.first_other or tostring(err)
    end
    sleep(o.pause or 0.005)
  end
end
out.warnings = warnings
out.ends = {}
for t in pairs(ends) do
  out.ends[#out.ends + 1] = t
end
table.sort(out.ends)
client:close()
print(cjson.encode(out))
