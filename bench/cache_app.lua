-- The Lua locations of bench/cache.sh's front nginx (bench/cache.conf.in):
-- the seed entry of the bench server through one library client per worker
-- with the entry cache (its dict under the worker's LRU: every request after
-- the first a hit) and one without (today's uncached call), each as the
-- JSON text (get_connector_log_json + ngx.print) and as a table
-- (get_connector_log + cjson.encode + ngx.print); and the floor under any
-- Lua cache: the entry's text from lua-resty-lrucache, printed.
local cjson = require "cjson"
local lrucache = require "resty.lrucache"
local supermetrics = require "supermetrics"

local app = {}

local API_KEY = "api_bench_key" -- what bench/routes.conf accepts
local TEAM, CONNECTOR, ID = 936506, "T3S70", "123"
local cached, plain
local floor = assert(lrucache.new(1000))

function app.init(url)
  cached = supermetrics.new { api_key = API_KEY, base_url = url,
    cache = { dict = "supermetrics_cache", size = 1000, ttl = math.huge } }
  plain = supermetrics.new { api_key = API_KEY, base_url = url }
end

local function failed(err)
  ngx.status = 502
  ngx.log(ngx.ERR, tostring(err))
  return ngx.exit(502)
end

local function text(client)
  local ok, res = pcall(client.get_connector_log_json, client, TEAM, CONNECTOR, ID)
  if not ok then
    return failed(res)
  end
  ngx.print(res)
end

local function table_form(client)
  local ok, res = pcall(client.get_connector_log, client, TEAM, CONNECTOR, ID)
  if not ok then
    return failed(res)
  end
  ngx.print(cjson.encode(res))
end

function app.floor()
  local body = floor:get("entry")
  if not body then
    body = plain:get_connector_log_json(TEAM, CONNECTOR, ID)
    floor:set("entry", body)
  end
  ngx.print(body)
end

function app.hit_json() text(cached) end
function app.hit_table() table_form(cached) end
function app.lib_json() text(plain) end
function app.lib() table_form(plain) end

return app
