-- follow_connector_logs against a log that grows while it is followed: the
-- stand-in's live-<nonce> connector holds L1..Ln (three per second) and
-- .../logs/add-<k> appends k. Entries are added between two steps of the
-- loop; the iterator's own polling interval is the only wait.
local supermetrics = require "supermetrics"
local safe = require "supermetrics.safe"
local logtime = require "supermetrics.logtime"
local support = require "tests.spec.support"

local function add(client, nonce, k)
  return client:get_connector_log(1, "live-" .. nonce, "add-" .. k).count
end

-- The next n ids the iterator yields.
local function take(it, n)
  local out = {}
  for i = 1, n do
    out[i] = it().id
  end
  return out
end

local function ids(from, to)
  local out = {}
  for i = from, to do out[#out + 1] = "L" .. i end
  return out
end

describe("follow_connector_logs #abi", function()
  local client, polls
  before_each(function()
    polls = 0
    client = support.client { on_response = function(e)
      if e.path:find("/logs?", 1, true) or e.path:find("/logs$") then polls = polls + 1 end
    end }
  end)
  after_each(function() client:close() end)

  it("yields the entries newer than since, oldest first, then each new one once", function()
    local nonce = support.nonce()
    add(client, nonce, 10) -- L1..L10: 00:00:00 (L1-L3), :01 (L4-L6), :02 (L7-L9), :03 (L10)
    local it = client:follow_connector_logs(1, "live-" .. nonce,
      { since = "2025-06-01T00:00:01Z", interval = 0.01 })
    assert.are.same(ids(7, 10), take(it, 4))
    add(client, nonce, 5)
    assert.are.same(ids(11, 15), take(it, 5))
    add(client, nonce, 1)
    assert.are.same({ "L16" }, take(it, 1))
  end)

  it("starts from now without since", function()
    local nonce = support.nonce()
    add(client, nonce, 8)
    -- The first poll learns where "now" is; an entry added right after it
    -- (from the on_response hook) is the first one yielded.
    local added = false
    local c = support.client { on_response = function(e)
      if not added and e.path:find("/logs?", 1, true) then
        added = true
        add(client, nonce, 1)
      end
    end }
    local it = c:follow_connector_logs(1, "live-" .. nonce, { interval = 0.01 })
    assert.are.equal("L9", it().id)
    add(client, nonce, 1)
    assert.are.equal("L10", it().id)
    c:close()
  end)

  it("starts with the newest `last` entries, and never yields again those sharing the oldest one's time", function()
    local nonce = support.nonce()
    add(client, nonce, 8) -- L4-L6 stamped :01, L7-L8 :02
    -- last = 4: L5..L8 first; L4 (stamped as L5) was left out and stays out.
    local it = client:follow_connector_logs(1, "live-" .. nonce, { last = 4, interval = 0.01 })
    assert.are.same(ids(5, 8), take(it, 4))
    add(client, nonce, 2) -- L9 shares :02 with L7, L8
    assert.are.same(ids(9, 10), take(it, 2))
    -- last = 1 while every other entry shares the newest one's time.
    local other = support.nonce()
    add(client, other, 3) -- L1-L3 all stamped :00
    it = client:follow_connector_logs(1, "live-" .. other, { last = 1, interval = 0.01 })
    assert.are.same({ "L3" }, take(it, 1))
    add(client, other, 1)
    assert.are.same({ "L4" }, take(it, 1))
  end)

  it("gets every one of 2,000 entries added between two polls, once, in order", function()
    local nonce = support.nonce()
    add(client, nonce, 5)
    local it = client:follow_connector_logs(1, "live-" .. nonce, { since = "2020-01-01", interval = 0.01 })
    assert.are.same(ids(1, 5), take(it, 5))
    add(client, nonce, 2000)
    polls = 0
    assert.are.same(ids(6, 2005), take(it, 2000))
    -- More than one page can hold (1000): caught up in windows of time, a
    -- few requests each holding at most one page.
    assert.is_true(polls >= 3 and polls <= 10, "caught up with " .. polls .. " requests")
    add(client, nonce, 2)
    assert.are.same(ids(2006, 2007), take(it, 2))
  end)

  -- Catching up from since reads forward in windows of time of one page
  -- each: every entry newer than since exactly once, oldest first, with
  -- runs of one log_time straddling the windows (999: a run that alone
  -- nearly fills a page), at every precision, before inclusive or not.
  for _, precision in ipairs { "date", "min", "sec", "adjsec", "ms" } do
    for _, mode in ipairs { "incl", "excl" } do
      -- two precisions in the quick loop, the rest left to make test
      local slow = (precision == "date" or precision == "ms") and "" or " #slow"
      it("catches up through 2,500 entries in runs of 3 and of 999 stamped to the " .. precision .. ", before "
        .. mode .. "usive" .. slow, function()
        for _, group in ipairs { 3, 999 } do
          local connector = "paged-2500-" .. group .. "-" .. precision .. "-" .. mode
          local all = {}
          for entry in client:each_connector_log(1, connector, { page_size = 1000 }) do all[#all + 1] = entry end
          assert.are.equal(2500, #all)
          -- since: before everything, then the log_time of the 1,700th newest
          for _, since in ipairs { "2020-01-01T00:00:00Z", all[1700].log_time } do
            local bound = logtime.parse(since)
            local want = {}
            for i = #all, 1, -1 do
              if logtime.parse(all[i].log_time).key > bound.key then
                want[#want + 1] = all[i].id
              end
            end
            local it = client:follow_connector_logs(1, connector, { since = since, interval = 0.01 })
            assert.are.same(want, take(it, #want), connector .. " since " .. since)
          end
        end
      end)
    end
  end

  it("keeps following through a transient failure and raises a lasting one", function()
    local failures = 0
    local c = support.client { max_retries = 0, on_response = function(e)
      if e.error_code then failures = failures + 1 end
    end }
    local it = c:follow_connector_logs(1, "flaky-" .. support.nonce() .. "-3", { since = "2020-01-01",
      interval = 0.01 })
    assert.are.equal("e10", it().id) -- oldest first
    assert.are.equal(3, failures)
    c:close()
    local failing = supermetrics.new { api_key = support.KEY, base_url = support.HTTP, max_retries = 0 }
    local lasting = failing:follow_connector_logs(1, "status-404", { since = "2020-01-01", interval = 0.01 })
    local err = support.catch(lasting)
    assert.are.equal("NOT_FOUND", err.code)
    local s = assert(safe.new { api_key = support.KEY, base_url = support.HTTP })
    local got = {}
    for entry, e in s:follow_connector_logs(1, "status-404", { since = "2020-01-01", interval = 0.01 }) do
      got[#got + 1] = { entry, e and e.code }
    end
    assert.are.same({ { false, "NOT_FOUND" } }, got)
    failing:close()
    s:close()
  end)

  -- Polls of a follow over listing (live-<nonce>-<mode>) until one new
  -- entry is added, one second after the start: the poll times, from 0.
  -- clock: a fake one (support.fake_clock) or nil (real time).
  local function poll_times(nonce, mode, clock)
    local now = clock and clock.monotonic or support.now
    local times, started, added = {}, now(), false
    local opts = { max_retries = 0, on_response = function(e)
      if e.path:find("/logs?", 1, true) then
        times[#times + 1] = now() - started
        if not added and times[#times] >= 1 then
          added = true
          add(client, nonce, 1)
        end
      end
    end }
    local c = clock and support.fake_client(opts, nil, clock) or support.client(opts)
    local it = c:follow_connector_logs(1, "live-" .. nonce .. "-" .. mode, { since = "2020-01-01", interval = 0.02 })
    assert.are.equal("L1", it().id)
    assert.are.equal("L2", it().id)
    c:close()
    return times
  end

  for _, fake in ipairs { true, false } do
    it("slows down while the rate limit runs low, and waits as long as Retry-After says"
      .. (fake and " (on a fake clock)" or ", in real time #slow"), function()
      local nonce = support.nonce()
      add(client, nonce, 1)
      local t0 = support.now()
      -- 1 request of 100 left on every answer: the wait doubles from 0.02 s,
      -- so about six polls in the first second instead of fifty.
      local low = poll_times(nonce, "low", fake and support.fake_clock())
      local in_first_second = 0
      for _, t in ipairs(low) do
        if t < 1 then in_first_second = in_first_second + 1 end
      end
      assert.is_true(in_first_second <= 8, in_first_second .. " polls in one second")
      -- Every other poll is a 429 with Retry-After: 1: the poll after it
      -- comes a second later, not after the 0.02 s interval.
      local busy_nonce = support.nonce()
      add(client, busy_nonce, 1)
      local busy = poll_times(busy_nonce, "busy", fake and support.fake_clock())
      assert.is_true(#busy >= 2)
      assert.is_true(busy[2] - busy[1] >= 0.95, "the poll after a 429 came after " .. (busy[2] - busy[1]) .. " s")
      if fake then
        local took = support.now() - t0
        assert.is_true(took < 1.5, "took " .. took .. " s of real time")
      end
    end)
  end

  it("refuses bad options before any traffic", function()
    for _, opts in ipairs { { interval = 0 }, { interval = "1" }, { since = "yesterday" }, { since = 5 },
      { every = 1 }, { last = -1 }, { last = 1.5 }, { last = 10001 },
      { last = 2, since = "2025-06-01" } } do
      local err = support.catch(client.follow_connector_logs, client, 1, "live-x", opts)
      assert.are.equal("INVALID_ARGUMENT", err.code)
    end
  end)
end)
