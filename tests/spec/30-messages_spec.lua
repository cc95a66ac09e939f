-- The mistakes a newcomer makes first get messages that say what to do:
-- a dot for a colon, a base_url without its scheme, https:// to a
-- plain-HTTP port; and both transports word a failed connection alike.
local cjson = require "cjson"
local supermetrics = require "supermetrics"
local safe = require "supermetrics.safe"
local support = require "tests.spec.support"

local METHODS = { "get_connector_log", "list_connector_logs", "each_connector_log",
  "follow_connector_logs", "get_connector_logs" }

describe("messages for first mistakes #abi", function()
  it("client.method(...) for client:method(...) is INVALID_ARGUMENT naming the method", function()
    local client = support.client()
    for _, method in ipairs(METHODS) do
      local err = support.catch(client[method], 936506, "T3S70", "1")
      assert.equal("INVALID_ARGUMENT", err.code)
      assert.equal(0, err.attempts)
      assert.truthy(err.message:find("client:" .. method .. "(...)", 1, true), err.message)
    end
    client:close()
  end)

  it("the safe client returns the same error for it", function()
    local client = assert(safe.new { api_key = support.KEY, base_url = support.HTTP })
    for _, method in ipairs(METHODS) do
      local first, err = client[method](936506, "T3S70", "1")
      if type(first) == "function" then -- an iterator: it gives the error once
        local ok, again = first()
        assert.is_false(ok)
        assert.equal(err, again)
      else
        assert.is_nil(first)
      end
      assert.equal("INVALID_ARGUMENT", err.code)
      assert.truthy(err.message:find("with a colon", 1, true))
    end
    client:close()
  end)

  it("a base_url without a scheme suggests https://", function()
    local err = support.catch(supermetrics.new, { api_key = support.KEY, base_url = "api.supermetrics.com" })
    assert.equal("INVALID_ARGUMENT", err.code)
    assert.truthy(err.message:find('did you mean "https://api.supermetrics.com"?', 1, true), err.message)
    -- Nothing is suggested for what is no host name at all.
    err = support.catch(supermetrics.new, { api_key = support.KEY, base_url = "not a url" })
    assert.is_nil(err.message:find("did you mean", 1, true))
  end)

  it("https:// to a plain-HTTP port says the server answered without TLS", function()
    local client = support.client({ max_retries = 0, base_url = support.HTTP:gsub("^http:", "https:") })
    local err = support.fetch_error(client, "T3S70", "1")
    assert.equal("TLS_ERROR", err.code)
    assert.truthy(err.message:find("answered without TLS", 1, true), err.message)
    client:close()
  end)

  it("a refused connection is said as the cosocket transport says it", function()
    local client = support.client({ max_retries = 0, base_url = "http://127.0.0.1:1" })
    local err = support.fetch_error(client, "T3S70", "1")
    assert.equal("CONNECTION_ERROR", err.code)
    assert.equal("could not connect to 127.0.0.1:1: connection refused", err.message)
    client:close()
  end)
end)

if os.getenv("SM_TEST_OPENRESTY") ~= "1" then
  return
end
local APP = assert(os.getenv("SM_TEST_APP_URL"))

local function inside(base_url)
  local code, out = support.run("curl -sS --max-time 30 '" .. APP .. "/call?connector=T3S70&id=1&max_retries=0"
    .. "&base_url=" .. base_url .. "'")
  assert(code == 0)
  return cjson.decode(out).error
end

local function outside(base_url)
  local client = support.client({ max_retries = 0, base_url = base_url })
  local err = support.fetch_error(client, "T3S70", "1")
  client:close()
  return err
end

describe("both transports word failures alike", function()
  local plain = support.HTTP:gsub("^http://127%.0%.0%.1:", "https://localhost:")
  for _, base_url in ipairs { "http://127.0.0.1:1", plain } do
    it(base_url, function()
      local a, b = inside(base_url), outside(base_url)
      assert.equal(b.code, a.code)
      assert.equal(b.message, a.message)
    end)
  end
end)
