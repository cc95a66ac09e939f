-- The cosocket transport (inside nginx) against the libcurl transport
-- (here, in busted): the same stand-in responses must give the same entry
-- or the same error, field for field. Then what only the cosocket transport
-- has: nginx's pool, trust and resolver, stale pooled connections, load.
-- Calls go through the test app's /call location (tests/openresty/app.lua).
local cjson = require "cjson"
local supermetrics = require "supermetrics"
local support = require "tests.spec.support"

if os.getenv("SM_TEST_OPENRESTY") ~= "1" then
  return
end
local APP = assert(os.getenv("SM_TEST_APP_URL"))

local function url_encode(s)
  return (tostring(s):gsub("[^%w%-_.~]", function(c) return string.format("%%%02X", c:byte()) end))
end

-- One get_connector_log inside nginx; returns the app's JSON answer (with
-- opts.plain = 1, from a client without on_response: no events, and the
-- answer says plain).
local function inside(connector, id, opts)
  local q = { "connector=" .. url_encode(connector), "id=" .. url_encode(id) }
  for k, v in pairs(opts or {}) do
    q[#q + 1] = k .. "=" .. url_encode(v)
  end
  table.sort(q)
  local _, out = support.get(APP .. "/call?" .. table.concat(q, "&"))
  local answer = cjson.decode(out)
  answer.plain = opts and opts.plain ~= nil
  return answer
end

-- The same call here, on libcurl: { entry = } or { error = }.
local function outside(connector, id, opts, https)
  local o = { max_retries = opts and opts.max_retries }
  for k, v in pairs(opts or {}) do
    o[k] = tonumber(v) or v
  end
  local events = 0
  o.on_response = function() events = events + 1 end
  local client = support.client(o, https and support.TRANSPORTS[2] or nil)
  -- Warm, as the app's clients are: a first failure then lands on a
  -- reused connection on both sides.
  client:get_connector_log(1, "T3S70", "warm")
  events = 0
  local ok, res = pcall(client.get_connector_log, client, 1, connector, id)
  client:close()
  if ok then
    return { entry = res, events = events }
  end
  assert(supermetrics.is_error(res), tostring(res))
  return { error = res, events = events }
end

-- The stand-in makes up a request id (req_ + 32 hex digits) for responses
-- that name none: those can only agree on being there.
local function comparable(request_id)
  if type(request_id) == "string" and request_id:match("^req_" .. ("%x"):rep(32) .. "$") then
    return "a made-up request id"
  end
  return request_id
end

-- The fields that must agree; messages may differ in wording for transport
-- failures (libcurl's text against nginx's), so they are compared for
-- errors built from a body only (an envelope, a problem, a gateway's text).
local FIELDS = { "code", "status", "description", "request_id", "retry_after", "attempts", "body" }
-- (Entries are compared whole; the app sends them back as JSON, so ids past
-- 2^53 are left to the specs of the decoder, which both sides share.)

local function same_outcome(a, b, what)
  if b.entry then
    assert(a.entry, what .. ": inside nginx failed: " .. cjson.encode(a.error or a))
    assert.are.same(b.entry, a.entry, what)
    return
  end
  assert(a.error, what .. ": inside nginx succeeded: " .. cjson.encode(a))
  for _, f in ipairs(FIELDS) do
    if f == "request_id" then
      assert.are.equal(comparable(b.error[f]), comparable(a.error[f]), what .. ": " .. f)
    elseif f == "body" and b.error.body and a.error.body then
      local made_up = "req_" .. ("%x"):rep(32)
      assert.are.equal(b.error.body:gsub(made_up, "req_id"), a.error.body:gsub(made_up, "req_id"), what .. ": body")
    else
      assert.are.equal(b.error[f], a.error[f], what .. ": " .. f)
    end
  end
  if not a.plain then
    assert.are.equal(b.events, a.events, what .. ": on_response events")
  end
  if b.error.status and (b.error.description or b.error.body) then
    assert.are.equal(b.error.message, a.error.message, what .. ": message")
  end
  assert.is_true(a.error.is_error)
  assert.are.equal("failed: " .. tostring(b.error):gsub("^(supermetrics: [%w_]+).*", "%1"),
    a.error.concat:gsub("^(failed: supermetrics: [%w_]+).*", "%1"), what .. ": concat")
end

-- connector, log id, options: each must come out the same on both sides.
local CASES = {
  { "T3S70", "123" },
  { "T3S70", string.rep("x", 255) },
  { "big", "100000" },
  { "big", "100000-chunked" },
  { "big", "1000", { max_response_bytes = 500 } },
  { "big", "1000-chunked", { max_response_bytes = 500 } },
  { "big", "500", { max_response_bytes = 500 } },
  { "close", "x", { max_retries = 0 } },
  { "slow", "3000", { timeout = 0.3 } },
  { "ratelimit", "1" },
}
for _, id in ipairs { "array", "string", "number", "null", "notjson", "empty", "nulls", "extra", "floaty" } do
  CASES[#CASES + 1] = { "shape", id }
end
-- The fast entry decoder's bodies and those it leaves to cjson (bignumbers'
-- infinity and -0 cannot travel back as the app's JSON: 33-decoder_spec).
for _, id in ipairs { "flat", "nulls", "escapes", "numbers", "spaced", "nested", "control", "wide", "lone",
  "trailing", "escapedid", "77" } do
  CASES[#CASES + 1] = { "decoder", id }
end
for _, id in ipairs { "400", "401", "403", "404", "409", "422", "429", "500", "502", "503", "504", "418",
  "404-empty", "404-broken", "404-custom", "404-nometa", "404-badcode", "401-leak", "204", "302", "100",
  "404-html", "422-problem", "400-problemtitle", "400-problemdetail", "401-problemleak", "400-problemlong",
  "502-gatewaymsg", "403-edgeleak" } do
  CASES[#CASES + 1] = { "status", id, { max_retries = 0 } }
end
for _, id in ipairs { "short", "midheaders", "badchunk", "garbage" } do
  CASES[#CASES + 1] = { "raw", id, { max_retries = 0 } }
end
for _, id in ipairs { "longer", "cut-headers", "cut-headers-line", "cut-chunked", "chunk-overflow",
  "chunk-short", "chunk-garbage", "headers-100k", "header-line-100k", "headers-1m", "utf8", "utf8-404",
  "deep", "deep-404", "deep-ok", "nan", "hex", "dup", "dup-404",
  "echo-credential", "echo-credential-header", "encoding-unknown" } do
  CASES[#CASES + 1] = { "fault", id, { max_retries = 0 } }
end

describe("inside nginx and outside it, the same answers", function()
  for _, https in ipairs { false, true } do
    for _, case in ipairs(CASES) do
      local connector, id, opts = case[1], case[2], case[3] or {}
      local what = (https and "https " or "http ") .. connector .. "/" .. id:sub(1, 20)
        .. (next(opts) and " " .. support.describe(opts) or "")
      it(what, function()
        local o = {}
        for k, v in pairs(opts) do o[k] = v end
        if https then o.https = 1 end
        local b = outside(connector, id, opts, https)
        same_outcome(inside(connector, id, o), b, what)
        -- Without on_response the first attempt takes the common call's
        -- own path (State:get_log): the same answer.
        o.plain = 1
        same_outcome(inside(connector, id, o), b, what .. " (no on_response)")
      end)
    end
  end

  it("retries the same failures the same number of times", function()
    for _, status in ipairs { "503", "429", "0" } do
      local a = inside("retry", support.nonce() .. "-2-" .. status)
      local b = outside("retry", support.nonce() .. "-2-" .. status)
      assert.are.equal(3, a.entry.attempts_seen, status)
      assert.are.equal(b.entry.attempts_seen, a.entry.attempts_seen)
      -- A close with no answer on a reused connection is taken for a stale
      -- one and tried again uncounted, by both (status "0").
      assert.are.equal(b.events, a.events, status)
      a = inside("retry", support.nonce() .. "-5-" .. status, { max_retries = 1 })
      b = outside("retry", support.nonce() .. "-5-" .. status, { max_retries = 1 })
      assert.are.equal(2, a.error.attempts)
      same_outcome(a, b, "retry " .. status)
      -- The same through the common call's own first attempt.
      a = inside("retry", support.nonce() .. "-2-" .. status, { plain = 1 })
      assert.are.equal(3, a.entry.attempts_seen, status)
      a = inside("retry", support.nonce() .. "-5-" .. status, { max_retries = 1, plain = 1 })
      assert.are.equal(2, a.error.attempts)
      same_outcome(a, b, "retry " .. status .. " (no on_response)")
    end
  end)
end)

describe("the cosocket transport", function()
  it("replaces a pooled connection the server dropped, without an error or an attempt", function()
    -- `stale` answers only the first request of a connection and drops the
    -- next one on it: every call after the first meets a dead connection.
    local connections = {}
    for i = 1, 100 do
      for _, https in ipairs { false, true } do
        local r = inside("stale", "s" .. i, { max_retries = 0, https = https and 1 or nil })
        assert(r.entry, "call " .. i .. ": " .. cjson.encode(r))
        assert.are.equal(1, r.events, "on_response events of call " .. i)
        connections[r.entry.connection] = true
        -- And through the common call's own first attempt (no on_response).
        r = inside("stale", "p" .. i, { max_retries = 0, https = https and 1 or nil, plain = 1 })
        assert(r.entry, "call " .. i .. " (no on_response): " .. cjson.encode(r))
        connections[r.entry.connection] = true
      end
    end
    local n = 0
    for _ in pairs(connections) do n = n + 1 end
    assert.are.equal(400, n)
  end)

  it("gives TIMEOUT when the connect_timeout passes", function()
    support.with_blackhole(function(base_url)
      local t0 = support.now()
      local r = inside("T3S70", "1", { base_url = base_url, connect_timeout = 0.2, max_retries = 0 })
      local took = support.now() - t0
      assert.are.equal("TIMEOUT", r.error.code)
      assert.are.equal(1, r.error.attempts)
      assert.is_true(took < 2, "took " .. took)
    end)
  end)

  it("gives CONNECTION_ERROR naming the resolver directive when nginx has none", function()
    local r = inside("T3S70", "1", { base_url = "https://hub.example.invalid", max_retries = 0 })
    assert.are.equal("CONNECTION_ERROR", r.error.code)
    assert.truthy(r.error.message:find("`resolver`", 1, true), r.error.message)
  end)

  for _, server in ipairs { "UNKNOWN_CA", "WRONG_HOST", "EXPIRED", "OLD" } do
    it("refuses the TLS server " .. server .. " with TLS_ERROR", function()
      local url = assert(os.getenv("SM_TEST_TLS_" .. server .. "_URL"))
      local r = inside("T3S70", "1", { base_url = url, max_retries = 0 })
      assert(r.error, cjson.encode(r))
      assert.are.equal("TLS_ERROR", r.error.code, r.error.message)
      assert.are.equal(1, r.error.attempts)
    end)
  end

  it("refuses ca_file at new(), naming lua_ssl_trusted_certificate", function()
    local r = inside("T3S70", "1", { ca_file = support.CA, https = 1 })
    assert.are.equal("INVALID_ARGUMENT", r.new_error.code)
    assert.truthy(r.new_error.message:find("lua_ssl_trusted_certificate", 1, true), r.new_error.message)
  end)

  it("sends the contract's headers and no Accept-Encoding", function()
    local e = inside("echo", "h").entry
    assert.truthy(e.user_agent:find("^lua%-supermetrics/"), e.user_agent)
    assert.are.equal("application/json", e.accept)
    assert.are.equal("Bearer", e.authorization_scheme)
    assert.is_nil(e.accept_encoding)
  end)

  it("keeps a base_url's path prefix and port in the request", function()
    local r = inside("T3S70", "1", { base_url = support.HTTP .. "/prefix/", max_retries = 0 })
    -- The stand-in has nothing under /prefix: its 404 proves the path.
    assert.are.equal(404, r.error.status)
  end)

  it("gives INVALID_RESPONSE for a compressed body it did not ask for", function()
    local r = inside("fault", "gzip", { max_retries = 0 })
    assert.are.equal("INVALID_RESPONSE", r.error.code)
  end)

  it("serves 256 calls at once while a 500-id batch runs, every answer 2xx", function()
    local batch = support.spawn("curl -sS '" .. APP .. "/batch500'")
    local code, out = support.run("seq 1 256 | sed 's|.*|url = \"" .. APP
      .. "/v1/teams/1/connector_builder/connectors/T3S70/logs/&\"|' | curl -sS --no-progress-meter -Z "
      .. "--parallel-immediate "
      .. "--parallel-max 256 -K - -o /dev/null -w '%{http_code}\\n'")
    local r = cjson.decode(batch:read("*a"))
    batch:close()
    assert.are.equal(0, code)
    local ok = select(2, out:gsub("200\n", ""))
    assert.are.equal(256, ok, out)
    assert.are.equal(500, r.entries, cjson.encode(r))
    assert.are.equal(0, r.errors)
  end)
end)
