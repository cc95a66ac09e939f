-- supermetrics.testing (issue 31): a scripted fake Hub whose client is the
-- real client over scripted HTTP bytes, on a fake clock. Its answers reach
-- the caller as the same error values a real server's do (compared field by
-- field with the stand-in's), its scripts run fast (50 scenarios under 1 s),
-- an unused answer fails the test by name, and a recording made against the
-- stand-in holds no byte of the key and replays to the same results.
local support = require "tests.spec.support"
local testing = require "supermetrics.testing"
local core = require "supermetrics.core"

local KEY = support.KEY

-- An error value's fields, as a plain table (what a user's code reads).
local FIELDS = { "code", "status", "message", "description", "request_id", "retry_after", "attempts",
  "rate_limit", "rate_limit_remaining", "body", "argument" }
local function fields(err, skip)
  assert(getmetatable(err) == core.Error, "not an error value: " .. tostring(err))
  local t = {}
  for _, k in ipairs(FIELDS) do
    if not (skip and skip[k]) then
      t[k] = err[k]
    end
  end
  return t
end

local function entry(id, log_time, extra)
  local e = { id = id, log_time = log_time, status = 200, event = "auth.token.refresh", duration_ms = 12 }
  for k, v in pairs(extra or {}) do
    e[k] = v
  end
  return e
end

-- n entries e1..en newest first, runs of g sharing a log_time, 60 s apart.
local function log_of(n, g)
  local list = {}
  for i = 1, n do
    local t = testing.START - 60 * math.floor((i - 1) / g)
    list[#list + 1] = entry("e" .. i, os.date("!%Y-%m-%dT%H:%M:%SZ", t))
  end
  return list
end

local function ids_of(client, team, connector, opts)
  local ids = {}
  for e in client:each_connector_log(team, connector, opts) do
    ids[#ids + 1] = e.id
  end
  return ids
end

describe("supermetrics.testing #abi", function()
  it("answers gets and pages from its entries through a real client", function()
    local hub = testing.hub()
    hub:entries(1, "c", log_of(5, 1))
    local client = hub:client()
    assert.are.same(entry("e3", "2025-05-31T23:58:00Z"), client:get_connector_log(1, "c", "e3"))
    local page = client:list_connector_logs(1, "c", { limit = 2, before = "2025-05-31T23:59:00Z" })
    assert.are.same({ "e2", "e3" }, { page[1].id, page[2].id })
    local r = hub:requests()
    assert.are.equal(2, #r)
    assert.are.equal("GET", r[1].method)
    assert.are.equal("/v1/teams/1/connector_builder/connectors/c/logs/e3", r[1].path)
    assert.are.same({ limit = "2", before = "2025-05-31T23:59:00Z" }, r[2].query)
    assert.are.equal("Bearer [REDACTED]", r[1].headers.Authorization)
    hub:assert_done()
  end)

  for _, kind in ipairs { "inclusive", "exclusive" } do
    it("pages under an " .. kind .. " before: each entry exactly once, newest first", function()
      local hub = testing.hub { before = kind }
      hub:entries(7, "runs", log_of(23, 4))
      local client = hub:client()
      local want = {}
      for i = 1, 23 do
        want[i] = "e" .. i
      end
      for _, size in ipairs { 1, 3, 4, 5, 100 } do
        assert.are.same(want, ids_of(client, 7, "runs", { page_size = size }))
      end
      -- The pages honour before as the hub was told.
      local at = client:list_connector_logs(7, "runs", { before = "2025-05-31T23:59:00Z" })
      assert.are.equal(kind == "inclusive" and "e5" or "e9", at[1].id)
      assert.are.equal(kind == "inclusive" and 19 or 15, #at)
    end)
  end

  it("waits out a 429 with Retry-After: 3600 on its fake clock, then succeeds", function()
    local hub = testing.hub()
    hub:entry(1, "c", entry("a", "2025-06-01T00:00:00Z"))
    hub:fail({ op = "get", id = "a" }, { status = 429, retry_after = 3600 })
    local client = hub:client { max_retry_wait = 3600, timeout = 4000 }
    local t0 = support.now()
    assert.are.equal("a", client:get_connector_log(1, "c", "a").id)
    assert.is_true(support.now() - t0 < 0.5)
    assert.are.same({ 3600 }, hub.clock.sleeps)
    assert.are.equal(2, #hub:requests())
    hub:assert_done()
  end)

  it("fails assert_done with a message naming each unused answer", function()
    local hub = testing.hub()
    hub:entry(1, "c", entry("a", "2025-06-01T00:00:00Z"))
    hub:fail({ op = "get", id = "a" }, { status = 503 })
    hub:fail({ op = "list", connector = "c" }, { status = 500, times = 2 })
    local client = hub:client { max_retries = 0 }
    assert.are.equal("SERVICE_UNAVAILABLE", support.catch(client.get_connector_log, client, 1, "c", "a").code)
    assert.are.equal("INTERNAL_SERVER_ERROR", support.catch(client.list_connector_logs, client, 1, "c").code)
    local ok, err = pcall(hub.assert_done, hub)
    assert.is_false(ok)
    assert.truthy(err:find('answer #2 {op="list", connector="c"} -> HTTP 500 (2 times), used 1 times', 1, true), err)
    assert.falsy(err:find("answer #1", 1, true), err)
    client:get_connector_log(1, "c", "a")
    assert.is_true(pcall(client.list_connector_logs, client, 1, "c") == false)
    assert.is_true(hub:assert_done())
  end)

  it("runs 50 scripted scenarios in under 1 s", function()
    -- Each: a script, a call, the code (or id) it must give.
    local S = {}
    local function add(name, how, want, opts)
      S[#S + 1] = { name = name, how = how, want = want, opts = opts }
    end
    for code, c in pairs(core.CODES) do
      if c.kind == "status" and (c.status or 0) > 0 then
        add(code, { status = c.status, times = "always" }, code)
        add(code .. " without envelope", { status = c.status, envelope = false, times = "always" }, code)
        add(code .. " HTML", { status = c.status, html = true, times = "always" }, code)
      end
    end
    add("LOG_NOT_FOUND", { status = 404, code = "LOG_NOT_FOUND", message = "No such log." }, "LOG_NOT_FOUND")
    add("PERMISSION_ERROR", { status = 403, code = "PERMISSION_ERROR", message = "No." }, "PERMISSION_ERROR")
    add("HTTP_ERROR 418", { status = 418, envelope = false }, "HTTP_ERROR")
    add("HTTP_ERROR 302", { status = 302, headers = { Location = "/elsewhere" } }, "HTTP_ERROR")
    add("problem 422", { status = 422, problem = { title = "Invalid", detail = "no" } }, "UNPROCESSABLE_ENTITY")
    add("TIMEOUT", { timeout = true }, "TIMEOUT")
    add("reset", { reset = true, times = "always" }, "CONNECTION_ERROR")
    add("closed", { close = true, times = "always" }, "CONNECTION_ERROR")
    add("truncated", { truncated = true, times = "always" }, "CONNECTION_ERROR")
    add("TLS_ERROR", { tls = true }, "TLS_ERROR")
    add("RESPONSE_TOO_LARGE", { body = '{"pad":"' .. string.rep("x", 2000) .. '"}' }, "RESPONSE_TOO_LARGE",
      { max_response_bytes = 1000 })
    add("invalid JSON", { invalid_json = true }, "INVALID_RESPONSE")
    add("another id's entry", { other_id = "zz", times = "always" }, "INVALID_RESPONSE")
    add("another id's entry once", { other_id = "zz" }, "x")
    add("503 once", { status = 503 }, "x")
    add("502 twice", { status = 502, times = 2 }, "x")
    add("429 Retry-After 3600", { status = 429, retry_after = 3600 }, "x", { max_retry_wait = 3600, timeout = 4000 })
    add("429 rate limits", { status = 429, retry_after = 1, rate_limit = { limit = 100, remaining = 0 } }, "x")
    add("500 beyond retries", { status = 500, times = 3 }, "INTERNAL_SERVER_ERROR")
    add("timeout then retry is not made", { timeout = true }, "TIMEOUT")
    add("reset once", { reset = true }, "x")
    add("not found default", nil, "NOT_FOUND", { id = "missing" })
    add("INVALID_ARGUMENT", nil, "INVALID_ARGUMENT", { id = "" })
    local t0 = support.now()
    local results = {}
    for i, s in ipairs(S) do
      local hub = testing.hub()
      hub:entry(1, "c", entry("x", "2025-06-01T00:00:00Z"))
      if s.how then
        hub:fail({ op = "get", team = 1, connector = "c" }, s.how)
      end
      local opts = { max_retry_wait = 30 }
      for k, v in pairs(s.opts or {}) do
        if k ~= "id" then
          opts[k] = v
        end
      end
      local client = hub:client(opts)
      local ok, res = pcall(client.get_connector_log, client, 1, "c", s.opts and s.opts.id or "x")
      results[i] = ok and res.id or res.code
      hub:assert_done()
    end
    -- Paging under both before kinds counts among them.
    for _, kind in ipairs { "inclusive", "exclusive" } do
      local hub = testing.hub { before = kind }
      hub:entries(1, "p", log_of(12, 3))
      S[#S + 1] = { name = "paging " .. kind, want = "e1..e12" }
      local got = ids_of(hub:client(), 1, "p", { page_size = 2 })
      results[#S] = #got == 12 and got[1] == "e1" and got[12] == "e12" and "e1..e12" or table.concat(got, ",")
    end
    local took = support.now() - t0
    for i, s in ipairs(S) do
      assert.are.equal(s.want, results[i], s.name)
    end
    assert.is_true(#S >= 50, #S .. " scenarios")
    assert.is_true(took < 1, string.format("%d scenarios took %.3f s", #S, took))
  end)

  it("runs the same script inside nginx's LuaJIT and plain Lua alike (no socket, no ngx)", function()
    local hub = testing.hub()
    hub:fail({ op = "get" }, { status = 503, times = "always" })
    local client = hub:client { max_retries = 3 }
    local err = support.catch(client.get_connector_log, client, 1, "c", "x")
    assert.are.equal(4, err.attempts)
    assert.are.equal(3, #hub.clock.sleeps)
  end)

  it("runs a batch's items one after another, each with its retries", function()
    local hub = testing.hub()
    hub:entries(1, "c", { entry("a", "2025-06-01T00:00:00Z"), entry("b", "2025-06-01T00:00:01Z") })
    hub:fail({ id = "a" }, { status = 503 })
    hub:fail({ id = "b" }, { status = 404, times = "always" })
    local entries, errs = hub:client():get_connector_logs(1, "c", { "a", "b", "a" })
    assert.are.equal("a", entries[1].id)
    assert.are.equal("NOT_FOUND", errs[2].code)
    assert.are.equal("a", entries[3].id)
    hub:assert_done()
  end)
end)

-- Each failure through a real client against the stand-in, and the same
-- failure scripted: the same error value, field by field.
describe("supermetrics.testing against the stand-in", function()
  local TRANSPORT = { skip_message = { message = true } }
  -- The stand-in's 2xx answers carry a random request id.
  local RANDOM_ID = { request_id = true }
  local cases = {}
  local function case(name, connector, log_id, how, opts, skip)
    cases[#cases + 1] = { name = name, connector = connector, log_id = log_id, how = how, opts = opts, skip = skip }
  end
  for _, status in ipairs { 400, 401, 403, 404, 409, 422, 429, 500, 502, 503, 504 } do
    local s = tostring(status)
    case("status " .. s, "status", s, { status = status, message = "Status " .. s .. " from the stand-in.",
      request_id = "req_status_" .. s, description = "Longer text for " .. s .. ".", times = "always",
      -- (The stand-in's 429s carry rate limits.)
      rate_limit = status == 429 and { limit = 1000, remaining = 0 } or nil })
  end
  case("envelope code", "status", "404-custom", { status = 404, code = "LOG_NOT_FOUND", message = "No such log.",
    request_id = "req_custom_404", description = "The log 404 does not exist." })
  case("HTML", "status", "502-html", { status = 502, html = true, request_id = "req_html_502", times = "always" })
  case("HTML 418", "status", "418-html", { status = 418, html = "<html><body><h1>418 Bad Gateway</h1></body></html>",
    request_id = "req_html_418" })
  case("no envelope, empty", "status", "503-empty", { status = 503, envelope = false, request_id = false,
    times = "always" })
  case("problem", "status", "422-problemtitle", { status = 422, request_id = "req_problem_422",
    problem = { type = "https://stoplight.io/prism/errors#UNPROCESSABLE_ENTITY", title = "Title only" } })
  case("Retry-After", "retry", "%s-1-503-7", { status = 503, message = "Attempt 1 fails with 503.",
    request_id = "req_retry_503_1", retry_after = 7 }, { max_retries = 0 })
  case("429 Retry-After", "retry", "%s-1-429-2", { status = 429, message = "Attempt 1 fails with 429.",
    request_id = "req_retry_429_1", retry_after = 2 }, { max_retries = 0 })
  case("closed", "close", "x", { close = true, times = "always" }, nil, TRANSPORT.skip_message)
  case("reset", "close", "y", { reset = true, times = "always" }, nil, TRANSPORT.skip_message)
  case("truncated", "raw", "short", { truncated = true, request_id = false, times = "always" }, nil,
    TRANSPORT.skip_message)
  case("invalid JSON", "shape", "notjson", { body = "hello", content_type = "text/plain" }, nil, RANDOM_ID)
  case("another id", "wrongid", "w1", { other_id = "other-w1", times = "always" }, nil, RANDOM_ID)
  case("too large", "big", "5000", { body = '{"pad":"' .. string.rep("x", 4990) .. '"}' },
    { max_response_bytes = 1000 }, RANDOM_ID)
  case("timeout", "slow", "3000-t45", { timeout = true }, { timeout = 0.3 }, TRANSPORT.skip_message)

  for _, c in ipairs(cases) do
    it(c.name .. ": the same error value", function()
      local log_id = c.log_id:find("%s", 1, true) and c.log_id:format(support.nonce()) or c.log_id
      -- (No rate budget: the stand-in's 429s must not close the key's
      -- window for the next case.)
      local opts = { max_retries = 1, budget = false }
      for k, v in pairs(c.opts or {}) do
        opts[k] = v
      end
      local real = support.fake_client(opts)
      local want = fields(support.catch(real.get_connector_log, real, support.TEAM, c.connector, log_id), c.skip)
      real:close()
      local hub = testing.hub()
      hub:fail({ op = "get", connector = c.connector }, c.how)
      local fake = hub:client(opts)
      local got = fields(support.catch(fake.get_connector_log, fake, support.TEAM, c.connector, log_id), c.skip)
      assert.are.same(want, got)
    end)
  end

  it("TLS_ERROR: the same error value but for the words", function()
    local real = support.fake_client({ max_retries = 1 }, { base_url = os.getenv("SM_TEST_TLS_WRONG_HOST_URL"),
      ca_file = support.CA })
    local want = fields(support.fetch_error(real, "T3S70", "1"), { message = true })
    local hub = testing.hub()
    hub:fail({}, { tls = true })
    local fake = hub:client { max_retries = 1 }
    assert.are.same(want, fields(support.fetch_error(fake, "T3S70", "1"), { message = true }))
  end)
end)

describe("supermetrics.testing record and replay", function()
  local file = os.getenv("SM_TMP_DIR") and os.getenv("SM_TMP_DIR") .. "/45-record.lua"
    or os.tmpname()

  -- The same calls, through any client: what they gave, as plain values.
  local function session(client, nonce)
    local out = {}
    local function try(f, ...)
      local ok, res = pcall(f, client, ...)
      if ok then
        return res
      end
      return fields(res)
    end
    out.seed = try(client.get_connector_log, support.TEAM, "T3S70", "123")
    out.json = try(client.get_connector_log_json, support.TEAM, "T3S70", "124")
    out.not_found = try(client.get_connector_log, support.TEAM, "status", "404")
    out.leak = try(client.get_connector_log, support.TEAM, "status", "401-leak")
    out.html = try(client.get_connector_log, support.TEAM, "status", "502-html")
    out.retried = try(client.get_connector_log, support.TEAM, "retry", nonce .. "-1-503-0")
    out.page = try(client.list_connector_logs, support.TEAM, "paged-9-2", { limit = 4 })
    out.walk = {}
    for e in client:each_connector_log(support.TEAM, "paged-9-2", { page_size = 4 }) do
      out.walk[#out.walk + 1] = e.id
    end
    local entries, errs = client:get_connector_logs(support.TEAM, "status", { "404", "409-custom" })
    out.batch = { entries = entries, errs = { fields(errs[1]), fields(errs[2]) } }
    return out
  end

  it("writes no byte of the key and replays to the same results", function()
    os.remove(file)
    local nonce = support.nonce()
    local recorder = testing.record(file, { api_key = KEY, base_url = support.HTTP, max_retry_wait = 1,
      budget = false })
    local recorded = session(recorder, nonce)
    recorder:close()
    local f = assert(io.open(file, "rb"))
    local text = f:read("*a")
    f:close()
    assert.falsy(text:find(KEY, 1, true))
    assert.falsy(text:lower():find(KEY, 1, true))
    assert.truthy(text:find("paged-9-2", 1, true))
    -- What the stand-in gave (the leak scenario quotes the key: redacted).
    assert.are.equal("e1", recorded.walk[1])
    assert.are.equal(9, #recorded.walk)
    assert.are.equal("UNAUTHORIZED", recorded.leak.code)
    assert.are.equal("123", recorded.seed.id)
    local hub = testing.hub():load(file)
    local replayed = session(hub:client { max_retry_wait = 1 }, nonce)
    assert.are.same(recorded, replayed)
    assert.is_true(hub:assert_done())
    os.remove(file)
  end)

  it("refuses a file that is not a fixture", function()
    local f = assert(io.open(file, "wb"))
    f:write("os.exit(3)")
    f:close()
    local ok, err = pcall(testing.hub().load, testing.hub(), file)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("is not a fixture", 1, true), err)
    os.remove(file)
  end)
end)

describe("supermetrics-logs --record and serve", function()
  local cli = require "tests.spec.cli_support"

  it("records the stand-in's answers without the key, and serves them back over HTTP", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert.are.equal(0, (support.run("mkdir -p " .. dir)))
    local fixture = dir .. "/fixture.lua"
    local args = "list 936506 paged-9-2 --all --limit 4 --format ndjson"
    local code, want, err = cli.run("--record " .. fixture .. " " .. args)
    assert.are.equal(0, code, err)
    assert.are.equal(9, #cli.lines(want))
    local text = cli.read(fixture)
    assert.falsy(text:find(KEY, 1, true))
    assert.truthy(text:find("paged-9-2", 1, true))
    -- The server form answers the same requests from the file (its port
    -- named on stderr, polled for with a bound); any key will do.
    local script = table.concat({
      cli.command() .. " serve " .. fixture .. " --port 0 2>" .. dir .. "/serve.err & s=$!",
      "for i in $(seq 100); do grep -q 127.0.0.1 " .. dir .. "/serve.err && break; sleep 0.05; done",
      "port=$(sed -n 's/.*127\\.0\\.0\\.1://p' " .. dir .. "/serve.err)",
      cli.command("SUPERMETRICS_API_KEY=another_key") .. " --base-url http://127.0.0.1:$port " .. args,
      "rc=$?; kill $s; exit $rc",
    }, "\n")
    local served_code, got, served_err = support.run("bash -c " .. support.quote(script))
    assert.are.equal(0, served_code, served_err)
    assert.are.equal(want, got)
    support.run("rm -rf " .. dir)
  end)

  it("names serve's fixture error", function()
    local code, _, err = cli.run("serve /nonexistent/fixture.lua --port 0")
    assert.are.equal(1, code)
    assert.truthy(err:find("cannot read /nonexistent/fixture.lua", 1, true), err)
  end)
end)

-- types/supermetrics/testing.lua and .d.tl name what the module has.
describe("supermetrics.testing's editor types", function()
  local function read(path)
    local f = assert(io.open(path, "rb"))
    local s = f:read("*a")
    f:close()
    return s
  end

  it("declare every public function and hub method, and nothing else", function()
    local truth, hub_truth = {}, {}
    for k, v in pairs(testing) do
      if type(k) == "string" and k:sub(1, 1) ~= "_" then
        truth[k] = true
      end
      assert.is_true(type(v) == "function" or k == "START" or k == "FORMAT" or k == "null", k)
    end
    for k, v in pairs(getmetatable(testing.hub())) do
      if type(v) == "function" and k:sub(1, 1) ~= "_" then
        hub_truth[k] = true
      end
    end
    local luals = read("types/supermetrics/testing.lua")
    local declared, hub_declared = {}, {}
    for name in luals:gmatch("\nfunction testing%.([%w_]+)%(") do declared[name] = true end
    for name in luals:gmatch("\n%-%-%-@field ([%w_]+) [^\n]*\nlocal testing") do declared[name] = true end
    for name in luals:gmatch("%-%-%-@field (%u[%w_]*) ") do declared[name] = true end
    declared.null = luals:find("---@field null table", 1, true) and true or nil
    for name in luals:gmatch("\nfunction Hub:([%w_]+)%(") do hub_declared[name] = true end
    assert.are.same(truth, declared)
    assert.are.same(hub_truth, hub_declared)
    local teal = read("types/supermetrics/testing.d.tl")
    local tl, tl_hub = {}, {}
    local module_part = teal:match("\n   START: integer.-\nend")
    for name in module_part:gmatch("\n   ([%w_]+):") do tl[name] = true end
    local hub_part = teal:match("\n   record Hub\n(.-)\n   end")
    for name in hub_part:gmatch("\n?      ([%w_]+): function") do tl_hub[name] = true end
    assert.are.same(truth, tl)
    assert.are.same(hub_truth, tl_hub)
  end)
end)

describe("docs/testing.md's examples", function()
  it("run as written: the script, and the hand-written fixture", function()
    local f = assert(io.open("docs/testing.md", "rb"))
    local doc = f:read("*a")
    f:close()
    local blocks = {}
    for code in doc:gmatch("```lua\n(.-)```") do
      blocks[#blocks + 1] = code
    end
    assert.are.equal(2, #blocks)
    assert((loadstring or load)(blocks[1], "=docs/testing.md"))()
    local file = os.tmpname()
    local out = assert(io.open(file, "wb"))
    out:write(blocks[2])
    out:close()
    local hub = testing.hub():load(file)
    os.remove(file)
    local client = hub:client()
    assert.are.equal(503, client:get_connector_log(1, "shop", "a1").status)
    assert.are.equal("LOG_NOT_FOUND", support.catch(client.get_connector_log, client, 1, "shop", "a2").code)
  end)
end)
