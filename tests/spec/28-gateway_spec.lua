-- What gateway authors ask of an HTTP client: extra headers on every call,
-- W3C trace context forwarded from nginx's request, and forward proxies
-- (the proxy option, or https_proxy / no_proxy read when the client is
-- made). The same script (tests/tools/gateway.lua) runs outside nginx on
-- libcurl and inside it on cosockets (the test app's /gateway); the
-- stand-in's echo connector says which headers reached it, tinyproxy's log
-- (tests/lib/proxy.sh) that the request went through the proxy, and a
-- capturing proxy (tests/tools/capture-proxy.pl) what a CONNECT carries.
local cjson = require "cjson"
local supermetrics = require "supermetrics"
local support = require "tests.spec.support"
local gateway = require "tests.tools.gateway"

local LIMITS = require("supermetrics.core").LIMITS
local PROXY = os.getenv("SM_TEST_PROXY_URL")
local PROXY_LOG = os.getenv("SM_TEST_PROXY_LOG")
local AUTH_PROXY = os.getenv("SM_TEST_AUTH_PROXY_URL")
local AUTH_PROXY_LOG = os.getenv("SM_TEST_AUTH_PROXY_LOG")
local CREDENTIALS = os.getenv("SM_TEST_AUTH_PROXY_CREDENTIALS")
local APP = os.getenv("SM_TEST_APP_URL")
local NGINX = os.getenv("SM_TEST_OPENRESTY") == "1"
local HTTPS_PORT = support.HTTPS_LOCALHOST:match(":(%d+)$")
local HTTP_PORT = support.HTTP:match(":(%d+)$")
local HUB_ENV = assert(os.getenv("SM_TEST_DIR")) .. "/env"
local BUILD = assert(os.getenv("SM_BUILD_DIR") or "build/lua5.4")
-- Nothing listens there: a call that got as far as traffic would fail
-- with CONNECTION_ERROR, not INVALID_ARGUMENT.
local NOWHERE = "http://127.0.0.1:9"
local PROXY_VARS = { "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY" }

local function url_encode(s)
  return (tostring(s):gsub("[^%w%-_.~]", function(c) return string.format("%%%02X", c:byte()) end))
end

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then
    return ""
  end
  local s = f:read("*a")
  f:close()
  return s
end

-- What a log file gained while f ran.
local function log_during(path, f)
  local mark = #read(path)
  f()
  return read(path):sub(mark + 1)
end

-- A CONNECT request in tinyproxy's log. (Its log level is named CONNECT
-- too, and a late line of that level from an earlier client must not count.)
local REQUESTED = "): CONNECT "

local function count(haystack, needle)
  local n, at = 0, 1
  while true do
    local s, e = haystack:find(needle, at, true)
    if not s then
      return n
    end
    n, at = n + 1, e + 1
  end
end

local function with_credentials(url, credentials)
  return "http://" .. credentials .. "@" .. url:sub(#"http://" + 1)
end

---------------------------------------------------------------------------
-- Where the gateway script runs.
---------------------------------------------------------------------------

local BASE = { http = support.HTTP, https = support.HTTPS_LOCALHOST, ca = support.CA }

-- Outside nginx: in this process, or (env given) in a child process whose
-- environment has exactly those proxy variables.
local function outside(params, env)
  if not env then
    return gateway.run(params, BASE)
  end
  local cmd = { "env" }
  for _, name in ipairs(PROXY_VARS) do
    cmd[#cmd + 1] = "-u " .. name
  end
  for name, value in pairs(env) do
    cmd[#cmd + 1] = name .. "=" .. shell_quote(value)
  end
  cmd[#cmd + 1] = "SM_BUILD_DIR=" .. shell_quote(BUILD)
  cmd[#cmd + 1] = "timeout -k 2 30 " .. support.LUA .. " tests/tools/gateway_run.lua "
    .. shell_quote(cjson.encode(params))
  local code, out, err = support.run(table.concat(cmd, " "))
  assert(code == 0, "gateway_run failed: " .. err)
  return cjson.decode(out)
end

-- Inside nginx: the app at url (the suite's, or one started with env).
local function inside_at(url, params, request_headers, timer)
  local h = {}
  for name, value in pairs(request_headers or {}) do
    h[#h + 1] = "-H " .. shell_quote(name .. ": " .. value)
  end
  local code, out, err = support.run("timeout -k 2 30 curl -sS " .. table.concat(h, " ") .. " "
    .. shell_quote(url .. "/gateway?p=" .. url_encode(cjson.encode(params)) .. (timer and "&timer=1" or "")))
  assert(code == 0, "curl failed: " .. err)
  local ok, decoded = pcall(cjson.decode, out)
  assert(ok, "not JSON from the app: " .. out)
  return decoded
end

-- An OpenResty test app started with these environment variables and the
-- `env` directives that pass them to the workers; f(url) runs while it
-- does.
local function with_app(env, f)
  local dir = "tests/tmp/openresty-gw"
  local vars = {}
  for name, value in pairs(env) do
    vars[#vars + 1] = name .. "=" .. shell_quote(value)
  end
  local code, _, err = support.run("env SM_APP_ENV='env https_proxy; env HTTPS_PROXY; env no_proxy; env NO_PROXY;' "
    .. table.concat(vars, " ") .. " timeout -k 5 60 tests/openresty/start.sh " .. dir .. " "
    .. shell_quote(HUB_ENV) .. " 1 SM_TEST_GW_URL")
  assert(code == 0, "the app did not start: " .. err)
  local url = read(dir .. "/env"):match("SM_TEST_GW_URL=(%S+)")
  local ok, failure = pcall(f, url)
  support.run("timeout -k 5 30 tests/server/stop.sh " .. dir)
  assert(ok, failure)
end

-- run(params [, env]) -> outcome; logged(params, env) -> outcome, what
-- the open proxy logged during the script's run (not during an app's
-- start, whose init_by_lua makes calls of its own).
local RUNNERS = {
  {
    name = "libcurl",
    run = function(params, env) return outside(params, env) end,
    logged = function(params, env)
      local out
      local log = log_during(PROXY_LOG, function() out = outside(params, env) end)
      return out, log
    end,
  },
}
if NGINX then
  RUNNERS[2] = {
    name = "nginx",
    run = function(params, env)
      if not env then
        return inside_at(APP, params)
      end
      local out
      with_app(env, function(url)
        out = inside_at(url, params)
      end)
      return out
    end,
    logged = function(params, env)
      local out, log
      with_app(env, function(url)
        log = log_during(PROXY_LOG, function() out = inside_at(url, params) end)
      end)
      return out, log
    end,
  }
end

---------------------------------------------------------------------------
-- Checks before any traffic.
---------------------------------------------------------------------------

describe("extra headers: refused before any traffic #abi", function()
  local function refused(opts, call_headers)
    local o = { api_key = support.KEY, base_url = NOWHERE, max_retries = 0 }
    for k, v in pairs(opts or {}) do
      o[k] = v
    end
    local ok, err = pcall(function()
      local c = supermetrics.new(o)
      return c:get_connector_log(1, "echo", "x", call_headers and { headers = call_headers })
    end)
    assert.is_false(ok)
    assert.is_true(supermetrics.is_error(err), tostring(err))
    assert.equal("INVALID_ARGUMENT", err.code)
    return err.message
  end

  for _, name in ipairs { "Authorization", "aUTHORIZATION", "Proxy-Authorization", "Host", "Content-Length",
      "Transfer-Encoding", "Connection", "User-Agent", "Accept", "accept-encoding", "TE", "Upgrade", "Expect" } do
    it("the library's own " .. name .. ", per client and per call", function()
      assert.matches(name .. " is set by", refused({ headers = { [name] = "v" } }), 1, true)
      assert.matches(name .. " is set by", refused(nil, { [name] = "v" }), 1, true)
    end)
  end

  for _, case in ipairs {
    { "X A", "not a header name" }, { "X:A", "not a header name" }, { "", "not a header name" },
    { "X-\195\169", "not a header name" }, { ("x"):rep(LIMITS.header_name_bytes + 1), "not a header name" },
    { 1, "not a header name" },
  } do
    it("a bad name: " .. support.describe(case[1]):sub(1, 40), function()
      assert.matches(case[2], refused(nil, { [case[1]] = "v" }), 1, true)
    end)
  end

  for _, case in ipairs {
    { "sec\r\nInjected: 1", "control" }, { "sec\nret", "control" }, { "sec\0ret", "control" },
    { "sec\1ret", "control" }, { "s\195\169c", "non-ASCII" }, { "", "is empty" },
    { " secret", "whitespace" }, { 42, "must be a string" },
    { ("s"):rep(LIMITS.header_value_bytes + 1), "longer than" },
  } do
    it("a bad value: " .. support.describe(case[1]):sub(1, 40) .. ", never echoed", function()
      local message = refused({ headers = { ["X-Ok"] = "1" } }, { ["X-Bad"] = case[1] })
      assert.matches("X-Bad", message, 1, true)
      assert.matches(case[2], message, 1, true)
      if type(case[1]) == "string" and #case[1] > 2 then
        assert.is_nil(message:find("sec", 1, true))
      end
    end)
  end

  it("the same name twice in any letter case, too many headers, too many bytes", function()
    assert.matches("given twice", refused({ headers = { ["X-A"] = "1", ["x-a"] = "2" } }), 1, true)
    local many = {}
    for i = 1, LIMITS.headers + 1 do
      many["X-H" .. i] = "v"
    end
    assert.matches("more than " .. LIMITS.headers, refused(nil, many), 1, true)
    local big = {}
    for i = 1, 3 do
      big["X-Big" .. i] = ("v"):rep(LIMITS.header_value_bytes)
    end
    assert.matches("bytes of headers", refused(nil, big), 1, true)
  end)

  it("every method takes headers in its options, checked before any traffic", function()
    local c = supermetrics.new { api_key = support.KEY, base_url = NOWHERE, max_retries = 0 }
    local bad = { headers = { Host = "x" } }
    for _, call in ipairs {
      function() return c:list_connector_logs(1, "echo", bad) end,
      function() return c:each_connector_log(1, "echo", bad) end,
      function() return c:follow_connector_logs(1, "echo", bad) end,
      function() return c:get_connector_logs(1, "echo", { "1" }, bad) end,
      function() return c:get_connector_log(1, "echo", "1", { headers = "x" }) end,
      function() return c:get_connector_log(1, "echo", "1", { header = {} }) end,
    } do
      local err = support.catch(call)
      assert.equal("INVALID_ARGUMENT", err.code)
    end
    c:close()
  end)

  it("the limits come from the C core", function()
    assert.equal(256, LIMITS.header_name_bytes)
    assert.equal(16384, LIMITS.header_value_bytes)
    assert.equal(64, LIMITS.headers)
    assert.equal(32768, LIMITS.headers_bytes)
  end)
end)

describe("proxy option: refused before any traffic #abi", function()
  for _, case in ipairs {
    { "socks5://u:hunter22@127.0.0.1:1080", "must be an http:// proxy" },
    { "https://u:hunter22@127.0.0.1:3128", "must be an http:// proxy" },
    { "http://u:hunter22@127.0.0.1:3128/path", "no path" },
    { "http://u:hunter22@127.0.0.1:3128/?q=1", "no path" },
    { 3128, "proxy must be a URL" },
  } do
    it(tostring(case[1]), function()
      local err = support.catch(supermetrics.new, { api_key = support.KEY, base_url = support.HTTPS_LOCALHOST,
        proxy = case[1] })
      assert.equal("INVALID_ARGUMENT", err.code)
      assert.matches(case[2], err.message, 1, true)
      assert.is_nil(tostring(err):find("hunter22", 1, true))
    end)
  end

  it("a bad https_proxy is named as such", function()
    local out = outside({ https = true }, { https_proxy = "socks5://127.0.0.1:1" })
    assert.equal("INVALID_ARGUMENT", out.new_error.code)
    assert.matches("^https_proxy must be an http:// proxy", out.new_error.message)
  end)
end)

---------------------------------------------------------------------------
-- Both transports.
---------------------------------------------------------------------------

for _, runner in ipairs(RUNNERS) do
  describe("gateway script (" .. runner.name .. ")", function()
    it("sends the client's and the call's headers, the call's winning, false dropping one", function()
      for _, https in ipairs { false, true } do
        local out = runner.run {
          https = https, batch = true, id = "hdr",
          headers = { ["X-Tenant"] = "acme", ["X-Env"] = "prod", ["X-Api-Key"] = "k-secret-1", ["X-Gone"] = "1" },
          call_headers = { ["X-Env"] = "canary", ["X-Gone"] = false,
            traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" },
        }
        assert.is_nil(out.error)
        local seen = out.entry.headers
        assert.same({ ["x-tenant"] = "acme", ["x-env"] = "canary", ["x-api-key"] = "k-secret-1",
          traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" }, seen)
        assert.equal("Bearer", out.entry.authorization_scheme)
        assert.equal("application/json", out.entry.accept)
        -- Batch items carry them too.
        assert.same(seen, out.batch.entries[1].headers)
        assert.same(seen, out.batch.entries[2].headers)
        -- on_response: what was sent, secret-looking names left out.
        assert.equal(3, #out.events)
        for _, e in ipairs(out.events) do
          assert.same({ ["X-Tenant"] = "acme", ["X-Env"] = "canary",
            traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" }, e.headers)
          assert.is_nil(e.proxy)
        end
      end
    end)

    it("without headers sends none and reports none", function()
      local out = runner.run { https = true }
      assert.is_nil(out.entry.headers)
      assert.is_nil(out.events[1].headers)
    end)

    if PROXY then
      it("reaches the stand-in through the proxy (its log shows the CONNECT), headers and all", function()
        local out
        local log = log_during(PROXY_LOG, function()
          out = runner.run { https = true, proxy = PROXY, batch = true, id = "via",
            headers = { ["X-Tenant"] = "acme" } }
        end)
        assert.is_nil(out.error)
        assert.equal("via", out.entry.id)
        assert.equal("https", out.entry.scheme)
        assert.same({ ["x-tenant"] = "acme" }, out.entry.headers)
        assert.is_nil(out.entry.proxy_authorization)
        assert.equal("via-b2", out.batch.entries[2].id)
        assert.is_true(count(log, "CONNECT localhost:" .. HTTPS_PORT .. " HTTP/1.1") >= 1)
        local proxy_hostport = PROXY:match("^http://(.*)$")
        assert.matches("via proxy " .. proxy_hostport, out.client, 1, true)
        for _, e in ipairs(out.events) do
          assert.equal(proxy_hostport, e.proxy)
        end
      end)

      it("keeps the tunnel alive: the second call needs no CONNECT", function()
        local log = log_during(PROXY_LOG, function()
          local out = runner.run { https = true, proxy = PROXY, batch = false, id = "warm1" }
          assert.equal("warm1", out.entry.id)
        end)
        local out
        local log2 = log_during(PROXY_LOG, function()
          out = runner.run { https = true, proxy = PROXY, batch = false, id = "warm2" }
        end)
        assert.equal("warm2", out.entry.id)
        if runner.name == "nginx" then
          -- A new client per /gateway request, one pool per worker: the
          -- tunnel of the first request (or of an earlier one) serves the
          -- second.
          assert.is_true(count(log, "CONNECT localhost") <= 1)
          assert.equal(0, count(log2, "CONNECT localhost"))
          assert.is_true(out.entry.connection_requests >= 2)
        else
          assert.equal(1, count(log2, "CONNECT localhost"))
        end
      end)

      it("http:// (loopback) never goes through the proxy", function()
        local out
        local log = log_during(PROXY_LOG, function()
          out = runner.run { https = false, proxy = PROXY, id = "plain" }
        end)
        assert.equal("plain", out.entry.id)
        assert.equal("http", out.entry.scheme)
        assert.equal(0, count(log, REQUESTED))
        assert.is_nil(out.events[1].proxy)
        assert.is_nil(out.client:find("via proxy", 1, true))
      end)

      it("a proxy that refuses the tunnel (403): CONNECTION_ERROR naming it, before TLS", function()
        -- The stand-in's plain port is not a ConnectPort of the proxy.
        local out
        local log = log_during(PROXY_LOG, function()
          out = runner.run { https = true, proxy = PROXY, id = "denied",
            base_url = "https://localhost:" .. HTTP_PORT }
        end)
        assert.equal("CONNECTION_ERROR", out.error.code)
        assert.is_nil(out.error.status)
        assert.equal(1, out.error.attempts)
        assert.equal("the proxy " .. PROXY:match("^http://(.*)$") .. " refused the tunnel to the API (HTTP 403 "
          .. "to CONNECT)", out.error.message)
        assert.matches("Refused CONNECT method on port " .. HTTP_PORT, log, 1, true)
      end)
    end

    if AUTH_PROXY then
      it("sends the proxy URL's credentials to the proxy, and shows them nowhere", function()
        local url = with_credentials(AUTH_PROXY, CREDENTIALS)
        local out
        local log = log_during(AUTH_PROXY_LOG, function()
          out = runner.run { https = true, proxy = url, id = "authed", batch = true }
        end)
        assert.is_nil(out.error)
        assert.equal("authed", out.entry.id)
        assert.is_nil(out.entry.proxy_authorization)
        assert.is_true(count(log, "CONNECT localhost:" .. HTTPS_PORT) >= 1)
        local password = CREDENTIALS:match(":(.*)$")
        local text = cjson.encode(out)
        assert.is_nil(text:find(password, 1, true))
        assert.is_nil(text:find("pr0xy", 1, true))
        assert.matches("via proxy " .. AUTH_PROXY:match("^http://(.*)$"), out.client, 1, true)
      end)

      it("a proxy that wants credentials (407): CONNECTION_ERROR saying so", function()
        local out = runner.run { https = true, proxy = AUTH_PROXY, id = "noauth" }
        assert.equal("CONNECTION_ERROR", out.error.code)
        assert.is_nil(out.error.status)
        assert.equal("the proxy " .. AUTH_PROXY:match("^http://(.*)$") .. " wants credentials (HTTP 407 to "
          .. "CONNECT): give them in the proxy URL, http://user:password@host:port", out.error.message)
        local wrong = runner.run { https = true, proxy = with_credentials(AUTH_PROXY, "smproxy:wr0ngpw"),
          id = "badauth" }
        assert.equal("CONNECTION_ERROR", wrong.error.code)
        -- tinyproxy answers wrong credentials with 401.
        assert.matches("^the proxy [%d.:]+ wants credentials %(HTTP 40[17] to CONNECT%): it refused those of "
          .. "the proxy URL$", wrong.error.message)
        assert.is_nil(cjson.encode(wrong):find("wr0ngpw", 1, true))
      end)
    end

    it("a proxy that is not there: CONNECTION_ERROR naming it, retried", function()
      local out = runner.run { https = true, proxy = "http://u:hunter22@127.0.0.1:9", id = "gone", max_retries = 1 }
      assert.equal("CONNECTION_ERROR", out.error.code)
      assert.equal(2, out.error.attempts)
      assert.matches("could not connect to the proxy 127.0.0.1:9", out.error.message, 1, true)
      assert.is_nil(cjson.encode(out):find("hunter22", 1, true))
    end)

    it("the CONNECT carries the proxy's credentials only, never the API's or the extra headers", function()
      local file = os.tmpname()
      local p = support.spawn("exec perl tests/tools/capture-proxy.pl " .. file .. " 4", { limit = 30 })
      local port, pid = p:read("*n", "*n")
      assert(port and pid, "capture proxy did not start")
      local ok, out = pcall(runner.run, { https = true, proxy = "http://cap:c%40pw@127.0.0.1:" .. port, id = "cap",
        headers = { ["X-Api-Key"] = "k-secret-2", ["X-Tenant"] = "acme" } })
      support.run("kill " .. pid)
      p:close()
      assert(ok, out)
      local head = read(file)
      os.remove(file)
      assert.equal("CONNECTION_ERROR", out.error.code)
      assert.matches("refused the tunnel to the API (HTTP 403 to CONNECT)", out.error.message, 1, true)
      assert.matches("^CONNECT localhost:" .. HTTPS_PORT .. " HTTP/1.1\r\n", head)
      assert.matches("\r\nHost: localhost:" .. HTTPS_PORT .. "\r\n", head, 1, true)
      -- base64("cap:c@pw")
      assert.matches("\r\nProxy-Authorization: Basic Y2FwOmNAcHc=\r\n", head, 1, true)
      assert.is_nil(head:lower():find("\nauthorization", 1, true))
      assert.is_nil(head:find(support.KEY, 1, true))
      assert.is_nil(head:find("k-secret-2", 1, true))
      assert.is_nil(head:lower():find("x-tenant", 1, true))
    end)

    if PROXY then
      it("https_proxy from the environment, read when the client is made; no_proxy bypasses it", function()
        local out, log = runner.logged({ https = true, id = "envproxy" },
          { https_proxy = PROXY, no_proxy = "example.com" })
        assert.equal("envproxy", out.entry.id)
        assert.equal(1, count(log, "CONNECT localhost:" .. HTTPS_PORT))
        assert.equal(PROXY:match("^http://(.*)$"), out.events[1].proxy)
        for _, no_proxy in ipairs { "localhost", ".localhost", "example.com, LOCALHOST", "*" } do
          out, log = runner.logged({ https = true, id = "bypass" }, { HTTPS_PROXY = PROXY, NO_PROXY = no_proxy })
          assert.equal("bypass", out.entry.id)
          assert.equal(0, count(log, REQUESTED))
          assert.is_nil(out.events[1].proxy)
        end
        -- no_proxy applies to the proxy option too (as for libcurl); false
        -- ignores the environment.
        out, log = runner.logged({ https = true, id = "opt", proxy = PROXY }, { no_proxy = "localhost" })
        assert.equal("opt", out.entry.id)
        assert.equal(0, count(log, REQUESTED))
        out, log = runner.logged({ https = true, id = "off", proxy = false }, { https_proxy = PROXY })
        assert.equal("off", out.entry.id)
        assert.equal(0, count(log, REQUESTED))
      end)
    end
  end)
end

---------------------------------------------------------------------------
-- The command line.
---------------------------------------------------------------------------

if AUTH_PROXY then
  describe("supermetrics-logs through https_proxy", function()
    it("--verbose names the proxy, never its credentials", function()
      local cli = require "tests.spec.cli_support"
      local code, out, err
      local log = log_during(AUTH_PROXY_LOG, function()
        code, out, err = cli.run("--verbose --format ndjson --fields id get 1 echo viacli",
          "SUPERMETRICS_API_KEY=" .. support.KEY .. " SUPERMETRICS_BASE_URL=" .. support.HTTPS_LOCALHOST
          .. " SUPERMETRICS_CA_FILE=" .. support.CA .. " https_proxy="
          .. shell_quote(with_credentials(AUTH_PROXY, CREDENTIALS)) .. " no_proxy= NO_PROXY=")
      end)
      assert.equal(0, code, err)
      assert.equal('{"id":"viacli"}\n', out)
      assert.matches("-> 200, attempt 1, %d+ ms, request id [%w_]+, via proxy "
        .. AUTH_PROXY:match("^http://(.*)$"):gsub("%.", "%%.") .. "\n$", err)
      assert.is_nil(err:find(CREDENTIALS:match(":(.*)$"), 1, true))
      assert.equal(1, count(log, "CONNECT localhost:" .. HTTPS_PORT))
    end)
  end)
end

---------------------------------------------------------------------------
-- Trace context inside nginx.
---------------------------------------------------------------------------

if NGINX then
  describe("trace_context inside nginx", function()
    local PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    local STATE = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"

    it("forwards the request's traceparent and tracestate exactly", function()
      local out = inside_at(APP, { https = true, trace_context = true, id = "tr", batch = true },
        { traceparent = PARENT, tracestate = STATE })
      assert.same({ traceparent = PARENT, tracestate = STATE }, out.entry.headers)
      assert.same({ traceparent = PARENT, tracestate = STATE }, out.batch.entries[1].headers)
      assert.same({ traceparent = PARENT, tracestate = STATE }, out.events[1].headers)
    end)

    it("with the client's headers, a call's own traceparent winning", function()
      local mine = "00-11111111111111111111111111111111-2222222222222222-00"
      local out = inside_at(APP, { https = true, trace_context = true, headers = { ["X-Tenant"] = "a" },
        call_headers = { traceparent = mine } }, { traceparent = PARENT })
      assert.same({ traceparent = mine, ["x-tenant"] = "a" }, out.entry.headers)
    end)

    it("sends nothing when off, when the request has none or a malformed one, and in a timer", function()
      assert.is_nil(inside_at(APP, { https = true }, { traceparent = PARENT }).entry.headers)
      assert.is_nil(inside_at(APP, { https = true, trace_context = true }).entry.headers)
      for _, bad in ipairs { "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
          "00-00000000000000000000000000000000-b7ad6b7169203331-01", "ff-" .. PARENT:sub(4), "00-xyz",
          PARENT .. "-extra" } do
        assert.is_nil(inside_at(APP, { https = true, trace_context = true }, { traceparent = bad }).entry.headers)
      end
      local out = inside_at(APP, { https = true, trace_context = true, id = "timer" }, { traceparent = PARENT }, true)
      assert.equal("timer", out.entry.id)
      assert.is_nil(out.entry.headers)
    end)
  end)
end
