-- The Lua locations of the front nginx of bench/nginx_inside.sh (see
-- bench/inside.conf.in): the seed log entry fetched from the bench server
-- with lua-resty-http or with lua-supermetrics, decoded, and sent on as JSON.
-- Both do the same work per request: one keep-alive HTTP(S) call, one
-- decode, one cjson.encode.
local cjson = require "cjson"
local http = require "resty.http"
local supermetrics = require "supermetrics"

local app = {}

local LOG_PATH = "/v1/teams/936506/connector_builder/connectors/T3S70/logs/123"
local API_KEY = "api_bench_key" -- what bench/routes.conf accepts
local BATCH_IDS, BATCH_CONCURRENCY = 500, 32

-- Per worker, set by init(): the upstream URLs, and one library client per
-- scheme, made once and used by every request (the documented usage), or
-- the error that kept it from being made.
local urls, clients, client_errors = {}, {}, {}

-- lua-resty-http's request parameters, one table per scheme, built once:
-- request_uri copies them anyway.
local resty_params = {}

-- Errors go to the error log, but only the first few: under load a broken
-- row would otherwise write a line per request and measure the log.
local LOG_MAX, logged = 20, 0
local function fail(what, err)
  logged = logged + 1
  if logged <= LOG_MAX then
    ngx.log(ngx.ERR, what, ": ", tostring(err), logged == LOG_MAX and " (no more of these logged)" or "")
  end
  return ngx.exit(502)
end

function app.init(http_url, https_url)
  urls.http, urls.https = http_url, https_url
  for scheme, base in pairs(urls) do
    resty_params[scheme] = {
      headers = { ["Authorization"] = "Bearer " .. API_KEY, ["Accept"] = "application/json" },
      keepalive_timeout = 60000,
      keepalive_pool = 64,
      ssl_verify = true,
      -- The bench certificate names IP:127.0.0.1 and DNS:localhost; nginx's
      -- host check matches DNS names only, so verify against localhost.
      ssl_server_name = scheme == "https" and "localhost" or nil,
    }
    -- The same name for the library: it connects to localhost as 127.0.0.1
    -- (no resolver needed) and verifies the certificate against it.
    local lib_base = base:gsub("^(https?://)127%.0%.0%.1:", "%1localhost:")
    local ok, client = pcall(supermetrics.new, { api_key = API_KEY, base_url = lib_base })
    if ok then
      clients[scheme] = client
    else
      client_errors[scheme] = tostring(client)
      ngx.log(ngx.ERR, "supermetrics.new for ", lib_base, ": ", client_errors[scheme])
    end
  end
end

-- lua-resty-http's usual idiom for one call: a new object per request,
-- request_uri (connect, request, read_body, set_keepalive into the pool).
function app.resty(scheme)
  local res, err = http.new():request_uri(urls[scheme] .. LOG_PATH, resty_params[scheme])
  if not res then
    return fail("lua-resty-http", err)
  end
  if res.status ~= 200 then
    return fail("lua-resty-http", "status " .. res.status)
  end
  ngx.print(cjson.encode(cjson.decode(res.body)))
end

function app.lib(scheme)
  local client = clients[scheme]
  if not client then
    return fail("lua-supermetrics", client_errors[scheme])
  end
  local ok, entry = pcall(client.get_connector_log, client, 936506, "T3S70", "123")
  if not ok then
    return fail("lua-supermetrics", entry)
  end
  ngx.print(cjson.encode(entry))
end

-- 500 ids (all the seed entry's, the one the bench server has) through
-- get_connector_logs at concurrency 32, in this worker, while it also
-- serves wrk: answers the counts and the first error.
function app.batch(scheme)
  local client = clients[scheme]
  if not client then
    return fail("lua-supermetrics batch", client_errors[scheme])
  end
  local ids = {}
  for i = 1, BATCH_IDS do
    ids[i] = "123"
  end
  ngx.update_time()
  local started = ngx.now()
  local ok, entries, errs = pcall(client.get_connector_logs, client, 936506, "T3S70", ids,
    { concurrency = BATCH_CONCURRENCY })
  ngx.update_time()
  local result = { items = BATCH_IDS, entries = 0, errors = 0, seconds = ngx.now() - started }
  if not ok then
    result.errors, result.first_error = BATCH_IDS, "raised: " .. tostring(entries)
  else
    for i = 1, BATCH_IDS do
      if entries[i] then
        result.entries = result.entries + 1
      elseif errs[i] then
        result.errors = result.errors + 1
        result.first_error = result.first_error or tostring(errs[i])
      end
    end
  end
  ngx.print(cjson.encode(result))
end

function app.gc()
  collectgarbage()
  collectgarbage()
  ngx.print(string.format("%.0f", collectgarbage("count")))
end

return app
