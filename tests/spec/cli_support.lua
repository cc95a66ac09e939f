-- Shared by the command line's specs: run supermetrics-logs as a user runs
-- it (a child process, or a shell line around one) against the stand-in.
local support = require "tests.spec.support"

local cli = {}

-- Absolute paths, so that a command line may also run from elsewhere.
local ROOT = select(2, support.run("pwd")):match("[^\n]+")
cli.BIN = ROOT .. "/bin/supermetrics-logs"

--- The environment prefix of a command line: the build under test, the
-- stand-in, and the key (or extra, which replaces it).
function cli.env(extra)
  return table.concat({
    "env -u SUPERMETRICS_API_KEY -u NO_COLOR",
    "LUA_PATH='" .. ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;;'",
    "LUA_CPATH='" .. os.getenv("SM_BUILD_DIR") .. "/?.so;;'",
    "SUPERMETRICS_BASE_URL=" .. support.HTTP,
    extra or "SUPERMETRICS_API_KEY=" .. support.KEY,
  }, " ")
end

--- The shell words that start the command line.
function cli.command(extra_env)
  return cli.env(extra_env) .. " " .. support.LUA .. " " .. cli.BIN
end

--- Runs the command line with args; returns exit status, stdout, stderr.
function cli.run(args, extra_env)
  return support.run(cli.command(extra_env) .. " " .. args)
end

--- Runs the command line with args and --verbose into `| head -n`; returns
-- the exit status, what head printed, how many requests the command made,
-- and its stderr.
function cli.into_head(args, n)
  local err_file = os.tmpname()
  local code, out = support.run(cli.command() .. " " .. args .. " --verbose 2>" .. err_file
    .. " | head -" .. n)
  local err = cli.read(err_file)
  os.remove(err_file)
  local requests = 0
  for _ in err:gmatch("supermetrics%-logs: GET ") do requests = requests + 1 end
  return code, out, requests, err
end

function cli.lines(s)
  local out = {}
  for l in s:gmatch("[^\n]+") do out[#out + 1] = l end
  return out
end

--- The ids of ndjson output, in order.
function cli.ids(out)
  local cjson = require "cjson"
  local got = {}
  for i, l in ipairs(cli.lines(out)) do got[i] = cjson.decode(l).id end
  return got
end

--- A key file with mode (an octal string such as "600"); returns its path.
function cli.key_file(mode)
  local path = os.tmpname()
  cli.write(path, support.KEY .. "\n")
  assert(support.run("chmod " .. mode .. " " .. path) == 0)
  return path
end

function cli.read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

function cli.write(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

--- Waits until check() is true, polling every 10 ms; fails after limit
-- seconds. For waiting on another process (no other signal exists).
function cli.wait_until(check, limit, what)
  local deadline = support.now() + limit
  while not check() do
    assert(support.now() < deadline, "gave up waiting for " .. what)
    require("supermetrics.core").sleep(0.01)
  end
end

cli.quote = support.quote

--- A terminal for the command line: tmux on a private socket (in
-- SM_TEST_TMUX_DIR, which the suite's runner sweeps after each spec file,
-- else tests/tmp/tmux). run(cmd) starts cmd in it; finished() waits until
-- cmd has ended; screen() is what the terminal shows (escapes too with
-- colors); close() ends it and everything it started. A spec that opens
-- terminals calls support.cleanup in after_each: that closes the ones a
-- failed test left open.
function cli.terminal(width)
  local dir = os.getenv("SM_TEST_TMUX_DIR") or (ROOT .. "/tests/tmp/tmux")
  assert(support.run("mkdir -p " .. dir) == 0)
  local socket = dir .. "/" .. support.nonce()
  local tmux = "tmux -S " .. socket
  local t, closed = {}, false
  function t.run(cmd)
    local line = cmd .. "; " .. tmux .. " wait-for -S cli-done; exec cat"
    -- nothing in line is expanded before the terminal's shell runs it
    assert(support.run(tmux .. " new-session -d -x " .. (width or 200) .. " -y 20 " .. cli.quote(line)) == 0)
  end
  function t.keys(keys)
    assert(support.run(tmux .. " send-keys " .. keys) == 0)
  end
  function t.finished()
    -- wait-for blocks until the command has signalled that it ended
    assert(support.run(tmux .. " wait-for cli-done") == 0)
  end
  function t.screen(colors)
    local _, screen = support.run(tmux .. " capture-pane -p" .. (colors and " -e" or ""))
    return screen
  end
  function t.close()
    if closed then return end
    closed = true
    -- The pane's process group first (a command may outlast the SIGHUP
    -- kill-server sends), then the server.
    support.run(cli.kill_terminal_command(socket))
  end
  support.defer(t.close)
  return t
end

--- The shell line that ends the tmux server on socket and every process in
-- its panes (tests/lib/busted.sh sweeps a spec file's the same way).
function cli.kill_terminal_command(socket)
  local tmux = "tmux -S " .. socket
  return tmux .. " list-panes -a -F '#{pane_pid}' 2>/dev/null | while read -r p; do kill -s KILL -- -\"$p\"; done; "
    .. tmux .. " kill-server 2>/dev/null; rm -f " .. socket
end

return cli
