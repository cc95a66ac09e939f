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

--- A client on the stand-in; opts override the test defaults (quick retries).
function support.client(opts, transport)
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
  return supermetrics.new(o)
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

--- Runs a shell command; returns its exit code, stdout and stderr. (Lua 5.1
-- and LuaJIT do not report a popen'ed command's exit code: the shell does.)
function support.run(cmd)
  local err_file = os.tmpname()
  local p = assert(io.popen("{ " .. cmd .. " ; } 2>" .. err_file .. "; echo \"exit:$?\""))
  local out = p:read("*a")
  p:close()
  local f = assert(io.open(err_file))
  local err = f:read("*a")
  f:close()
  os.remove(err_file)
  local body, code = out:match("^(.-)exit:(%d+)\n?$")
  return tonumber(code), body, err
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
  local p = assert(io.popen("exec " .. assert(os.getenv("SM_TEST_BLACKHOLE")) .. " 30"))
  local port, pid = p:read("*n", "*n")
  assert(port and pid, "blackhole did not start")
  local ok, err = pcall(f, "http://127.0.0.1:" .. port)
  os.execute("kill " .. pid)
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
