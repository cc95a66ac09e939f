-- The test app inside nginx: Hub-shaped paths fetched through
-- lua-supermetrics from the stand-in, answered as the entry's JSON or as an
-- error envelope carrying the library's error fields. The X-Mode request
-- header picks the client (see MODES).
local cjson = require "cjson"
local supermetrics = require "supermetrics"

local KEY = "api_test_key"

local app = {}
local hub = {}
local startup = {}
local clients = {}
local provider_calls = 0

-- Runs in init_by_lua (the master, before workers fork): a blocking call
-- with the explicit opt-in works; without it the library refuses.
function app.init(http_url, https_url, ca_file)
  hub.http, hub.https, hub.ca = http_url, https_url, ca_file
  local ok, res = pcall(function()
    local c = supermetrics.new { api_key = KEY, base_url = hub.http, nginx_blocking = true }
    local entry = c:get_connector_log(936506, "T3S70", "123")
    c:close()
    return entry
  end)
  startup.blocking = ok and res or { error = tostring(res) }
  local refused_ok, err = pcall(function()
    local c = supermetrics.new { api_key = KEY, base_url = hub.http }
    return c:get_connector_log(936506, "T3S70", "123")
  end)
  startup.refused = { ok = refused_ok, code = err.code, message = err.message }
  -- Clients made here and used by every worker (README, OpenResty): one
  -- on libcurl that already holds a warm connection when the workers fork,
  -- one on cosockets (which holds none).
  for _, scheme in ipairs { "http", "https" } do
    local blocking = supermetrics.new { api_key = KEY, base_url = hub[scheme], nginx_blocking = true,
      ca_file = scheme == "https" and hub.ca or nil }
    blocking:get_connector_log(1, "echo", "master")
    startup[scheme .. "_blocking"] = blocking
    startup[scheme .. "_cosocket"] = supermetrics.new { api_key = KEY, base_url = hub[scheme] }
  end
end

-- GET /shared/<blocking|cosocket>/<http|https>/<id>: the echo entry of id
-- through the client made in init_by_lua, with this worker's pid.
function app.shared()
  local kind, scheme, id = ngx.var.uri:match("^/shared/(%a+)/(%a+)/(.+)$")
  local client = startup[scheme .. "_" .. kind]
  local ok, res = pcall(client.get_connector_log, client, 1, "echo", id)
  ngx.header.content_type = "application/json"
  ngx.print(cjson.encode { id = ok and res.id, error = not ok and tostring(res) or nil, pid = ngx.worker.pid() })
end

function app.init_result()
  ngx.header.content_type = "application/json"
  ngx.print(cjson.encode { blocking = startup.blocking, refused = startup.refused })
end

local MODES = {
  default = function() return { api_key = KEY, base_url = hub.http } end,
  https = function() return { api_key = KEY, base_url = hub.https } end,
  short = function() return { api_key = KEY, base_url = hub.http, timeout = 0.3 } end,
  provider = function()
    return { base_url = hub.http, max_retry_wait = 0.05, token_provider = function()
      provider_calls = provider_calls + 1
      return "otok_valid_" .. provider_calls
    end }
  end,
}

-- One client per mode for the worker's life: what an app would do.
local function client_for(mode)
  local client = clients[mode]
  if not client then
    local o = MODES[mode]()
    o.max_retry_wait = o.max_retry_wait or 0.05
    client = supermetrics.new(o)
    clients[mode] = client
  end
  return client
end

local function unescape(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function send_error(err)
  ngx.status = (err.status and err.status >= 400) and err.status or 502
  ngx.header.content_type = "application/json"
  ngx.header["X-Is-Error"] = tostring(supermetrics.is_error(err))
  ngx.header["X-Attempts"] = err.attempts
  ngx.header["X-Retry-After"] = err.retry_after
  ngx.header["X-Error-Status"] = err.status
  ngx.print(cjson.encode {
    meta = { request_id = err.request_id },
    error = { code = err.code, message = err.message, description = err.description },
  })
end

function app.proxy()
  local team, conn, seg = ngx.var.request_uri:match(
    "^/v1/teams/([^/]+)/connector_builder/connectors/([^/]+)/logs/([^/?]+)$")
  local mode = ngx.var.http_x_mode or "default"
  if not team or not MODES[mode] then
    return ngx.exit(400)
  end
  local client = client_for(mode)
  local before = provider_calls
  local ok, res = pcall(client.get_connector_log, client, team, conn, unescape(seg))
  ngx.header["X-Provider-Calls"] = provider_calls - before
  if not ok then
    return send_error(res)
  end
  ngx.header.content_type = "application/json"
  ngx.print(cjson.encode(res))
end

-- GET /batch: 20 slow ids and one bad one through get_connector_logs.
function app.batch()
  local client = client_for("default")
  local ids = { "." }
  for i = 1, 20 do
    ids[#ids + 1] = "500-batch" .. math.floor(ngx.now() * 1000) .. "x" .. i
  end
  local started = ngx.now()
  local entries, errors = client:get_connector_logs(1, "slow", ids, { concurrency = 20 })
  ngx.update_time()
  local n_entries, n_errors = 0, 0
  for i = 1, #ids do
    if entries[i] then n_entries = n_entries + 1 end
    if errors[i] then n_errors = n_errors + 1 end
  end
  ngx.header.content_type = "application/json"
  ngx.print(cjson.encode {
    entries = n_entries, errors = n_errors, took = ngx.now() - started,
    first_error = errors[1] and errors[1].code,
    first_is_error = errors[1] and supermetrics.is_error(errors[1]),
  })
end

-- A value as JSON carries it exactly: a number as "n:" and 17 significant
-- digits ("n:-0" for -0), a string as "s:" and its bytes, supermetrics.null
-- as "null", a table field by field (an array stays one).
local function typed(v)
  if type(v) == "number" then
    return (v == 0 and 1 / v < 0) and "n:-0" or "n:" .. string.format("%.17g", v)
  elseif type(v) == "string" then
    return "s:" .. v
  elseif type(v) == "table" then
    local out = {}
    for k, x in pairs(v) do
      out[k] = typed(x)
    end
    return out
  end
  return v == supermetrics.null and "null" or v
end

-- What lua-cjson inside nginx (the module's settings) and the contract's
-- shaping make of the page of connector pages-<name> (tests/server/pages.lua):
-- what list_connector_logs must give for it (33-decoder_spec).
local function page_oracle(connector)
  local body = require("tests.server.pages")[connector:match("^pages%-(%w+)$")]
  local json = require("cjson.safe").new()
  json.decode_invalid_numbers(false)
  json.decode_max_depth(128)
  local out = {}
  for i, entry in ipairs(assert(json.decode(body)).logs) do
    for k, v in pairs(entry) do
      if v == json.null then
        entry[k] = nil
      end
    end
    out[i] = entry
  end
  return out
end

-- GET /call?connector=C&id=ID[&team=T][&base_url=URL|&https=1][&timeout=S]
--   [&connect_timeout=S][&max_retries=N][&max_response_bytes=N]
--   [&ca_file=PATH][&user_agent=UA][&plain=1][&json=1|&list=1[&limit=N]]
-- One get_connector_log (json=1: get_connector_log_json, answered as
-- { json = text }; list=1: list_connector_logs of connector C, answered as
-- { page = typed(entries), oracle = typed(page_oracle(C)) for pages-<name>
-- }) with a client made from those options (kept per
-- option set, as an app would), answered as JSON: { entry = ... } or
-- { error = {every field, and "failed: " .. err} }, plus the number of
-- on_response events of the call. plain: a client without on_response
-- (no events), whose calls take the common call's first-attempt path
-- (State:get_log).
local call_clients = {}
local CALL_OPTIONS = { "base_url", "timeout", "connect_timeout", "max_retries", "max_response_bytes",
  "ca_file", "user_agent", "nginx_pool_size" }

local function error_fields(err)
  return {
    code = err.code, message = err.message, description = err.description, status = err.status,
    request_id = err.request_id, retry_after = err.retry_after, attempts = err.attempts, body = err.body,
    is_error = supermetrics.is_error(err), concat = "failed: " .. err,
  }
end

function app.call()
  local args = ngx.req.get_uri_args()
  local opts = { api_key = KEY, base_url = args.https and hub.https or hub.http, max_retry_wait = 0.05 }
  local key = {}
  for _, name in ipairs(CALL_OPTIONS) do
    if args[name] then
      opts[name] = tonumber(args[name]) or args[name]
    end
    key[#key + 1] = tostring(args[name])
  end
  key = table.concat(key, "\0") .. tostring(args.https) .. tostring(args.plain)
  local entry = call_clients[key]
  if not entry then
    local counter = { n = 0 }
    if not args.plain then
      opts.on_response = function() counter.n = counter.n + 1 end
    end
    local ok, client = pcall(supermetrics.new, opts)
    if not ok then
      ngx.header.content_type = "application/json"
      return ngx.print(cjson.encode { new_error = error_fields(client) })
    end
    entry = { client = client, events = counter }
    call_clients[key] = entry
  end
  local client = entry.client
  local before = entry.events.n
  -- json=1: get_connector_log_json, whose text comes back as the string `json`.
  local method = args.json and client.get_connector_log_json or client.get_connector_log
  local ok, res
  if args.list then
    ok, res = pcall(client.list_connector_logs, client, args.team or 1, args.connector,
      { limit = tonumber(args.limit) })
  else
    ok, res = pcall(method, client, args.team or 1, args.connector, args.id)
  end
  ngx.header.content_type = "application/json"
  local out = { events = not args.plain and entry.events.n - before or nil }
  if ok and args.json then
    out.json = res
  elseif ok and args.list then
    out.page = typed(res)
    out.oracle = args.connector:find("^pages%-") and typed(page_oracle(args.connector)) or nil
  elseif ok then
    out.entry = res
  elseif supermetrics.is_error(res) then
    out.error = error_fields(res)
  else
    out.raised = tostring(res)
  end
  ngx.print(cjson.encode(out))
end

-- GET /batch500: 500 ids of the seed connector in one get_connector_logs.
function app.batch500()
  local ids = {}
  for i = 1, 500 do
    ids[i] = "b" .. i
  end
  local entries, errors = client_for("default"):get_connector_logs(1, "T3S70", ids, { concurrency = 32 })
  local n_entries, n_errors, first = 0, 0, nil
  for i = 1, #ids do
    if entries[i] and entries[i].id == ids[i] then n_entries = n_entries + 1 end
    if errors[i] then
      n_errors = n_errors + 1
      first = first or tostring(errors[i])
    end
  end
  ngx.header.content_type = "application/json"
  ngx.print(cjson.encode { entries = n_entries, errors = n_errors, first_error = first })
end

local busy = require "tests.tools.busy"

-- GET /desync?https=1&n=300&every=25&batches=5[&json=1]: against a server that
-- answers some ids twice (connector twice, tests/server/desync.lua): n
-- single calls with every <every>-th id answered twice, then batches of 40
-- ids at concurrency 4 whose first id is, each on a client of its own.
-- Answers { calls =, wrong =, errors =, first_error = }.
-- out = { calls =, wrong =, errors =, first_error = } and check(asked,
-- entry, err) that counts one call's outcome into it.
local function tally()
  local out = { calls = 0, wrong = 0, errors = 0 }
  return out, function(asked, entry, err)
    out.calls = out.calls + 1
    if err then
      out.errors = out.errors + 1
      out.first_error = out.first_error or tostring(err)
    elseif entry.id ~= asked then
      out.wrong = out.wrong + 1
    end
  end
end

local function reply_json(out)
  ngx.header.content_type = "application/json"
  ngx.print(cjson.encode(out))
end

function app.desync()
  local args = ngx.req.get_uri_args()
  local client = supermetrics.new { api_key = KEY, base_url = args.https and hub.https or hub.http,
    max_retries = 0 }
  local out, check = tally()
  local every = tonumber(args.every) or 25
  local suffix = args.suffix or "-2x"
  for i = 1, tonumber(args.n) or 300 do
    local id = "s" .. i .. (i % every == 0 and suffix or "")
    local ok, res
    if args.json then
      -- get_connector_log_json: its text must carry the id asked for too.
      ok, res = pcall(client.get_connector_log_json, client, 1, args.connector or "twice", id)
      res = ok and cjson.decode(res) or res
    else
      ok, res = pcall(client.get_connector_log, client, 1, args.connector or "twice", id)
    end
    check(id, ok and res, not ok and res)
    busy()
  end
  for b = 1, tonumber(args.batches) or 5 do
    local ids = {}
    for i = 1, 40 do
      ids[i] = "b" .. b .. "-" .. i .. (i == 1 and suffix or "")
    end
    local entries, errors = client:get_connector_logs(1, args.connector or "twice", ids, { concurrency = 4 })
    for i = 1, 40 do
      check(ids[i], entries[i], errors[i])
    end
  end
  client:close()
  reply_json(out)
end

-- GET /closing?n=3000: n calls to a server that closes each connection
-- right after a response that looked kept alive. Answers { errors =,
-- first_error =, pid = } (the spec counts the worker's open files).
function app.closing()
  local args = ngx.req.get_uri_args()
  local client = supermetrics.new { api_key = KEY, base_url = args.https and hub.https or hub.http }
  local out, check = tally()
  out.pid = ngx.worker.pid()
  for i = 1, tonumber(args.n) or 3000 do
    local id = "c" .. i .. "-close"
    local ok, res = pcall(client.get_connector_log, client, 1, "twice", id)
    check(id, ok and res, not ok and res)
  end
  client:close()
  reply_json(out)
end

-- GET /resolve?timeout=S: one call to a host name that this location's
-- resolver (which never answers) must look up. Answers { took =, error = }.
function app.resolve()
  local args = ngx.req.get_uri_args()
  local port = hub.https:match(":(%d+)$")
  local client = supermetrics.new { api_key = KEY, base_url = "https://hub.test:" .. port,
    timeout = tonumber(args.timeout) or 1, max_retries = 0 }
  local started = ngx.now()
  local ok, err = pcall(client.get_connector_log, client, 1, "T3S70", "1")
  ngx.update_time()
  ngx.header.content_type = "application/json"
  ngx.print(cjson.encode { took = ngx.now() - started, ok = ok,
    error = not ok and error_fields(err) or nil })
end

-- GET /contract?base_url=URL&op=OP&connector=C[&team=T][&id=ID][&limit=N]
--   [&before=B][&page_size=N]
-- One call of every route through cosockets, for the contract specs
-- (tests/spec/25-contract_spec.lua) against Prism at URL: op get, list,
-- each (every entry), follow (the first poll's entries, since=before) or
-- batch (ids: id,id,...). Answered as JSON { result = ... } or { error =
-- {code, message, status} }. One client per base_url, as an app keeps.
local contract_clients = {}
local CONTRACT = {
  get = function(c, a) return c:get_connector_log(a.team, a.connector, a.id) end,
  list = function(c, a)
    return c:list_connector_logs(a.team, a.connector, { limit = tonumber(a.limit), before = a.before })
  end,
  each = function(c, a)
    local out = {}
    for entry in c:each_connector_log(a.team, a.connector, { page_size = tonumber(a.page_size), before = a.before }) do
      out[#out + 1] = entry
    end
    return out
  end,
  follow = function(c, a)
    local it = c:follow_connector_logs(a.team, a.connector, { since = a.before, interval = 0.01 })
    return { it() }
  end,
  batch = function(c, a)
    local ids = {}
    for id in a.id:gmatch("[^,]+") do ids[#ids + 1] = id end
    local entries, errors = c:get_connector_logs(a.team, a.connector, ids)
    local errs = {}
    for i, e in pairs(errors) do errs[tostring(i)] = e.code end
    return { entries = entries, errors = errs, n = #ids }
  end,
}

function app.contract()
  local a = ngx.req.get_uri_args()
  a.team = a.team or 936506
  local client = contract_clients[a.base_url]
  if not client then
    client = supermetrics.new { api_key = KEY, base_url = a.base_url, max_retries = 0 }
    contract_clients[a.base_url] = client
  end
  local ok, res = pcall(CONTRACT[a.op], client, a)
  ngx.header.content_type = "application/json"
  if ok then
    ngx.print(cjson.encode { result = res })
  else
    ngx.print(cjson.encode { error = type(res) == "table" and
      { code = res.code, message = res.message, status = res.status } or tostring(res) })
  end
end

-- GET /gateway?p=<JSON params>[&timer=1]: the gateway script
-- (tests/tools/gateway.lua) inside nginx, answered as its JSON outcome.
-- With timer=1 it runs in a timer (no request: no trace context there).
function app.gateway()
  local args = ngx.req.get_uri_args()
  local params = cjson.decode(args.p)
  local gateway = require "tests.tools.gateway"
  local base = { http = hub.http, https = hub.https }
  local out
  if args.timer then
    local semaphore = require "ngx.semaphore"
    local done = semaphore.new()
    assert(ngx.timer.at(0, function()
      out = gateway.run(params, base)
      done:post(1)
    end))
    assert(done:wait(20))
  else
    out = gateway.run(params, base)
  end
  ngx.header.content_type = "application/json"
  ngx.print(cjson.encode(out))
end

-- GET /paging: the iterators against the paging scenarios (paging_app.lua).
function app.paging()
  require("paging_app").run(hub)
end

-- GET /hostile?token=T&connector=C&id=ID[&list=1][&https=1]: one call with
-- credential T against a hostile server (tests/server/hostile_text.lua, for
-- 37-hostile_text_spec), answered as JSON { entry =, page =, error =
-- {every field, and tostring(err)}, events = {each on_response event's
-- request_id, error_code, status} }. One client per token and scheme.
local hostile_clients = {}
function app.hostile()
  local args = ngx.req.get_uri_args()
  local key = args.token .. (args.https and "|https" or "")
  local entry = hostile_clients[key]
  if not entry then
    local events = {}
    local client = supermetrics.new { token = args.token, base_url = args.https and hub.https or hub.http,
      max_retries = 0, on_response = function(e)
        events[#events + 1] = { request_id = e.request_id or false, error_code = e.error_code or false,
          status = e.status or false }
      end }
    entry = { client = client, events = events }
    hostile_clients[key] = entry
  end
  for i = #entry.events, 1, -1 do
    entry.events[i] = nil
  end
  local client = entry.client
  local ok, res
  if args.list then
    ok, res = pcall(client.list_connector_logs, client, 1, args.connector)
  else
    ok, res = pcall(client.get_connector_log, client, 1, args.connector, args.id)
  end
  local out = { events = entry.events }
  if ok and args.list then
    out.page = res
  elseif ok then
    out.entry = res
  elseif supermetrics.is_error(res) then
    out.error = error_fields(res)
    out.error.tostring = tostring(res)
  else
    out.raised = tostring(res)
  end
  reply_json(out)
end

-- GET /budget?key=K&connector=C&seconds=S&callers=N[&store=dict|local|redis|off]
--   [&redis=URL][&redis_timeout=S][&timeout=S][&max_retry_wait=S][&pause=S]
-- N light threads calling get_connector_log(1, C, ...) with key K for S
-- seconds, on one client per option set and worker (the common call's
-- path: no hook), with the rate budget in the lua_shared_dict sm_budget
-- (store=dict, the default), in the worker (local), in Redis at URL, or
-- none (off). After a call that failed, a caller pauses (pause, 0.005 s:
-- the next request of its user). Answers { pid =, ok =, refused = (calls
-- the budget refused: TOO_MANY_REQUESTS without a status), limited = (429
-- answers), other =, first_other =, refused_max_ms =, refused_over_5ms =
-- (ngx.now() counts whole milliseconds), ends = [the distinct
-- times, to 0.1 s, a refusal said the window reopens: now + retry_after],
-- calls_max_ms = } (40-budget_spec).
local budget_clients = {}

function app.budget()
  local a = ngx.req.get_uri_args()
  local store = a.store or "dict"
  local id = table.concat({ a.key, store, tostring(a.redis), tostring(a.redis_timeout), tostring(a.timeout),
    tostring(a.max_retry_wait) }, "\0")
  local client = budget_clients[id]
  if not client then
    local opt
    if store == "dict" then
      opt = { dict = "sm_budget" }
    elseif store == "redis" then
      opt = { redis = a.redis, timeout = tonumber(a.redis_timeout) }
    elseif store == "off" then
      opt = false
    end
    client = supermetrics.new { api_key = a.key, base_url = hub.http, budget = opt,
      timeout = tonumber(a.timeout) or 5, max_retry_wait = tonumber(a.max_retry_wait) or 0 }
    budget_clients[id] = client
  end
  local seconds, pause = tonumber(a.seconds) or 3, tonumber(a.pause) or 0.005
  local out = { pid = ngx.worker.pid(), ok = 0, refused = 0, limited = 0, other = 0, refused_max_ms = 0,
    refused_over_5ms = 0, calls_max_ms = 0 }
  local ends = {}
  ngx.update_time()
  local stop = ngx.now() + seconds
  local function caller(c)
    local i = 0
    while true do
      ngx.update_time()
      local t0 = ngx.now()
      if t0 >= stop then
        return
      end
      i = i + 1
      local ok, err = pcall(client.get_connector_log, client, 1, a.connector, "c" .. c .. "-" .. i)
      ngx.update_time()
      local ms = (ngx.now() - t0) * 1000
      out.calls_max_ms = math.max(out.calls_max_ms, ms)
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
            ends[math.floor((t0 + err.retry_after) * 10) / 10] = true
          end
        elseif supermetrics.is_error(err) and err.status == 429 then
          out.limited = out.limited + 1
        else
          out.other = out.other + 1
          out.first_other = out.first_other or tostring(err)
        end
        ngx.sleep(pause)
      end
    end
  end
  local threads = {}
  for c = 1, tonumber(a.callers) or 16 do
    threads[c] = ngx.thread.spawn(caller, c)
  end
  for _, t in ipairs(threads) do
    ngx.thread.wait(t)
  end
  out.ends = {}
  for t in pairs(ends) do
    out.ends[#out.ends + 1] = t
  end
  table.sort(out.ends)
  reply_json(out)
end

-- GET /budget_dict: every key and value of the lua_shared_dict sm_budget.
function app.budget_dict()
  local d = ngx.shared.sm_budget
  local out = {}
  for _, k in ipairs(d:get_keys(0)) do
    out[#out + 1] = { key = k, value = tostring(d:get(k)) }
  end
  reply_json(out)
end

-- header_filter cannot yield: the library must say so, not block.
function app.from_header_filter()
  local c = supermetrics.new { api_key = KEY, base_url = hub.http }
  local ok, err = pcall(c.get_connector_log, c, 1, "T3S70", "1")
  c:close()
  ngx.header["X-Phase-Error"] = ok and "none" or (err.code .. ": " .. err.message)
end

return app
