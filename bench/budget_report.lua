-- bench/budget.sh's report: the section "## The rate budget inside nginx
-- (two workers, wrk -c N)" of RESULTS.md (replaced, or added at the end),
-- from TMP/closed.tsv (store, calls, window's ok, late, socket errors) and
-- TMP/open.tsv (store, round, requests/s, non-2xx).
-- Usage: lua5.4 budget_report.lua TMP CONNECTIONS SECONDS ROUNDS COMMIT
local tmp, conns, secs, rounds, commit = arg[1], arg[2], arg[3], tonumber(arg[4]), arg[5]
local out_dir = assert(os.getenv("BENCH_RESULTS_DIR"))
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;" .. package.path
local report_lib = require "report_lib"
local SECTION = "## The rate budget inside nginx (two workers, wrk -c " .. conns .. ")"
local ORDER = { "off", "local", "dict", "redis" }
local LABEL = {
  off = "off (`budget = false`: each call alone, as before)",
  ["local"] = "per worker (the default)",
  dict = "`{ dict = ... }` (a lua_shared_dict)",
  redis = "`{ redis = ... }` (Redis on loopback)",
}

local function rows(file)
  local t = {}
  for line in io.lines(file) do
    local r = {}
    for v in line:gmatch("[^\t]+") do r[#r + 1] = v end
    t[#t + 1] = r
  end
  return t
end

local closed, open = {}, {}
for _, r in ipairs(rows(tmp .. "/closed.tsv")) do
  closed[r[1]] = { calls = tonumber(r[2]), ok = tonumber(r[3]), late = tonumber(r[4]) }
end
for _, r in ipairs(rows(tmp .. "/open.tsv")) do
  open[r[1]] = open[r[1]] or { rps = {}, non2xx = 0 }
  table.insert(open[r[1]].rps, tonumber(r[3]))
  open[r[1]].non2xx = open[r[1]].non2xx + tonumber(r[4])
end
local median, fmt = report_lib.median, report_lib.thousands

local base = median(open.off.rps)
local section = {
  SECTION, "",
  "Issue 29's load: a front nginx with two workers calls the test stand-in's enforced rate window "
    .. "(tests/server/window.lua) through the library, one `get_connector_log` per wrk request, "
    .. conns .. " connections, " .. secs .. " s per run (bench/budget.sh). *Sent into the closed window*: "
    .. "a window of 100 requests that then answers 429 with `Retry-After: 3600` for the rest of the run; "
    .. "what reached the stand-in after its first 429 (requests already in flight when that 429 went out "
    .. "count too: at most one per connection). *Requests/s while open*: a window that never closes, the "
    .. "median of " .. rounds .. " interleaved rounds (all rounds in brackets); the stand-in (nginx + Lua, one "
    .. "worker) shares the machine's two cores with the front and wrk, so compare the rows, not the "
    .. "absolute figures.",
  "",
  "| budget | calls in the closed-window run | answered by the window | sent into the closed window | "
    .. "requests/s while open | x off | non-2xx while open |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
}
for _, store in ipairs(ORDER) do
  local c, o = closed[store], open[store]
  if c and o then
    local m = median(o.rps)
    local all = {}
    for _, v in ipairs(o.rps) do all[#all + 1] = fmt(v) end
    section[#section + 1] = string.format("| %s | %s | %s | **%s** | %s (%s) | %.2f | %d |", LABEL[store],
      fmt(c.calls), fmt(c.ok), fmt(c.late), fmt(m), table.concat(all, ", "), m / base, o.non2xx)
  end
end
section[#section + 1] = ""
section[#section + 1] = "lua-supermetrics library code as of commit " .. commit .. "."

report_lib.place_section(out_dir .. "/RESULTS.md", section, "## The rate budget inside nginx")
