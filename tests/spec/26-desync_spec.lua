-- An answer is this request's or an error, never another's. A server (or a
-- proxy in front of it) that writes one response too many on a kept-alive
-- connection leaves that connection out of step (tests/server/desync.lua):
-- the library must notice (the entry's id, the page's shape), drop the
-- connection and ask once more on a fresh one, so one bad connection costs
-- no failure. A server out of step for good gives INVALID_RESPONSE.
-- Through libcurl here, and through cosockets inside nginx (test app).
local support = require "tests.spec.support"

local busy = require "tests.tools.busy"

local function extra_responses()
  return support.stats().twice_extra
end

for _, transport in ipairs(support.TRANSPORTS) do
  describe("answers out of step (libcurl, " .. transport.name .. ")", function()
    local client
    before_each(function()
      -- A client of its own: the twice connections serve nothing else.
      client = support.client({ max_retries = 0 }, transport)
    end)
    after_each(function()
      client:close()
    end)

    for _, case in ipairs {
      { suffix = "-2x", pause = busy, what = "the extra answer waiting before the next request" },
      { suffix = "-2x", pause = function() end, what = "the extra answer arriving during the next request" },
      { suffix = "-2xnow", pause = busy, what = "both answers written at once" },
    } do
      it("300 calls, every 25th answered twice (" .. case.what .. "): no wrong entry, no error", function()
        local extra, wrong, failed = extra_responses(), {}, {}
        for i = 1, 300 do
          local id = "s" .. i .. (i % 25 == 0 and case.suffix or "")
          local ok, res = pcall(client.get_connector_log, client, 1, "twice", id)
          if not ok then
            failed[#failed + 1] = tostring(res)
          elseif res.id ~= id then
            wrong[#wrong + 1] = id .. " got " .. tostring(res.id)
          end
          case.pause()
        end
        assert.same({}, wrong)
        assert.same({}, failed)
        -- The fault was there: the stand-in wrote the extra answers.
        assert.is_true(extra_responses() - extra >= 10)
      end)
    end

    it("five 40-id batches at concurrency 4, each first id answered twice: all right", function()
      local extra = extra_responses()
      for b = 1, 5 do
        local ids = {}
        for i = 1, 40 do
          ids[i] = "b" .. b .. "-" .. i .. (i == 1 and "-2x" or "")
        end
        local entries, errors = client:get_connector_logs(1, "twice", ids, { concurrency = 4 })
        for i = 1, 40 do
          assert.is_nil(errors[i])
          assert.equal(ids[i], entries[i].id)
        end
        busy()
      end
      assert.is_true(extra_responses() - extra >= 4)
    end)

    it("a page where an entry was asked for, and an entry where a page was, are each dropped", function()
      local entry = client:get_connector_log(1, "twice", "first-2x")
      assert.equal("first-2x", entry.id)
      busy()
      -- The list request reads the extra entry first.
      local page = client:list_connector_logs(1, "twice", { limit = 2 })
      assert.equal(2, #page)
      assert.equal("tw1", page[1].id)
      local doubled = client:list_connector_logs(1, "twice-2x", { limit = 3 })
      assert.equal(3, #doubled)
      busy()
      -- The entry request reads the extra page first.
      assert.equal("after-page", client:get_connector_log(1, "twice", "after-page").id)
    end)

    it("a server whose every entry carries another id: INVALID_RESPONSE naming both, never an entry", function()
      local events = {}
      local c = support.client({ max_retries = 2, on_response = function(e) events[#events + 1] = e end },
        transport)
      local err = support.fetch_error(c, "wrongid", "abc")
      assert.equal("INVALID_RESPONSE", err.code)
      assert.equal(200, err.status)
      assert.equal(1, err.attempts) -- not retried: the resend is uncounted
      assert.equal(1, #events)
      assert.truthy(err.message:find('log id "abc"', 1, true))
      assert.truthy(err.message:find('log id "other-abc"', 1, true))
      assert.truthy(err.message:find("fresh connection", 1, true))
      local list_err = support.catch(c.list_connector_logs, c, 1, "wrongid")
      assert.equal("INVALID_RESPONSE", list_err.code)
      assert.truthy(list_err.message:find('"wrongid-entry"', 1, true))
      local entries, errors = c:get_connector_logs(1, "wrongid", { "x", "y", 7 })
      assert.same({}, entries)
      for i, id in ipairs { "x", "y", "7" } do
        assert.equal("INVALID_RESPONSE", errors[i].code)
        assert.truthy(errors[i].message:find('"other-' .. id .. '"', 1, true))
      end
      c:close()
    end)

    it("ids compare as the API sends them: 123 matches \"123\" both ways", function()
      assert.equal(123, client:get_connector_log(1, "numid", 123).id)
      assert.equal(123, client:get_connector_log(1, "numid", "123").id)
      assert.equal("123", client:get_connector_log(1, "T3S70", 123).id)
      local entries, errors = client:get_connector_logs(1, "numid", { 5, "6" })
      assert.same({}, errors)
      assert.equal(5, entries[1].id)
      assert.equal(6, entries[2].id)
    end)

    it("an entry without an id (every field is optional) cannot tell and is taken", function()
      local entry = client:get_connector_log(1, "big", "100")
      assert.is_nil(entry.id)
      assert.equal(90, #entry.pad)
    end)
  end)
end

if not support.APP then
  return
end
local get = support.inside

local function open_files(pid)
  local code, out = support.run("ls /proc/" .. pid .. "/fd | wc -l")
  assert(code == 0)
  return tonumber(out)
end

describe("answers out of step (cosockets inside nginx)", function()
  for _, scheme in ipairs { "http", "https" } do
    local q = scheme == "https" and "&https=1" or ""
    it("300 calls with every 25th answered twice, then 5 batches: 0 wrong, 0 errors (" .. scheme .. ")", function()
      local extra = extra_responses()
      local out = get("/desync?n=300" .. q)
      assert.equal(500, out.calls)
      assert.equal(0, out.wrong)
      assert.equal(0, out.errors, out.first_error)
      assert.is_true(extra_responses() - extra >= 10)
    end)

    it("both answers in one write: 0 wrong, 0 errors (" .. scheme .. ")", function()
      local out = get("/desync?n=100&batches=2&suffix=-2xnow" .. q)
      assert.equal(180, out.calls)
      assert.equal(0, out.wrong)
      assert.equal(0, out.errors, out.first_error)
    end)

    it("every answer another id's: INVALID_RESPONSE each time, never an entry (" .. scheme .. ")", function()
      local out = get("/desync?connector=wrongid&n=10&batches=1" .. q)
      assert.equal(50, out.calls)
      assert.equal(0, out.wrong)
      assert.equal(50, out.errors)
      assert.truthy(out.first_error:find("INVALID_RESPONSE", 1, true))
      assert.truthy(out.first_error:find('"other-s1"', 1, true))
    end)
  end

  it("a server that closes after each kept-alive-looking response: 3,000 calls, no error, open files flat", function()
    local first = get("/closing?n=50")
    assert.equal(0, first.errors, first.first_error)
    local before = open_files(first.pid)
    local out = get("/closing?n=3000")
    assert.equal(0, out.errors, out.first_error)
    assert.equal(first.pid, out.pid)
    assert.is_true(open_files(out.pid) <= before + 4)
  end)

  it("a resolver that never answers: TIMEOUT within the call's timeout, not resolver_timeout", function()
    local out = get("/resolve?timeout=1")
    assert.is_false(out.ok)
    assert.equal("TIMEOUT", out.error.code)
    assert.truthy(out.error.message:find("hub.test", 1, true))
    assert.is_true(out.took >= 0.9 and out.took < 2, "took " .. out.took)
  end)
end)
