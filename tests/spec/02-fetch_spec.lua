-- Fetching one log entry through the real module, libcurl and the local
-- stand-in, over HTTP and HTTPS.
local supermetrics = require "supermetrics"
local support = require "tests.spec.support"

local has_integers = math.type ~= nil

for _, transport in ipairs(support.TRANSPORTS) do
  describe("get_connector_log over " .. transport.name .. " #abi", function()
    local client
    before_each(function() client = support.client({}, transport) end)
    after_each(function() client:close() end)

    local function echo(log_id, team)
      return client:get_connector_log(team or support.TEAM, "echo", log_id)
    end

    it("returns the seed's entry as a plain table", function()
      local entry = client:get_connector_log(support.TEAM, "T3S70", "123")
      assert.are.same(support.SEED, entry)
      assert.is_nil(getmetatable(entry))
    end)

    it("returns status and duration_ms as integers", function()
      local entry = client:get_connector_log(support.TEAM, "T3S70", "123")
      if has_integers then
        assert.are.equal("integer", math.type(entry.status))
        assert.are.equal("integer", math.type(entry.duration_ms))
      end
      assert.are.equal(200, entry.status)
      assert.are.equal(253, entry.duration_ms)
    end)

    it("drops top-level nulls, never returning cjson.null", function()
      local entry = client:get_connector_log(support.TEAM, "shape", "nulls")
      assert.are.same({ id = "nulls", log_time = "2025-01-01" }, entry)
    end)

    it("keeps fields the API adds later, nested nulls as supermetrics.null", function()
      local entry = client:get_connector_log(support.TEAM, "shape", "extra")
      assert.is_true(entry.flag)
      assert.are.equal(supermetrics.null, entry.future.a)
      assert.are.equal(supermetrics.null, entry.future.list[2])
      assert.are.equal(3, #entry.future.list)
      assert.are.equal(253, entry.duration_ms)
    end)

    it("leaves a non-integral duration_ms as sent", function()
      local entry = client:get_connector_log(support.TEAM, "shape", "floaty")
      assert.are.equal(253.5, entry.duration_ms)
    end)

    it("percent-encodes log_id as one path segment", function()
      local cases = {
        ["a/b"] = "a%2Fb",
        ["a b?c#d"] = "a%20b%3Fc%23d",
        ["%41"] = "%2541",
        ["..."] = "...",
        ["~x-y_z.1"] = "~x-y_z.1",
        -- (nginx answers 400 to %00 itself, so NUL is not sent here)
        ["ü\1\255"] = "%C3%BC%01%FF",
        ["../etc"] = "..%2Fetc",
      }
      for log_id, wire in pairs(cases) do
        local entry = echo(log_id)
        assert.are.equal(log_id, entry.id)
        assert.are.equal("/v1/teams/936506/connector_builder/connectors/echo/logs/" .. wire, entry.uri)
      end
    end)

    it("sends a 255-byte log_id whole", function()
      local long = ("L"):rep(255)
      assert.are.equal(long, echo(long).id)
    end)

    it("turns an integer log_id into its decimal string", function()
      assert.are.equal("42", echo(42).id)
      assert.are.equal("7", echo(7.0).id)
    end)

    it("sends team ids exactly, as integers or digit strings", function()
      assert.are.equal("9223372036854775807", echo("x", "9223372036854775807").team_id)
      assert.are.equal("12", echo("x", "0012").team_id)
      assert.are.equal("5", echo("x", 5.0).team_id)
      if has_integers then
        assert.are.equal("9223372036854775807", echo("x", math.maxinteger).team_id)
      end
    end)

    it("sends Authorization: Bearer, Accept: application/json and our User-Agent", function()
      local entry = echo("h")
      assert.are.equal("Bearer", entry.authorization_scheme)
      assert.are.equal("application/json", entry.accept)
      assert.truthy(entry.user_agent:find("^lua%-supermetrics/" .. supermetrics._VERSION:gsub("%.", "%%.") .. " "))
    end)

    it("appends user_agent to the default User-Agent", function()
      local c = support.client({ user_agent = "my-app/2.0" }, transport)
      local ua = c:get_connector_log(1, "echo", "ua").user_agent
      c:close()
      assert.truthy(ua:find("^lua%-supermetrics/"))
      assert.truthy(ua:find(" my%-app/2%.0$"), ua)
    end)

    it("reuses one connection across calls (keep-alive)", function()
      local first = echo("k")
      for i = 2, 30 do
        local entry = echo("k")
        assert.are.equal(first.connection, entry.connection)
        assert.are.equal(first.connection_requests + i - 1, entry.connection_requests)
      end
    end)

    it("does not follow redirects", function()
      local before = support.stats().redirected_hits or 0
      local err = support.fetch_error(client, "redirect", "same")
      assert.are.equal("HTTP_ERROR", err.code)
      assert.are.equal(302, err.status)
      assert.are.equal(before, support.stats().redirected_hits or 0)
    end)
  end)
end

describe("credentials", function()
  local function scheme_with(opts)
    local c = support.client(opts)
    local entry = c:get_connector_log(1, "echo", "cred")
    c:close()
    return entry.authorization_scheme
  end

  it("trims whitespace around the credential", function()
    assert.are.equal("Bearer", scheme_with { api_key = "  " .. support.KEY .. " \n" })
  end)

  it("accepts a credential that already starts with Bearer", function()
    assert.are.equal("Bearer", scheme_with { api_key = "Bearer " .. support.KEY })
  end)

  it("accepts an OAuth token", function()
    assert.are.equal("Bearer", scheme_with { api_key = false, token = support.TOKEN })
  end)

  it("sends the credential given (a wrong one is refused by the server)", function()
    local c = support.client { api_key = "api_wrong" }
    local err = support.fetch_error(c, "T3S70", "1")
    c:close()
    assert.are.equal("UNAUTHORIZED", err.code)
    assert.are.equal(401, err.status)
  end)

  it("never puts the credential into tostring(client)", function()
    local c = support.client { api_key = "api_test_key" }
    assert.is_nil(tostring(c):find("api_test_key", 1, true))
    c:close()
  end)
end)

describe("TLS", function()
  it("has no switch to turn verification off", function()
    for _, name in ipairs { "ssl_verify", "verify", "insecure", "ssl_verifypeer" } do
      local err = support.catch(supermetrics.new, { api_key = support.KEY, base_url = support.HTTPS, [name] = false })
      assert.are.equal("INVALID_ARGUMENT", err.code)
    end
  end)

  it("verifies the server against the system store by default", function()
    local c = supermetrics.new { api_key = support.KEY, base_url = support.HTTPS, max_retries = 0 }
    local err = support.fetch_error(c, "T3S70", "1")
    c:close()
    assert.are.equal("TLS_ERROR", err.code)
    assert.is_nil(err.status)
    assert.are.equal(1, err.attempts)
  end)

  it("checks the host name too (localhost is in the certificate)", function()
    local c = support.client({}, { base_url = support.HTTPS_LOCALHOST, ca_file = support.CA })
    assert.are.same(support.SEED, c:get_connector_log(support.TEAM, "T3S70", "123"))
    c:close()
  end)
end)
