-- Exports a person can trust (issue 32): each_connector_log's exact bounds
-- (since, through), its resume value after a page failed for good (every
-- entry exactly once over the two loops, under both kinds of `before` and
-- with many entries on one log_time at the failure point), its on_page
-- progress; the command line's list --all on the same (--since, --until),
-- --output written atomically, --resume from a partial NDJSON or CSV file,
-- --progress in cron; and examples/export.lua, whose CSV is the command
-- line's byte for byte. The stand-in's export-<n>-<g>[-...] connector
-- (tests/server/exports.lua) fails chosen list requests (f<at>x<count>, a
-- server down for count requests) and finds a page by arithmetic.
local cjson = require "cjson"
local support = require "tests.spec.support"
local cli = require "tests.spec.cli_support"
local safe = require "supermetrics.safe"

local BASE = 1748736000 -- 2025-06-01T00:00:00Z, the stand-in's newest run

-- The log_time of run r of export-...-sec (runs 1 s apart, back from BASE).
local function at(r)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", BASE - r)
end

local function range(from, to)
  local out = {}
  for i = from, to do out[#out + 1] = "x" .. i end
  return out
end

-- What a loop yields: ids (requests for entries without id), and its error.
local function drain(it)
  local got = {}
  local ok, err = pcall(function()
    for entry in it do got[#got + 1] = entry.id or entry.request end
  end)
  return got, not ok and err or nil
end

local function concat(a, b)
  local out = {}
  for _, x in ipairs(a) do out[#out + 1] = x end
  for _, x in ipairs(b) do out[#out + 1] = x end
  return out
end

local function list_requests()
  return support.stats().list_requests
end

describe("each_connector_log: since, through, resume, on_page #abi", function()
  local client
  before_each(function() client = support.client { max_retries = 0 } end)
  after_each(function() client:close() end)

  for _, mode in ipairs { "incl", "excl" } do
    local log = "export-300-3-" .. mode -- runs of 3, 1 s apart

    it(mode .. ": since and through keep exactly to the entries stamped between them", function()
      for _, size in ipairs { 1, 2, 3, 7, 100 } do
        local got = drain(client:each_connector_log(1, log, { page_size = size, since = at(9), through = at(4) }))
        assert.are.same(range(13, 30), got, "page_size " .. size)
      end
      -- any ISO 8601 form of the same instants
      local got = drain(client:each_connector_log(1, log, { since = "2025-06-01T01:59:51+02:00",
        through = "2025-05-31T23:59:56.000Z" }))
      assert.are.same(range(13, 30), got)
    end)

    it(mode .. ": through shows the entries stamped exactly through, whatever the server's before", function()
      -- The old way, before = through, loses them on an exclusive server.
      local got = drain(client:each_connector_log(1, log, { page_size = 10, through = at(2) }))
      assert.are.same(range(7, 300), got)
      local date = drain(client:each_connector_log(1, "export-40-4-date-" .. mode, { page_size = 3,
        through = "2025-05-30" }))
      assert.are.same(range(9, 40), date)
    end)

    it(mode .. ": since ends paging at the first older entry, with no request more", function()
      local before = list_requests()
      local got = drain(client:each_connector_log(1, "export-1000-1-" .. mode, { page_size = 10, since = at(34) }))
      assert.are.same(range(1, 35), got)
      assert.are.equal(4, list_requests() - before) -- the 4th page held x36, older than since
    end)
  end

  it("refuses bad bounds and resume values before any traffic", function()
    local cases = {
      { { since = at(1), through = at(2) }, "since" },
      { { before = at(1), through = at(2) }, "through" },
      { { through = "yesterday" }, "through" }, { { since = 5 }, "since" },
      { { on_page = "print" }, "on_page" },
      { { resume = "not json" }, "resume" }, { { resume = 7 }, "resume" },
      { { resume = { version = 2 } }, "resume" },
      { { resume = { version = 1, before = "soon" } }, "resume" },
      { { resume = { version = 1, ids = { { {}, at(1) } } } }, "resume" },
      { { resume = { version = 1, ids = { { "x1", "then" } } } }, "resume" },
      { { resume = { version = 1, since = at(5) }, since = at(6) }, "resume" },
      { { resume = { version = 1 }, before = at(1) }, "resume" },
    }
    local before = list_requests()
    for _, case in ipairs(cases) do
      local err = support.catch(client.each_connector_log, client, 1, "export-10-1", case[1])
      assert.are.equal("INVALID_ARGUMENT", err.code, support.describe(case[1]))
      assert.are.equal(case[2], err.argument, support.describe(case[1]) .. ": " .. err.message)
      assert.are.equal(0, err.attempts)
    end
    assert.are.equal(before, list_requests())
  end)

  -- A page fails for good mid-export (the stand-in's f<at>x1, no retries);
  -- the error's resume value, as JSON text, starts a loop that yields the
  -- rest: together exactly the export that did not fail.
  for _, mode in ipairs { "incl", "excl" } do
    for _, precision in ipairs { "sec", "ms", "min", "date" } do
      for _, shape in ipairs { { 25, 10, 3 }, { 1, 7, 2 }, { 25, 10, 2, "idless" }, { 250, 100, 4 } } do
        local g, size, fail_at, idless = shape[1], shape[2], shape[3], shape[4]
        local log = "export-600-" .. g .. "-" .. precision .. "-" .. mode .. (idless and "-idless" or "")
        it(string.format("%s, %s: resumes after page %d failed, %d a log_time, pages of %d%s", mode, precision,
            fail_at, g, size, idless and ", no ids" or ""), function()
          local whole = drain(client:each_connector_log(1, log, { page_size = size }))
          assert.are.equal(600, #whole)
          local failing = log .. "-k" .. support.nonce() .. "-f" .. fail_at .. "x1"
          local first, err = drain(client:each_connector_log(1, failing, { page_size = size }))
          assert.are.equal("SERVICE_UNAVAILABLE", err and err.code)
          assert.are.equal(#first, err.resume.entries)
          assert.is_nil(getmetatable(err.resume))
          local text = require("supermetrics.format").json(err.resume)
          assert.is_nil(text:find(support.KEY, 1, true))
          local rest, err2 = drain(client:each_connector_log(1, failing, { page_size = size, resume = text }))
          assert.is_nil(err2)
          assert.are.same(whole, concat(first, rest))
        end)
      end
    end
  end

  it("resumes more than once, from the table as well, with since and through kept", function()
    -- the export's 3rd and 7th list requests fail
    local log = "export-400-25-excl-k" .. support.nonce() .. "-f3x1-f7x1"
    local opts = { page_size = 10, since = at(14), through = at(1) }
    local whole = drain(client:each_connector_log(1, "export-400-25-excl", opts))
    assert.are.same(range(26, 375), whole)
    local a, err = drain(client:each_connector_log(1, log, opts))
    assert.truthy(err and err.resume)
    assert.are.equal(at(14), err.resume.since)
    assert.are.equal(at(1), err.resume.through)
    -- the bounds come with the value; given again they must be the same instants
    local b, err2 = drain(client:each_connector_log(1, log, { page_size = 10, resume = err.resume,
      since = "2025-05-31T23:59:46Z" }))
    assert.are.equal("SERVICE_UNAVAILABLE", err2 and err2.code)
    local c, err3 = drain(client:each_connector_log(1, log, { page_size = 10, resume = err2.resume }))
    assert.is_nil(err3)
    assert.are.same(whole, concat(concat(a, b), c))
    assert.is_true(#a > 0 and #b > 0 and #c > 0)
  end)

  it("on_page: each page as it arrives, before its entries; entries, received, oldest, before", function()
    local events, yielded = {}, 0
    local it = client:each_connector_log(1, "export-250-1-excl", { page_size = 100, on_page = function(p)
      p.yielded_before = yielded
      events[#events + 1] = p
    end })
    for _ in it do yielded = yielded + 1 end
    assert.are.equal(3, #events)
    -- (an exclusive server shows the edge's entry again: 99 new on page 2)
    assert.are.same({ page = 1, entries = 100, received = 100, oldest = at(99), yielded_before = 0 }, events[1])
    assert.are.same({ page = 2, entries = 199, received = 100, oldest = at(198), before = at(98),
      yielded_before = 100 }, events[2])
    assert.are.same({ page = 3, entries = 250, received = 52, oldest = at(249), before = at(197),
      yielded_before = 199 }, events[3])
    -- what it raises ends the loop
    local n = 0
    local err = support.catch(function()
      for _ in client:each_connector_log(1, "export-250-1", { page_size = 100, on_page = function(p)
        if p.page == 2 then error("enough") end
      end }) do n = n + 1 end
    end)
    assert.truthy(tostring(err):find("enough", 1, true))
    assert.are.equal(100, n)
  end)

  it("supermetrics.safe: the loop sees false, err once, err.resume goes on", function()
    local c = assert(safe.new { api_key = support.KEY, base_url = support.HTTP, max_retries = 0 })
    local log = "export-100-5-incl-k" .. support.nonce() .. "-f2x1"
    local got, failed = {}, nil
    for entry, err in c:each_connector_log(1, log, { page_size = 30 }) do
      if not entry then
        failed = err
      else
        got[#got + 1] = entry.id
      end
    end
    assert.are.equal("SERVICE_UNAVAILABLE", failed.code)
    for entry in c:each_connector_log(1, log, { page_size = 30, resume = failed.resume }) do
      got[#got + 1] = entry.id
    end
    c:close()
    assert.are.same(range(1, 100), got)
  end)
end)

describe("each_connector_log inside nginx (cosockets)", function()
  if not support.APP then
    return -- the nginx specs are not running
  end

  local function escape(s)
    return (s:gsub("[^%w%-_.~]", function(c) return string.format("%%%02X", c:byte()) end))
  end

  local function export(connector, query)
    return support.inside("/contract?op=export&team=1&base_url=" .. escape(support.HTTP) .. "&connector="
      .. connector .. "&page_size=10" .. (query or "")).result
  end

  it("keeps to since and through, and resumes after a failed page", function()
    local bounds = "&since=" .. escape(at(19)) .. "&through=" .. escape(at(2))
    local whole = export("export-500-25-excl", bounds)
    assert.are.same(range(51, 500), whole.ids)
    local log = "export-500-25-excl-k" .. support.nonce() .. "-f4x1"
    local first = export(log, bounds)
    assert.are.equal("SERVICE_UNAVAILABLE", first.code)
    local rest = export(log, "&resume=" .. escape(first.resume))
    assert.is_nil(rest.code)
    assert.are.same(whole.ids, concat(first.ids, rest.ids))
  end)
end)

-- ---- the command line ----

local function temp_dir()
  local dir = os.tmpname()
  os.remove(dir)
  assert(support.run("mkdir " .. dir) == 0)
  support.defer(function() support.run("rm -rf " .. dir) end)
  return dir
end

local function files_in(dir)
  local _, out = support.run("ls -A " .. dir)
  return cli.lines(out)
end

describe("supermetrics-logs list --all, --output, --resume, --progress", function()
  after_each(support.cleanup)

  it("--until shows entries stamped exactly --until on an exclusive server, one page or all", function()
    local _, page = cli.run("list 1 export-30-3-excl --limit 5 --until " .. at(2) .. " --format ndjson")
    assert.are.same(range(7, 11), cli.ids(page))
    local code, all, err = cli.run("list 1 export-30-3-excl --all --limit 4 --since " .. at(5) .. " --until "
      .. at(2) .. " --format ndjson")
    assert.are.equal(0, code, err)
    assert.are.same(range(7, 18), cli.ids(all))
  end)

  it("--output FILE: the whole output on success, no temporary left", function()
    local dir = temp_dir()
    local code, out, err = cli.run("list 1 export-120-3 --all --limit 50 --format csv --output " .. dir .. "/x.csv")
    assert.are.equal(0, code, err)
    assert.are.equal("", out)
    local _, direct = cli.run("list 1 export-120-3 --all --limit 50 --format csv")
    assert.are.equal(direct, cli.read(dir .. "/x.csv"))
    assert.are.same({ "x.csv" }, files_in(dir))
  end)

  it("--output FILE: after a failure FILE is as it was and the temporary is gone", function()
    local dir = temp_dir()
    cli.write(dir .. "/x.ndjson", "the previous export\n")
    local code, out, err = cli.run("list 1 export-300-3-k" .. support.nonce() .. "-f3x3 --all --limit 50 "
      .. "--format ndjson --output " .. dir .. "/x.ndjson")
    assert.are.equal(69, code, err)
    assert.are.equal("", out)
    assert.truthy(err:find("SERVICE_UNAVAILABLE", 1, true), err)
    assert.are.equal("the previous export\n", cli.read(dir .. "/x.ndjson"))
    assert.are.same({ "x.ndjson" }, files_in(dir))
    -- and a folder that cannot be written: 74, nothing made
    local no_code, _, no_err = cli.run("get 1 T3S70 1 --output " .. dir .. "/missing/x.json")
    assert.are.equal(74, no_code)
    assert.truthy(no_err:find("cannot write the output", 1, true), no_err)
  end)

  -- The issue's "done when": a server down at half the export, then --resume.
  for _, fmt in ipairs { "ndjson", "csv" } do
    for _, mode in ipairs { "incl", "excl" } do
      it(fmt .. ", " .. mode .. ": --resume continues a failed export: each entry once, no line twice", function()
        local dir = temp_dir()
        local file = dir .. "/export." .. fmt
        local args = "--all --limit 10 --since " .. at(39) .. " --until " .. at(2) .. " --format " .. fmt
          .. " --output " .. file .. " --resume --retries 0"
        local log = "export-2000-25-" .. mode .. "-k" .. support.nonce() .. "-f40x1"
        local code, _, err = cli.run("list 1 " .. log .. " " .. args)
        assert.are.equal(69, code, err)
        local partial = cli.read(file)
        -- a record written in part (a crash mid-write) is dropped, not kept
        cli.write(file, partial .. (fmt == "csv" and "x999,2025-05-31T23:59:00Z,20" or '{"id":"x99'))
        code, _, err = cli.run("list 1 " .. log .. " " .. args)
        assert.are.equal(0, code, err)
        local _, direct = cli.run("list 1 export-2000-25-" .. mode .. " --all --limit 10 --since " .. at(39)
          .. " --until " .. at(2) .. " --format " .. fmt)
        assert.are.equal(direct, cli.read(file))
        assert.truthy(#partial > 100 and #partial < #direct)
        -- resuming a complete export adds nothing
        code, _, err = cli.run("list 1 " .. log .. " " .. args)
        assert.are.equal(0, code, err)
        assert.are.equal(direct, cli.read(file))
      end)
    end
  end

  it("--resume with --csv-raw and --fields, cells that need quotes and guards", function()
    local dir = temp_dir()
    local file = dir .. "/raw.csv"
    local args = "--all --limit 7 --format csv --csv-raw --fields log_time,id,event,request --output " .. file
      .. " --resume --retries 0"
    local log = "export-200-11-excl-k" .. support.nonce() .. "-f4x1"
    assert.are.equal(69, (cli.run("list 1 " .. log .. " " .. args)))
    local code, _, err = cli.run("list 1 " .. log .. " " .. args)
    assert.are.equal(0, code, err)
    local _, direct = cli.run("list 1 export-200-11-excl --all --format csv --csv-raw "
      .. "--fields log_time,id,event,request")
    assert.are.equal(direct, cli.read(file))
  end)

  it("--resume refuses a file of another format, other fields or another command's order", function()
    local dir = temp_dir()
    local ndjson, csv, tail = dir .. "/a.ndjson", dir .. "/b.csv", dir .. "/c.ndjson"
    assert.are.equal(0, (cli.run("list 1 export-50-1 --all --format ndjson --output " .. ndjson)))
    assert.are.equal(0, (cli.run("list 1 export-50-1 --all --format csv --output " .. csv)))
    assert.are.equal(0, (cli.run("tail 1 export-50-1 -n 5 --format ndjson --output " .. tail)))
    local before = { cli.read(ndjson), cli.read(csv), cli.read(tail) }
    for _, case in ipairs {
      { "--format csv --output " .. ndjson, "CSV header" },
      { "--format ndjson --output " .. csv, "not NDJSON" },
      { "--format csv --fields id,log_time,status --output " .. csv, "CSV header" },
      { "--format ndjson --fields id,log_time --output " .. ndjson, "other fields" },
      { "--format ndjson --output " .. tail, "not newest first" },
      { "--format ndjson --until " .. at(60) .. " --output " .. ndjson, "after --until" },
    } do
      local code, _, err = cli.run("list 1 export-50-1 --all --resume " .. case[1])
      assert.are.equal(64, code, case[1] .. ": " .. err)
      assert.truthy(err:find(case[2], 1, true), case[1] .. ": " .. err)
    end
    assert.are.same(before, { cli.read(ndjson), cli.read(csv), cli.read(tail) })
    for _, bad in ipairs { "--resume --format json --output " .. ndjson, "--resume --format ndjson",
        "--format ndjson --output " .. ndjson .. " --resume --fields status,id" } do
      local code, _, err = cli.run("list 1 export-50-1 --all " .. bad)
      assert.are.equal(64, code, bad)
      assert.truthy(err:find("--resume", 1, true), err)
    end
  end)

  it("--progress: a line a page on stderr that is not a terminal (cron), then a summary", function()
    local dir = temp_dir()
    local code, _, err = cli.run("list 1 export-250-1-excl --all --limit 100 --format ndjson --progress --output "
      .. dir .. "/p.ndjson")
    assert.are.equal(0, code, err)
    assert.are.same({
      "supermetrics-logs: page 1, 100 entries, back to " .. at(99),
      "supermetrics-logs: page 2, 199 entries, back to " .. at(198),
      "supermetrics-logs: page 3, 250 entries, back to " .. at(249),
      "supermetrics-logs: 250 entries in 3 pages",
    }, cli.lines(err))
    local _, _, quiet = cli.run("list 1 export-250-1 --all --format ndjson")
    assert.are.equal("", quiet) -- without --progress, none there
    local bad, _, bad_err = cli.run("list 1 export-250-1 --progress")
    assert.are.equal(64, bad)
    assert.truthy(bad_err:find("--progress goes with list --all", 1, true))
  end)
end)

describe("examples/export.lua", function()
  after_each(support.cleanup)

  local function example(args)
    return support.run(table.concat({
      "env", "LUA_PATH='./lua/?.lua;./lua/?/init.lua;;'", "LUA_CPATH='" .. os.getenv("SM_BUILD_DIR") .. "/?.so;;'",
      "SUPERMETRICS_API_KEY=" .. support.KEY, "SUPERMETRICS_BASE_URL=" .. support.HTTP,
      support.LUA, "examples/export.lua", args,
    }, " "))
  end

  it("is under 40 lines", function()
    assert.is_true(#cli.lines(cli.read("examples/export.lua")) < 40)
  end)

  it("exports since a date to CSV, resumes after a failure, and writes the command line's CSV", function()
    local dir = temp_dir()
    local since = "2025-06-01T00:00:00.950Z"
    local log = "export-3000-25-ms-excl"
    local failing = log .. "-k" .. support.nonce() .. "-f2x3" -- the 2nd page, all 3 attempts
    local code, _, err = example("1 " .. failing .. " " .. since .. " " .. dir .. "/e.csv")
    assert.are.equal(1, code, err)
    assert.truthy(err:find("SERVICE_UNAVAILABLE", 1, true), err)
    local resume = cjson.decode(cli.read(dir .. "/e.csv.resume"))
    assert.are.equal(1, resume.version)
    code, _, err = example("1 " .. failing .. " " .. since .. " " .. dir .. "/e.csv")
    assert.are.equal(0, code, err)
    assert.are.same({ "e.csv" }, files_in(dir))
    local _, direct = cli.run("list 1 " .. log .. " --all --since " .. since .. " --format csv")
    assert.are.equal(direct, cli.read(dir .. "/e.csv"))
    assert.are.equal(1251, #cli.lines(direct)) -- a header, 50 runs of 25
  end)
end)
