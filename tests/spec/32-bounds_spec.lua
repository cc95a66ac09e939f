-- The suite always ends: every child process a spec starts is bounded
-- (support.run, support.spawn: `timeout -k`, then its process group is
-- swept), terminals are closed even when a test fails, and each spec file
-- runs within a budget (tests/lib/busted.sh). These check the bounds
-- themselves, with children that spin and ignore SIGINT and SIGTERM.
local support = require "tests.spec.support"
local cli = require "tests.spec.cli_support"

-- The bounds are shell and the same Lua under every interpreter: the tests
-- that wait out budgets run under Lua 5.4 only (the sanitized run too,
-- where the hang they prevent was seen), and not in make check (#slow).
local ONCE = support.LUA:find("5%.4") ~= nil
local function it_once(name, f)
  if ONCE then it(name, f) end
end

-- A shell line that writes its shell's pid to pid_file, then spins
-- deaf to SIGINT and SIGTERM.
local function spinner(pid_file)
  return "echo $$ > " .. pid_file .. "; trap '' INT TERM HUP; while :; do :; done"
end

local function pid_in(file)
  return tonumber(cli.read(file):match("%d+"))
end

-- A process is gone once it no longer exists or is a zombie awaiting its
-- reaper (SIGKILL takes effect asynchronously: wait for it).
local function gone(pid)
  local f = io.open("/proc/" .. pid .. "/stat")
  if not f then return true end
  local stat = f:read("*a")
  f:close()
  local state = stat:match("^%d+ %b() (%a)")
  return state == nil or state == "Z" or state == "X"
end

local function wait_gone(pid)
  cli.wait_until(function() return gone(pid) end, 5, "process " .. pid .. " to end")
end

describe("support.run", function()
  after_each(support.cleanup)

  it_once("kills a child that ignores SIGINT and SIGTERM once its grace is over, and says so #slow", function()
    local pid_file = os.tmpname()
    local t0 = support.now()
    local ok, err = pcall(function()
      local code = support.run(spinner(pid_file), { limit = 1, grace = 1 })
      return code
    end)
    local took = support.now() - t0
    local pid = pid_in(pid_file)
    os.remove(pid_file)
    assert.is_false(ok)
    err = tostring(err)
    assert.truthy(err:find("did not end within 1 s (+1 s grace), killed: echo $$", 1, true), err)
    assert.truthy(err:find("KILL", 1, true), err) -- SIGTERM was not enough
    assert.truthy(err:find("32%-bounds_spec%.lua:%d+:"), err) -- where the spec ran it
    assert.is_true(took >= 1.9 and took < 2 + 3, "took " .. took .. " s")
    wait_gone(pid)
  end)

  it_once("kills what the child started and left running, even after the child itself ended #slow", function()
    local pid_file = os.tmpname()
    local ok, err = pcall(support.run, "sh -c " .. support.quote(spinner(pid_file)) .. " & wait", { limit = 1 })
    local pid = pid_in(pid_file)
    os.remove(pid_file)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("did not end within 1 s", 1, true), err)
    wait_gone(pid)
  end)

  it("leaves a command that ends in time alone: its status, stdout and stderr", function()
    local code, out, err = support.run("echo out; echo err >&2; exit 3", { limit = 10 })
    assert.are.same({ 3, "out\n", "err\n" }, { code, out, err })
  end)
end)

describe("support.spawn", function()
  it_once("bounds a child read from as it runs; close() says it was killed #slow", function()
    local pid_file = os.tmpname()
    local p = support.spawn("echo started; " .. spinner(pid_file), { limit = 1, grace = 1 })
    assert.are.equal("started", p:read("*l"))
    local ok, err = pcall(p.close)
    local pid = pid_in(pid_file)
    os.remove(pid_file)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("did not end within 1 s (+1 s grace)", 1, true), err)
    wait_gone(pid)
  end)
end)

describe("a terminal", function()
  after_each(support.cleanup)

  it_once("is closed by support.cleanup with what runs in it, if a test left it open #slow", function()
    local pid_file = os.tmpname()
    local term = cli.terminal()
    term.run(spinner(pid_file))
    cli.wait_until(function() return pid_in(pid_file) ~= nil end, 10, "the terminal's command")
    local pid = pid_in(pid_file)
    os.remove(pid_file)
    support.cleanup() -- as after_each does after a failure
    wait_gone(pid)
  end)
end)

describe("a spec file over its budget", function()
  it_once("is killed, with what it started, and fails by name; the run goes on #slow", function()
    local pid_file = os.tmpname()
    local name = "selftest-" .. support.nonce()
    local t0 = support.now()
    -- the runner of make test, on a spec file that never ends, with a 2 s budget
    local code, out, err = support.run("ROOT=$PWD SM_SPEC_BUDGET=2 SM_GRACE=2 SM_TEST_HANG_PID_FILE=" .. pid_file
      .. " bash -c '. tests/lib/busted.sh; passed=0 failed=0; sm_busted " .. name .. " " .. support.LUA
      .. " 0 tests/tools/hang_spec.lua tests/tools/hang_spec.lua; echo \"$passed passed, $failed failed\"'",
      { limit = 60 })
    local took = support.now() - t0
    local pid = pid_in(pid_file)
    os.remove(pid_file)
    support.run("rm -rf tests/tmp/busted-" .. name)
    assert.are.equal(0, code, err)
    local _, killed = out:gsub("FAILED: tests/tools/hang_spec%.lua under [^\n]*: over its 2 s budget, killed\n", "")
    assert.are.equal(2, killed, out) -- the second file ran after the first was killed
    assert.truthy(out:find("\n0 passed, 2 failed\n$"), out)
    assert.is_true(took < 2 * (2 + 2) + 5, "took " .. took .. " s")
    wait_gone(pid)
  end)
end)

describe("a spec file whose leak checker crashes at exit", function()
  -- The runner of make test on tests/tools/lsan_crash_spec.lua; returns its
  -- output.
  local function run_it(always)
    local state = os.tmpname()
    os.remove(state)
    local name = "selftest-" .. support.nonce()
    local code, out, err = support.run("ROOT=$PWD SM_TEST_LSAN_STATE=" .. state
      .. (always and " SM_TEST_LSAN_ALWAYS=1" or "")
      .. " bash -c '. tests/lib/busted.sh; passed=0 failed=0; sm_busted " .. name .. " " .. support.LUA
      .. " 0 tests/tools/lsan_crash_spec.lua; echo \"$passed passed, $failed failed\"'", { limit = 60 })
    os.remove(state)
    support.run("rm -rf tests/tmp/busted-" .. name)
    assert.are.equal(0, code, err)
    return out
  end

  it("runs once more, and passes when the second run does", function()
    local out = run_it(false)
    assert.truthy(out:find("lsan_crash_spec: LeakSanitizer's tracer failed at exit (not a leak report): run again",
      1, true), out)
    assert.truthy(out:find("\n1 passed, 0 failed\n$"), out)
  end)

  it("fails by name when the second run crashes too", function()
    local out = run_it(true)
    assert.truthy(out:find("FAILED: tests/tools/lsan_crash_spec%.lua under [^\n]*: busted printed no summary"), out)
    assert.truthy(out:find("\n0 passed, 1 failed\n$"), out)
  end)
end)

describe("the specs", function()
  local files = {}
  for name in select(2, support.run("ls tests/spec/*.lua")):gmatch("[^\n]+") do
    files[name] = cli.read(name)
  end

  it("start child processes only through support.run and support.spawn", function()
    for name, text in pairs(files) do
      if name ~= "tests/spec/support.lua" then
        assert.is_nil(text:find("io%.popen%s*%("), name .. " calls io.popen")
        assert.is_nil(text:find("os%.execute%s*%("), name .. " calls os.execute")
      end
      -- a timeout of their own gets a kill after its grace too
      assert.is_nil(text:find("[^-]timeout %d"), name .. " runs timeout without -k")
    end
  end)

  it("that open terminals or defer cleanups run support.cleanup after each test", function()
    for name, text in pairs(files) do
      if name:find("_spec%.lua$") and (text:find("cli%.terminal%(") or text:find("support%.defer%(")) then
        assert.truthy(text:find("after_each(support.cleanup)", 1, true), name)
      end
    end
  end)
end)
