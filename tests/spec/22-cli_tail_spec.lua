-- supermetrics-logs tail (and --follow) against a log that grows while it
-- runs (the stand-in's live-<nonce> connector, three entries a second;
-- .../logs/add-<k> appends k), and Ctrl-C at every point a user may press
-- it: while following, in the middle of a request, during a retry wait.
local cjson = require "cjson"
local support = require "tests.spec.support"
local cli = require "tests.spec.cli_support"

local run, lines, ids = cli.run, cli.lines, cli.ids


local function live_ids(from, to)
  local out = {}
  for i = from, to do out[#out + 1] = "L" .. i end
  return out
end

local client
local function add(nonce, k)
  return client:get_connector_log(1, "live-" .. nonce, "add-" .. k).count
end

-- Runs script (a shell line) that starts the command line in the
-- background as $pid; it then waits for what `ready` says, sends SIGINT,
-- and reports the exit status. Returns status, stdout, stderr of the
-- command line and the seconds from SIGINT to its end.
local function interrupt(args, ready)
  local out, err = os.tmpname(), os.tmpname()
  local script = support.SIGNALLED .. cli.command() .. " " .. args .. " >" .. out .. " 2>" .. err .. " & pid=$!; "
    .. ready(err) .. "; t0=$(date +%s%N); kill -INT $pid; wait $pid; s=$?; "
    .. "echo \"$s $(( ($(date +%s%N) - t0) / 1000000 ))\""
  local _, report = support.run(script)
  local status, ms = report:match("(%d+) (%d+)")
  local o, e = cli.read(out), cli.read(err)
  os.remove(out)
  os.remove(err)
  return tonumber(status), o, e, tonumber(ms) / 1000
end

-- A shell line that returns once the stand-in has n requests tagged tag
-- in flight.
local function in_flight(n, tag)
  return cli.command() .. " get 1 stats await" .. n .. "-" .. tag .. " >/dev/null"
end

describe("supermetrics-logs tail", function()
  after_each(support.cleanup) -- terminals a failed test left open
  setup(function() client = support.client() end)
  teardown(function() client:close() end)

  it("prints the entries since an ISO time, oldest first, and exits", function()
    local nonce = support.nonce()
    add(nonce, 12) -- L1..L12: three a second from 2025-06-01T00:00:00Z
    local code, out, err = run("tail 1 live-" .. nonce .. " --since 2025-06-01T00:00:02Z --format ndjson")
    assert.are.equal(0, code, err)
    assert.are.same(live_ids(7, 12), ids(out))
  end)

  it("takes --since as a duration back from now", function()
    local nonce = support.nonce()
    add(nonce, 4) -- stamped in 2025: all within 100000 days, none within an hour
    local _, all = run("tail 1 live-" .. nonce .. " --since 100000d --format ndjson")
    assert.are.same(live_ids(1, 4), ids(all))
    local code, none = run("tail 1 live-" .. nonce .. " --since 1h --format ndjson")
    assert.are.equal(0, code)
    assert.are.equal("", none)
  end)

  it("prints the newest 10 entries, or -n N, oldest first", function()
    local nonce = support.nonce()
    add(nonce, 30)
    local _, ten = run("tail 1 live-" .. nonce .. " --format ndjson")
    assert.are.same(live_ids(21, 30), ids(ten))
    local _, four = run("tail 1 live-" .. nonce .. " -n 4 --format ndjson")
    assert.are.same(live_ids(27, 30), ids(four))
    local _, filtered = run("tail 1 mixed -n 6 --status 5xx --format ndjson")
    assert.are.same({ "m5", "m6" }, ids(filtered))
  end)

  it("--follow prints new entries once each, in order, within one interval; 2,000 at once too (tmux)", function()
    local nonce = support.nonce()
    add(nonce, 5)
    local out_file, status_file = os.tmpname(), os.tmpname()
    local term = cli.terminal()
    term.run(support.SIGNALLED .. cli.command() .. " tail 1 live-" .. nonce
      .. " -n 2 --follow --interval 1 --format ndjson > " .. out_file .. "; echo $? > " .. status_file)
    local function count() return #lines(cli.read(out_file)) end
    cli.wait_until(function() return count() == 2 end, 10, "the last two entries")
    add(nonce, 3)
    local started = support.now()
    cli.wait_until(function() return count() >= 5 end, 10, "three new entries")
    local took = support.now() - started
    add(nonce, 2000)
    cli.wait_until(function() return count() >= 2005 end, 30, "2,000 new entries")
    add(nonce, 1)
    cli.wait_until(function() return count() >= 2006 end, 10, "one more")
    term.keys("C-c")
    term.finished()
    term.close()
    local out = cli.read(out_file)
    local status = cli.read(status_file)
    os.remove(out_file)
    os.remove(status_file)
    assert.are.same(live_ids(4, 2009), ids(out)) -- once each, in order, nothing else
    assert.is_true(took < 2, "new entries took " .. took .. " s with --interval 1")
    assert.are.equal("0\n", status) -- Ctrl-C is how following ends
    assert.are.equal("\n", out:sub(-1)) -- the last line is whole
  end)

  it("--follow --since prints what came since, then follows", function()
    local nonce = support.nonce()
    add(nonce, 6)
    local status, out = interrupt("tail 1 live-" .. nonce .. " --since 2025-06-01T00:00:01Z -f --interval 0.05 "
      .. "--format ndjson --verbose", function(err)
        -- the first entries are out once a list request was answered twice
        return "timeout -k 5 10 sh -c 'until [ $(grep -c logs " .. err .. ") -ge 2 ]; do sleep 0.01; done'"
      end)
    assert.are.equal(0, status)
    assert.are.same(live_ids(4, 6), ids(out))
  end)

  it("| head ends --follow quietly when the next entry comes", function()
    local nonce = support.nonce()
    add(nonce, 3)
    local done, err_file = os.tmpname(), os.tmpname()
    local script = "{ " .. cli.command() .. " tail 1 live-" .. nonce .. " -f --interval 0.05 --format ndjson -n 3 2>"
      .. err_file .. "; echo $? > " .. done .. "; } | head -3"
    local p = support.spawn(script .. "; echo end")
    -- head has its three lines and leaves; the next entry's write ends the tail
    local first = p:read("*l")
    add(nonce, 2)
    local rest = p:read("*a")
    p:close()
    local status, err = cli.read(done), cli.read(err_file)
    os.remove(done)
    os.remove(err_file)
    assert.are.equal("L1", cjson.decode(first).id)
    assert.truthy(rest:find("end\n$"))
    assert.are.equal("", err)
    assert.truthy(status == "141\n" or status == "0\n", status)
  end)
end)

describe("Ctrl-C", function()
  it("ends a request in flight at once: exit 130, an unfinished JSON array left unfinished", function()
    local tag = support.nonce()
    -- page 1 comes at once, page 2 takes 20 s
    local status, out, err, took = interrupt("list 1 paged-10-1-slow" .. tag .. " --all --limit 3 --fields id",
      function() return in_flight(1, tag) end)
    assert.are.equal(130, status)
    assert.is_true(took < 2, "took " .. took .. " s")
    assert.are.equal('[\n  {"id":"e1"},\n  {"id":"e2"},\n  {"id":"e3"}\n', out)
    assert.are.equal("supermetrics-logs: interrupted\n", err)
  end)

  it("ends a single call in flight at once", function()
    local tag = support.nonce()
    local status, out, err, took = interrupt("get 1 slow 20000-" .. tag .. " --timeout 60",
      function() return in_flight(1, tag) end)
    assert.are.equal(130, status)
    assert.is_true(took < 2, "took " .. took .. " s")
    assert.are.equal("", out)
    assert.are.equal("supermetrics-logs: interrupted\n", err)
  end)

  it("ends a retry wait at once (Retry-After: 15)", function()
    local status, out, err, took = interrupt("get 1 retry " .. support.nonce() .. "-1-503-15 --verbose",
      function(err_file)
        return "timeout -k 5 10 sh -c 'until grep -q \"attempt 1\" " .. err_file .. "; do sleep 0.01; done'"
      end)
    assert.are.equal(130, status)
    assert.is_true(took < 2, "took " .. took .. " s")
    assert.are.equal("", out)
    assert.truthy(err:find("supermetrics%-logs: interrupted\n$"), err)
    assert.is_nil(err:find("traceback", 1, true))
  end)
end)
