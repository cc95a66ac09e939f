--- A fake Supermetrics Hub for testing code that uses this library: scripted
-- from Lua, no network, the same in plain Lua (5.1-5.4, LuaJIT) and inside
-- nginx. `hub:client()` is a real client (retries, paging, the rate budget,
-- the cache, slices: production's code) whose transport hands the script's
-- answers, as HTTP/1.1 bytes, to the same C reader, decoders, checks and
-- error mapping as a real response; its clock is fake, so a `Retry-After:
-- 3600` or a retry's wait takes no time. Record and replay: `testing.record`
-- writes what a real server answered as a fixture file (the credential
-- never in it), `hub:load` replays one. docs/testing.md has the guide.
--
--     local testing = require "supermetrics.testing"
--     local hub = testing.hub()
--     hub:entry(1, "c", { id = "a", log_time = "2025-06-01T00:00:00Z", status = 200 })
--     hub:fail({ op = "get", id = "b" }, { status = 404 })
--     local client = hub:client()
--     client:get_connector_log(1, "c", "a")     --> the entry
--     client:get_connector_log(1, "c", "b")     --> raises NOT_FOUND
--     hub:assert_done()
-- @module supermetrics.testing

local clock = require "supermetrics.clock"
local fake_transport = require "supermetrics.testing.transport"
local fixture = require "supermetrics.testing.fixture"
local record = require "supermetrics.testing.record"
local serve = require "supermetrics.testing.serve"
local time = require "supermetrics.time"
local wire = require "supermetrics.testing.wire"

local testing = {}

local floor, huge = math.floor, math.huge
local concat, sort = table.concat, table.sort
local format = string.format

local encode, json_string = fixture.encode, fixture.json_string
local BY_STATUS, envelope = wire.BY_STATUS, wire.envelope
local parse_request, response_bytes = wire.parse_request, wire.response_bytes

--- The instant a hub's fake clock starts at: 2025-06-01T00:00:00Z (wall),
-- so that wall-clock logic (the rate budget's windows) is deterministic.
testing.START = 1748736000

-- The text formats (supermetrics/testing/fixture.lua).

--- JSON null in an entry given as a table (`{ id = "a", event = testing.null }`).
testing.null = fixture.null

--- A table's JSON text (objects' keys sorted): what `hub:entry` sends for
-- an entry given as a table.
function testing.encode(v)
  return encode(v)
end

--- The fixture format's name, a fixture file's `format` field.
testing.FORMAT = fixture.FORMAT

---------------------------------------------------------------------------
-- The hub.
---------------------------------------------------------------------------

local Hub = {}
Hub.__index = Hub

local serial = 0

-- The matching rules of an answer (see hub:fail), in words.
local function describe_match(m)
  local parts = {}
  for _, k in ipairs { "op", "team", "connector", "id", "limit", "before", "query" } do
    if m[k] ~= nil then
      parts[#parts + 1] = k .. "=" .. format("%q", tostring(m[k]))
    end
  end
  return "{" .. concat(parts, ", ") .. "}"
end

local function describe_how(how)
  for _, k in ipairs { "timeout", "reset", "close", "tls", "truncated", "invalid_json", "other_id" } do
    if how[k] then
      return k .. (how.status and " (HTTP " .. how.status .. ")" or "")
    end
  end
  if how.problem then
    return "HTTP " .. (how.status or 200) .. " problem+json"
  elseif how.html then
    return "HTTP " .. (how.status or 200) .. " HTML"
  elseif how.status then
    return "HTTP " .. how.status .. (how.envelope == false and " without envelope" or "")
  end
  return "HTTP 200 with a body"
end

local function matches(m, r)
  if m.op and m.op ~= "any" and m.op ~= r.op then
    return false
  end
  if m.team ~= nil and tostring(m.team) ~= r.team then
    return false
  end
  if m.connector ~= nil and tostring(m.connector) ~= r.connector then
    return false
  end
  if m.id ~= nil and tostring(m.id) ~= r.id then
    return false
  end
  if m.limit ~= nil and tostring(m.limit) ~= r.query.limit then
    return false
  end
  if m.before ~= nil and tostring(m.before) ~= r.query.before then
    return false
  end
  if m.query ~= nil and m.query ~= r.raw_query then
    return false
  end
  return true
end

--- A new fake Hub. opts (all optional): `before` = `"inclusive"` (default)
-- or `"exclusive"`: whether a page's `before` takes entries stamped exactly
-- at it (the official documents do not say; test under both);
-- `key`: the credential its clients send (default: one of its own, so
-- that hubs' clients never share a rate budget or cache); `base_url`
-- (default https://api.supermetrics.com: never reached).
function testing.hub(opts)
  opts = opts or {}
  if opts.before ~= nil and opts.before ~= "inclusive" and opts.before ~= "exclusive" then
    error("supermetrics.testing.hub: before must be \"inclusive\" or \"exclusive\"", 2)
  end
  serial = serial + 1
  local offset = 0
  local base = {
    monotonic = function() return 1000000 + offset end,
    wall = function() return testing.START + offset end,
    sleep = function() end,
  }
  local hub = setmetatable({
    before = opts.before or "inclusive",
    key = opts.key or format("fake_hub_key_%d", serial),
    base_url = opts.base_url or "https://api.supermetrics.com",
    -- The fake clock of its clients: clock.sleeps (each wait, in order)
    -- and clock.slept (their sum).
    clock = clock.fake(base),
    _logs = {}, -- "team\0connector" -> { {id, log_time, json, n}, ... }
    _answers = {}, -- scripted answers, in the order given
    _requests = {},
    _n = 0,
    _advance = function(s) offset = offset + s end,
  }, Hub)
  hub._transport = fake_transport.module(hub)
  return hub
end

--- Moves the fake clock on by seconds without a wait (time passing
-- between two calls).
function Hub:advance(seconds)
  self._advance(seconds)
end

local function log_key(team, connector)
  return tostring(team) .. "\0" .. tostring(connector)
end

-- An entry's id and log_time from its JSON text (entries given as text).
local function text_field(json, name)
  local s = json:match('"' .. name .. '"%s*:%s*"([^"\\]*)"')
  if s then
    return s
  end
  local n = json:match('"' .. name .. '"%s*:%s*(%-?[%d%.eE+]+)')
  return n
end

--- Adds an entry to (team, connector)'s log: what `get_connector_log`
-- (by its `id`) and the pages (by its `log_time`, newest first) answer.
-- entry: a table (sent as JSON, keys sorted; `testing.null` for a null)
-- or the JSON text to send as it is. Returns the hub.
function Hub:entry(team, connector, entry)
  local json
  if type(entry) == "string" then
    json = entry
  elseif type(entry) == "table" then
    json = encode(entry)
  else
    error("hub:entry: entry must be a table or JSON text", 2)
  end
  local id = type(entry) == "table" and entry.id or text_field(json, "id")
  local log_time = type(entry) == "table" and entry.log_time or text_field(json, "log_time")
  if log_time ~= nil and not time.parse(log_time) then
    error("hub:entry: log_time " .. tostring(log_time) .. " is not a time", 2)
  end
  local key = log_key(team, connector)
  local list = self._logs[key] or {}
  self._logs[key] = list
  list[#list + 1] = { id = id ~= nil and tostring(id) or nil, log_time = log_time, json = json, n = #list + 1 }
  return self
end

--- Adds each entry of list (as `hub:entry`). Returns the hub.
function Hub:entries(team, connector, list)
  for _, e in ipairs(list) do
    self:entry(team, connector, e)
  end
  return self
end

--- Scripts an answer: the first request matching `match` (in the order
-- answers were given, each while it has uses left) gets `how` instead of
-- what the entries say.
--
-- match: `op` (`"get"`, `"list"`, default any), `team`, `connector`, `id`,
-- `limit`, `before` (as sent), `query` (the whole query string); each
-- given one must equal the request's.
--
-- how: `status` (with the API's error envelope: `code` (default the
-- status's), `message`, `description`, `request_id` (every answer carries
-- an X-Request-Id, `req_fake_<n>` unless given; false: none); `envelope = false`
-- for none: `body` or empty), `retry_after` (seconds or the header's text),
-- `rate_limit = { limit =, remaining = }` (X-RateLimit headers), `headers`
-- (more), `problem = { title =, detail =, type = }` (application/problem+json),
-- `html` (true or the page's text), `body` + `content_type` (any body),
-- `timeout`, `reset` (a reset connection), `close` (closed without an
-- answer), `tls` (a failed handshake), `truncated` (the body cut short:
-- true or how many bytes arrive), `invalid_json` (a 2xx that is not
-- JSON), `other_id` (an entry with that id: an answer out of step, which
-- the client asks again once, as for a real one); `times`: 1 (default), N
-- or `"always"`.
-- Returns a handle for the answer (`answer.used`: how often it was used).
function Hub:fail(match, how)
  if type(match) ~= "table" then
    error("hub:fail: match must be a table ({ op =, team =, connector =, id = })", 2)
  end
  if type(how) == "number" then
    how = { status = how }
  elseif type(how) ~= "table" then
    error("hub:fail: how must be a table or a status", 2)
  end
  local times = how.times or 1
  if times == "always" then
    times = huge
  elseif type(times) ~= "number" or times < 1 or times ~= floor(times) then
    error("hub:fail: times must be a positive integer or \"always\"", 2)
  end
  local answer = {
    match = match, how = how, left = times, used = 0, optional = how.optional,
    name = format("answer #%d %s -> %s (%s)", #self._answers + 1, describe_match(match), describe_how(how),
      times == huge and "always" or times == 1 and "once" or times .. " times"),
  }
  self._answers[#self._answers + 1] = answer
  return answer
end

--- What the client sent, in order: `{ method, target, path, query =
-- {limit =, before =}, headers = {Name = value}, op, team, connector, id }`
-- (the credential replaced by `[REDACTED]` wherever it appeared).
function Hub:requests()
  local out = {}
  for i, r in ipairs(self._requests) do
    out[i] = r
  end
  return out
end

--- Raises (naming each) when a scripted answer with uses left was never
-- used ("always" ones: when never used at all).
function Hub:assert_done()
  local unused = {}
  for _, a in ipairs(self._answers) do
    if not a.optional and (a.used == 0 or (a.left > 0 and a.left ~= huge)) then
      unused[#unused + 1] = a.name .. (a.used > 0 and ", used " .. a.used .. " times" or ", never used")
    end
  end
  if #unused > 0 then
    error("supermetrics.testing: scripted answers left unused:\n  " .. concat(unused, "\n  "), 2)
  end
  return true
end

--- A real client (supermetrics.new's options; `api_key` and `base_url`
-- default to the hub's) wired to this hub, on its fake clock (hub.clock).
function Hub:client(options)
  local opts = { api_key = self.key, base_url = self.base_url }
  local credential = false
  for k, v in pairs(options or {}) do
    opts[k] = v
    if k == "api_key" or k == "token" or k == "token_provider" then
      credential = true
    end
  end
  if credential and options.api_key == nil then
    opts.api_key = nil
  end
  return require("supermetrics.client").new(opts, { transport = self._transport, clock = self.clock })
end

-- The page's entries for a list request: newest first, before honoured.
function Hub:_page(r)
  local limit = r.query.limit and tonumber(r.query.limit) or 100
  if not limit or limit < 1 or limit > 1000 or limit ~= floor(limit) then
    return 400, envelope("BAD_REQUEST", "limit must be an integer from 1 to 1000", self:_request_id())
  end
  local before = r.query.before
  if before then
    local t = time.parse(before)
    if not t or t.precision == "day" or t.precision == "minute" then
      return 422, envelope("UNPROCESSABLE_ENTITY", "before must be an RFC 3339 date-time", self:_request_id())
    end
  end
  local list = {}
  for _, e in ipairs(self._logs[log_key(r.team, r.connector)] or {}) do
    if before == nil or (e.log_time and (function()
      local c = time.compare(e.log_time, before)
      return c < 0 or (c == 0 and self.before == "inclusive")
    end)()) then
      list[#list + 1] = e
    end
  end
  sort(list, function(a, b)
    if a.log_time and b.log_time then
      local c = time.compare(a.log_time, b.log_time)
      if c ~= 0 then
        return c > 0
      end
    elseif a.log_time or b.log_time then
      return a.log_time ~= nil
    end
    return a.n < b.n
  end)
  local parts = {}
  for i = 1, math.min(limit, #list) do
    parts[i] = list[i].json
  end
  return 200, '{"logs":[' .. concat(parts, ",") .. "]}"
end

function Hub:_request_id()
  return format("req_fake_%d", self._n)
end

-- What the entries say for request r: status, body.
function Hub:_default(r)
  if r.op == "list" then
    return self:_page(r)
  elseif r.op == "get" then
    for _, e in ipairs(self._logs[log_key(r.team, r.connector)] or {}) do
      if e.id == r.id then
        return 200, e.json
      end
    end
  end
  return 404, envelope("NOT_FOUND", "The requested resource was not found.", self:_request_id())
end

-- Plays how for request r into exchange x (left: the seconds the call had).
function Hub:_play(how, r, x, left)
  if how.timeout then
    -- The deadline passes: the clock moves on to it.
    self._advance(left)
    return x:fail("timeout", "no complete response within the call's deadline (supermetrics.testing)")
  elseif how.reset then
    return x:fail("connect", "reading the response failed: connection reset by peer (supermetrics.testing)")
  elseif how.tls then
    return x:fail("tls", "TLS handshake failed (supermetrics.testing)")
  elseif how.close then
    return x:eof()
  end
  local status = how.status or 200
  local headers, body = {}, ""
  local request_id = how.request_id
  if how.problem then
    local p = how.problem
    local parts = { '{"type":' .. json_string(p.type or "about:blank") }
    if p.title then parts[#parts + 1] = ',"title":' .. json_string(p.title) end
    parts[#parts + 1] = ',"status":' .. status
    if p.detail then parts[#parts + 1] = ',"detail":' .. json_string(p.detail) end
    body = concat(parts) .. "}"
    headers["Content-Type"] = "application/problem+json"
  elseif how.html then
    body = type(how.html) == "string" and how.html
      or format("<html><body><h1>%d %s</h1></body></html>", status, BY_STATUS[status] and BY_STATUS[status].reason
        or "Error")
    headers["Content-Type"] = "text/html"
  elseif how.body then
    body = how.body
    headers["Content-Type"] = how.content_type or "application/json"
  elseif how.invalid_json then
    body = type(how.invalid_json) == "string" and how.invalid_json or '{"id": "' .. tostring(r.id) .. '", '
    headers["Content-Type"] = "application/json"
  elseif how.other_id then
    body = encode { id = tostring(how.other_id), log_time = "2025-06-01T00:00:00Z" }
    headers["Content-Type"] = "application/json"
  elseif status >= 400 and how.envelope ~= false then
    request_id = request_id or self:_request_id()
    body = envelope(how.code or (BY_STATUS[status] and BY_STATUS[status].code) or "HTTP_" .. status,
      how.message or format("Status %d from the fake Hub.", status), request_id, how.description)
    headers["Content-Type"] = "application/json"
  elseif status >= 200 and status < 300 then
    local _
    _, body = self:_default(r)
    headers["Content-Type"] = "application/json"
  end
  if how.request_id ~= false then
    headers["X-Request-Id"] = request_id or self:_request_id()
  end
  if how.retry_after then
    headers["Retry-After"] = tostring(how.retry_after)
  end
  if how.rate_limit then
    headers["X-RateLimit-Limit"] = how.rate_limit.limit
    headers["X-RateLimit-Remaining"] = how.rate_limit.remaining
  end
  for name, value in pairs(how.headers or {}) do
    headers[name] = value
  end
  local declared
  if how.truncated then
    declared = #body
    local keep = type(how.truncated) == "number" and how.truncated or floor(#body / 2)
    body = body:sub(1, keep)
  end
  if not x:feed(response_bytes(status, headers, body, declared)) then
    x:eof()
  end
end

-- One request (its bytes, handle:request's) answered into exchange x.
function Hub:_serve(head, x, left)
  self._n = self._n + 1
  local r = parse_request(head)
  self._requests[#self._requests + 1] = r
  for _, a in ipairs(self._answers) do
    if a.left > 0 and matches(a.match, r) then
      a.left = a.left - 1
      a.used = a.used + 1
      return self:_play(a.how, r, x, left)
    end
  end
  local status, body = self:_default(r)
  local headers = { ["Content-Type"] = "application/json", ["X-Request-Id"] = self:_request_id() }
  if not x:feed(response_bytes(status, headers, body)) then
    x:eof()
  end
end

---------------------------------------------------------------------------
-- Fixtures: record and replay.
---------------------------------------------------------------------------

--- Replays a fixture file (`testing.record`'s, or written by hand): its
-- `entries` as `hub:entry`, its `answers` as `hub:fail` (each recorded
-- answer once, in order; unused ones do not fail `assert_done`). Returns
-- the hub.
function Hub:load(file)
  local t = fixture.read(file)
  if t.before then
    self.before = t.before
  end
  for _, e in ipairs(t.entries or {}) do
    self:entry(e.team, e.connector, e.json)
  end
  for _, a in ipairs(t.answers or {}) do
    local how = {}
    for k, v in pairs(a.how) do
      how[k] = v
    end
    how.optional = true
    self:fail(a.match, how)
  end
  return self
end


--- A real client (`supermetrics.new`'s options) that records what the
-- server answers into the fixture file `file` (rewritten after each
-- answer), for `hub:load` to replay. The credential never reaches the
-- file: the key or token (and each a `token_provider` gave) is replaced by
-- `[REDACTED]` wherever it appears, and no request header is written.
-- A batch's items go one after another.
function testing.record(file, options)
  if type(file) ~= "string" or file == "" then
    error("supermetrics.testing.record: file must be a path", 2)
  end
  return record.record(file, options)
end

---------------------------------------------------------------------------
-- The server form: the same fixtures over HTTP on 127.0.0.1.
---------------------------------------------------------------------------

--- Answers HTTP/1.1 requests on 127.0.0.1 from a fixture file, as a fake
-- Hub loaded with it answers its clients (any credential accepted), for
-- black-box tests of an nginx configuration or of code in other languages
-- (`supermetrics-logs serve FIXTURES --port N`). One connection at a time;
-- a scripted timeout holds its connection `hold` seconds (default 5), then
-- closes it. opts: `port` (default 0: any free one), `requests` (stop after
-- that many), `hold`, `ready` (called with the port once listening).
-- Needs LuaSocket.
function testing.serve(fixtures, opts)
  opts = opts or {}
  local has, socket = pcall(require, "socket")
  if not has then
    error("supermetrics.testing.serve needs LuaSocket (Debian: lua-socket; luarocks install luasocket)", 2)
  end
  local hub = testing.hub():load(fixtures)
  return serve.run(hub, socket, opts)
end

return testing
