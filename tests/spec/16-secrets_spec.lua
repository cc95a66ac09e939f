-- The credential never shows: every kind of failure is made with one
-- recognisable credential (tests/tools/secrets.lua, in a fresh interpreter), and
-- everything the process printed, which includes every error string,
-- tostring(err), tostring(client) and every on_response event, is searched
-- for it, in every form a server echoes it in (tests/server/hostile_text.lua's
-- oracle). The library itself prints nothing, so its own output is in there too.
local support = require "tests.spec.support"
local hostile = require "tests.server.hostile_text"

local SECRET = "Zq8SECRETxyz"

describe("the credential", function()
  local code, out, err
  setup(function()
    code, out, err = support.run(table.concat({ "SM_BUILD_DIR=" .. os.getenv("SM_BUILD_DIR"),
      support.LUA, "tests/tools/secrets.lua", SECRET }, " "))
  end)

  it("the tour ran, with the credential accepted by the server", function()
    assert.are.equal(0, code, err)
    assert.truthy(out:find("\nsuccess\tok\t1\n", 1, true), out)
    assert.truthy(out:find("[REDACTED]", 1, true), "the leak scenarios did not run")
    assert.is_true(tonumber(out:match("cases=(%d+)")) >= 40)
  end)

  it("made every kind of error", function()
    local seen = {}
    for c in out:match("codes=(%S+)"):gmatch("[^,]+") do seen[c] = true end
    for _, c in ipairs { "INVALID_ARGUMENT", "BAD_REQUEST", "UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND",
      "CONFLICT_ERROR", "UNPROCESSABLE_ENTITY", "TOO_MANY_REQUESTS", "INTERNAL_SERVER_ERROR", "BAD_GATEWAY",
      "SERVICE_UNAVAILABLE", "GATEWAY_TIMEOUT", "HTTP_ERROR", "TIMEOUT", "CONNECTION_ERROR", "TLS_ERROR",
      "RESPONSE_TOO_LARGE", "INVALID_RESPONSE", "LOG_NOT_FOUND" } do
      assert.is_true(seen[c], c .. " was not made")
    end
  end)

  -- A regression check: a server that echoes the credential as X-Request-Id
  -- or meta.request_id once got it into err.request_id and tostring(err)
  -- (docs/hardening.md, "Bugs found" 4).
  it("appears nowhere in what the process printed [patch 04]", function()
    local at = out:find(SECRET, 1, true)
    assert.is_nil(at, at and ("leaked: " .. out:sub(math.max(1, at - 200), at + 40)))
    assert.is_nil(err:find(SECRET, 1, true), "leaked on stderr")
  end)

  it("appears in no form (escaped, percent-encoded, base64, split) in any line printed", function()
    assert.truthy(out:find("\necho b64align2 text\t", 1, true), "the hostile server's cases did not run")
    assert.truthy(out:find("\nevent\t", 1, true), "no on_response event was printed")
    for line in (out .. err):gmatch("[^\n]+") do
      local l = hostile.leak(line, SECRET)
      assert.is_nil(l, l)
    end
  end)
end)

describe("plain http://", function()
  -- A regression check: these once passed the loopback check, and a
  -- resolver decides where such a name goes (docs/hardening.md, "Bugs found" 5).
  for _, url in ipairs { "http://127.999.0.1", "http://127.0.0.1.5", "http://127.", "http://127.0.0.1.evil.example" } do
    it("is refused for " .. url .. ", a DNS name, not a loopback address [patch 05]", function()
      local e = support.catch(require("supermetrics").new, { api_key = support.KEY, base_url = url })
      assert.are.equal("INVALID_ARGUMENT", e.code)
    end)
  end

  for _, url in ipairs { "http://127.1:9", "http://0x7f.0.0.1:9", "http://LOCALHOST:9", "http://[::1]:9" } do
    it("is accepted for " .. url .. ", a loopback address", function()
      require("supermetrics").new({ api_key = support.KEY, base_url = url }):close()
    end)
  end
end)
