-- Every argument is checked before any network traffic: a bad one raises
-- INVALID_ARGUMENT naming it, with attempts = 0. The client points at a port
-- where nothing listens, so any traffic would show as CONNECTION_ERROR.
local supermetrics = require "supermetrics"
local support = require "tests.spec.support"

local NOWHERE = "http://127.0.0.1:9"

local function nowhere()
  return supermetrics.new { api_key = support.KEY, base_url = NOWHERE, max_retries = 0 }
end

local function invalid(pattern, f, ...)
  local err = support.catch(f, ...)
  assert.is_true(supermetrics.is_error(err))
  assert.are.equal("INVALID_ARGUMENT", err.code)
  assert.are.equal(0, err.attempts)
  assert.is_nil(err.status)
  assert.truthy(err.message:find(pattern, 1, true), err.message)
  return err
end

describe("get_connector_log arguments #abi", function()
  local client
  before_each(function() client = nowhere() end)
  after_each(function() client:close() end)

  local function get(...)
    return client:get_connector_log(...)
  end

  it("accepts good arguments (and so reaches the network)", function()
    local err = support.catch(get, 1, "T3S70", "123")
    assert.are.equal("CONNECTION_ERROR", err.code)
    assert.are.equal(1, err.attempts)
  end)

  for _, team in ipairs { 0, -1, 1.5, 2 ^ 63, 1 / 0, 0 / 0, "0", "", "12a", " 1", "+1",
    "-1", "1.0", "9223372036854775808", "99999999999999999999", true, {} } do
    it("refuses team_id " .. tostring(team), function()
      invalid("team_id", get, team, "T3S70", "1")
    end)
  end

  for _, conn in ipairs { "", ("a"):rep(101), "a b", "a/b", "ä", "a.b", 5, false } do
    it("refuses connector_identifier " .. tostring(conn):sub(1, 20), function()
      invalid("connector_identifier", get, 1, conn, "1")
    end)
  end

  for _, log in ipairs { "", ".", "..", ("x"):rep(256), 1.5, {}, true } do
    it("refuses log_id " .. tostring(log):sub(1, 20), function()
      invalid("log_id", get, 1, "T3S70", log)
    end)
  end

  it("says what is wrong with a connector_identifier", function()
    invalid("(got an empty string)", get, 1, "", "1")
    invalid("(got 101 characters)", get, 1, ("a"):rep(101), "1")
    invalid("(got other characters)", get, 1, "a b", "1")
  end)

  it("refuses a team_id or log_id number above 2^53 (another id already), saying to pass a string", function()
    local err = invalid("pass it as a string", get, 2 ^ 53 + 2, "T3S70", "1")
    assert.truthy(err.message:find("team_id", 1, true))
    err = invalid("pass it as a string", get, 1, "T3S70", 2 ^ 60)
    assert.truthy(err.message:find("log_id", 1, true))
    -- 2^53 itself is exact, and a string is always exact
    assert.are.equal("CONNECTION_ERROR", support.catch(get, 2 ^ 53, "T3S70", "1").code)
    assert.are.equal("CONNECTION_ERROR", support.catch(get, "9007199254740993", "T3S70", "1").code)
  end)

  it("reports the first bad argument in order", function()
    invalid("team_id", get, 0, "", "")
    invalid("connector_identifier", get, 1, "", "")
  end)

  it("refuses a missing argument", function()
    invalid("log_id", get, 1, "T3S70")
  end)
end)

describe("supermetrics.new options #abi", function()
  local function new(opts)
    return supermetrics.new(opts)
  end

  local function with(extra)
    local o = { api_key = support.KEY, base_url = NOWHERE }
    for k, v in pairs(extra) do o[k] = v end
    return o
  end

  it("refuses a credential over 16384 bytes, from the options or a token_provider", function()
    invalid("longer than 16384 bytes", new, with { api_key = ("k"):rep(16385) })
    local c = new { base_url = NOWHERE, token_provider = function() return ("k"):rep(1024 * 1024) end,
      max_retries = 3 }
    invalid("longer than 16384 bytes", c.get_connector_log, c, 1, "T3S70", "1")
    c:close()
    assert.are.equal("CONNECTION_ERROR", support.catch(function()
      local ok = new(with { api_key = ("k"):rep(16384), max_retries = 0 })
      return ok:get_connector_log(1, "T3S70", "1")
    end).code)
  end)

  it("refuses a ca_file that is a directory or holds no PEM certificate", function()
    invalid("ca_file is a directory", new, with { ca_file = "/tmp" })
    local empty = os.tmpname()
    invalid("no PEM certificate", new, with { ca_file = empty })
    os.remove(empty)
  end)

  it("refuses an unknown option (catches typos)", function()
    invalid("unknown option", new, with { time_out = 5 })
  end)

  it("refuses options that are not a table", function()
    invalid("options", new, "api_key")
  end)

  for name, bad in pairs {
    timeout = { 0, -1, "5", 0 / 0 },
    connect_timeout = { 0, -3, "x" },
    max_retries = { -1, 1.5, 101, "2" },
    max_retry_wait = { -0.1, "1" },
    max_response_bytes = { 0, 1.5, "10" },
    base_url = { 5, false },
    user_agent = { 5, "bad\nagent", ("u"):rep(300) },
    ca_file = { 5, "/nonexistent/ca.pem" },
  } do
    for _, v in ipairs(bad) do
      it("refuses " .. name .. " = " .. tostring(v):sub(1, 20), function()
        invalid(name, new, with { [name] = v })
      end)
    end
  end

  it("refuses more than one credential", function()
    invalid("only one", new, with { token = support.TOKEN })
    invalid("only one", new, with { token_provider = function() return "x" end })
  end)

  it("refuses a token_provider that is not callable", function()
    invalid("token_provider", new, { token_provider = "otok_x", base_url = NOWHERE })
  end)

  for _, cred in ipairs { "", "   ", "\t\n", "Bearer ", "api_\1x", "api_\127x", "api_ä",
    "api x\r\nX-Evil: 1", 42 } do
    it("refuses the credential " .. string.format("%q", tostring(cred)), function()
      local err = invalid("api_key", new, with { api_key = cred })
      if type(cred) == "string" and #cred > 4 then
        assert.is_nil(tostring(err):find(cred, 1, true))
      end
    end)
  end

  describe("base_url", function()
    for _, url in ipairs { "https://api.supermetrics.com", "https://example.com:8443/prefix/",
      "http://localhost:1", "http://LOCALHOST:1", "http://127.0.0.1:1", "http://127.9.8.7:1",
      "http://[::1]:1" } do
      it("accepts " .. url, function()
        local c = new(with { base_url = url })
        assert.truthy(tostring(c):find("supermetrics client", 1, true))
        c:close()
      end)
    end

    for _, url in ipairs { "http://api.supermetrics.com", "http://10.0.0.1", "http://localhost.evil.com",
      "http://127.0.0.1.nip.io", "ftp://127.0.0.1", "file:///etc/passwd", "api.supermetrics.com",
      "https://user:pw@api.supermetrics.com", "https://api.supermetrics.com/?x=1",
      "https://api.supermetrics.com/#f", "", "https://" } do
      it("refuses " .. string.format("%q", url), function()
        invalid("base_url", new, with { base_url = url })
      end)
    end
  end)

  it("uses SUPERMETRICS_API_KEY when no credential is given", function()
    -- tests/run.sh exports it for this run; the stand-in accepts it.
    assert.are.equal(support.KEY, os.getenv("SUPERMETRICS_API_KEY"))
    local c = supermetrics.new { base_url = support.HTTP }
    assert.are.same(support.SEED, c:get_connector_log(support.TEAM, "T3S70", "123"))
    c:close()
  end)

  it("raises INVALID_ARGUMENT with no credential at all", function()
    local script = [[
      package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
      package.cpath = os.getenv("SM_BUILD_DIR") .. "/?.so;" .. package.cpath
      local sm = require "supermetrics"
      local ok, err = pcall(sm.new)
      io.write(tostring(ok), " ", err.code, " ", err.message)
    ]]
    local _, out = support.run("env -u SUPERMETRICS_API_KEY " .. support.LUA .. " -e '" .. script .. "'")
    assert.are.equal("false INVALID_ARGUMENT", out:match("^(%S+ %S+)"))
    assert.truthy(out:find("SUPERMETRICS_API_KEY", 1, true))
  end)
end)

describe("err.argument #abi", function()
  it("names the argument or option at fault, whichever half refused it", function()
    local client = nowhere()
    local cases = {
      { "team_id", client.get_connector_log, client, 0, "T3S70", "1" },
      { "connector_identifier", client.get_connector_log, client, 1, "", "1" },
      { "log_id", client.get_connector_log, client, 1, "T3S70", ".." },
      { "limit", client.list_connector_logs, client, 1, "T3S70", { limit = 0 } },
      { "before", client.list_connector_logs, client, 1, "T3S70", { before = "soon" } },
      { "page_size", client.each_connector_log, client, 1, "T3S70", { page_size = 0 } },
      { "since", client.follow_connector_logs, client, 1, "T3S70", { since = "soon" } },
      { "interval", client.follow_connector_logs, client, 1, "T3S70", { interval = 0 } },
      { "concurrency", client.get_connector_logs, client, 1, "T3S70", {}, { concurrency = 0 } },
      { "log_ids", client.get_connector_logs, client, 1, "T3S70", "1" },
      { "headers", client.get_connector_log, client, 1, "T3S70", "1", { headers = { Host = "x" } } },
      { "timeout", supermetrics.new, { api_key = support.KEY, timeout = 0 } },
      { "base_url", supermetrics.new, { api_key = support.KEY, base_url = "http://example.com" } },
      { "api_key", supermetrics.new, { api_key = "a\1b" } },
      { "ca_file", supermetrics.new, { api_key = support.KEY, ca_file = "/nonexistent" } },
    }
    for _, case in ipairs(cases) do
      local err = support.catch((table.unpack or unpack)(case, 2))
      assert.are.equal("INVALID_ARGUMENT", err.code)
      assert.are.equal(case[1], err.argument, err.message)
    end
    -- No one argument is at fault.
    assert.is_nil(support.catch(client.get_connector_log, client, 1, "T3S70", "1", { x = 1 }).argument)
    client:close()
    assert.is_nil(support.catch(client.get_connector_log, client, 1, "T3S70", "1").argument)
  end)
end)
