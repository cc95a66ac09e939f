-- watch.lua's specs: every error it handles, scripted with the fake Hub
-- (supermetrics.testing), no network, no real waits. Run from the
-- repository's root: busted examples/testing/spec (with the library on
-- LUA_PATH / LUA_CPATH, and examples/testing/?.lua for watch.lua).
local testing = require "supermetrics.testing"
local scenarios = require "spec.scenarios"

local FIXTURES = "examples/testing/fixtures/hub.lua"

describe("watch.lua against the fake Hub", function()
  for _, s in ipairs(scenarios) do
    it(s.name, function()
      local got, hub = scenarios.run(testing, FIXTURES, s)
      assert.are.same(s.want, got)
      hub:assert_done()
    end)
  end

  it("asks for pages with the credential never shown", function()
    local hub = testing.hub():load(FIXTURES)
    local client = hub:client()
    require("watch").server_errors(client, 1, "shop", "2025-05-31T23:00:00Z")
    for _, r in ipairs(hub:requests()) do
      assert.are.equal("Bearer [REDACTED]", r.headers.Authorization)
      assert.are.equal("/v1/teams/1/connector_builder/connectors/shop/logs", r.path)
    end
  end)

  it("waits out Retry-After: 3600 on the fake clock", function()
    local hub = testing.hub():load(FIXTURES)
    hub:fail({ op = "list" }, { status = 429, retry_after = 3600 })
    local client = hub:client { max_retry_wait = 3600, timeout = 4000 }
    assert.are.equal(2, #require("watch").server_errors(client, 1, "shop", "2025-05-31T23:00:00Z"))
    assert.are.same({ 3600 }, hub.clock.sleeps)
  end)
end)
