-- Inputs the library must not trust (issue 27, points 4 to 6), on both
-- transports where they apply: proxy URLs are checked after decoding and a
-- configured proxy is used or the call fails (never bypassed); the command
-- line reads its key bounded, interruptibly and never into a core dump; a
-- token_provider or on_response that returns after the call's deadline ends
-- the call with TIMEOUT there. The same script (tests/tools/inputs.lua)
-- runs outside nginx on libcurl and inside it (the test app's /inputs) on
-- cosockets; a capturing proxy (tests/tools/capture-proxy.pl) shows what a
-- CONNECT carries.
local cjson = require "cjson"
local support = require "tests.spec.support"
local cli = require "tests.spec.cli_support"
local inputs = require "tests.tools.inputs"

local HTTPS_PORT = support.HTTPS_LOCALHOST:match(":(%d+)$")
local BUILD = assert(os.getenv("SM_BUILD_DIR") or "build/lua5.4")
local KEY_MAX = 16384

local function url_encode(s)
  return (tostring(s):gsub("[^%w%-_.~]", function(c) return string.format("%%%02X", c:byte()) end))
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function b64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local q = { math.floor(n / 262144), math.floor(n / 4096) % 64, math.floor(n / 64) % 64, n % 64 }
    for k = 1, 4 do
      out[#out + 1] = (k <= 2 or (k == 3 and b) or (k == 4 and c)) and B64:sub(q[k] + 1, q[k] + 1) or "="
    end
  end
  return table.concat(out)
end

-- Where the inputs script runs: here (libcurl), and inside nginx
-- (cosockets) when the nginx specs run. base: the stand-in's URL as each
-- side reaches it (inside nginx the app trusts the stand-in's CA itself).
local RUNNERS = {
  {
    name = "libcurl",
    run = function(params)
      params.ca_file = params.base_url and params.base_url:find("^https") and support.CA or nil
      return inputs.run(params)
    end,
  },
}
if support.APP then
  RUNNERS[2] = {
    name = "nginx",
    run = function(params)
      return support.inside("/inputs?p=" .. url_encode(cjson.encode(params)), 60)
    end,
  }
end

-- Runs f(port, file) with a capturing proxy (it answers every CONNECT
-- with 403 and appends the request head to file); returns what it captured.
local function with_capture(f)
  local file = os.tmpname()
  local p = support.spawn("exec perl tests/tools/capture-proxy.pl " .. file .. " 8 60", { limit = 90 })
  local port, pid = p:read("*n", "*n")
  assert(port and pid, "capture proxy did not start")
  local ok, err = pcall(f, port)
  support.run("kill " .. pid)
  p:close()
  local head = cli.read(file)
  os.remove(file)
  assert(ok, err)
  return head
end

-- The stand-in's "retry" connector counts every request for an id: a
-- fresh id that failed once (503) answers 200 once it has seen 2.
local function hits_so_far(id)
  local client = support.client { max_retries = 0 }
  local ok, res = pcall(client.get_connector_log, client, 1, "retry", id)
  client:close()
  if ok then
    return res.attempts_seen - 1
  end
  assert.are.equal(503, res.status, tostring(res))
  return 0
end

---------------------------------------------------------------------------
-- 27.4: proxy URLs
---------------------------------------------------------------------------

-- URLs whose credentials decode to what must never reach a proxy, and what
-- the refusal says.
local BAD_PROXIES = {
  { "u5er:hun%00ter2", "control character or NUL" },
  { "u5er:hun%0ater2", "control character or NUL" },
  { "u5er:hun%0dter2", "control character or NUL" },
  { "u5er:hun%7fter2", "control character or NUL" },
  { "u5%00er:hunter2", "control character or NUL" },
  { "u5%0d%0aer:hunter2", "control character or NUL" },
  { "u5%3Aer:hunter2", "user name with ':'" },
}

describe("proxy URLs checked after decoding", function()
  for _, runner in ipairs(RUNNERS) do
    for _, case in ipairs(BAD_PROXIES) do
      it(runner.name .. ": " .. case[1] .. "@ is INVALID_ARGUMENT, before any traffic, never echoed", function()
        local id = support.nonce() .. "-1-503"
        local head = with_capture(function(port)
          local out = runner.run { base_url = support.HTTPS_LOCALHOST, connector = "retry", ids = { id },
            proxy = "http://" .. case[1] .. "@127.0.0.1:" .. port }
          assert.is_table(out.new_error, cjson.encode(out))
          assert.are.equal("INVALID_ARGUMENT", out.new_error.code)
          assert.are.equal("proxy", out.new_error.argument)
          assert.are.equal(0, out.new_error.attempts)
          assert.matches(case[2], out.new_error.message, 1, true)
          for _, secret in ipairs { "hun", "u5", "127.0.0.1" } do
            assert.is_nil(out.new_error.text:find(secret, 1, true), secret .. " in " .. out.new_error.text)
          end
        end)
        assert.are.equal("", head) -- nothing went to the proxy
        assert.are.equal(0, hits_so_far(id)) -- nor around it, to the API
      end)
    end

    it(runner.name .. ": the CONNECT carries exactly the decoded credentials", function()
      -- ':' '%' ' ' '@' and UTF-8 in the password; '%zz' is no escape and stays.
      local password = "p%a:ss w\195\169@%zz"
      local head = with_capture(function(port)
        local out = runner.run { base_url = support.HTTPS_LOCALHOST, ids = { "cap" },
          proxy = "http://c%40p:p%25a%3Ass%20w%C3%A9%40%zz@127.0.0.1:" .. port }
        assert.are.equal("CONNECTION_ERROR", out.error.code, cjson.encode(out))
        assert.matches("refused the tunnel to the API (HTTP 403 to CONNECT)", out.error.message, 1, true)
        assert.is_nil(cjson.encode(out):find("p%a", 1, true))
      end)
      assert.matches("^CONNECT localhost:" .. HTTPS_PORT .. " HTTP/1.1\r\n", head)
      assert.matches("\r\nProxy-Authorization: Basic " .. b64("c@p:" .. password) .. "\r\n", head, 1, true)
    end)
  end

  it("a bad https_proxy is named by its variable, never echoed", function()
    local code, out, err = support.run("env -u HTTPS_PROXY -u all_proxy -u ALL_PROXY -u no_proxy -u NO_PROXY "
      .. "https_proxy='http://u:se%00cret@127.0.0.1:9' SM_BUILD_DIR=" .. BUILD .. " " .. support.LUA
      .. " tests/tools/inputs_run.lua " .. support.quote(cjson.encode { base_url = support.HTTPS_LOCALHOST }))
    assert.are.equal(0, code, err)
    local result = cjson.decode(out)
    assert.are.equal("INVALID_ARGUMENT", result.new_error.code)
    assert.are.equal("https_proxy", result.new_error.argument)
    assert.matches("^https_proxy has credentials with a control character", result.new_error.message)
    assert.is_nil(out:find("cret", 1, true))
  end)

  it("a proxy option is checked where it would not be used too (http://, no_proxy)", function()
    local out = inputs.run { base_url = support.HTTP, proxy = "http://u:p%0a@127.0.0.1:9" }
    assert.are.equal("INVALID_ARGUMENT", out.new_error.code)
    assert.are.equal("proxy", out.new_error.argument)
    -- a good one there is simply not used
    out = inputs.run { base_url = support.HTTP, proxy = "http://u:p@127.0.0.1:9" }
    assert.are.equal("in1", out.entry.id)
    assert.is_nil(out.client:find("via proxy", 1, true))
  end)

  -- The second guard alone: a copy of the module built without the URL
  -- check (so libcurl 7.88 is given credentials it cannot decode, and goes
  -- around the proxy) must still send nothing to the API.
  it("#slow a libcurl that goes around the proxy gets no request out", function()
    local dir = "tests/tmp/inputs-mutant"
    local pc = support.LUA == "luajit" and "luajit" or support.LUA:match("lua%d%.%d")
    assert(pc, "cannot tell the pkg-config name of " .. support.LUA)
    local script = table.concat({
      "rm -rf " .. dir, "mkdir -p " .. dir .. "/src " .. dir .. "/supermetrics",
      "cp src/*.c src/*.h " .. dir .. "/src/",
      "sed -i 's/else if (ctrl)$/else if (ctrl \\&\\& 0)/' " .. dir .. "/src/endpoint.c",
      "! cmp -s src/endpoint.c " .. dir .. "/src/endpoint.c",
      -- (the module's own link line: libcurl and hiredis)
      "cc -std=c99 -O0 -D_POSIX_C_SOURCE=200809L -fPIC -shared -fvisibility=hidden $(pkg-config --cflags " .. pc
        .. " libcurl hiredis) -o " .. dir .. "/supermetrics/core.so " .. dir
        .. "/src/*.c $(pkg-config --libs libcurl hiredis) -lm",
    }, " && ")
    -- (not under the sanitizer run's preloaded runtime: the compiler has
    -- leaks of its own)
    local built, _, build_err = support.run("env -u LD_PRELOAD sh -c " .. support.quote(script), { limit = 240 })
    assert.are.equal(0, built, build_err)
    local id = support.nonce() .. "-1-503"
    local head = with_capture(function(port)
      local code, out, err = support.run("SM_BUILD_DIR=" .. dir .. " " .. support.LUA .. " tests/tools/inputs_run.lua "
        .. support.quote(cjson.encode { base_url = support.HTTPS_LOCALHOST, ca_file = support.CA,
          connector = "retry", ids = { id }, proxy = "http://u:pa%00ss@127.0.0.1:" .. port }))
      assert.are.equal(0, code, err)
      local result = cjson.decode(out)
      assert.matches("via proxy 127.0.0.1:" .. port, result.client, 1, true) -- the copy took the URL
      assert.are.equal("CONNECTION_ERROR", result.error.code, out)
      assert.matches("instead of the proxy 127.0.0.1:" .. port .. ": the request was not sent", result.error.message,
        1, true)
    end)
    assert.are.equal("", head) -- it went around the proxy...
    assert.are.equal(0, hits_so_far(id)) -- ...but sent the API nothing
    support.run("rm -rf " .. dir)
  end)
end)

---------------------------------------------------------------------------
-- 27.5: the command line's key
---------------------------------------------------------------------------

-- Under a sanitizer no address-space cap (its shadow memory needs more),
-- and more slack: every process of a shell line starts its runtime.
local SANITIZER = os.getenv("SM_TEST_SANITIZER")
local A_SECOND = SANITIZER and 3 or 1

-- Runs the command line with args under a 512 MB address-space cap;
-- returns exit status, stderr and the seconds it took beyond what
-- --version takes (starting the interpreter and loading the modules: most
-- of a second under a sanitizer on a busy machine).
local function capped(shell_prefix, args)
  local cap = SANITIZER and "" or "ulimit -v 524288; "
  local t0 = support.now()
  local code, _, err = support.run(cap .. shell_prefix .. cli.command("SUPERMETRICS_X=1") .. " " .. args,
    { limit = 30 })
  local t1 = support.now()
  assert(support.run(cap .. cli.command("SUPERMETRICS_X=1") .. " --version") == 0)
  return code, err, (t1 - t0) - (support.now() - t1)
end

describe("supermetrics-logs --key-file", function()
  after_each(support.cleanup) -- terminals a failed test left open

  it("/dev/zero: exit 74 within a second, memory flat (nothing read)", function()
    local code, err, took = capped("", "--key-file /dev/zero get 1 T3S70 1")
    assert.are.equal(74, code, err)
    assert.matches("--key-file /dev/zero: is not a regular file", err, 1, true)
    assert.is_true(took < A_SECOND, "took " .. took .. " s more than --version")
  end)

  it("- from /dev/zero or an endless pipe: 74 'too long' after 16 KiB + 1, within a second", function()
    for _, prefix in ipairs { "", "cat /dev/zero | " } do
      local code, err, took = capped(prefix, "--key-file - get 1 T3S70 1" .. (prefix == "" and " </dev/zero" or ""))
      assert.are.equal(74, code, err)
      assert.matches("--key-file -: too long: the key (its first line) is at most 16384 bytes", err, 1, true)
      assert.is_true(took < A_SECOND, "took " .. took .. " s more than --version")
    end
  end)

  it("a FIFO, a device, a directory: refused as not a regular file, without waiting for a writer", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(support.run("mkdir " .. dir .. " && mkfifo " .. dir .. "/fifo") == 0)
    for _, case in ipairs {
      { dir .. "/fifo", "is not a regular file (a FIFO, device or socket): give a file, or - for standard input" },
      { "/dev/null", "is not a regular file" },
      { dir, "is a directory, not a file" },
    } do
      local code, _, err = support.run(cli.command("SUPERMETRICS_X=1") .. " --key-file " .. case[1] .. " get 1 T3S70 1",
        { limit = 10 })
      assert.are.equal(74, code, err)
      assert.matches("--key-file " .. case[1] .. ": " .. case[2], err, 1, true)
    end
    support.run("rm -rf " .. dir)
  end)

  it("reads at most the key's 16384 bytes and one more: longer is 74, the rest of a file is never read", function()
    local long, exact, tail = os.tmpname(), os.tmpname(), os.tmpname()
    cli.write(long, ("a"):rep(KEY_MAX + 1))
    cli.write(exact, ("a"):rep(KEY_MAX) .. "\n")
    -- the key, then a megabyte that is not read
    cli.write(tail, support.KEY .. "\n" .. ("\0"):rep(1024 * 1024))
    assert(support.run("chmod 600 " .. long .. " " .. exact .. " " .. tail) == 0)
    local code, _, err = cli.run("--key-file " .. long .. " get 1 T3S70 1", "SUPERMETRICS_X=1")
    assert.are.equal(74, code, err)
    assert.matches("too long", err, 1, true)
    code, _, err = cli.run("--key-file " .. exact .. " get 1 T3S70 1", "SUPERMETRICS_X=1")
    assert.are_not.equal(74, code, err) -- as long as a key may be: the server's to judge
    assert.is_nil(err:find("too long", 1, true))
    local out
    code, out, err = cli.run("--key-file " .. tail .. " get 1 T3S70 1", "SUPERMETRICS_X=1")
    assert.are.equal(0, code, err)
    assert.are.equal("1", cjson.decode(out).id)
    local piped
    code, piped, err = support.run("printf '%s\\n' " .. support.KEY .. " | " .. cli.command("SUPERMETRICS_X=1")
      .. " --key-file - get 1 T3S70 2")
    assert.are.equal(0, code, err)
    assert.are.equal("2", cjson.decode(piped).id)
    os.remove(long)
    os.remove(exact)
    os.remove(tail)
  end)

  it("a read failure is 74 and says why", function()
    -- A regular file in /proc whose read fails (EIO at offset 0).
    local code, _, err = cli.run("--key-file /proc/self/mem get 1 T3S70 1", "SUPERMETRICS_X=1")
    assert.are.equal(74, code, err)
    assert.matches("--key-file /proc/self/mem: cannot read it (", err, 1, true)
  end)

  -- The command line of pid has set its Ctrl-C trap and turned core dumps
  -- off (cli.run does both, in that order, before anything else): from
  -- then on it is about to wait for its key, or waiting.
  local function armed(pid)
    local f = io.open("/proc/" .. pid .. "/limits")
    local limits = f and f:read("*a") or ""
    if f then f:close() end
    local cmdline = cli.read("/proc/" .. pid .. "/cmdline")
    return cmdline:find("supermetrics-logs", 1, true) and limits:match("Max core file size%s+0%s+0%s") ~= nil
  end

  -- A terminal runs cmd (which writes its pid to pid_file and then execs
  -- the command line); Ctrl-C once it is armed. Returns the screen once the
  -- shell printed the exit status.
  local function ctrl_c(cmd, pid_file)
    local term = cli.terminal()
    term.run(support.SIGNALLED .. "sh -c " .. cli.quote("echo $$ > " .. pid_file .. "; exec " .. cmd)
      .. "; echo EXIT:$?")
    cli.wait_until(function()
      local pid = cli.read(pid_file):match("%d+")
      return pid and armed(pid)
    end, 20, "the command line to set its trap")
    term.keys("C-c")
    local screen
    cli.wait_until(function()
      screen = term.screen()
      return screen:find("EXIT:%d+") ~= nil
    end, 5, "the command line to end after Ctrl-C")
    term.close()
    return screen
  end

  it("Ctrl-C ends a wait for the key on an idle terminal: 130", function()
    local pid_file = os.tmpname()
    local screen = ctrl_c(cli.command("SUPERMETRICS_X=1") .. " --key-file - get 1 T3S70 1", pid_file)
    os.remove(pid_file)
    assert.matches("supermetrics-logs: interrupted", screen, 1, true)
    assert.matches("EXIT:130", screen, 1, true)
  end)

  it("Ctrl-C ends a wait for the key on a FIFO no one writes to: 130", function()
    local pid_file, fifo = os.tmpname(), os.tmpname()
    os.remove(fifo)
    assert(support.run("mkfifo " .. fifo) == 0)
    -- <> opens it without waiting for a writer; the command line's read waits
    local screen = ctrl_c(cli.command("SUPERMETRICS_X=1") .. " --key-file - get 1 T3S70 1 <> " .. fifo, pid_file)
    os.remove(pid_file)
    os.remove(fifo)
    assert.matches("supermetrics-logs: interrupted", screen, 1, true)
    assert.matches("EXIT:130", screen, 1, true)
  end)

  it("never dumps core: RLIMIT_CORE 0 before the key is read, and a crash leaves no core", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(support.run("mkdir " .. dir .. " && mkfifo " .. dir .. "/fifo") == 0)
    -- It waits for its key on the FIFO; its shell allows core dumps.
    local p = support.spawn("cd " .. dir .. " && { ulimit -c unlimited 2>/dev/null; " .. support.SIGNALLED
      .. cli.command("SUPERMETRICS_X=1") .. " --key-file - get 1 T3S70 1 <> fifo 2>/dev/null & echo $!; wait; }",
      { limit = 30 })
    local pid = p:read("*n")
    assert(pid, "the command line did not start")
    local ok = pcall(cli.wait_until, function() return armed(pid) end, 10, "core dumps off")
    local limits = cli.read("/proc/" .. pid .. "/limits")
    support.run("kill -SEGV " .. pid)
    p:close()
    local _, listing = support.run("ls -A " .. dir)
    support.run("rm -rf " .. dir)
    assert(ok, "core dumps are still allowed: " .. (limits:match("Max core file size[^\n]*") or limits))
    local pattern = cli.read("/proc/sys/kernel/core_pattern")
    if not pattern:find("^|") then
      assert.are.equal("fifo\n", listing) -- no core file beside it
    end
  end)
end)

---------------------------------------------------------------------------
-- 27.6: callbacks and the deadline
---------------------------------------------------------------------------

-- How late a call may end after its callback returned.
local SLACK = 0.4

describe("callbacks past the call's deadline", function()
  for _, runner in ipairs(RUNNERS) do
    local function run(params)
      params.base_url = params.base_url or support.HTTP
      return runner.run(params)
    end

    it(runner.name .. ": a token_provider that returns late: TIMEOUT at that point, no request", function()
      local id = support.nonce() .. "-1-503"
      local out = run { timeout = 0.2, provider_sleep = 0.5, connector = "retry", ids = { id } }
      assert.are.equal("TIMEOUT", out.error.code, cjson.encode(out))
      assert.are.equal("the call's deadline passed while its token_provider ran", out.error.message)
      assert.are.equal(0, out.error.attempts)
      assert.are.equal(1, out.provider_calls)
      assert.are.equal(0, out.events)
      assert.is_true(out.took < 0.5 + SLACK, "took " .. out.took)
      assert.are.equal(0, hits_so_far(id))
    end)

    it(runner.name .. ": an on_response that returns late after a success: TIMEOUT, the entry unused", function()
      local out = run { timeout = 0.2, hook_sleep = 0.5 }
      assert.is_nil(out.entry)
      assert.are.equal("TIMEOUT", out.error.code, cjson.encode(out))
      assert.are.equal("the call's deadline passed while its on_response ran (after attempt 1: HTTP 200)",
        out.error.message)
      assert.are.equal(1, out.error.attempts)
      assert.is_string(out.error.request_id)
      assert.is_true(out.took < 0.5 + SLACK, "took " .. out.took)
    end)

    it(runner.name .. ": an on_response that returns late after a failure: TIMEOUT, not another attempt", function()
      local id = support.nonce() .. "-2-503"
      local out = run { timeout = 0.2, hook_sleep = 0.5, max_retries = 3, connector = "retry", ids = { id } }
      assert.are.equal("TIMEOUT", out.error.code, cjson.encode(out))
      assert.are.equal("the call's deadline passed while its on_response ran (after attempt 1: "
        .. "SERVICE_UNAVAILABLE (HTTP 503))", out.error.message)
      assert.are.equal(1, out.error.attempts)
      assert.are.equal(1, out.events)
      assert.is_true(out.took < 0.5 + SLACK, "took " .. out.took)
      -- the stand-in saw that one attempt only: its next answer is the second 503
      local client = support.client { max_retries = 0 }
      local err = support.catch(client.get_connector_log, client, 1, "retry", id)
      client:close()
      assert.are.equal("req_retry_503_2", err.request_id)
    end)

    it(runner.name .. ": batch items: each one TIMEOUT, for either callback", function()
      local ids = { "cb1", "cb2", "cb3" }
      for _, what in ipairs { "token_provider", "on_response" } do
        local params = { timeout = 0.2, call = "batch", ids = ids }
        params[what == "token_provider" and "provider_sleep" or "hook_sleep"] = 0.3
        local out = run(params)
        assert.is_nil(out.error, cjson.encode(out))
        for i = 1, #ids do
          assert.is_false(out.entries[i], what)
          assert.are.equal("TIMEOUT", out.errors[i].code, cjson.encode(out))
          assert.matches("while its " .. what .. " ran", out.errors[i].message, 1, true)
        end
      end
    end)

    it(runner.name .. ": paging: the page whose on_response returns late ends the walk with TIMEOUT", function()
      local out = run { timeout = 0.2, hook_sleep = 0.5, call = "paging", connector = "paged-10-1" }
      assert.is_nil(out.walked)
      assert.are.equal("TIMEOUT", out.error.code, cjson.encode(out))
      assert.matches("while its on_response ran (after attempt 1: HTTP 200)", out.error.message, 1, true)
      assert.are.equal(1, out.events)
      assert.is_true(out.took < 0.5 + SLACK, "took " .. out.took)
    end)

    it(runner.name .. ": callbacks that return in time change nothing", function()
      local out = run { timeout = 5, provider_sleep = 0.05, hook_sleep = 0.05, call = "paging",
        connector = "paged-10-1" }
      assert.is_nil(out.error, cjson.encode(out))
      assert.are.equal(10, out.walked)
      out = run { timeout = 5, provider_sleep = 0.05, hook_sleep = 0.05, call = "batch", ids = { "ok1", "ok2" } }
      assert.are.same({ "ok1", "ok2" }, out.entries)
    end)
  end
end)
