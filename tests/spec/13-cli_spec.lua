-- The supermetrics-logs command line, end to end against the stand-in: as a
-- user runs it (a child process), and in a real terminal (tmux) for the
-- progress line.
local cjson = require "cjson"
local support = require "tests.spec.support"

local BIN = "bin/supermetrics-logs"

local function env_prefix(extra)
  return table.concat({
    "env -u SUPERMETRICS_API_KEY",
    "LUA_PATH='./lua/?.lua;./lua/?/init.lua;;'",
    "LUA_CPATH='" .. os.getenv("SM_BUILD_DIR") .. "/?.so;;'",
    "SUPERMETRICS_BASE_URL=" .. support.HTTP,
    extra or "SUPERMETRICS_API_KEY=" .. support.KEY,
  }, " ")
end

-- Runs the command line; returns exit status, stdout, stderr.
local function cli(args, extra_env)
  return support.run(env_prefix(extra_env) .. " " .. support.LUA .. " " .. BIN .. " " .. args)
end

local function lines(s)
  local out = {}
  for l in s:gmatch("[^\n]+") do out[#out + 1] = l end
  return out
end

describe("supermetrics-logs", function()
  it("get prints the entry as JSON", function()
    local code, out, err = cli("get 936506 T3S70 123")
    assert.are.equal(0, code, err)
    assert.are.same(support.SEED, cjson.decode(out))
    assert.are.equal("", err)
  end)

  it("list prints a JSON array of one page", function()
    local code, out = cli("list 1 paged-10-1 --limit 4")
    assert.are.equal(0, code)
    local entries = cjson.decode(out)
    assert.are.equal(4, #entries)
    assert.are.equal("e4", entries[4].id)
  end)

  it("list --all --format ndjson streams every entry, one per line", function()
    local code, out, err = cli("list 1 paged-250-3 --all --limit 40 --format ndjson")
    assert.are.equal(0, code)
    local got = lines(out)
    assert.are.equal(250, #got)
    assert.are.equal("e250", cjson.decode(got[250]).id)
    assert.are.equal("", err) -- no progress line when stderr is not a terminal
  end)

  it("list --before is passed on", function()
    local _, out = cli("list 1 paged-12-3 --before 2025-05-31T23:59:00Z --format ndjson")
    assert.are.equal("e4", cjson.decode(lines(out)[1]).id)
  end)

  it("prints an aligned table", function()
    local code, out = cli("list 1 paged-3-1 --format table")
    assert.are.equal(0, code)
    local t = lines(out)
    assert.are.equal(4, #t)
    assert.truthy(t[1]:find("^ID%s+LOG_TIME%s+STATUS%s+DURATION_MS%s+EVENT%s+REQUEST$"))
    -- columns line up: LOG_TIME starts at the same place on every line
    local col = t[1]:find("LOG_TIME", 1, true)
    for i = 2, 4 do
      assert.are.equal(col, t[i]:find("2025", 1, true))
    end
  end)

  it("fetch gets many ids; a failed one goes to stderr and sets the exit status", function()
    local code, out, err = cli("fetch 1 T3S70 a b . c --format ndjson")
    assert.are.equal(2, code)
    local got = lines(out)
    assert.are.equal(3, #got)
    assert.are.equal("c", cjson.decode(got[3]).id)
    assert.truthy(err:find('^%.: supermetrics: INVALID_ARGUMENT'))
  end)

  it("takes ids starting with '-' after --", function()
    local code, out = cli("get 1 echo -- -5x")
    assert.are.equal(0, code)
    assert.are.equal("-5x", cjson.decode(out).id)
  end)

  for _, case in ipairs {
    { "get 1 status 404", 4 }, { "get 1 status 409-custom", 4 }, { "get 1 status 401", 3 },
    { "get 1 status 403", 3 }, { "get 1 status 503 --retries 0", 5 }, { "get 1 status 429 --retries 0", 5 },
    { "get 1 close x --retries 0", 5 }, { "get 1 shape array", 1 }, { "get 0 T3S70 1", 2 },
    { "get 1 T3S70", 2 }, { "frobnicate 1 2 3", 2 }, { "get 1 T3S70 1 --format xml", 2 },
    { "get 1 T3S70 1 --all", 2 }, { "--timeout", 2 },
  } do
    it("exits " .. case[2] .. " for: " .. case[1], function()
      local code, out, err = cli(case[1])
      assert.are.equal(case[2], code, err)
      assert.are.equal("", out)
      assert.truthy(#err > 0)
    end)
  end

  it("never takes a credential from the command line", function()
    for _, flag in ipairs { "--api-key api_test_key", "--key=api_test_key", "--token otok_x" } do
      local code, _, err = cli(flag .. " get 1 T3S70 1")
      assert.are.equal(2, code)
      assert.truthy(err:find("never taken from the command line", 1, true))
      assert.is_nil(err:find("api_test_key", 1, true))
    end
  end)

  it("reads the credential from --key-file", function()
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write(support.KEY, "\n")
    f:close()
    local code, out = cli("--key-file " .. path .. " get 936506 T3S70 123", "SUPERMETRICS_X=1")
    os.remove(path)
    assert.are.equal(0, code)
    assert.are.same(support.SEED, cjson.decode(out))
  end)

  it("says how to give a credential when there is none", function()
    local code, _, err = cli("get 1 T3S70 1", "SUPERMETRICS_X=1")
    assert.are.equal(2, code)
    assert.truthy(err:find("SUPERMETRICS_API_KEY", 1, true))
  end)

  it("prints help and version", function()
    local code, out = cli("--help")
    assert.are.equal(0, code)
    assert.truthy(out:find("Exit status", 1, true))
    local _, version = cli("--version")
    assert.truthy(version:find(require("supermetrics")._VERSION, 1, true))
  end)

  it("shows a progress line when stderr is a terminal (tmux)", function()
    local out_file = os.tmpname()
    local socket = "sm-test-" .. support.nonce()
    local tmux = "tmux -L " .. socket
    local cmd = env_prefix() .. " " .. support.LUA .. " " .. BIN
      .. " list 1 paged-250-1 --all --limit 50 --format ndjson > " .. out_file
      .. "; " .. tmux .. " wait-for -S cli-done; exec cat"
    assert.are.equal(0, (support.run(tmux .. " new-session -d -x 100 -y 10 " .. string.format("%q", cmd))))
    -- wait-for blocks until the command has signalled that it finished
    assert.are.equal(0, (support.run(tmux .. " wait-for cli-done")))
    local _, screen = support.run(tmux .. " capture-pane -p")
    support.run(tmux .. " kill-server")
    local f = assert(io.open(out_file))
    local written = f:read("*a")
    f:close()
    os.remove(out_file)
    assert.truthy(screen:find("supermetrics-logs: 250 entries in 6 pages", 1, true), screen)
    assert.are.equal(250, #lines(written))
    assert.is_nil(written:find("supermetrics-logs:", 1, true))
  end)
end)
