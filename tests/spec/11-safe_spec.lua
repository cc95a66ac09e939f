-- require "supermetrics.safe": the same interface, nil, err instead of raising.
local safe = require "supermetrics.safe"
local supermetrics = require "supermetrics"
local support = require "tests.spec.support"

local function new(opts)
  local o = { api_key = support.KEY, base_url = support.HTTP, max_retries = 0 }
  for k, v in pairs(opts or {}) do o[k] = v end
  return safe.new(o)
end

describe("supermetrics.safe #abi", function()
  it("shares the module's fields", function()
    assert.are.equal(supermetrics._VERSION, safe._VERSION)
    assert.are.equal(supermetrics.null, safe.null)
    assert.are.equal(supermetrics.Error, safe.Error)
    assert.are.equal(supermetrics.is_error, safe.is_error)
  end)

  it("returns results as the raising interface does", function()
    local c = assert(new())
    assert.are.same(support.SEED, c:get_connector_log(support.TEAM, "T3S70", "123"))
    assert.are.equal(3, #c:list_connector_logs(1, "paged-3-1"))
    c:close()
  end)

  it("returns nil, err for a bad option", function()
    local c, err = new { timeout = -1 }
    assert.is_nil(c)
    assert.are.equal("INVALID_ARGUMENT", err.code)
    assert.is_true(safe.is_error(err))
  end)

  it("returns nil, err for API errors and bad arguments", function()
    local c = assert(new())
    local entry, err = c:get_connector_log(1, "status", "404")
    assert.is_nil(entry)
    assert.are.equal("NOT_FOUND", err.code)
    assert.are.equal(supermetrics.Error, getmetatable(err))
    local list, err2 = c:list_connector_logs(0, "x")
    assert.is_nil(list)
    assert.are.equal("INVALID_ARGUMENT", err2.code)
    c:close()
    local _, err3 = c:get_connector_log(1, "T3S70", "1")
    assert.are.equal("INVALID_ARGUMENT", err3.code)
  end)

  it("iterates, and hands a page's error to the loop as false, err", function()
    local c = assert(new())
    local got = {}
    for entry in c:each_connector_log(1, "paged-25-1", { page_size = 10 }) do
      got[#got + 1] = entry.id
    end
    assert.are.equal(25, #got)
    local seen_err
    for entry, err in c:each_connector_log(1, "status-503") do
      assert.is_false(entry)
      seen_err = err
    end
    assert.are.equal("SERVICE_UNAVAILABLE", seen_err.code)
    -- Bad arguments reach the loop too (and come back as the second value).
    local it, err = c:each_connector_log(1, "x", { page_size = 0 })
    assert.are.equal("INVALID_ARGUMENT", err.code)
    assert.truthy(err.message:find("page_size must be", 1, true), err.message)
    local looped = {}
    for entry, loop_err in c:each_connector_log(1, "x", { page_size = 0 }) do
      looped[#looped + 1] = { entry, loop_err }
    end
    assert.are.equal(1, #looped)
    assert.is_false(looped[1][1])
    assert.are.equal("INVALID_ARGUMENT", looped[1][2].code)
    assert.are.same({ false, err }, { it() })
    assert.is_nil(it())
    c:close()
  end)

  it("has a safe counterpart of every public client method", function()
    local c = assert(new())
    local client = c._client
    for name, method in pairs(getmetatable(client).__index) do
      if type(name) == "string" and type(method) == "function" and name ~= "new"
          and (name:sub(1, 1) ~= "_" or name:sub(1, 2) == "__") then
        assert.are.equal("function", type(c[name]), "supermetrics.safe has no " .. name)
      end
    end
    c:close()
  end)

  it("still raises what is not a supermetrics error (a bug is not hidden)", function()
    local c = assert(new { on_response = nil, token_provider = nil })
    c._client.get_connector_log = function() error("a bug") end
    assert.has_error(function() c:get_connector_log(1, "T3S70", "1") end, "a bug")
    c:close()
  end)
end)
