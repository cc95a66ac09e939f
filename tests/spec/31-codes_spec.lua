-- One table of codes (src/codes.h, core.CODES) drives the retry policy and
-- the docs' tables; the command line's exit statuses (cli.EXIT_OF_CODE, the
-- CLI's own) cover the same codes: they must all agree.
local core = require "supermetrics.core"
local retry = require "supermetrics.retry"
local cli = require "supermetrics.cli"
local read = require("tests.spec.cli_support").read

-- The rows of the markdown table whose header line is header: code -> the
-- row's last cell.
local function code_table(text, header)
  local at = assert(text:find(header, 1, true), header)
  local rows = {}
  for line in text:sub(at):gmatch("[^\n]+") do
    if not line:find("^|") then
      break
    end
    local codes, last = line:match("^| (.-) |.*| ([^|]-) |$")
    for code in (codes or ""):gmatch("`([A-Z][A-Z0-9_]*)`") do
      rows[code] = last
    end
  end
  return rows
end

local DOCS = {
  { "README.md", "| code | when | retried |" },
  { "docs/api.md", "| code | when | retried |" },
}

describe("the table of codes #abi", function()
  it("has a status, a reason and a retry rule for each status code, and the CLI an exit status", function()
    for code, row in pairs(core.CODES) do
      assert.truthy(code:match("^[A-Z][A-Z0-9_]*$"), code)
      assert.truthy(row.kind == "status" or row.kind == "library" or row.kind == "envelope", code)
      assert.is_boolean(row.retried)
      if row.status then
        assert.equal("status", row.kind)
        assert.is_string(row.reason)
      end
      assert.is_nil(row.exit, code) -- the command line's, not the library's
      assert.equal(code ~= "HTTP_ERROR", cli.EXIT_OF_CODE[code] ~= nil, code)
    end
    for code in pairs(cli.EXIT_OF_CODE) do
      assert.truthy(core.CODES[code], "cli.EXIT_OF_CODE has " .. code .. ", which the table has not")
    end
  end)

  for _, doc in ipairs(DOCS) do
    it("is the one " .. doc[1] .. " shows, retries included", function()
      local rows = code_table(read(doc[1]), doc[2])
      local listed = {}
      for code, row in pairs(core.CODES) do
        if row.kind ~= "envelope" then
          listed[code] = true
          assert.truthy(rows[code], doc[1] .. " does not list " .. code)
          assert.equal(row.retried and "yes" or "no", rows[code], code)
        end
      end
      for code in pairs(rows) do
        assert.truthy(listed[code], doc[1] .. " lists " .. code .. ", which the table has not")
      end
    end)
  end

  it("decides the retry policy", function()
    for code, row in pairs(core.CODES) do
      if row.kind == "library" then
        assert.equal(row.retried, retry.retryable { code = code, status = 200 }, code)
        assert.equal(row.retried, retry.retryable { code = code }, code)
      elseif row.status then
        -- Whatever code an envelope gives, its status decides.
        assert.equal(row.retried, retry.retryable { code = code, status = row.status }, code)
        assert.equal(row.retried, retry.retryable { code = "LOG_NOT_FOUND", status = row.status }, code)
      end
    end
    assert.is_false(retry.retryable { code = "HTTP_ERROR", status = 501 })
  end)

  it("decides the command line's exit statuses, as the README's table says", function()
    local readme = read("README.md")
    local at = assert(readme:find("| exit status | when |", 1, true))
    for line in readme:sub(at):gmatch("[^\n]+") do
      if not line:find("^|") then
        break
      end
      local status, when = line:match("^| (%d+) | (.-) |$")
      for code in (when or ""):gmatch("`([A-Z][A-Z0-9_]*)`") do
        local row = core.CODES[code]
        if row then
          assert.equal(tonumber(status), cli.exit_status { code = code, status = row.status }, code)
        end
      end
    end
    for code, exit in pairs(cli.EXIT_OF_CODE) do
      assert.equal(exit, cli.exit_status { code = code, status = core.CODES[code].status }, code)
    end
    -- Codes the API adds: *_NOT_FOUND, else by status.
    assert.equal(66, cli.exit_status { code = "LOG_NOT_FOUND", status = 404 })
    assert.equal(65, cli.exit_status { code = "TOKEN_EXPIRED", status = 401 })
    assert.equal(69, cli.exit_status { code = "HTTP_ERROR", status = 501 })
    assert.equal(1, cli.exit_status { code = "HTTP_ERROR", status = 302 })
  end)
end)
