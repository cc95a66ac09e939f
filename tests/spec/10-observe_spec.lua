-- Observability: the on_response hook after every attempt, and rate-limit
-- figures on error values.
local support = require "tests.spec.support"

local function recording(opts)
  local events = {}
  opts = opts or {}
  opts.on_response = function(e) events[#events + 1] = e end
  return support.client(opts), events
end

describe("on_response #abi", function()
  it("is called once for a successful call, with what the server said", function()
    local c, events = recording()
    c:get_connector_log(1, "ratelimit", "742")
    c:close()
    assert.are.equal(1, #events)
    local e = events[1]
    assert.are.equal("GET", e.method)
    assert.are.equal("/v1/teams/1/connector_builder/connectors/ratelimit/logs/742", e.path)
    assert.are.equal(200, e.status)
    assert.are.equal(1, e.attempt)
    assert.are.equal("req_ratelimit_742", e.request_id)
    assert.are.equal(1000, e.rate_limit)
    assert.are.equal(742, e.rate_limit_remaining)
    assert.is_nil(e.error_code)
    assert.is_true(e.duration_ms >= 0 and e.duration_ms < 5000)
  end)

  it("is called after every attempt, failures included", function()
    local c, events = recording { max_retries = 2 }
    c:get_connector_log(1, "retry", support.nonce() .. "-2-503")
    c:close()
    assert.are.equal(3, #events)
    for i, e in ipairs(events) do
      assert.are.equal(i, e.attempt)
    end
    assert.are.equal("SERVICE_UNAVAILABLE", events[1].error_code)
    assert.are.equal(503, events[2].status)
    assert.are.equal(200, events[3].status)
    assert.is_nil(events[3].error_code)
  end)

  it("reports transport failures without a status", function()
    local c, events = recording { max_retries = 0 }
    support.fetch_error(c, "close", "x")
    c:close()
    assert.are.equal(1, #events)
    assert.are.equal("CONNECTION_ERROR", events[1].error_code)
    assert.is_nil(events[1].status)
  end)

  it("measures the attempt's duration", function()
    local c, events = recording()
    c:get_connector_log(1, "slow", "200")
    c:close()
    assert.is_true(events[1].duration_ms >= 190, tostring(events[1].duration_ms))
  end)

  it("is not called when no request went out", function()
    local c, events = recording()
    support.catch(c.get_connector_log, c, 0, "x", "y")
    c:close()
    assert.are.equal(0, #events)
  end)

  it("never breaks the call when it raises", function()
    local c = support.client { on_response = function() error("observer bug") end }
    assert.are.same(support.SEED, c:get_connector_log(support.TEAM, "T3S70", "123"))
    local err = support.fetch_error(c, "status", "404")
    c:close()
    assert.are.equal("NOT_FOUND", err.code)
  end)

  it("never sees the credential", function()
    local c, events = recording { api_key = "api_test_key" }
    c:get_connector_log(1, "T3S70", "1")
    c:close()
    for _, v in pairs(events[1]) do
      assert.is_nil(tostring(v):find("api_test_key", 1, true))
    end
  end)

  it("must be a function", function()
    assert.are.equal("INVALID_ARGUMENT", support.catch(support.client, { on_response = "log" }).code)
  end)
end)

describe("rate-limit figures on errors #abi", function()
  it("are set when the server sent them", function()
    local c = support.client { max_retries = 0 }
    local err = support.fetch_error(c, "status", "429")
    c:close()
    assert.are.equal(1000, err.rate_limit)
    assert.are.equal(0, err.rate_limit_remaining)
  end)

  it("are absent when it did not", function()
    local c = support.client { max_retries = 0 }
    local err = support.fetch_error(c, "status", "404")
    c:close()
    assert.is_nil(err.rate_limit)
    assert.is_nil(err.rate_limit_remaining)
  end)
end)
