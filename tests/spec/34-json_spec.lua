-- client:get_connector_log_json: the entry as the JSON text the server sent,
-- byte for byte, checked in C (one JSON object, its id the one asked for)
-- but never decoded; the same arguments, options, retries, errors, hook and
-- out-of-step resend as get_connector_log. Through libcurl here and through
-- cosockets inside nginx (the test app's /call?json=1 and /desync?json=1).
local cjson = require "cjson"
local supermetrics = require "supermetrics"
local safe = require "supermetrics.safe"
local support = require "tests.spec.support"

local busy = require "tests.tools.busy"

local BODIES = dofile("tests/server/bodies.lua")
-- What the stand-in's seed connector sends for log id "123".
local SEED = '{"id":"123","log_time":"2025-01-01","status":200,"event":"auth.token.refresh",'
  .. '"request":"POST /api/oauth/token_refresh","duration_ms":253,'
  .. '"request_id":"8dc24bc2-8a17-4188-a509-217cb8799929"}'

-- Bodies that are not one JSON object, with the message they give.
local REFUSED = {
  { "shape", "array", "the response body is not a JSON object" },
  { "shape", "notjson", "the response body is not a JSON object" },
  { "shape", "string", "the response body is not a JSON object" },
  { "shape", "empty", "the response body is empty" },
  { "decoder", "trailing", "the response body is not a JSON object" },
  { "decoder", "control", "the response body is not a JSON object" },
}

-- Bodies passed through untouched: nested values, nulls, escapes, spacing.
local PASSED = { "nested", "spaced", "escapes", "bignumbers", "escapedid", "77", "nulls", "wide" }

for _, transport in ipairs(support.TRANSPORTS) do
  describe("get_connector_log_json over " .. transport.name, function()
    local client
    before_each(function() client = support.client({}, transport) end)
    after_each(function() client:close() end)

    it("returns the body as sent, a string", function()
      assert.are.equal(SEED, client:get_connector_log_json(support.TEAM, "T3S70", "123"))
    end)

    for _, name in ipairs(PASSED) do
      it("passes " .. name .. " through untouched", function()
        assert.are.equal(BODIES[name], client:get_connector_log_json(support.TEAM, "decoder", name))
      end)
    end

    it("takes the integer log id and per-call options as get_connector_log does", function()
      assert.are.equal(BODIES["77"], client:get_connector_log_json(support.TEAM, "decoder", 77,
        { headers = { ["X-Extra"] = "1" } }))
      local err = support.catch(client.get_connector_log_json, client, support.TEAM, "decoder", "77",
        { bogus = 1 })
      assert.are.equal("INVALID_ARGUMENT", err.code)
      err = support.catch(client.get_connector_log_json, client, support.TEAM, "bad connector!", "1")
      assert.are.equal("INVALID_ARGUMENT", err.code)
      assert.are.equal(0, err.attempts)
    end)

    for _, case in ipairs(REFUSED) do
      it("refuses " .. case[1] .. "/" .. case[2] .. " (" .. case[3] .. ")", function()
        local err = support.catch(client.get_connector_log_json, client, support.TEAM, case[1], case[2])
        assert.are.equal("INVALID_RESPONSE", err.code)
        assert.are.equal(case[3], err.message)
        assert.are.equal(200, err.status)
        assert.are.equal(1, err.attempts)
      end)
    end

    it("caps the body at max_response_bytes", function()
      local capped = support.client({ max_response_bytes = 500 }, transport)
      local err = support.catch(capped.get_connector_log_json, capped, support.TEAM, "big", "1000-chunked")
      capped:close()
      assert.are.equal("RESPONSE_TOO_LARGE", err.code)
    end)

    it("gives the errors and retries of get_connector_log", function()
      local err = support.catch(client.get_connector_log_json, client, support.TEAM, "status", "404")
      assert.are.equal("NOT_FOUND", err.code)
      assert.are.equal(1, err.attempts)
      local nonce = support.nonce()
      local json = client:get_connector_log_json(support.TEAM, "retry", nonce .. "-1-503")
      assert.are.equal(nonce .. "-1-503", cjson.decode(json).id)
    end)

    it("tells on_response of each attempt", function()
      local events = {}
      local hooked = support.client({ on_response = function(e) events[#events + 1] = e end }, transport)
      assert.are.equal(SEED, hooked:get_connector_log_json(support.TEAM, "T3S70", "123"))
      hooked:close()
      assert.are.equal(1, #events)
      assert.are.equal(200, events[1].status)
    end)

    it("drops an answer with another id and asks once more, then names both ids", function()
      local err = support.catch(client.get_connector_log_json, client, support.TEAM, "wrongid", "abc")
      assert.are.equal("INVALID_RESPONSE", err.code)
      assert.are.equal('the server answered the request for log id "abc" with the entry of log id '
        .. '"other-abc": its answers are out of step with the requests, on a fresh connection too', err.message)
      assert.are.equal(1, err.attempts)
      -- The same words as get_connector_log.
      assert.are.equal(support.fetch_error(client, "wrongid", "abc").message, err.message)
    end)

    it("300 calls to a server answering every 25th twice: no wrong text, no error", function()
      local own = support.client({ max_retries = 0 }, transport)
      local before = support.stats().twice_extra
      local wrong, failed = {}, {}
      for i = 1, 300 do
        local id = "j" .. i .. (i % 25 == 0 and "-2x" or "")
        local ok, res = pcall(own.get_connector_log_json, own, 1, "twice", id)
        if not ok then
          failed[#failed + 1] = tostring(res)
        elseif cjson.decode(res).id ~= id then
          wrong[#wrong + 1] = id
        end
        busy()
      end
      own:close()
      assert.same({}, wrong)
      assert.same({}, failed)
      assert.is_true(support.stats().twice_extra - before >= 10)
    end)

    it("has a safe form: the text, or nil and the error", function()
      local s = assert(safe.new { api_key = support.KEY, base_url = transport.base_url, ca_file = transport.ca_file })
      assert.are.equal(SEED, s:get_connector_log_json(support.TEAM, "T3S70", "123"))
      local json, err = s:get_connector_log_json(support.TEAM, "shape", "array")
      s:close()
      assert.is_nil(json)
      assert.is_true(supermetrics.is_error(err))
      assert.are.equal("INVALID_RESPONSE", err.code)
    end)
  end)
end

if not support.APP then
  return
end
local inside = support.inside

-- Each over HTTP and HTTPS, with an on_response hook (the retry loop's
-- path) and without (plain: the first attempt in one transport call).
for _, https in ipairs { false, true } do for _, plain in ipairs { false, true } do
  local over = (https and "&https=1" or "") .. (plain and "&plain=1" or "")
  describe("get_connector_log_json inside nginx (cosockets, " .. (https and "https" or "http")
    .. (plain and ", no hook" or ", a hook") .. ")", function()
    it("returns the body as sent", function()
      assert.are.equal(SEED, inside("/call?json=1&connector=T3S70&id=123" .. over).json)
      for _, name in ipairs { "nested", "spaced", "escapes" } do
        assert.are.equal(BODIES[name], inside("/call?json=1&connector=decoder&id=" .. name .. over).json, name)
      end
    end)

    it("refuses what is not one JSON object, as outside nginx", function()
      for _, case in ipairs(REFUSED) do
        local out = inside("/call?json=1&connector=" .. case[1] .. "&id=" .. case[2] .. over)
        assert.are.equal("INVALID_RESPONSE", out.error and out.error.code, case[2])
        assert.are.equal(case[3], out.error.message, case[2])
      end
    end)

    it("drops an answer with another id and asks once more", function()
      local out = inside("/call?json=1&connector=wrongid&id=abc" .. over)
      assert.are.equal("INVALID_RESPONSE", out.error.code)
      assert.truthy(out.error.message:find('"other-abc": its answers are out of step with the requests, '
        .. "on a fresh connection too", 1, true))
    end)

    it("300 calls to a server answering every 25th twice: no wrong text, no error", function()
      local out = inside("/desync?json=1&n=300&every=25&batches=0" .. over)
      assert.are.equal(300, out.calls)
      assert.are.equal(0, out.wrong)
      assert.are.equal(0, out.errors, out.first_error)
    end)
  end)
end end
