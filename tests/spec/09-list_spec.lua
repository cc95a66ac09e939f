-- Listing and paging log entries: list_connector_logs (one page) and
-- each_connector_log (every page). The stand-in's "paged-<n>-<group>[-...]"
-- connector holds n entries e1..en, newest first, each run of <group>
-- entries sharing one log_time; options pick the precision of log_time and
-- whether `before` is inclusive, exclusive or ignored (tests/server/README.md).
local support = require "tests.spec.support"

local has_integers = math.type ~= nil

local function ids(entries)
  local out = {}
  for i, e in ipairs(entries) do out[i] = e.id end
  return out
end

local function range(from, to)
  local out = {}
  for i = from, to do out[#out + 1] = "e" .. i end
  return out
end

local function collect(it)
  local out = {}
  for entry in it do out[#out + 1] = entry.id end
  return out
end

describe("list_connector_logs #abi", function()
  local client
  before_each(function() client = support.client { max_retries = 0 } end)
  after_each(function() client:close() end)

  it("returns one page as a plain array of entries shaped like a single fetch", function()
    local entries = client:list_connector_logs(support.TEAM, "paged-10-1", { limit = 4 })
    assert.are.same(range(1, 4), ids(entries))
    assert.is_nil(getmetatable(entries))
    assert.are.equal(200, entries[1].status)
    if has_integers then
      assert.are.equal("integer", math.type(entries[1].duration_ms))
    end
  end)

  it("uses the server's default limit when none is given", function()
    assert.are.equal(100, #client:list_connector_logs(support.TEAM, "paged-150-1"))
  end)

  it("sends limit and a percent-encoded before, converted to UTC", function()
    local entry = client:list_connector_logs(1, "echo", { limit = 7, before = "2025-06-01T00:00:00+02:00" })[1]
    assert.are.equal("/v1/teams/1/connector_builder/connectors/echo/logs"
      .. "?limit=7&before=2025-05-31T22%3A00%3A00Z", entry.uri)
    assert.are.equal("7", entry.limit)
    assert.are.equal("2025-05-31T22:00:00Z", entry.before)
  end)

  -- The API's document types before `format: date-time` (RFC 3339): a
  -- bare date or a time without seconds is refused (422).
  for _, case in ipairs {
    { "2025-01-01", "2025-01-01T00:00:00Z" },
    { "2025-01-01T10:01Z", "2025-01-01T10:01:00Z" },
    { "2025-01-01T10:01", "2025-01-01T10:01:00Z" },
    { "2025-01-01 10:01:02", "2025-01-01T10:01:02Z" },
    { "2025-01-01T10:01:02.5+01:30", "2025-01-01T08:31:02.5Z" },
    { "2025-01-01T00:30-0100", "2025-01-01T01:30:00Z" },
    { "2025-01-01T10:01:02.123456789z", "2025-01-01T10:01:02.123456789Z" },
    { "2024-12-31T23:59:60Z", "2025-01-01T00:00:00Z" },
  } do
    it("sends before = " .. case[1] .. " as the date-time " .. case[2], function()
      local entry = client:list_connector_logs(1, "echo", { before = case[1] })[1]
      assert.are.equal(case[2], entry.before)
      assert.are.equal(case[2], client:each_connector_log(1, "echo", { before = case[1], page_size = 5 })().before)
    end)
  end

  it("returns an empty array when nothing is older than before", function()
    assert.are.same({}, client:list_connector_logs(1, "paged-10-1", { before = "2020-01-01T00:00:00Z" }))
  end)

  for _, case in ipairs {
    { { limit = 0 }, "limit" }, { { limit = 1001 }, "limit" }, { { limit = 1.5 }, "limit" },
    { { limit = "10" }, "limit" }, { { before = "yesterday" }, "before" }, { { before = 5 }, "before" },
    { { before = "2025-06-01T00:00:00Z\n" }, "before" }, { { page_size = 10 }, "unknown option" },
    { { before = "2025-02-30" }, "before" }, { { before = "2025-06-01T24:00:00Z" }, "before" },
    { { before = "2025-06-01T10" }, "before" }, { { before = "2025-06-01T10:00:00+2" }, "before" },
    { { before = "0000-01-01T00:00:00+01:00" }, "before" }, { { before = "" }, "before" },
    { "limit=10", "options" },
  } do
    it("refuses " .. support.describe(case[1]) .. " before any traffic", function()
      local err = support.catch(client.list_connector_logs, client, 1, "paged-10-1", case[1])
      assert.are.equal("INVALID_ARGUMENT", err.code)
      assert.are.equal(0, err.attempts)
      assert.truthy(err.message:find(case[2], 1, true), err.message)
    end)
  end

  it("checks team_id and connector_identifier like a single fetch", function()
    assert.are.equal("INVALID_ARGUMENT", support.catch(client.list_connector_logs, client, 0, "x").code)
    assert.are.equal("INVALID_ARGUMENT", support.catch(client.list_connector_logs, client, 1, "a b").code)
  end)

  for _, bad in ipairs { "listbad-nolist", "listbad-noarray", "listbad-nullitem", "listbad-notobject" } do
    it("gives INVALID_RESPONSE for a body that is not a list of entries (" .. bad .. ")", function()
      local err = support.catch(client.list_connector_logs, client, 1, bad)
      assert.are.equal("INVALID_RESPONSE", err.code)
    end)
  end

  it("raises API errors like a single fetch", function()
    local err = support.catch(client.list_connector_logs, client, 1, "status-404")
    assert.are.equal("NOT_FOUND", err.code)
    assert.are.equal(404, err.status)
    assert.are.equal("req_list_404", err.request_id)
  end)
end)

-- Every iterator spec runs against a server whose `before` is inclusive and
-- one whose `before` is exclusive (the stand-in's -incl / -excl switch).
for _, mode in ipairs { "incl", "excl" } do
describe("each_connector_log, before " .. mode .. "usive #abi", function()
  local function paged(spec) return "paged-" .. spec .. "-" .. mode end
  local client
  before_each(function() client = support.client { max_retries = 0 } end)
  after_each(function() client:close() end)

  it("walks every page, newest first", function()
    assert.are.same(range(1, 250), collect(client:each_connector_log(1, paged("250-1"), { page_size = 100 })))
  end)

  it("neither loses nor repeats entries that share a timestamp at a page edge", function()
    -- runs of 3 straddle every edge of 10-entry pages
    assert.are.same(range(1, 95), collect(client:each_connector_log(1, paged("95-3"), { page_size = 10 })))
  end)

  it("gets past more same-timestamp entries than fit in one page", function()
    assert.are.same(range(1, 60), collect(client:each_connector_log(1, paged("60-25"), { page_size = 10 })))
  end)

  it("starts from before when given, as the server reads it", function()
    -- e4..e6 share 23:59, e7..e9 23:58 (groups of 3, one minute apart)
    local got = collect(client:each_connector_log(1, paged("12-3"), { page_size = 2, before = "2025-05-31T23:59:00Z" }))
    assert.are.same(mode == "incl" and range(4, 12) or range(7, 12), got)
  end)

  it("ends at once on an empty list", function()
    assert.are.same({}, collect(client:each_connector_log(1, paged("5-1"), { before = "2020-01-01T00:00:00Z" })))
  end)

  it("fetches a page only when it is needed", function()
    local before = support.stats().list_requests
    local it = client:each_connector_log(1, paged("30-1"), { page_size = 10 })
    assert.are.equal(before, support.stats().list_requests)
    for _ = 1, 10 do it() end
    assert.are.equal(before + 1, support.stats().list_requests)
    it()
    assert.are.equal(before + 2, support.stats().list_requests)
  end)

  it("refuses bad options before any traffic", function()
    for _, opts in ipairs { { page_size = 0 }, { page_size = 1001 }, { before = "x" }, { limit = 5 } } do
      local err = support.catch(client.each_connector_log, client, 1, paged("10-1"), opts)
      assert.are.equal("INVALID_ARGUMENT", err.code)
    end
  end)

  it("stops with INVALID_RESPONSE before yielding anything twice when the server ignores before", function()
    for _, connector in ipairs { "ignorebefore-100", "paged-100-1-ignore", "paged-100-3-adjsec-ignore" } do
      local got, seen = {}, {}
      local err = support.catch(function()
        for entry in client:each_connector_log(1, connector, { page_size = 10 }) do
          assert.is_nil(seen[entry.id], "yielded twice: " .. entry.id)
          seen[entry.id] = true
          got[#got + 1] = entry.id
        end
      end)
      assert.are.equal("INVALID_RESPONSE", err.code)
      assert.are.same(range(1, 10), got)
    end
  end)

  -- Runs of entries sharing a log_time, on consecutive days / minutes / seconds /
  -- milliseconds, so that "just after the last log_time" hits the next
  -- run: every entry exactly once, at every page size.
  for _, precision in ipairs { "date", "min", "adjsec", "ms", "sec" } do
    for _, case in ipairs { { 600, 40, 100 }, { 2500, 3, 100 }, { 2500, 3, 7 }, { 95, 3, 10 }, { 60, 25, 10 },
        { 30, 1, 10 }, { 40, 40, 10 } } do
      local n, group, size = case[1], case[2], case[3]
      -- 358 small pages each: left to make test-all (make test and make check skip #slow)
      local slow = n / size > 100 and " #slow" or ""
      it(n .. " entries in runs of " .. group .. " stamped to the " .. precision .. ", pages of " .. size .. slow,
        function()
        local got = collect(client:each_connector_log(1, paged(n .. "-" .. group .. "-" .. precision),
          { page_size = size }))
        assert.are.equal(n, #got)
        assert.are.same(range(1, n), got)
      end)
    end
  end

  it("says so, never skips silently, when more than 1000 entries share a log_time", function()
    local got = 0
    local err = support.catch(function()
      for _ in client:each_connector_log(1, paged("1500-1200"), { page_size = 100 }) do got = got + 1 end
    end)
    assert.are.equal("INVALID_RESPONSE", err.code)
    assert.truthy(err.message:find("more than 1000 entries share the log_time", 1, true), err.message)
    assert.are.equal(1000, got)
  end)

  it("raises a page's error from the iterator", function()
    local it = client:each_connector_log(1, "status-503")
    local err = support.catch(it)
    assert.are.equal("SERVICE_UNAVAILABLE", err.code)
  end)
end)
end
