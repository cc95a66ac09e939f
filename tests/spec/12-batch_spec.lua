-- get_connector_logs: many entries at once on one client (libcurl's multi
-- interface), each item retried and timed like a single call.
local supermetrics = require "supermetrics"
local support = require "tests.spec.support"

local function count(t, n)
  local c = 0
  for i = 1, n do if t[i] ~= nil then c = c + 1 end end
  return c
end

local function timed(f, ...)
  local t0 = support.now()
  local a, b = f(...)
  return a, b, support.now() - t0
end

describe("get_connector_logs #abi", function()
  local client
  before_each(function() client = support.client { max_retry_wait = 0.05 } end)
  after_each(function() client:close() end)

  local function batch(connector, ids, opts)
    return client:get_connector_logs(support.TEAM, connector, ids, opts)
  end

  it("returns entries aligned with log_ids, shaped like single fetches", function()
    local entries, errors = batch("T3S70", { "123", "a/b c", 42, "x" })
    assert.are.same(support.SEED, entries[1])
    assert.are.equal("a/b c", entries[2].id)
    assert.are.equal("42", entries[3].id)
    assert.are.equal("x", entries[4].id)
    assert.are.same({}, errors)
    assert.is_nil(getmetatable(entries))
  end)

  it("sets exactly one of entries[i] / errors[i] for every i; a bad id fails its own item only", function()
    local ids = { "ok1", ".", ("x"):rep(256), {}, "ok2", "" }
    local entries, errors = batch("T3S70", ids)
    for i = 1, #ids do
      assert.is_true((entries[i] == nil) ~= (errors[i] == nil), "item " .. i)
    end
    assert.are.equal("ok1", entries[1].id)
    assert.are.equal("ok2", entries[5].id)
    for _, i in ipairs { 2, 3, 4, 6 } do
      assert.are.equal("INVALID_ARGUMENT", errors[i].code)
      assert.are.equal(0, errors[i].attempts)
      assert.are.equal(supermetrics.Error, getmetatable(errors[i]))
    end
  end)

  it("reports API errors per item", function()
    local entries, errors = client:get_connector_logs(1, "status", { "404", "500", "409-custom" },
      { concurrency = 3 })
    assert.are.same({}, entries)
    assert.are.equal("NOT_FOUND", errors[1].code)
    assert.are.equal(1, errors[1].attempts)
    assert.are.equal("INTERNAL_SERVER_ERROR", errors[2].code)
    assert.are.equal(3, errors[2].attempts) -- retried twice, like a single call
    assert.are.equal("LOG_NOT_FOUND", errors[3].code)
  end)

  it("returns two empty tables for no ids", function()
    local entries, errors = batch("T3S70", {})
    assert.are.same({}, entries)
    assert.are.same({}, errors)
  end)

  it("refuses a bad team, connector, log_ids or option before any traffic", function()
    for _, args in ipairs {
      { 0, "T3S70", { "1" } }, { 1, "a b", { "1" } }, { 1, "T3S70", "1" },
      { 1, "T3S70", { "1" }, { concurrency = 0 } }, { 1, "T3S70", { "1" }, { concurrency = 257 } },
      { 1, "T3S70", { "1" }, { parallel = 2 } },
    } do
      local err = support.catch(client.get_connector_logs, client, args[1], args[2], args[3], args[4])
      assert.are.equal("INVALID_ARGUMENT", err.code)
      assert.are.equal(0, err.attempts)
    end
  end)

  it("runs the items concurrently", function()
    local ids = {}
    for i = 1, 40 do ids[i] = "300-c" .. support.nonce() .. "x" .. i end
    local entries, _, took = timed(batch, "slow", ids, { concurrency = 20 })
    assert.are.equal(40, count(entries, 40))
    -- sequentially this is 12 s; two waves of 20 take about 0.6 s
    assert.is_true(took < 2, "took " .. took)
  end)

  it("retries each item like a single call", function()
    local ids = {}
    for i = 1, 6 do ids[i] = support.nonce() .. "-1-503" end
    local entries, errors = batch("retry", ids, { concurrency = 3 })
    assert.are.same({}, errors)
    for i = 1, 6 do
      assert.are.equal(2, entries[i].attempts_seen)
    end
  end)

  it("honours Retry-After per item (on a fake clock)", function()
    local c, clock = support.fake_client { max_retry_wait = 5 }
    local t0 = support.now()
    local entries = c:get_connector_logs(1, "retry", { support.nonce() .. "-1-429-1" })
    local took = support.now() - t0
    c:close()
    assert.are.equal(2, entries[1].attempts_seen)
    -- The batch waits in steps while nothing is in flight: a second in all,
    -- less the real time that passed meanwhile.
    assert.is_true(clock.slept >= 0.9 and clock.slept <= 1, "waited " .. clock.slept .. " s")
    assert.is_true(took < 0.9, "took " .. took .. " s of real time")
  end)

  it("honours Retry-After per item, in real time #slow", function()
    local ids = { support.nonce() .. "-1-429-1", "plain" }
    local c = support.client { max_retry_wait = 5 }
    local t0 = support.now()
    local entries = c:get_connector_logs(1, "retry", { ids[1] })
    local took = support.now() - t0
    c:close()
    assert.are.equal(2, entries[1].attempts_seen)
    assert.is_true(took >= 0.99 and took < 2.5, "took " .. took)
  end)

  it("gives each item the deadline of a single call", function()
    local c = support.client { timeout = 0.4 }
    local _, errors, took = timed(c.get_connector_logs, c, 1, "slow", { "3000-d1", "3000-d2", "3000-d3" },
      { concurrency = 1 })
    c:close()
    for i = 1, 3 do
      assert.are.equal("TIMEOUT", errors[i].code)
    end
    -- one at a time: each item's own 0.4 s deadline, not one shared one
    assert.is_true(took >= 1.15 and took < 3, "took " .. took)
  end)

  it("calls the token_provider before every attempt and on_response after it", function()
    local calls, events = 0, {}
    local c = support.client { api_key = false, max_retry_wait = 0.05,
      token_provider = function() calls = calls + 1; return "otok_valid_" .. calls end,
      on_response = function(e) events[#events + 1] = e end }
    local ids = { support.nonce() .. "-1-503", support.nonce() .. "-0-503" }
    local entries = c:get_connector_logs(1, "retry", ids)
    c:close()
    assert.are.equal(2, entries[1].attempts_seen)
    assert.are.equal(1, entries[2].attempts_seen)
    assert.are.equal(3, calls)
    assert.are.equal(3, #events)
    local failures = 0
    for _, e in ipairs(events) do
      if e.error_code then failures = failures + 1 end
    end
    assert.are.equal(1, failures)
  end)

  it("shares the client's connection pool with single calls", function()
    local entries = client:get_connector_logs(1, "echo", { "p1", "p2", "p3", "p4", "p5", "p6" },
      { concurrency = 2 })
    local used = {}
    for i = 1, 6 do used[entries[i].connection] = true end
    local n = 0
    for _ in pairs(used) do n = n + 1 end
    assert.is_true(n <= 2, n .. " connections for 2 slots")
    local single = client:get_connector_log(1, "echo", "after")
    assert.is_true(used[single.connection] ~= nil, "the single call opened a new connection")
  end)

  it("raises INVALID_ARGUMENT on a closed client", function()
    client:close()
    assert.are.equal("INVALID_ARGUMENT", support.catch(batch, "T3S70", { "1" }).code)
  end)
end)
