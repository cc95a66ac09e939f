-- Inside OpenResty / nginx (tests/openresty/: one worker, the LuaJIT build
-- of the module): the same API on nginx's cosockets, never blocking the
-- worker's event loop. Requests go to the test app with the curl command
-- line; the app fetches through lua-supermetrics from the stand-in.
-- 17-cosocket_spec.lua holds what is new with the cosocket transport.
local cjson = require "cjson"
local support = require "tests.spec.support"

-- tests/run.sh starts the app for one busted run and says so.
if os.getenv("SM_TEST_OPENRESTY") ~= "1" then
  return
end
local APP = assert(os.getenv("SM_TEST_APP_URL"))

-- GET url (curl with extra options); returns status, headers (lower-case
-- names), body.
local function curl_get(url, extra)
  local code, out, err = support.run("curl -sS -i " .. (extra or "") .. "'" .. url .. "'")
  assert(code == 0, "curl failed: " .. tostring(err))
  local head, body = out:match("^(.-)\r\n\r\n(.*)$")
  local headers = {}
  for name, value in head:gmatch("\n([^:\r\n]+):%s*([^\r\n]*)") do
    headers[name:lower()] = value
  end
  return tonumber(head:match("^HTTP/[%d.]+ (%d+)")), headers, body
end

-- GET path on the app, as the client of X-Mode mode.
local function app_get(path, mode)
  return curl_get(APP .. path, mode and ("-H 'X-Mode: " .. mode .. "' "))
end

local function log_path(connector, log_id, team)
  return string.format("/v1/teams/%s/connector_builder/connectors/%s/logs/%s", team or 936506, connector, log_id)
end

local function hub_stat(name)
  local c = support.client()
  local s = c:get_connector_log(1, "stats", name)
  c:close()
  return s
end

describe("inside nginx", function()
  it("returns the entry intact, integers and all", function()
    local status, _, body = app_get(log_path("T3S70", "123"))
    assert.are.equal(200, status)
    assert.are.same(support.SEED, cjson.decode(body))
    assert.truthy(body:find('"status":200', 1, true))
    assert.truthy(body:find('"duration_ms":253', 1, true))
  end)

  it("fetches over HTTPS, trusting lua_ssl_trusted_certificate", function()
    local status, _, body = app_get(log_path("T3S70", "123"), "https")
    assert.are.equal(200, status)
    assert.are.same(support.SEED, cjson.decode(body))
  end)

  it("passes percent-encoded ids through intact", function()
    local _, _, body = app_get(log_path("echo", "a%2Fb%20c%3F"))
    local entry = cjson.decode(body)
    assert.are.equal("a/b c?", entry.id)
    assert.are.equal("/v1/teams/936506/connector_builder/connectors/echo/logs/a%2Fb%20c%3F", entry.uri)
  end)

  it("raises the same supermetrics.Error values, with every field", function()
    local status, headers, body = app_get(log_path("status", "404"))
    assert.are.equal(404, status)
    assert.are.equal("true", headers["x-is-error"])
    assert.are.equal("1", headers["x-attempts"])
    local envelope = cjson.decode(body)
    assert.are.equal("NOT_FOUND", envelope.error.code)
    assert.are.equal("Longer text for 404.", envelope.error.description)
    assert.are.equal("req_status_404", envelope.meta.request_id)
  end)

  it("retries with ngx.sleep and reports the attempts", function()
    local status, headers, body = app_get(log_path("status", "503"))
    assert.are.equal(503, status)
    assert.are.equal("3", headers["x-attempts"])
    assert.are.equal("SERVICE_UNAVAILABLE", cjson.decode(body).error.code)
  end)

  it("reports transport failures by code (CONNECTION_ERROR, TIMEOUT)", function()
    local _, headers, body = app_get(log_path("close", "x"))
    assert.are.equal("CONNECTION_ERROR", cjson.decode(body).error.code)
    assert.is_nil(headers["x-error-status"])
    local _, _, body2 = app_get(log_path("slow", "3000"), "short")
    assert.are.equal("TIMEOUT", cjson.decode(body2).error.code)
  end)

  it("calls the token_provider in the request's VM before every attempt", function()
    local id = support.nonce() .. "-2-503"
    local status, headers, body = app_get(log_path("retry", id, 1), "provider")
    assert.are.equal(200, status, body)
    assert.are.equal(3, cjson.decode(body).attempts_seen)
    assert.are.equal("3", headers["x-provider-calls"])
  end)

  it("reuses connections across requests (nginx's connection pool)", function()
    local first
    for _ = 1, 5 do
      local _, _, body = app_get(log_path("echo", "keep"))
      local entry = cjson.decode(body)
      first = first or entry
      assert.are.equal(first.connection, entry.connection)
    end
  end)

  it("200 concurrent 1 s calls finish together, and a plain location answers in under 100 ms", function()
    local urls = {}
    for i = 1, 200 do
      urls[i] = "'" .. APP .. log_path("slow", "1000-" .. support.nonce() .. "x" .. i) .. "'"
    end
    local t0 = support.now()
    -- --parallel-immediate: open all connections at once (curl otherwise
    -- waits for the first one to see whether it could multiplex).
    -- (-Z shows a progress meter despite -s: --no-progress-meter)
    local batch = support.spawn("curl -sS --no-progress-meter -Z --parallel-immediate --parallel-max 200 "
      .. "-w '\\n%{http_code}\\n' " .. table.concat(urls, " "))
    -- Answers once all 200 are in flight at the stand-in (server-side wait).
    local inflight = hub_stat("await200").inflight
    local probe_code, probe = support.run("curl -sS -o /dev/null -w '%{time_total}' '" .. APP .. "/plain'")
    local out = batch:read("*a")
    batch:close()
    local took = support.now() - t0
    local ok = select(2, out:gsub("\n200\n", ""))
    print(string.format("\n  openresty: 200 x 1 s upstream calls took %.2f s; plain location answered in %.1f ms",
      took, tonumber(probe) * 1000))
    assert.is_true(inflight >= 200, "in flight: " .. inflight)
    assert.are.equal(200, ok)
    assert.are.equal(0, probe_code)
    -- A worker the calls blocked would answer after their 1 s; 100 ms
    -- leaves room for a loaded machine (13 ms seen at load 6).
    assert.is_true(tonumber(probe) < 0.1, "plain location took " .. probe .. " s")
    assert.is_true(took < 4, "200 calls took " .. took .. " s")
  end)

  it("runs get_connector_logs concurrently on light threads", function()
    local status, _, body = app_get("/batch")
    assert.are.equal(200, status, body)
    local r = cjson.decode(body)
    assert.are.equal(20, r.entries)
    assert.are.equal(1, r.errors)
    assert.are.equal("INVALID_ARGUMENT", r.first_error)
    assert.is_true(r.first_is_error)
    assert.is_true(r.took < 2, "20 x 0.5 s took " .. r.took .. " s") -- 10 s one by one
  end)

  it("refuses phases that cannot yield, naming the phase", function()
    local _, headers = app_get("/phase")
    assert.truthy(headers["x-phase-error"]:find("^INVALID_ARGUMENT: .*header_filter"), headers["x-phase-error"])
  end)

  describe("the shipped examples/openresty, started as its header says", function()
    local example = os.getenv("SM_TEST_EXAMPLE_URL")
    local LOG = "tests/tmp/openresty-example.log"
    -- status, headers (lower-case names), raw body
    local function get_raw(path)
      return curl_get(example .. path)
    end
    local function get(path)
      local status, headers, body = get_raw(path)
      return status, cjson.decode(body), headers
    end
    local function log()
      local f = assert(io.open(LOG))
      local text = f:read("*a")
      f:close()
      return text
    end
    -- Starts the example again as start-example.sh does, with this key
    -- ("none": SUPERMETRICS_API_KEY unset; nil: the stand-in's key).
    local function restart(key)
      local code, out, err = support.run((key and ("SM_EXAMPLE_KEY=" .. key .. " ") or "")
        .. "tests/openresty/start-example.sh \"$PWD/tests/tmp/hub/env\" \"$PWD/" .. LOG .. "\" >/dev/null")
      assert.are.equal(0, code, out .. err)
    end
    local nonce = os.time() .. math.random(1e6)

    it("serves the entry", function()
      local status, entry = get("/logs/936506/T3S70/123")
      assert.are.equal(200, status)
      assert.are.same(support.SEED, entry)
    end)

    it("answers 400 for the caller's bad ids, 404 for a missing entry, 502 when the API fails", function()
      local status, body = get("/logs/abc/T3S70/123")
      assert.are.equal(400, status)
      assert.are.equal("INVALID_ARGUMENT", body.error.code)
      status, body = get("/logs/936506/status/404")
      assert.are.equal(404, status)
      assert.are.equal("NOT_FOUND", body.error.code)
      status, body = get("/logs/936506/status/409-custom") -- LOG_NOT_FOUND
      assert.are.equal(404, status)
      assert.are.equal("LOG_NOT_FOUND", body.error.code)
      status, body = get("/logs/936506/close/x")
      assert.are.equal(502, status)
      assert.are.equal("CONNECTION_ERROR", body.error.code)
      status, body = get("/logs/936506/status/500")
      assert.are.equal(502, status)
      assert.are.equal("INTERNAL_SERVER_ERROR", body.error.code)
    end)

    it("answers 502, not the API's 401 or 403, when the API refuses our key; the cause in the log", function()
      for _, code in ipairs { 401, 403 } do
        local status, body = get("/logs/936506/status/" .. code)
        assert.are.equal(502, status)
        assert.are.same({ code = "BAD_GATEWAY", message = "see the server's error log",
          request_id = "req_status_" .. code }, body.error)
      end
      local text = log()
      assert.truthy(text:find("supermetrics: UNAUTHORIZED (HTTP 401): Status 401 from the stand-in. "
        .. "[request_id req_status_401] -- the API refused this server's key", 1, true), text)
      assert.truthy(text:find("supermetrics: FORBIDDEN (HTTP 403)", 1, true), text)
    end)

    it("answers 503 with the API's Retry-After when rate limited or unavailable", function()
      -- The 429 closes the key's window for 60 s in the worker's rate budget: a new start reopens it.
      finally(function() restart() end)
      local status, body, headers = get("/logs/936506/retry/" .. nonce .. "a-5-429-60")
      assert.are.equal(503, status)
      assert.are.equal("TOO_MANY_REQUESTS", body.error.code)
      assert.are.equal("60", headers["retry-after"])
      restart()
      status, body, headers = get("/logs/936506/retry/" .. nonce .. "b-5-503-30")
      assert.are.equal(503, status)
      assert.are.equal("SERVICE_UNAVAILABLE", body.error.code)
      assert.are.equal("30", headers["retry-after"])
    end)

    it("decodes a log id once: /logs/1/echo/a%2541 asks the API for a%41", function()
      local status, entry = get("/logs/1/echo/a%2541")
      assert.are.equal(200, status)
      assert.are.equal("a%41", entry.id)
      assert.are.equal("/v1/teams/1/connector_builder/connectors/echo/logs/a%2541", entry.uri)
    end)

    it("writes JSON without \\/", function()
      local status, _, body = get_raw("/logs/1/echo/a%2Fb")
      assert.are.equal(200, status)
      assert.truthy(body:find('"id":"a/b"', 1, true), body)
      assert.truthy(body:find('"uri":"/v1/teams/1/', 1, true), body)
      assert.is_nil(body:find("\\/", 1, true), body)
    end)

    it("has no thread_pool line, no load_module line, and logs errors as text with one prefix", function()
      local f = assert(io.open("examples/openresty/nginx.conf"))
      local conf = f:read("*a")
      f:close()
      assert.is_nil(conf:find("thread_pool", 1, true))
      assert.is_nil(conf:find("\nload_module", 1, true))
      assert.is_nil(conf:find("\n%s*resolver "))
      get("/logs/936506/status/500")
      local text = log()
      assert.truthy(text:find("get_log(): supermetrics: INTERNAL_SERVER_ERROR (HTTP 500)", 1, true), text)
      assert.is_nil(text:find("supermetrics: supermetrics:", 1, true), text)
      assert.is_nil(text:find("unknown reason", 1, true))
    end)

    it("answers 500 without a key, 502 with a refused one; the cause in the log", function()
      finally(function() restart() end)
      restart("none")
      local status, body = get("/logs/936506/T3S70/123")
      assert.are.equal(500, status)
      assert.are.same({ code = "INTERNAL_ERROR", message = "see the server's error log" }, body.error)
      local text = log()
      assert.truthy(text:find("supermetrics: INVALID_ARGUMENT: no credential: .* %-%- this server's configuration"),
        text)
      restart("api_wrong_key")
      status, body = get("/logs/936506/T3S70/123")
      assert.are.equal(502, status)
      assert.are.equal("BAD_GATEWAY", body.error.code)
      assert.are.equal("req_unauthorized01", body.error.request_id)
      text = log()
      assert.truthy(text:find("supermetrics: UNAUTHORIZED (HTTP 401): Authentication is required. "
        .. "[request_id req_unauthorized01] -- the API refused this server's key", 1, true), text)
      assert.is_nil(text:find("api_wrong_key", 1, true)) -- never the key
    end)
  end)

  describe("clients made in init_by_lua, used by four workers", function()
    local APP4 = os.getenv("SM_TEST_APP4_URL")
    for _, kind in ipairs { "blocking", "cosocket" } do
      for _, scheme in ipairs { "http", "https" } do
        it(kind .. " over " .. scheme .. ": every worker gets its own entries", function()
          local code, out = support.run("seq 1 800 | sed 's|.*|url = \"" .. APP4 .. "/shared/" .. kind .. "/"
            .. scheme .. "/w&\"|' | curl -sS --no-progress-meter -Z --parallel-max 16 -K -")
          assert.are.equal(0, code)
          local seen, pids, answers = {}, {}, 0
          for line in out:gmatch("%b{}") do
            local r = cjson.decode(line)
            assert.is_nil(r.error)
            assert.is_nil(seen[r.id], "twice: " .. tostring(r.id))
            seen[r.id] = true
            pids[r.pid] = true
            answers = answers + 1
          end
          assert.are.equal(800, answers)
          for i = 1, 800 do
            assert.is_true(seen["w" .. i], "w" .. i .. " missing or answered with another id")
          end
          local workers = 0
          for _ in pairs(pids) do workers = workers + 1 end
          assert.is_true(workers >= 2, "only " .. workers .. " worker answered")
        end)
      end
    end
  end)

  it("allows a blocking call in init_by_lua with nginx_blocking, and refuses it without", function()
    local _, _, body = app_get("/init")
    local startup = cjson.decode(body)
    assert.are.same(support.SEED, startup.blocking)
    assert.is_false(startup.refused.ok)
    assert.are.equal("INVALID_ARGUMENT", startup.refused.code)
    assert.truthy(startup.refused.message:find("init phase", 1, true))
  end)
end)
