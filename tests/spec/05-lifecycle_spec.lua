-- A client's life: close, garbage collection, <close>, and what a closed
-- client does.
local supermetrics = require "supermetrics"
local support = require "tests.spec.support"

describe("client lifecycle #abi", function()
  it("close() releases the client; every later call raises INVALID_ARGUMENT", function()
    local c = support.client()
    assert.are.same(support.SEED, c:get_connector_log(support.TEAM, "T3S70", "123"))
    c:close()
    local err = support.fetch_error(c, "T3S70", "123")
    assert.are.equal("INVALID_ARGUMENT", err.code)
    assert.are.equal(0, err.attempts)
    assert.truthy(err.message:find("closed", 1, true))
  end)

  it("close() is safe to call twice", function()
    local c = support.client()
    c:close()
    c:close()
    assert.are.equal("supermetrics client (closed)", tostring(c))
  end)

  it("a closed client never calls its token_provider", function()
    local calls = 0
    local c = support.client { api_key = false, token_provider = function()
      calls = calls + 1
      return support.TOKEN
    end }
    c:close()
    support.fetch_error(c, "T3S70", "1")
    assert.are.equal(0, calls)
  end)

  it("is collected by the garbage collector", function()
    local weak = setmetatable({}, { __mode = "v" })
    do
      local c = support.client()
      c:get_connector_log(1, "T3S70", "1")
      weak.client, weak.handle = c, c._handle
    end
    collectgarbage()
    collectgarbage()
    assert.is_nil(weak.client)
    assert.is_nil(weak.handle)
  end)

  if _VERSION == "Lua 5.4" then
    it("closes at the end of a <close> scope (Lua 5.4)", function()
      local f = assert(load([[
        local support = ...
        local kept
        do
          local c <close> = support.client()
          c:get_connector_log(1, "T3S70", "1")
          kept = c
        end
        return kept
      ]]))
      local c = f(support)
      assert.are.equal("supermetrics client (closed)", tostring(c))
      assert.are.equal("INVALID_ARGUMENT", support.fetch_error(c, "T3S70", "1").code)
    end)
  end

  it("each client has its own connection", function()
    local a, b = support.client(), support.client()
    local ca = a:get_connector_log(1, "echo", "a").connection
    local cb = b:get_connector_log(1, "echo", "b").connection
    assert.are_not.equal(ca, cb)
    assert.are.equal(ca, a:get_connector_log(1, "echo", "a").connection)
    a:close()
    b:close()
  end)

  it("a failed call leaves no state behind for the next one", function()
    local c = support.client { max_retries = 0 }
    local err = support.fetch_error(c, "status", "404")
    assert.are.equal("req_status_404", err.request_id)
    local entry = c:get_connector_log(support.TEAM, "T3S70", "123")
    assert.are.same(support.SEED, entry)
    -- the request id of the failure did not stick to the next error
    local err2 = support.fetch_error(c, "status", "500-empty")
    assert.is_nil(err2.request_id)
    c:close()
  end)
end)

describe("the module #abi", function()
  it("has a semver _VERSION", function()
    assert.truthy(supermetrics._VERSION:find("^%d+%.%d+%.%d+$"))
  end)

  it("exposes null as cjson.null", function()
    assert.are.equal(require("cjson").null, supermetrics.null)
  end)

  it("sets no globals", function()
    local before = {}
    for k in pairs(_G) do before[k] = true end
    package.loaded["supermetrics"] = nil
    package.loaded["supermetrics.client"] = nil
    require "supermetrics"
    for k in pairs(_G) do
      assert.is_true(before[k], "new global " .. tostring(k))
    end
  end)
end)
