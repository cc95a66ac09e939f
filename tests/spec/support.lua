-- Shared helpers of the specs: where the local Hub stand-in listens, the
-- seed entry, and small wrappers that keep each spec about one behaviour.
local supermetrics = require "supermetrics"

local support = {}

support.HTTP = assert(os.getenv("SM_TEST_HTTP_URL"), "SM_TEST_HTTP_URL not set: the specs need the stand-in "
  .. "(make check starts it; or tests/server/start.sh tests/tmp/hub && set -a && . tests/tmp/hub/env)")
support.HTTPS = assert(os.getenv("SM_TEST_HTTPS_URL"), "SM_TEST_HTTPS_URL not set")
support.HTTPS_LOCALHOST = assert(os.getenv("SM_TEST_HTTPS_LOCALHOST_URL"))
support.CA = assert(os.getenv("SM_TEST_CA"), "SM_TEST_CA not set")
support.KEY = "api_test_key"
support.TOKEN = "otok_test_token"
support.TEAM = 936506

-- The seed document's entry, as the contract says it comes back.
support.SEED = {
  id = "123",
  log_time = "2025-01-01",
  status = 200,
  event = "auth.token.refresh",
  request = "POST /api/oauth/token_refresh",
  duration_ms = 253,
  request_id = "8dc24bc2-8a17-4188-a509-217cb8799929",
}

-- Both transports every behaviour runs over.
support.TRANSPORTS = {
  { name = "http", base_url = support.HTTP },
  { name = "https", base_url = support.HTTPS, ca_file = support.CA },
}

-- The options of a test client: the test defaults (quick retries), then opts.
local function client_options(opts, transport)
  transport = transport or support.TRANSPORTS[1]
  local o = {
    api_key = support.KEY,
    base_url = transport.base_url,
    ca_file = transport.ca_file,
    max_retry_wait = 0.05,
  }
  for k, v in pairs(opts or {}) do
    o[k] = v
  end
  if o.api_key == false then
    o.api_key = nil
  end
  return o
end

--- A client on the stand-in; opts override the test defaults (quick retries).
function support.client(opts, transport)
  return supermetrics.new(client_options(opts, transport))
end

--- A fake clock (supermetrics.clock.fake): waits take no time and are
-- recorded (clock.sleeps, clock.slept); clock.monotonic() is the real
-- clock plus the seconds slept, so real I/O still counts.
function support.fake_clock()
  return require("supermetrics.clock").fake()
end

--- A client as support.client gives, on a fake clock (clock, or a new
-- one): its retry waits, batch waits and follow polls take no real time.
-- Returns the client and its clock.
function support.fake_client(opts, transport, clock)
  clock = clock or support.fake_clock()
  return require("supermetrics.client").new(client_options(opts, transport), { clock = clock }), clock
end

--- Calls f(...) expecting it to raise; returns the error value.
function support.catch(f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected an error, got success")
  return err
end

--- The error value of client:get_connector_log(TEAM, connector, log_id).
function support.fetch_error(client, connector, log_id)
  return support.catch(client.get_connector_log, client, support.TEAM, connector, log_id)
end

--- Counters kept by the stand-in (no credential needed).
function support.stats()
  local c = support.client()
  local s = c:get_connector_log(1, "stats", "get")
  c:close()
  return s
end

--- A name unique to this run, for stand-in scenarios that count requests
-- (the stand-in outlives a busted run: runs under other Luas must not
-- share names, even within one second).
local serial = 0
local process = (function()
  local f = assert(io.open("/dev/urandom", "rb"))
  local bytes = f:read(4)
  f:close()
  return (bytes:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end)()
function support.nonce()
  serial = serial + 1
  return string.format("n%d%sx%d", os.time(), process, serial)
end

support.now = require("supermetrics.core").monotonic

--- s as one shell word, nothing in it expanded.
function support.quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- Every child process a spec starts goes through support.run or
-- support.spawn, which run it under `timeout -k`: after opts.limit seconds
-- (support.LIMIT) it gets SIGTERM, opts.grace seconds later (support.GRACE)
-- SIGKILL, and once it has ended whatever is left of its process group
-- (children that ignored the signal) is killed too. A command stopped that
-- way is an error that names it. Its stdin is /dev/null.
support.LIMIT = 120
support.GRACE = 5

-- The shell line that runs cmd bounded, then sweeps its process group;
-- timeout's own messages (--verbose: the signals it sent) go to note_file.
-- Under the ASan run (tests/sanitize/lua5.4-asan) every process started
-- with its runtime preloaded pays its start and a leak scan at exit, six
-- times a plain start: the shells, timeout, curl and sed run without it;
-- the Lua interpreters (support.LUA, the wrapper) preload it again.
local UNPRELOAD = os.getenv("SM_TEST_SANITIZER") and "unset LD_PRELOAD; " or ""

local function bounded(cmd, opts, note_file)
  local limit = opts and opts.limit or support.LIMIT
  local grace = opts and opts.grace or support.GRACE
  -- fd 3 carries the caller's stderr past timeout's to the command; the
  -- shell's own messages (such as "Killed") go nowhere
  local line = UNPRELOAD .. string.format(
    "timeout --verbose -k %s %s sh -c %s 3>&2 2>%s </dev/null & pid=$!; exec 2>/dev/null; "
    .. "wait $pid; s=$?; kill -s KILL -- -$pid", grace, limit, support.quote("exec 2>&3 3>&-; " .. cmd), note_file)
  return line, limit, grace
end

-- Raises if timeout had to stop the command (its note says so).
local function check_note(note_file, cmd, limit, grace)
  local f = assert(io.open(note_file))
  local note = f:read("*a")
  f:close()
  os.remove(note_file)
  if note:find("sending signal", 1, true) then
    local short = #cmd > 300 and (cmd:sub(1, 300) .. "...") or cmd
    error(string.format("did not end within %g s (+%g s grace), killed: %s\n%s", limit, grace, short, note), 3)
  end
  return note
end

--- Runs a shell command, bounded (opts: limit, grace in seconds); returns
-- its exit code, stdout and stderr. (Lua 5.1 and LuaJIT do not report a
-- popen'ed command's exit code: the shell does.)
function support.run(cmd, opts)
  local err_file, note_file = os.tmpname(), os.tmpname()
  local line, limit, grace = bounded(cmd, opts, note_file)
  local p = assert(io.popen("{ " .. line .. "; } 2>" .. err_file .. "; exec 2>/dev/null; echo \"exit:$s\""))
  local out = p:read("*a")
  p:close()
  local f = assert(io.open(err_file))
  local err = f:read("*a")
  f:close()
  os.remove(err_file)
  err = err .. check_note(note_file, cmd, limit, grace)
  local body, code = out:match("^(.-)exit:(%d+)\n?$")
  return tonumber(code), body, err
end

--- The test app inside nginx (tests/openresty/app.lua): its URL, or nil
-- when the nginx specs do not run (no SM_TEST_OPENRESTY).
support.APP = os.getenv("SM_TEST_OPENRESTY") == "1" and assert(os.getenv("SM_TEST_APP_URL")) or nil

--- GET url of a test app on 127.0.0.1 in this process (LuaSocket: no
-- curl to start, hundreds of times a spec file), each wait on its socket
-- bounded by seconds (default 120); returns the status and the body, or
-- raises naming the url.
function support.get(url, seconds)
  local http = require "socket.http"
  local ltn12 = require "ltn12"
  local chunks = {}
  http.TIMEOUT = seconds or 120
  local ok, status = http.request { url = url, sink = ltn12.sink.table(chunks) }
  if not ok then
    error("GET " .. url .. " failed: " .. tostring(status), 2)
  end
  return status, table.concat(chunks)
end

--- GET path of the test app (at most seconds a wait, default 120); returns
-- its JSON answer, decoded.
function support.inside(path, seconds)
  local _, body = support.get(support.APP .. path, seconds)
  return require("cjson").decode(body)
end

--- Starts a shell command, bounded like support.run; returns a handle to
-- read its stdout from (read as a file's) and close(), which waits for it
-- and raises if it had to be stopped. Its stderr is the suite's.
function support.spawn(cmd, opts)
  local note_file = os.tmpname()
  local line, limit, grace = bounded(cmd, opts, note_file)
  local p = assert(io.popen(line .. "; exit $s"))
  return {
    read = function(_, ...) return p:read(...) end,
    close = function()
      p:close()
      check_note(note_file, cmd, limit, grace)
    end,
  }
end

-- Commands that run only until a spec signals them (Ctrl-C, SIGINT): under
-- AddressSanitizer they skip LeakSanitizer's exit scan, which a signal to
-- their process group can leave spinning (its tracer is a process of that
-- group). Processes that end on their own keep the leak check. A prefix for
-- the shell line that starts them ("" without a sanitizer).
support.SIGNALLED = os.getenv("SM_TEST_SANITIZER")
  and "ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0\" " or ""

-- Cleanups a spec registers (support.defer) for what outlives a test
-- unless ended: terminals, servers. support.cleanup() runs them, newest
-- first, each once; specs that register call it in after_each.
local deferred = {}
function support.defer(f)
  deferred[#deferred + 1] = f
end
function support.cleanup()
  local errors = {}
  while #deferred > 0 do
    local ok, err = pcall(table.remove(deferred))
    if not ok then errors[#errors + 1] = tostring(err) end
  end
  assert(#errors == 0, table.concat(errors, "\n"))
end

--- A short readable form of a test value, for test names.
function support.describe(v)
  if type(v) ~= "table" then
    return string.format("%q", tostring(v))
  end
  local parts = {}
  for k, x in pairs(v) do
    parts[#parts + 1] = tostring(k) .. "=" .. string.format("%q", tostring(x)):gsub("\\\n", "\\n")
  end
  table.sort(parts)
  return "{" .. table.concat(parts, ", ") .. "}"
end

--- The interpreter running the suite, for child processes.
support.LUA = os.getenv("LUA") or "lua5.4"

--- Runs f(base_url) with a loopback port whose connects hang
-- (tests/tools/blackhole.c); the helper is killed afterwards.
function support.with_blackhole(f)
  local p = support.spawn("exec " .. assert(os.getenv("SM_TEST_BLACKHOLE")) .. " 30", { limit = 60 })
  local port, pid = p:read("*n", "*n")
  assert(port and pid, "blackhole did not start")
  local ok, err = pcall(f, "http://127.0.0.1:" .. port)
  support.run("kill " .. pid)
  p:close()
  assert(ok, err)
end

--- The test-only fork module (tests/tools/fork.c), built for the
-- interpreter under test into tests/tmp.
function support.fork_module()
  local pc = support.LUA:match("luajit") and "luajit" or support.LUA:match("(lua5%.%d)")
  local dir = "tests/tmp/fork-" .. pc
  local so = dir .. "/sm_test_fork.so"
  -- Without the sanitizer run's preloaded runtime: the compiler is not ours.
  local code, _, err = support.run("mkdir -p " .. dir .. " && env -u LD_PRELOAD cc -std=c99 "
    .. "-D_POSIX_C_SOURCE=200809L -Wall -Werror -shared -fPIC $(pkg-config --cflags " .. pc .. ") "
    .. "tests/tools/fork.c -o " .. so)
  assert(code == 0, "could not build the fork module: " .. err)
  return assert(package.loadlib(so, "luaopen_sm_test_fork"))()
end

return support
