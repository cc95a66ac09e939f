-- The calls of bench/paths.sh, one kind at a time on one client against its
-- upstream (http://127.0.0.1:PORT): "log" (get_connector_log), "json"
-- (get_connector_log_json) or "page" (list_connector_logs of 1,000 entries).
-- Standalone (libcurl): lua paths_calls.lua PORT WHAT N
-- Inside nginx (cosockets): require("paths_calls").serve(PORT), with
-- ?what=&n= on the request.
local supermetrics = require "supermetrics"

local ngx = rawget(_G, "ngx")

local calls = {}
local client

local function call(port, what)
  if not client then
    client = supermetrics.new { api_key = "api_bench_key", base_url = "http://127.0.0.1:" .. port }
  end
  if what == "log" then
    assert(client:get_connector_log(936506, "T3S70", "123").id == "123")
  elseif what == "json" then
    assert(#client:get_connector_log_json(936506, "T3S70", "123") > 2)
  else
    assert(#client:list_connector_logs(936506, "T3S70", { limit = 1000 }) == 1000)
  end
end

function calls.serve(port)
  local args = ngx.req.get_uri_args()
  for _ = 1, tonumber(args.n) do
    call(port, args.what)
  end
  ngx.say("ok")
end

if not ngx and arg and arg[3] then
  for _ = 1, tonumber(arg[3]) do
    call(arg[1], arg[2])
  end
end

return calls
