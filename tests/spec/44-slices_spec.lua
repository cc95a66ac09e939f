-- Parallel slices (issue 32's last part): each_connector_log's `slices` and
-- list --all --parallel split since..through into slices of time fetched at
-- the same time, yielded newest first, so the output is the one of a single
-- loop, byte for byte: under both kinds of `before`, with 25 entries on every
-- log_time (so on every slice edge, which fall on whole seconds); a slice
-- with no entries costs one request; after a failure, --resume finishes with
-- every entry once. The stand-in's export-<n>-<g>[-...] connector
-- (tests/server/exports.lua): l<ms> answers each list request after ms
-- milliseconds, f<at>x<count> fails requests at..at+count-1 of key k<key>.
local support = require "tests.spec.support"
local cli = require "tests.spec.cli_support"

local BASE = 1748736000 -- 2025-06-01T00:00:00Z, the stand-in's newest run

local function at(r)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", BASE - r)
end

local function list_requests()
  return support.stats().list_requests
end

local function temp_dir()
  local dir = os.tmpname()
  os.remove(dir)
  assert(support.run("mkdir " .. dir) == 0)
  support.defer(function() support.run("rm -rf " .. dir) end)
  return dir
end

-- Each line of an output once, and how many.
local function line_set(text)
  local set, n = {}, 0
  for line in text:gmatch("[^\n]+") do
    assert.is_nil(set[line], "a line twice: " .. line)
    set[line], n = true, n + 1
  end
  return set, n
end

describe("each_connector_log with slices #abi", function()
  local client
  before_each(function() client = support.client { max_retries = 0 } end)
  after_each(function() client:close() end)

  it("a slice with no entries costs one request; every entry once, newest first", function()
    for _, mode in ipairs { "incl", "excl" } do
      local before = list_requests()
      local got = {}
      -- 100 entries in the newest of 4 slices of 400 s: the 3 older are empty
      for entry in client:each_connector_log(1, "export-100-1-" .. mode, { page_size = 1000, since = at(399),
        through = at(0), slices = 4 }) do
        got[#got + 1] = entry.id
      end
      assert.are.equal(4, list_requests() - before, mode)
      local want = {}
      for i = 1, 100 do want[i] = "x" .. i end
      assert.are.same(want, got, mode)
    end
  end)

  it("ties on slice edges: the same entries as one loop, in the same order, under small pages", function()
    for _, mode in ipairs { "incl", "excl" } do
      for _, k in ipairs { 2, 3, 7 } do
        local log = "export-600-25-" .. mode -- 24 s of runs of 25
        local function ids(opts)
          local got = {}
          for entry in client:each_connector_log(1, log, opts) do got[#got + 1] = entry.id end
          return got
        end
        local one = ids { page_size = 10, since = at(20), through = at(1) }
        assert.are.equal(20 * 25, #one)
        assert.are.same(one, ids { page_size = 10, since = at(20), through = at(1), slices = k }, mode .. " " .. k)
      end
    end
  end)

  it("older slices hold at most slices.AHEAD entries ahead (and a page), and the output stays the same", function()
    local slices = require "supermetrics.slices"
    local cap = slices.AHEAD
    slices.AHEAD = 10
    local done, err = pcall(function()
      local log = "export-600-25-excl" -- 24 s of runs of 25
      local one = {}
      for entry in client:each_connector_log(1, log, { page_size = 10, since = at(20), through = at(1) }) do
        one[#one + 1] = entry.id
      end
      local got, at_100 = {}, nil
      local before = list_requests()
      for entry in client:each_connector_log(1, log, { page_size = 10, since = at(20), through = at(1), slices = 4 }) do
        got[#got + 1] = entry.id
        if #got == 100 then
          at_100 = list_requests() - before
        end
      end
      assert.are.same(one, got)
      -- 100 entries into the newest slice (about 5 s of runs of 25): its own
      -- 10 or 11 pages, and the three older slices a page or two each
      -- before the cap held them (18 seen; without the cap they keep pace:
      -- 44 requests by then).
      assert.is_true(at_100 <= 24, "requests after 100 entries: " .. tostring(at_100))
    end)
    slices.AHEAD = cap
    assert(done, err)
  end)

  it("refuses slices without since, or with before", function()
    local cases = { { slices = 2 }, { slices = 2, since = at(9), before = at(1) }, { slices = 0, since = at(9) },
      { slices = 65, since = at(9) } }
    for _, case in ipairs(cases) do
      local err = support.catch(function() client:each_connector_log(1, "export-10-1", case) end)
      assert.are.equal("INVALID_ARGUMENT", err.code, support.describe(case))
      assert.are.equal("slices", err.argument, support.describe(case))
    end
    local n = 0
    for _ in client:each_connector_log(1, "export-10-1", { slices = 64, since = at(9) }) do n = n + 1 end
    assert.are.equal(10, n)
  end)
end)

describe("supermetrics-logs list --all --parallel", function()
  after_each(support.cleanup)

  -- The issue's "done when": 20,000 entries since the bound, 25 a log_time.
  local function args(fmt, file, parallel)
    return "--all --limit 250 --since " .. at(799) .. " --until " .. at(0) .. " --format " .. fmt
      .. " --output " .. file .. " --retries 0" .. (parallel and " --parallel " .. parallel or "")
  end

  -- The most requests of a run (its key) the stand-in held at once.
  local function max_in_flight(key)
    local c = support.client()
    local s = c:get_connector_log(1, "stats", "maxflight-" .. key)
    c:close()
    return s.max
  end

  it("--parallel 8 writes what --parallel 1 does with 8 requests at once, pages + 8 requests #slow",
    function()
      local dir = temp_dir()
      for _, mode in ipairs { "incl", "excl" } do
        local spent, requests, flying = {}, {}, {}
        for _, k in ipairs { 1, 8 } do
          local key = support.nonce() .. "p" .. k
          local log = "export-20000-25-" .. mode .. "-l100-k" .. key
          local before, started = list_requests(), support.now()
          local code, _, err = cli.run("list 1 " .. log .. " " .. args("ndjson", dir .. "/" .. k, k))
          spent[k], requests[k] = support.now() - started, list_requests() - before
          assert.are.equal(0, code, err)
          flying[k] = max_in_flight(key)
        end
        print(string.format("\n  slices %s: --parallel 8 %.2f s, --parallel 1 %.2f s (%d and %d requests at once)",
          mode, spent[8], spent[1], flying[8], flying[1]))
        local one = cli.read(dir .. "/1")
        local _, n = line_set(one)
        assert.are.equal(20000, n)
        assert.are.equal(one, cli.read(dir .. "/8"), mode) -- newest first: the same bytes
        assert.is_true(requests[8] <= requests[1] + 8, mode .. ": " .. requests[8] .. " requests, " .. requests[1]
          .. " pages")
        -- The slices' requests overlap: the stand-in held 8 at once (a
        -- shared-dict maximum, which a race between its workers can
        -- under-count by one or two), one at a time for --parallel 1. Not
        -- judged by wall time: on a loaded machine (the other lane's ASan
        -- pass) writing 20,000 entries, not the link, takes most of it
        -- (3.1 s against 10.1 s seen; a quarter in a quiet run). Lua 5.1
        -- cannot yield across pcall: its slices run one after another
        -- (docs/api.md).
        assert.are.equal(1, flying[1], mode)
        if _VERSION ~= "Lua 5.1" or type(jit) == "table" then
          assert.is_true(flying[8] >= 6, mode .. ": at most " .. flying[8] .. " requests at once")
        end
      end
    end)

  for _, case in ipairs { { "ndjson", "incl" }, { "csv", "excl" } } do
    local fmt, mode = case[1], case[2]
    it(fmt .. ", " .. mode .. ": a failed export goes on with --resume, each entry once", function()
      local dir = temp_dir()
      local file = dir .. "/out." .. fmt
      -- requests 10..17 fail: the server is down while slices are half way
      local log = "export-20000-25-" .. mode .. "-k" .. support.nonce() .. "-f10x8"
      local code, _, err = cli.run("list 1 " .. log .. " " .. args(fmt, file, 8))
      assert.are.equal(69, code, err)
      local tries = 0
      repeat
        tries = tries + 1
        code, _, err = cli.run("list 1 " .. log .. " " .. args(fmt, file, 8) .. " --resume")
      until code ~= 69 or tries == 8
      assert.are.equal(0, code, err)
      local _, direct = cli.run("list 1 export-20000-25-" .. mode .. " --all --limit 250 --since " .. at(799)
        .. " --until " .. at(0) .. " --format " .. fmt)
      assert.are.equal(direct, cli.read(file))
      line_set(direct)
    end)
  end

  it("--parallel goes with list --all --since, 1..64", function()
    for _, bad in ipairs { "list 1 x --parallel 2", "list 1 x --all --parallel 2", "list 1 x --all --since "
        .. at(9) .. " --parallel 0", "list 1 x --all --since " .. at(9) .. " --parallel 65" } do
      local code, _, err = cli.run(bad)
      assert.are.equal(64, code, bad)
      assert.truthy(err:find("--parallel", 1, true), err)
    end
    local code, out, err = cli.run("list 1 export-10-1 --all --since " .. at(9) .. " --parallel 3 --format ndjson")
    assert.are.equal(0, code, err)
    assert.are.equal(10, #cli.lines(out))
  end)
end)
