-- Inside nginx, at its edges (issue 27 points 1, 2, 3 and 7; issue 26
-- point 9): a call whose light thread is killed stops its helpers and
-- frees the request; calls work in every phase where nginx has cosockets
-- and are refused elsewhere with what to do instead; TLS below 1.2 is
-- refused, by the example's lua_ssl_protocols and by the library's own
-- check; a worker out of connections and nginx_blocking in a handler are
-- named; a proxy's CONNECT answer is read within connect_timeout on both
-- transports. The app is tests/openresty/edges.conf.in + edges.lua, started
-- here; the example is a copy of examples/openresty whose TLS lines are
-- the example's own (tests/openresty/example-copy.sh).
local cjson = require "cjson"
local support = require "tests.spec.support"

if not support.APP then
  return
end

local HUB_ENV = assert(os.getenv("SM_TEST_DIR")) .. "/env"
-- openresty-gw*: `make test` and `make check` stop what is left there.
local DIR = "tests/tmp/openresty-gw-edges"

local function read(path)
  local f = io.open(path, "rb")
  if not f then
    return ""
  end
  local s = f:read("*a")
  f:close()
  return s
end

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

-- Starts an nginx with a start script; returns the URL it wrote to
-- dir/env under var.
local function start(cmd, dir, var)
  local code, out, err = support.run(cmd, { limit = 60 })
  assert(code == 0, "nginx did not start: " .. out .. err)
  return assert(read(dir .. "/env"):match(var .. "=(%S+)"), "no " .. var)
end

local function stop(dir)
  support.run("tests/server/stop.sh " .. dir, { limit = 30 })
end

-- GET url (curl); returns the JSON answer and the seconds between the
-- answer's first byte and its end: nginx ends a response once the last
-- light thread of its request has ended.
local function timed(url, seconds)
  local body = os.tmpname()
  local code, out, err = support.run("curl -sS --max-time " .. (seconds or 60) .. " -o " .. body
    .. " -w '%{time_starttransfer} %{time_total}' " .. support.quote(url), { limit = (seconds or 60) + 10 })
  local text = read(body)
  os.remove(body)
  assert(code == 0, "curl failed: " .. err)
  local first, total = out:match("^(%S+) (%S+)$")
  return cjson.decode(text), tonumber(total) - tonumber(first)
end

local function get(url, extra)
  local code, out, err = support.run("curl -sS --max-time 30 " .. (extra or "") .. " " .. support.quote(url))
  assert(code == 0, "curl failed: " .. err)
  local ok, decoded = pcall(cjson.decode, out)
  assert(ok, "not JSON: " .. out)
  return decoded
end

-- A proxy that trickles its CONNECT answer (tests/tools/trickle-proxy.pl),
-- for f(url, log): a byte every 0.5 s.
local function with_trickle_proxy(f)
  local log = os.tmpname()
  local p = support.spawn("exec perl tests/tools/trickle-proxy.pl " .. log .. " 0.5 60", { limit = 90 })
  local port, pid = p:read("*n", "*n")
  assert(port and pid, "the trickling proxy did not start")
  local ok, err = pcall(f, "http://127.0.0.1:" .. port, function() return read(log) end)
  support.run("kill " .. pid)
  p:close()
  os.remove(log)
  assert(ok, err)
end

describe("inside nginx, at its edges", function()
  local app, port, seen

  lazy_setup(function()
    local url = start("env SM_APP_TEMPLATE=edges.conf.in SM_APP_FIRST_PORT=39380 SM_APP_GAP=1 "
      .. "tests/openresty/start.sh " .. DIR .. " " .. support.quote(HUB_ENV) .. " 1 SM_TEST_EDGES_URL",
      DIR, "SM_TEST_EDGES_URL")
    port = tonumber(url:match(":(%d+)$"))
    app = "http://127.0.0.2:" .. port
    seen = function(tag)
      return get(app .. "/seen?tag=" .. tag).seen
    end
  end)

  lazy_teardown(function()
    stop(DIR)
  end)

  describe("a call whose light thread is killed", function()
    it("in a batch of 50 slow ids: the request is freed at once and no request goes out after", function()
      local tag = support.nonce():gsub("%W", "")
      local out, freed = timed(app .. "/kill?what=batch&n=50&ms=300&concurrency=5&tag=" .. tag)
      assert.is_true(out.killed, cjson.encode(out))
      assert.are.equal(5, out.seen_at_kill)
      assert.is_true(freed < 0.2, "the request was held " .. freed .. " s after the kill")
      -- Nothing of the request lives on: nothing more can go out.
      assert.are.equal(5, seen(tag))
      print(string.format("\n  killed batch: request freed %.3f s after the kill", freed))
    end)

    it("during a name lookup: the lookup ends and the request is freed at once", function()
      local out, freed = timed(app .. "/kill?what=lookup", 60)
      assert.is_true(out.killed, cjson.encode(out))
      assert.is_true(freed < 0.2, "the request was held " .. freed .. " s after the kill")
      print(string.format("\n  killed lookup: request freed %.3f s after the kill", freed))
    end)

    it("in a batch whose items are in name lookups", function()
      local out, freed = timed(app .. "/kill?what=lookupbatch", 60)
      assert.is_true(out.killed, cjson.encode(out))
      assert.is_true(freed < 0.2, "the request was held " .. freed .. " s after the kill")
    end)

    it("while a proxy opens the tunnel", function()
      with_trickle_proxy(function(proxy, log)
        local out, freed = timed(app .. "/kill?what=tunnel&proxy=" .. proxy, 60)
        assert.is_true(out.killed, cjson.encode(out))
        assert.is_true(freed < 0.2, "the request was held " .. freed .. " s after the kill")
        assert.are.equal(1, count(log(), "CONNECT localhost:"))
      end)
    end)

    it("while following a log, between two polls", function()
      local out, freed = timed(app .. "/kill?what=follow", 60)
      assert.is_true(out.killed, cjson.encode(out))
      assert.is_true(freed < 0.2, "the request was held " .. freed .. " s after the kill")
    end)
  end)

  describe("phases", function()
    it("calls in ssl_certificate_by_lua succeed (HTTP, HTTPS, a batch); ssl_client_hello is accepted", function()
      local name = support.nonce():lower():gsub("%W", "") .. ".test"
      local out = get("https://" .. name .. ":" .. port .. "/", "-k --resolve " .. name .. ":" .. port
        .. ":127.0.0.3")
      assert.are.equal(name, out.key)
      local r = out.results.ssl_cert
      assert(r, cjson.encode(out))
      assert.are.same({ id = "ssl_cert-http-" .. name, scheme = "http" }, r.http)
      assert.are.same({ id = "ssl_cert-https-" .. name, scheme = "https" }, r.https)
      assert.are.same({ name .. "-b1", name .. "-b2" }, r.batch.ids)
      assert.are.equal(0, r.batch.errors)
      assert.is_true(r.accepted)
      assert.is_true(out.results.ssl_client_hello.accepted, cjson.encode(out))
    end)

    it("calls in server_rewrite_by_lua succeed, forwarding trace context", function()
      local key = support.nonce()
      local traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
      local out = get("http://127.0.0.3:" .. (port + 1) .. "/?key=" .. key, "-H 'traceparent: " .. traceparent .. "'")
      local r = out.results.server_rewrite
      assert(r, cjson.encode(out))
      assert.are.same({ id = "server_rewrite-http-" .. key, scheme = "http" }, r.http)
      assert.are.same({ id = "server_rewrite-https-" .. key, scheme = "https" }, r.https)
      assert.are.same({ key .. "-b1", key .. "-b2" }, r.batch.ids)
      assert.are.equal(0, r.batch.errors)
      -- trace_context reads the request's headers there too.
      assert.are.same({ traceparent = traceparent }, r.traced)
    end)

    it("a call in log_by_lua is refused, naming the phase and what to do there", function()
      get(app .. "/logphase")
      local refused = get(app .. "/logphase-result").refused
      assert.are.equal("INVALID_ARGUMENT", refused.code)
      assert.matches("nginx's log phase", refused.message, 1, true)
      assert.matches("start a timer there (ngx.timer.at(0, f)) and call from it", refused.message, 1, true)
      assert.matches("server_rewrite", refused.message, 1, true)
    end)
  end)

  describe("TLS below 1.2", function()
    it("is refused by the library itself, nothing sent, where nginx.conf would allow it", function()
      -- edges.conf.in: nginx's default lua_ssl_protocols, security level 0.
      local id = support.nonce():gsub("%W", "")
      local out = get(app .. "/tls?server=tls_old&id=" .. id)
      assert(out.error, cjson.encode(out))
      assert.are.equal("TLS_ERROR", out.error.code)
      assert.matches("settled on TLS 1.1, below TLS 1.2", out.error.message, 1, true)
      assert.matches("lua_ssl_protocols TLSv1.2 TLSv1.3", out.error.message, 1, true)
      assert.are.equal(0, seen(id)) -- no request, no key
      -- The same nginx.conf has no TLS 1.3 (nginx's default): why the
      -- example sets lua_ssl_protocols.
      assert.are.equal("TLS_ERROR", get(app .. "/tls?server=tls13&id=" .. id).error.code)
    end)

    describe("the example's lua_ssl_protocols", function()
      local example = read("examples/openresty/nginx.conf")
      local function tls_lines(text)
        local lines = {}
        for line in text:gmatch("[^\n]+") do
          if line:match("^%s*lua_ssl_") and not line:match("lua_ssl_trusted_certificate") then
            lines[#lines + 1] = line
          end
        end
        return lines
      end

      -- The example copied, calling base_url; extra: a sed expression.
      local function with_example(name, base_url, extra, f)
        local dir = "tests/tmp/openresty-gw-example-" .. name
        local url = start("env SUPERMETRICS_API_KEY=" .. support.KEY .. " SUPERMETRICS_BASE_URL=" .. base_url
          .. " tests/openresty/example-copy.sh " .. dir .. " " .. support.quote(support.CA)
          .. (extra and (" " .. support.quote(extra)) or ""), dir, "SM_TEST_EXAMPLE_COPY_URL")
        local ok, err = pcall(f, url, read(dir .. "/nginx.conf"))
        stop(dir)
        assert(ok, err)
      end

      it("are TLSv1.2 TLSv1.3", function()
        assert.are.same({ "    lua_ssl_verify_depth 5;", "    lua_ssl_protocols TLSv1.2 TLSv1.3;" },
          tls_lines(example))
      end)

      it("refuse a TLS 1.0/1.1 server, even with every cipher allowed", function()
        for _, weak in ipairs { false, true } do
          local extra = weak and "s|^\\( *lua_ssl_verify_depth .*\\)$|\\1\\n    lua_ssl_ciphers DEFAULT:@SECLEVEL=0;|"
          with_example(weak and "weak" or "old", "https://localhost:" .. port, extra, function(url, conf)
            local want = tls_lines(example)
            if weak then
              table.insert(want, 2, "    lua_ssl_ciphers DEFAULT:@SECLEVEL=0;")
            end
            assert.are.same(want, tls_lines(conf))
            local id = support.nonce():gsub("%W", "")
            local out = get(url .. "/logs/1/tls/" .. id)
            assert(out.error, cjson.encode(out))
            assert.are.equal("TLS_ERROR", out.error.code)
            assert.are.equal(0, seen(id))
          end)
        end
      end)

      it("negotiate TLS 1.3 with a TLS 1.3 server", function()
        with_example("tls13", "https://localhost:" .. (port + 1), nil, function(url)
          local id = support.nonce():gsub("%W", "")
          local out = get(url .. "/logs/1/tls/" .. id)
          assert.are.same({ id = id, tls = "TLSv1.3", status = 200, log_time = "2025-06-01T00:00:00Z" }, out)
        end)
      end)
    end)
  end)

  describe("errors that say the cause", function()
    it("a worker out of connections: the error names worker_connections", function()
      local out = get(app .. "/exhaust")
      assert.is_true(out.opened > 50, cjson.encode(out))
      assert.are.equal("CONNECTION_ERROR", out.exhausted.code)
      assert.matches("^could not connect to 127.0.0.5:9: no free connection in this nginx worker %("
        .. "worker_connections all in use%?", out.exhausted.message)
      -- Once they are free again: the plain reason.
      assert.are.equal("could not connect to 127.0.0.5:9: connection refused", out.after.message)
    end)

    it("nginx_blocking = true in a request handler: warned once in the error log", function()
      for _ = 1, 2 do
        assert.are.same({ "b1", "b2" }, get(app .. "/blocking").ids)
      end
      local log = read(DIR .. "/error.log")
      assert.are.equal(1, count(log, "supermetrics: a client made with nginx_blocking = true was called in "
        .. "nginx's content phase: each of its calls blocks this worker"), log)
    end)
  end)

  describe("a proxy that trickles its CONNECT answer (a byte every 0.5 s)", function()
    local function check(out, took)
      assert.are.equal("TIMEOUT", out.code, cjson.encode(out))
      assert.is_true(took >= 0.9 and took < 2, "took " .. took .. " s (connect_timeout = 1, timeout = 3)")
    end

    it("libcurl: TIMEOUT at connect_timeout, not at timeout", function()
      with_trickle_proxy(function(proxy, log)
        local client = support.client({ proxy = proxy, connect_timeout = 1, timeout = 3, max_retries = 0 },
          support.TRANSPORTS[2])
        -- (support's https transport is 127.0.0.1; the proxy is asked for it.)
        local t0 = support.now()
        local err = support.fetch_error(client, "T3S70", "1")
        local took = support.now() - t0
        client:close()
        check(err, took)
        assert.are.equal(1, count(log(), "CONNECT 127.0.0.1:"))
      end)
    end)

    it("nginx: TIMEOUT at connect_timeout, not at timeout", function()
      with_trickle_proxy(function(proxy, log)
        local out = get(app .. "/tunnel?connect_timeout=1&timeout=3&proxy=" .. proxy)
        check(out.error, out.took)
        assert.matches("did not open the tunnel in time (connect_timeout)", out.error.message, 1, true)
        assert.are.equal(1, count(log(), "CONNECT localhost:"))
      end)
    end)
  end)
end)
