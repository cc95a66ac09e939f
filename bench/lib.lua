-- Contender: this library, one client, client:get_connector_log in a loop.
-- Usage: LUA_PATH/LUA_CPATH at the checkout; lua lib.lua BASE_URL N [CA_FILE]
-- Prints "ok REQUESTS SECONDS" (wall time of the request loop).
local supermetrics = require "supermetrics"
local core = require "supermetrics.core"

local base_url, n, ca_file = arg[1], tonumber(arg[2]), arg[3]
local client = supermetrics.new { api_key = "api_bench_key", base_url = base_url, ca_file = ca_file }

local start = core.monotonic()
for i = 1, n do
  local entry = client:get_connector_log(936506, "T3S70", "123")
  if entry.id ~= "123" then
    error("request " .. i .. ": unexpected body")
  end
end
print(string.format("ok %d %.6f", n, core.monotonic() - start))
client:close()
