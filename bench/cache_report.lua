-- bench/cache.sh's report: the section "## The entry cache inside nginx (one
-- worker, wrk -c N)" of RESULTS.md (replaced, or added at the end), from
-- TMP/runs.tsv (location, round, requests/s, non-2xx), and issue 30's two
-- targets, met or not, on stdout (TMP/targets.txt too).
-- Usage: lua5.4 cache_report.lua TMP CONNECTIONS SECONDS ROUNDS COMMIT
local tmp, conns, secs, rounds, commit = arg[1], arg[2], arg[3], tonumber(arg[4]), arg[5]
local out_dir = assert(os.getenv("BENCH_RESULTS_DIR"))
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;" .. package.path
local report_lib = require "report_lib"
local SECTION = "## The entry cache inside nginx (one worker, wrk -c " .. conns .. ")"
local ORDER = { "proxy_cache", "proxy", "floor", "hit_json", "hit_table", "lib_json", "lib" }
local LABEL = {
  proxy_cache = "nginx `proxy_cache` hit (`proxy_cache_lock on`)",
  proxy = "nginx `proxy_pass` (a request each)",
  floor = "floor: a string from lua-resty-lrucache + `ngx.print`",
  hit_json = "cache hit: `get_connector_log_json` + `ngx.print`",
  hit_table = "cache hit: `get_connector_log` + `cjson.encode`",
  lib_json = "no cache: `get_connector_log_json` + `ngx.print` (a request each)",
  lib = "no cache: `get_connector_log` + `cjson.encode` (a request each)",
}

local runs = {}
for line in io.lines(tmp .. "/runs.tsv") do
  local loc, _, rps, non2xx = line:match("^(%S+)\t(%S+)\t(%S+)\t(%S+)$")
  runs[loc] = runs[loc] or { rps = {}, non2xx = 0 }
  table.insert(runs[loc].rps, tonumber(rps))
  runs[loc].non2xx = runs[loc].non2xx + (tonumber(non2xx) or 0)
end
local median, fmt = report_lib.median, report_lib.thousands

local base = median(runs.proxy_cache.rps)
local section = {
  SECTION, "",
  "Issue 30's load: a front nginx with one worker on a core of its own answers wrk (" .. conns
    .. " connections, on the other core with the upstream) with the bench server's seed entry, "
    .. secs .. " s per run, the median of " .. rounds .. " interleaved rounds (all rounds in brackets), "
    .. "ratios to nginx's own `proxy_cache` hits in the same run (bench/cache.sh). The library's "
    .. "cache is `{ dict = ... }`: the worker's LRU over a lua_shared_dict; every request after the "
    .. "first is a hit.",
  "",
  "| location | requests/s | x proxy_cache hit | non-2xx |",
  "| --- | ---: | ---: | ---: |",
}
for _, loc in ipairs(ORDER) do
  local r = runs[loc]
  if r then
    local m = median(r.rps)
    local all = {}
    for _, v in ipairs(r.rps) do all[#all + 1] = fmt(v) end
    section[#section + 1] = string.format("| %s | %s (%s) | %.2f | %d |", LABEL[loc], fmt(m),
      table.concat(all, ", "), m / base, r.non2xx)
  end
end
local json, tbl = median(runs.hit_json.rps) / base, median(runs.hit_table.rps) / base
local targets = {
  string.format("- cache hit, get_connector_log_json + ngx.print: %.2fx proxy_cache hits (target >= 1.2x): %s",
    json, json >= 1.2 and "met" or "NOT met"),
  string.format("- cache hit, get_connector_log + cjson.encode: %.2fx proxy_cache hits (target >= 0.5x): %s",
    tbl, tbl >= 0.5 and "met" or "NOT met"),
}
section[#section + 1] = ""
for _, t in ipairs(targets) do section[#section + 1] = t end
section[#section + 1] = ""
section[#section + 1] = "lua-supermetrics library code as of commit " .. commit .. "."

report_lib.place_section(out_dir .. "/RESULTS.md", section, "## The entry cache inside nginx")
