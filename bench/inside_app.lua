-- The Lua locations of the front nginx of bench/nginx_inside.sh (see
-- bench/inside.conf.in): the seed log entry fetched from the bench server
-- with lua-resty-http or with lua-supermetrics, decoded, and sent on as JSON
-- (the same work per request: one keep-alive HTTP(S) call, one decode, one
-- cjson.encode); the library's pass-through form (the JSON text as the
-- server sent it); and the floor under any Lua client, a "bare cosocket":
-- fixed request bytes on a pooled connection, one read, the body as is
-- (and the same + cjson.decode / cjson.encode).
local cjson = require "cjson"
local http = require "resty.http"
local supermetrics = require "supermetrics"

local tcp = ngx.socket.tcp

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

-- The bare cosocket's, per scheme: port, pool options, the request bytes;
-- and the TLS session of its last handshake, offered to the next one.
local bare, bare_sessions = {}, {}

-- What lib_json answers when the library under test has no
-- get_connector_log_json (an older checkout): nginx_inside.sh skips the row.
local NO_JSON_FORM = "no get_connector_log_json in this library"

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
    -- The same bytes the library sends inside nginx (request line, Host,
    -- its User-Agent, Accept, Authorization), written once.
    local port = tonumber(base:match(":(%d+)$"))
    bare[scheme] = {
      https = scheme == "https",
      port = port,
      options = { pool = "bench-bare:" .. scheme, pool_size = 64 },
      request = table.concat {
        "GET ", LOG_PATH, " HTTP/1.1\r\n",
        "Host: localhost:", port, "\r\n",
        "User-Agent: lua-supermetrics/", supermetrics._VERSION, " (", jit.version, "; nginx)\r\n",
        "Accept: application/json\r\n",
        "Authorization: Bearer ", API_KEY, "\r\n\r\n",
      },
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

-- The pass-through form: the entry's JSON text as the server sent it,
-- checked but not decoded (only in libraries that have it).
function app.lib_json(scheme)
  local client = clients[scheme]
  if not client then
    return fail("lua-supermetrics", client_errors[scheme])
  end
  if not client.get_connector_log_json then
    ngx.status = 501
    ngx.print(NO_JSON_FORM)
    return
  end
  local ok, json = pcall(client.get_connector_log_json, client, 936506, "T3S70", "123")
  if not ok then
    return fail("lua-supermetrics json", json)
  end
  ngx.print(json)
end

-- The bare cosocket: what one keep-alive request costs a Lua location with
-- nothing around it. A pooled connection (TLS: a handshake on a new one
-- only, resuming the last session, verified as localhost), the fixed
-- request, receiveany until the head and Content-Length bytes of body are
-- in (the bench server's answer is small: one read in practice), back to
-- the pool. Returns the body, or nil and why.
local function bare_fetch(scheme)
  local b = bare[scheme]
  local sock = tcp()
  sock:settimeouts(10000, 10000, 10000)
  local ok, err = sock:connect("127.0.0.1", b.port, b.options)
  if not ok then
    return nil, "connect: " .. tostring(err)
  end
  if b.https and sock:getreusedtimes() == 0 then
    local session
    session, err = sock:sslhandshake(bare_sessions[scheme], "localhost", true)
    if not session then
      sock:close()
      return nil, "TLS handshake: " .. tostring(err)
    end
    bare_sessions[scheme] = session
  end
  ok, err = sock:send(b.request)
  if not ok then
    sock:close()
    return nil, "send: " .. tostring(err)
  end
  local response, data
  response, err = sock:receiveany(65536)
  local head_end, total
  while true do
    if not response then
      sock:close()
      return nil, "receive: " .. tostring(err)
    end
    if not head_end then
      head_end = response:find("\r\n\r\n", 1, true)
      if head_end then
        if response:sub(1, 13) ~= "HTTP/1.1 200 " then
          sock:close()
          return nil, "answer: " .. response:sub(1, 40)
        end
        local length = response:sub(1, head_end + 1):match("\r\n[Cc]ontent%-[Ll]ength: *(%d+)\r\n")
        if not length then
          sock:close()
          return nil, "no Content-Length"
        end
        total = head_end + 3 + tonumber(length)
      end
    end
    if total and #response >= total then
      break
    end
    data, err = sock:receiveany(65536)
    response = data and response .. data
  end
  if #response > total or not sock:setkeepalive(60000, 64) then
    sock:close()
  end
  return response:sub(head_end + 4, total)
end

function app.bare(scheme)
  local body, err = bare_fetch(scheme)
  if not body then
    return fail("bare cosocket", err)
  end
  ngx.print(body)
end

function app.bare_cjson(scheme)
  local body, err = bare_fetch(scheme)
  if not body then
    return fail("bare cosocket + cjson", err)
  end
  ngx.print(cjson.encode(cjson.decode(body)))
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
