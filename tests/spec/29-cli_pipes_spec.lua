-- The command line in pipelines and with mixed outcomes: a reader that
-- leaves stops paging within a page, the progress line stays off the
-- output, fetch's exit status is its worst failure's, and --fields names
-- that match nothing are pointed out once.
local support = require "tests.spec.support"
local cli = require "tests.spec.cli_support"
local command_line = require "supermetrics.cli"

local run, lines = cli.run, cli.lines

-- A file-like object that keeps what is written.
local function sink()
  local parts = {}
  return {
    write = function(self, ...)
      for _, s in ipairs { ... } do parts[#parts + 1] = tostring(s) end
      return self
    end,
    flush = function(self) return self end,
    text = function() return table.concat(parts) end,
  }
end

-- cli.main in this process, with the terminals as given.
local function main(argv, stdout_tty, stderr_tty)
  local out, err = sink(), sink()
  local env = {
    SUPERMETRICS_API_KEY = support.KEY, SUPERMETRICS_BASE_URL = support.HTTP,
  }
  local status = command_line.main(argv, {
    env = function(name) return env[name] end, stdout = out, stderr = err, stdin = io.stdin,
    stdout_tty = stdout_tty, stderr_tty = stderr_tty,
  })
  return status, out.text(), err.text()
end

describe("supermetrics-logs in pipelines", function()
  it("list --all | head -3 stops after the first page or two, not the whole listing", function()
    local code, out, requests = cli.into_head("list 1 paged-5000-1 --all --limit 100 --format ndjson", 3)
    assert.are.equal(0, code)
    assert.are.equal(3, #lines(out))
    assert.is_true(requests >= 1 and requests <= 2, requests .. " requests")
  end)

  it("shows the progress line only when the output goes elsewhere, and ends it with a newline", function()
    local argv = { "list", "1", "paged-30-1", "--all", "--limit", "10", "--format", "ndjson" }
    local status, out, err = main(argv, false, true)
    assert.are.equal(0, status)
    assert.are.equal(30, #lines(out))
    assert.truthy(err:find("\rsupermetrics%-logs: 30 entries in 4 pages\n$"), err)
    -- Output and progress on one terminal would mix: no progress then.
    status, out, err = main(argv, true, true)
    assert.are.equal(0, status)
    assert.are.equal(30, #lines(out))
    assert.are.equal("", err)
  end)
end)

describe("supermetrics-logs fetch with mixed failures", function()
  for _, case in ipairs {
    { ids = "404 503", status = 69 },
    { ids = "503 404", status = 69 },
    { ids = "404 401 503", status = 65 },
    { ids = "429 404", status = 75 },
    { ids = "404 T", status = 1 },
    { ids = "404 404", status = 66 },
  } do
    it("exits with the worst failure's status (" .. case.ids .. " -> " .. case.status .. ")", function()
      local code, _, err = run("fetch 1 status " .. case.ids .. " --retries 0 --format ndjson")
      assert.are.equal(case.status, code, err)
    end)
  end
end)

describe("supermetrics-logs --fields", function()
  it("warns once about a top-level name no entry has", function()
    local code, out, err = run("list 1 paged-30-1 --all --limit 10 --fields id,nope --format ndjson")
    assert.are.equal(0, code)
    assert.are.equal(30, #lines(out))
    local _, warnings = err:gsub("%-%-fields nope: no such field", "")
    assert.are.equal(1, warnings, err)
  end)

  it("says nothing for the API's own fields and for names the entries have", function()
    local code, _, err = run("list 1 odd --fields id,meta.step,request_id --format ndjson")
    assert.are.equal(0, code)
    assert.are.equal("", err)
    code, _, err = run("list 1 odd --fields nope --quiet --format ndjson")
    assert.are.equal(0, code)
    assert.are.equal("", err)
  end)
end)
