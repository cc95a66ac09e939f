-- Retries: which failures are tried again, how long the client waits, and
-- the one deadline that covers the whole call. The stand-in's "retry" route
-- fails the first n requests for a log id, then answers 200 with
-- attempts_seen = how many requests it got for that id.
local retry = require "supermetrics.retry"
local support = require "tests.spec.support"

local function scenario(failures, status, retry_after)
  local id = table.concat({ support.nonce(), failures, status }, "-")
  if retry_after then
    id = id .. "-" .. retry_after
  end
  return id
end

local function timed(f, ...)
  local t0 = support.now()
  local ok, res = pcall(f, ...)
  return ok, res, support.now() - t0
end

describe("retries #abi", function()
  for _, status in ipairs { 429, 500, 502, 503, 504 } do
    it("retries HTTP " .. status .. " and succeeds", function()
      local c = support.client { max_retries = 2 }
      local entry = c:get_connector_log(1, "retry", scenario(2, status))
      c:close()
      assert.are.equal(3, entry.attempts_seen)
    end)
  end

  it("retries a connection closed without a response (CONNECTION_ERROR)", function()
    local c = support.client { max_retries = 1 }
    assert.are.equal(2, c:get_connector_log(1, "retry", scenario(1, 0)).attempts_seen)
    c:close()
  end)

  it("makes max_retries + 1 attempts at most, then raises the last error", function()
    local c = support.client { max_retries = 2 }
    local err = support.fetch_error(c, "retry", scenario(5, 503))
    c:close()
    assert.are.equal("SERVICE_UNAVAILABLE", err.code)
    assert.are.equal(3, err.attempts)
  end)

  it("does not retry with max_retries = 0", function()
    local c = support.client { max_retries = 0 }
    local err = support.fetch_error(c, "retry", scenario(1, 500))
    c:close()
    assert.are.equal(1, err.attempts)
  end)

  for _, status in ipairs { 400, 401, 403, 404, 409, 422 } do
    it("never retries HTTP " .. status, function()
      local c = support.client { max_retries = 3 }
      local err = support.fetch_error(c, "retry", scenario(1, status))
      c:close()
      assert.are.equal(status, err.status)
      assert.are.equal(1, err.attempts)
    end)
  end

  it("never retries TIMEOUT: the deadline covers the whole call", function()
    local c = support.client { max_retries = 3, timeout = 0.2 }
    local ok, err, took = timed(c.get_connector_log, c, 1, "slow", "2000")
    c:close()
    assert.is_false(ok)
    assert.are.equal("TIMEOUT", err.code)
    assert.are.equal(1, err.attempts)
    assert.is_true(took < 1, "took " .. took)
  end)

  it("never retries RESPONSE_TOO_LARGE, even on a 5xx", function()
    local c = support.client { max_retries = 3, max_response_bytes = 10 }
    local err = support.fetch_error(c, "retry", scenario(3, 503))
    c:close()
    assert.are.equal("RESPONSE_TOO_LARGE", err.code)
    assert.are.equal(1, err.attempts)
  end)

  it("waits Retry-After seconds before the retry (on a fake clock)", function()
    local c, clock = support.fake_client { max_retries = 1, max_retry_wait = 5 }
    local ok, entry, took = timed(c.get_connector_log, c, 1, "retry", scenario(1, 429, "1"))
    c:close()
    assert.is_true(ok, tostring(entry))
    assert.are.equal(2, entry.attempts_seen)
    assert.are.same({ 1 }, clock.sleeps)
    assert.is_true(took < 0.9, "took " .. took .. " s of real time")
  end)

  it("waits Retry-After seconds before the retry, in real time #slow", function()
    local c = support.client { max_retries = 1, max_retry_wait = 5 }
    local ok, entry, took = timed(c.get_connector_log, c, 1, "retry", scenario(1, 429, "1"))
    c:close()
    assert.is_true(ok, tostring(entry))
    assert.are.equal(2, entry.attempts_seen)
    assert.is_true(took >= 0.99 and took < 2.5, "took " .. took)
  end)

  it("understands Retry-After as an HTTP-date (on a fake clock)", function()
    local c, clock = support.fake_client { max_retries = 1, max_retry_wait = 5 }
    local ok, entry, took = timed(c.get_connector_log, c, 1, "retry", scenario(1, 503, "date2"))
    c:close()
    assert.is_true(ok, tostring(entry))
    -- A date has one-second resolution: 2 s ahead is 1..2 s from now.
    assert.are.equal(1, #clock.sleeps)
    assert.is_true(clock.sleeps[1] >= 0.9 and clock.sleeps[1] <= 2, "waited " .. clock.sleeps[1])
    assert.is_true(took < 0.9, "took " .. took .. " s of real time")
  end)

  it("understands Retry-After as an HTTP-date, in real time #slow", function()
    local c = support.client { max_retries = 1, max_retry_wait = 5 }
    local ok, entry, took = timed(c.get_connector_log, c, 1, "retry", scenario(1, 503, "date2"))
    c:close()
    assert.is_true(ok, tostring(entry))
    -- A date has one-second resolution: 2 s ahead is 1..2 s from now. The
    -- upper bound leaves a loaded machine (sanitizer runs) a second of slack
    -- and still fails a wait of max_retry_wait (5 s).
    assert.is_true(took >= 0.9 and took < 4, "took " .. took)
  end)

  it("treats a Retry-After date in the past as no wait", function()
    local c = support.client { max_retries = 1, max_retry_wait = 5 }
    local ok, entry, took = timed(c.get_connector_log, c, 1, "retry", scenario(1, 503, "dateNEG"))
    c:close()
    assert.is_true(ok, tostring(entry))
    assert.is_true(took < 0.5, "took " .. took)
  end)

  it("stops at once when Retry-After exceeds max_retry_wait, retry_after set", function()
    -- A key of its own: the 429 closes its window for 30 s (the rate budget).
    local c = support.client { max_retries = 3, max_retry_wait = 2, api_key = "otok_valid_" .. support.nonce() }
    local ok, err, took = timed(c.get_connector_log, c, 1, "retry", scenario(1, 429, "30"))
    c:close()
    assert.is_false(ok)
    assert.are.equal("TOO_MANY_REQUESTS", err.code)
    assert.are.equal(30, err.retry_after)
    assert.are.equal(1, err.attempts)
    assert.is_true(took < 0.5, "took " .. took)
  end)

  it("stops at once when the wait would pass the deadline", function()
    local c = support.client { max_retries = 3, max_retry_wait = 20, timeout = 1 }
    local ok, err, took = timed(c.get_connector_log, c, 1, "retry", scenario(1, 503, "5"))
    c:close()
    assert.is_false(ok)
    assert.are.equal("SERVICE_UNAVAILABLE", err.code)
    assert.are.equal(5, err.retry_after)
    assert.are.equal(1, err.attempts)
    assert.is_true(took < 0.5, "took " .. took)
  end)

  it("counts the waits towards the deadline (on a fake clock)", function()
    -- Retry-After: 1 each time, a 2.5 s deadline: two waits fit, a third
    -- would pass it.
    local c, clock = support.fake_client { max_retries = 5, max_retry_wait = 5, timeout = 2.5 }
    local ok, err, took = timed(c.get_connector_log, c, 1, "retry", scenario(5, 503, "1"))
    c:close()
    assert.is_false(ok)
    assert.are.equal("SERVICE_UNAVAILABLE", err.code)
    assert.are.equal(3, err.attempts)
    assert.are.same({ 1, 1 }, clock.sleeps)
    assert.is_true(took < 0.9, "took " .. took .. " s of real time")
  end)

  it("gives a retry only the time left of the deadline", function()
    -- First attempt: 503 after no delay; second: would take 3 s, the deadline
    -- is 0.5 s after the start.
    local c = support.client { max_retries = 1, timeout = 0.5, max_retry_wait = 0 }
    local id = scenario(1, 503)
    local ok, err, took = timed(c.get_connector_log, c, 1, "retry", id .. "-slow3000")
    c:close()
    assert.is_false(ok)
    assert.are.equal("TIMEOUT", err.code)
    assert.are.equal(2, err.attempts)
    assert.is_true(took >= 0.45 and took < 1.5, "took " .. took)
  end)
end)

describe("token_provider #abi", function()
  it("is called before every attempt", function()
    local calls = 0
    local c = support.client { api_key = false, max_retries = 2, token_provider = function()
      calls = calls + 1
      return "otok_valid_" .. calls
    end }
    local entry = c:get_connector_log(1, "retry", scenario(2, 503))
    assert.are.equal(3, entry.attempts_seen)
    assert.are.equal(3, calls)
    c:get_connector_log(1, "T3S70", "1")
    assert.are.equal(4, calls)
    c:close()
  end)

  it("a provider that raises gives INVALID_ARGUMENT with the cause", function()
    local c = support.client { api_key = false, token_provider = function() error("vault down") end }
    local err = support.fetch_error(c, "T3S70", "1")
    c:close()
    assert.are.equal("INVALID_ARGUMENT", err.code)
    assert.are.equal(0, err.attempts)
    assert.truthy(tostring(err.cause):find("vault down", 1, true))
  end)

  for _, bad in ipairs { 42, "", "otok_\1bad" } do
    it("a provider returning " .. string.format("%q", tostring(bad)) .. " gives INVALID_ARGUMENT", function()
      local c = support.client { api_key = false, token_provider = function() return bad end }
      local err = support.fetch_error(c, "T3S70", "1")
      c:close()
      assert.are.equal("INVALID_ARGUMENT", err.code)
      assert.are.equal(0, err.attempts)
      assert.truthy(err.message:find("token_provider", 1, true))
    end)
  end
end)

describe("retry.delay #abi", function()
  local function fixed(v) return function() return v end end

  it("uses full jitter in [0, min(max_wait, 0.5 * 2^(n-1))]", function()
    local err = { code = "SERVICE_UNAVAILABLE", status = 503 }
    assert.are.equal(0.5, retry.delay(err, 1, 20, fixed(1)))
    assert.are.equal(1, retry.delay(err, 2, 20, fixed(1)))
    assert.are.equal(2, retry.delay(err, 3, 20, fixed(1)))
    assert.are.equal(20, retry.delay(err, 10, 20, fixed(1)))
    assert.are.equal(0, retry.delay(err, 3, 20, fixed(0)))
    assert.are.equal(1, retry.delay(err, 3, 20, fixed(0.5)))
  end)

  it("takes Retry-After as is, or nil when it exceeds max_wait", function()
    assert.are.equal(7, retry.delay({ retry_after = 7 }, 1, 20, fixed(1)))
    assert.is_nil(retry.delay({ retry_after = 21 }, 1, 20, fixed(1)))
    assert.are.equal(0, retry.delay({ retry_after = 0 }, 3, 20, fixed(1)))
  end)
end)

describe("a client closed between attempts #abi", function()
  it("by the on_response hook: the call raises INVALID_ARGUMENT, the client is closed", function()
    local c
    c = support.client { max_retries = 2, on_response = function() c:close() end }
    local err = support.fetch_error(c, "retry", scenario(2, 503))
    assert.are.equal("INVALID_ARGUMENT", err.code)
    assert.truthy(err.message:find("the client is closed", 1, true), err.message)
  end)

  it("by the token_provider: the same", function()
    local c, calls = nil, 0
    c = support.client { max_retries = 2, api_key = false, token_provider = function()
      calls = calls + 1
      if calls == 2 then c:close() end
      return "otok_valid_" .. calls
    end }
    local err = support.fetch_error(c, "retry", scenario(2, 503))
    assert.are.equal("INVALID_ARGUMENT", err.code)
    assert.truthy(err.message:find("the client is closed", 1, true), err.message)
  end)
end)
