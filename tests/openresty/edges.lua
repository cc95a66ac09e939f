-- The app of tests/openresty/edges.conf.in (38-nginx_edges_spec): the
-- library where nginx's edges are. Each handler answers JSON.
--   /kill?what=W&...          a call in a light thread, killed (below)
--   /tunnel?proxy=URL&...     one call through a proxy
--   /exhaust                  a call with every worker connection in use
--   /blocking                 two calls of an nginx_blocking client
--   /tls?server=S&id=ID       one call to a TLS server (tls_old, tls13, hub)
--   /seen?tag=T               how many requests the upstream saw for tag T
--   /v1/.../connectors/slowcount/logs/<ms>-<tag>-<i>   the upstream: counts
--                             the request under tag, waits ms, answers
-- in_phase() makes calls in the phase it runs in; phase_results() shows
-- what they gave.
local cjson = require "cjson"
local supermetrics = require "supermetrics"

local KEY = "api_test_key"
local DICT = ngx.shared.edges

local edges = {}
local urls = {}
local clients = {}
local refused -- what a call in the log phase said (edges.in_log)

function edges.init(u)
  urls = u
end

local function reply(out)
  ngx.header.content_type = "application/json"
  ngx.print(cjson.encode(out))
end

local function fields(err)
  if not supermetrics.is_error(err) then
    return { raised = tostring(err) }
  end
  return { code = err.code, message = err.message, attempts = err.attempts }
end

-- One client per set of options, for the worker's life (as an app keeps).
local function client(opts)
  local key = cjson.encode(opts)
  local c = clients[key]
  if not c then
    local o = { api_key = KEY, max_retry_wait = 0.05 }
    for k, v in pairs(opts) do
      o[k] = v
    end
    c = supermetrics.new(o)
    clients[key] = c
  end
  return c
end

local function number(v, default)
  return tonumber(v) or default
end

---------------------------------------------------------------------------
-- The upstream.
---------------------------------------------------------------------------

function edges.upstream()
  local connector, log_id = ngx.var.uri:match("/connectors/([^/]+)/logs/([^/]+)$")
  if not log_id then
    return ngx.exit(404)
  end
  local ms, tag = log_id:match("^(%d+)%-(%w+)%-%d+$")
  DICT:incr("seen:" .. (tag or log_id), 1, 0)
  if connector == "slowcount" and ms then
    ngx.sleep(tonumber(ms) / 1000)
  end
  reply { id = log_id, log_time = "2025-06-01T00:00:00Z", status = 200, tls = ngx.var.ssl_protocol }
end

local function seen(tag)
  return DICT:get("seen:" .. tag) or 0
end

---------------------------------------------------------------------------
-- Killed calls. GET /kill?what=W&tag=T[&n=N&ms=MS&concurrency=C][&proxy=URL]:
-- the call W in a light thread, killed once it is under way; then the
-- answer is sent and flushed at once, and nginx ends the request when the
-- last light thread of it has ended (the spec times that). Answers
-- { killed =, seen_at_kill = }.
--   batch        get_connector_logs of n ids of the upstream that each
--                wait ms, concurrency C; killed once the upstream saw C
--   lookup       get_connector_log of a host name this location's resolver
--                never answers
--   lookupbatch  get_connector_logs of 8 such ids, concurrency 4
--   tunnel       get_connector_log through the proxy URL (which trickles)
--   follow       follow_connector_logs, between two polls
---------------------------------------------------------------------------

local function hub_https_port()
  return urls.hub_https:match(":(%d+)$")
end

local CALLS = {
  batch = function(a)
    local ids = {}
    for i = 1, number(a.n, 50) do
      ids[i] = number(a.ms, 1000) .. "-" .. a.tag .. "-" .. i
    end
    local c = client { base_url = urls.app, max_retries = 0, timeout = 30 }
    return function()
      return c:get_connector_logs(1, "slowcount", ids, { concurrency = number(a.concurrency, 5) })
    end, function()
      return seen(a.tag) >= number(a.concurrency, 5)
    end
  end,
  lookup = function()
    local c = client { base_url = "https://hub.test:" .. hub_https_port(), max_retries = 0, timeout = 5,
      connect_timeout = 5 }
    return function()
      return c:get_connector_log(1, "T3S70", "1")
    end
  end,
  lookupbatch = function()
    local c = client { base_url = "https://hub.test:" .. hub_https_port(), max_retries = 0, timeout = 5,
      connect_timeout = 5 }
    return function()
      return c:get_connector_logs(1, "T3S70", { "1", "2", "3", "4", "5", "6", "7", "8" }, { concurrency = 4 })
    end
  end,
  tunnel = function(a)
    local c = client { base_url = urls.hub_https, proxy = a.proxy, max_retries = 0, timeout = 5,
      connect_timeout = 5 }
    return function()
      return c:get_connector_log(1, "T3S70", "1")
    end
  end,
  follow = function()
    local c = client { base_url = urls.hub_http, max_retries = 0 }
    return function()
      local n = 0
      for _ in c:follow_connector_logs(1, "paged-3-1", { interval = 10 }) do
        n = n + 1
      end
      return n
    end
  end,
}

function edges.kill()
  local a = ngx.req.get_uri_args()
  local call, under_way = CALLS[a.what](a)
  local t = ngx.thread.spawn(call)
  -- Under way: the upstream saw what it must, or (lookups, tunnels,
  -- follow) a little time passed for the call to be waiting.
  local waited = 0
  while waited < 5 and not (under_way and under_way()) do
    ngx.sleep(0.01)
    waited = waited + 0.01
    if not under_way and waited >= 0.1 then
      break
    end
  end
  local killed, err = ngx.thread.kill(t)
  reply { killed = killed == 1, kill_error = err, seen_at_kill = a.tag and seen(a.tag) or nil }
  ngx.flush(true)
end

---------------------------------------------------------------------------
-- The rest.
---------------------------------------------------------------------------

-- GET /tunnel?proxy=URL&connect_timeout=S&timeout=S: { took =, error = }.
local function tunnel(a)
  local c = client { base_url = urls.hub_https, proxy = a.proxy, max_retries = 0,
    timeout = number(a.timeout, 3), connect_timeout = number(a.connect_timeout, 1) }
  local started = ngx.now()
  local ok, err = pcall(c.get_connector_log, c, 1, "T3S70", "1")
  ngx.update_time()
  reply { took = ngx.now() - started, ok = ok, error = not ok and fields(err) or nil }
end

-- GET /exhaust: plain cosockets to the stand-in until nginx has no
-- connection left, then a call (to an address nothing listens on), then
-- the same call once they are closed. { opened =, exhausted =, after = }.
local function exhaust()
  local host, port = urls.hub_http:match("^http://([^:/]+):(%d+)")
  local socks = {}
  for _ = 1, 1000 do
    local s = ngx.socket.tcp()
    s:settimeout(2000)
    if not s:connect(host, tonumber(port)) then
      break
    end
    socks[#socks + 1] = s
  end
  local c = client { base_url = "http://127.0.0.5:9", max_retries = 0 }
  local ok, err = pcall(c.get_connector_log, c, 1, "T3S70", "1")
  for _, s in ipairs(socks) do
    s:close()
  end
  local ok2, err2 = pcall(c.get_connector_log, c, 1, "T3S70", "1")
  reply { opened = #socks, exhausted = not ok and fields(err) or nil, after = not ok2 and fields(err2) or nil }
end

-- GET /blocking: two calls of a client made with nginx_blocking = true.
local function blocking()
  local c = client { base_url = urls.hub_http, nginx_blocking = true }
  local first = c:get_connector_log(1, "T3S70", "b1")
  local second = c:get_connector_log(1, "T3S70", "b2")
  reply { ids = { first.id, second.id } }
end

-- GET /tls?server=tls_old|tls13|hub&id=ID: { entry = } or { error = }.
local function tls(a)
  local c = client { base_url = urls[a.server] or urls.hub_https, max_retries = 0 }
  local ok, res = pcall(c.get_connector_log, c, 1, "tls", a.id)
  reply { entry = ok and res or nil, error = not ok and fields(res) or nil }
end

local ROUTES = {
  ["/tunnel"] = tunnel,
  ["/exhaust"] = exhaust,
  ["/blocking"] = blocking,
  ["/tls"] = tls,
  ["/seen"] = function(a) reply { seen = seen(a.tag) } end,
  ["/logphase"] = function() reply { ok = true } end,
  ["/logphase-result"] = function() reply { refused = refused } end,
}

function edges.handle()
  local route = ROUTES[ngx.var.uri]
  if route then
    return route(ngx.req.get_uri_args())
  end
  return edges.upstream()
end

---------------------------------------------------------------------------
-- Calls in the phases around a request: ssl_client_hello,
-- ssl_certificate and server_rewrite. Each makes a call over HTTP, one over
-- HTTPS and a two-id batch (light threads) to the stand-in's echo
-- connector, under a key (the TLS server name, or the key argument), and
-- keeps what they gave for phase_results.
---------------------------------------------------------------------------

local results = {}

local function key_of(phase)
  if phase == "ssl_client_hello" then
    return require("ngx.ssl.clienthello").get_client_hello_server_name()
  elseif phase == "ssl_cert" then
    return require("ngx.ssl").server_name()
  end
  return ngx.var.arg_key
end

-- Whether the library takes calls in this phase: an empty batch passes the
-- phase check and returns at once, with nothing to wait for.
local function accepted()
  local c = client { base_url = urls.hub_http }
  local ok, err = pcall(c.get_connector_logs, c, 1, "echo", {})
  return ok or fields(err)
end

function edges.in_phase()
  local phase = ngx.get_phase()
  local key = key_of(phase)
  if not key then
    return
  end
  local out = { phase = phase, accepted = accepted() }
  results[key] = results[key] or {}
  results[key][phase] = out
  if phase == "ssl_client_hello" then
    -- Only an nginx core with OpenResty's patches can wait in this phase
    -- (Debian's ends the handshake at any wait, ngx.sleep's too): the
    -- phase is accepted, no call is made.
    return
  end
  for _, scheme in ipairs { "http", "https" } do
    local c = client { base_url = urls["hub_" .. scheme] }
    local ok, res = pcall(c.get_connector_log, c, 1, "echo", phase .. "-" .. scheme .. "-" .. key)
    out[scheme] = ok and { id = res.id, scheme = res.scheme } or { error = fields(res) }
  end
  local c = client { base_url = urls.hub_http }
  local ok, entries, errs = pcall(c.get_connector_logs, c, 1, "echo", { key .. "-b1", key .. "-b2" })
  if ok then
    local failed = 0
    for _ in pairs(errs) do
      failed = failed + 1
    end
    out.batch = { ids = { entries[1] and entries[1].id, entries[2] and entries[2].id }, errors = failed }
  else
    out.batch = { error = fields(entries) }
  end
  if phase == "server_rewrite" then
    -- The request's trace context is there to forward.
    local traced = client { base_url = urls.hub_http, trace_context = true }
    local ok2, entry = pcall(traced.get_connector_log, traced, 1, "echo", "traced-" .. key)
    if ok2 then
      out.traced = entry.headers or {} -- the extra headers that reached the stand-in
    else
      out.traced = { error = fields(entry) }
    end
  end
end

-- log_by_lua of /logphase: a call there is refused; what it said is kept
-- for /logphase-result.
function edges.in_log()
  refused = accepted()
end

function edges.phase_results()
  local key = ngx.var.ssl_server_name or ngx.var.arg_key
  reply { key = key, results = results[key] or {} }
end

return edges
