-- The location of bench/budget.sh's front nginx: GET /load?store=S&key=K&connector=C
-- makes one get_connector_log(1, C, "b") with key K on this worker's client
-- for (S, K): the rate budget off (store=off, every call faces the window
-- alone), per worker (local, the default), in the lua_shared_dict
-- supermetrics_budget (dict) or in the bench's Redis (redis). Answers 200
-- with the entry, 503 when refused (by the API's 429, or by the budget
-- without a request), 502 for anything else (its text in the error log).
local cjson = require "cjson"
local supermetrics = require "supermetrics"

local app = {}
local hub, redis_url
local clients = {}

function app.init(hub_url, redis)
  hub, redis_url = hub_url, redis
end

local BUDGETS = {
  off = function() return false end,
  ["local"] = function() return nil end,
  dict = function() return { dict = "supermetrics_budget" } end,
  redis = function() return { redis = redis_url } end,
}

function app.load()
  local a = ngx.req.get_uri_args()
  local id = tostring(a.store) .. "\0" .. tostring(a.key)
  local client = clients[id]
  if not client then
    client = supermetrics.new { api_key = a.key, base_url = hub, budget = BUDGETS[a.store](),
      max_retry_wait = 0 }
    clients[id] = client
  end
  local ok, res = pcall(client.get_connector_log, client, 1, a.connector, "b")
  if ok then
    ngx.header.content_type = "application/json"
    return ngx.print(cjson.encode(res))
  end
  if res.code == "TOO_MANY_REQUESTS" then
    return ngx.exit(503)
  end
  ngx.log(ngx.ERR, tostring(res))
  return ngx.exit(502)
end

return app
