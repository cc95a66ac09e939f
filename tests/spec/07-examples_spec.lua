-- The examples run for real against the stand-in, as a user would run them.
local cjson = require "cjson"
local support = require "tests.spec.support"

-- Runs an example with args; returns exit code, stdout, stderr.
local function example(name, args)
  return support.run(table.concat({
    "env",
    "LUA_PATH='./lua/?.lua;./lua/?/init.lua;;'",
    "LUA_CPATH='" .. os.getenv("SM_BUILD_DIR") .. "/?.so;;'",
    "SUPERMETRICS_API_KEY=" .. support.KEY,
    "SUPERMETRICS_BASE_URL=" .. support.HTTPS,
    "SUPERMETRICS_CA_FILE=" .. support.CA,
    support.LUA, "examples/" .. name, args,
  }, " "))
end

local function get_log(args)
  return example("get_log.lua", args)
end

describe("examples/get_log.lua #abi", function()
  it("prints the seed's entry as JSON with integer numbers", function()
    local code, out = get_log("936506 T3S70 123")
    assert.are.equal(0, code)
    assert.are.same(support.SEED, cjson.decode(out))
    assert.truthy(out:find('"status": 200,', 1, true))
    assert.truthy(out:find('"duration_ms": 253,', 1, true))
    assert.truthy(out:find('"request": "POST /api/oauth/token_refresh"', 1, true))
  end)

  it("prints the error line to stderr and exits 1", function()
    local code, out, err = get_log("936506 status 404")
    assert.are.equal(1, code)
    assert.are.equal("", out)
    assert.are.equal("supermetrics: NOT_FOUND (HTTP 404): Status 404 from the stand-in. "
      .. "[request_id req_status_404]\n", err)
  end)

  it("exits 2 with usage on bad arguments", function()
    local code, _, err = get_log("936506")
    assert.are.equal(2, code)
    assert.truthy(err:find("usage", 1, true))
  end)

  it("reports a bad argument without traffic", function()
    local code, _, err = get_log("0 T3S70 1")
    assert.are.equal(1, code)
    assert.truthy(err:find("INVALID_ARGUMENT", 1, true))
  end)
end)

describe("examples/list_logs.lua #abi", function()
  it("walks every page", function()
    local code, out = example("list_logs.lua", "1 paged-230-3")
    assert.are.equal(0, code)
    assert.truthy(out:find("\n230 entries\n$"))
    assert.truthy(out:find("^e1 "))
  end)
end)

describe("examples/fetch_many.lua #abi", function()
  it("reports every id, entry or error", function()
    local code, out = example("fetch_many.lua", "1 status 404 409-custom")
    assert.are.equal(1, code)
    assert.are.equal("404: NOT_FOUND\n409-custom: LOG_NOT_FOUND\n", out)
    local ok_code, ok_out = example("fetch_many.lua", "936506 T3S70 1 2 3")
    assert.are.equal(0, ok_code)
    assert.are.equal(3, select(2, ok_out:gsub("auth.token.refresh %(HTTP 200%)", "")))
  end)
end)

describe("examples/safe_get.lua #abi", function()
  it("logs each attempt and branches on the error code", function()
    local code, out, err = example("safe_get.lua", "936506 status 404")
    assert.are.equal(0, code)
    assert.are.equal("no such log entry\n", out)
    assert.truthy(err:find("attempt 1: GET /v1/teams/936506/connector_builder/connectors/status/logs/404 -> 404",
      1, true))
    local ok_code, ok_out = example("safe_get.lua", "936506 T3S70 123")
    assert.are.equal(0, ok_code)
    assert.truthy(ok_out:find("^123\tauth.token.refresh\t200\t253\n$"))
  end)
end)
