-- Turns the measurements of bench/nginx_inside.sh into the table it prints,
-- the section "## Inside nginx (one worker, wrk)" of RESULTS.md (replaced
-- when it is there, else put before "## Notes on the method"; the rest of
-- the file stays as bench/report.lua wrote it) and results-nginx.png.
-- Usage: lua5.4 bench/inside_report.lua TMP OUT_DIR SECONDS WARMUP THREADS FRONT_CPU LOAD_CPU
--          RSS_REQUESTS LOAD_BEFORE LOAD_AFTER RESTY_HTTP_VERSION LIB_ROOT
-- Exits 1 when a target is missed (a library row with non-2xx responses or
-- socket errors, a batch item that failed), after writing everything.

local tmp, out_dir, seconds, warmup, threads, front_cpu, load_cpu, rss_requests, load_before,
  load_after, resty_version, lib_root = table.unpack(arg, 1, 12)
local bench = arg[0]:match("^(.*)/[^/]*$") or "."

local SECTION = "## Inside nginx (one worker, wrk)"
local LABEL = {
  proxy = "proxy_pass (nginx, the limit)",
  resty = "lua-resty-http + cjson",
  lib = "lua-supermetrics + cjson",
}
local SCHEME = { http = "HTTP", https = "HTTPS" }

package.path = bench .. "/?.lua;" .. package.path
local report_lib = require "report_lib"
local read_tsv, sh, version, thousands = report_lib.read_tsv, report_lib.sh, report_lib.version, report_lib.thousands

-- Rows: scheme c loc requests seconds rps p50 p99 non2xx socket_errors cpu_us busy
local rows, by_key, groups = {}, {}, {}
for _, r in ipairs(read_tsv(tmp .. "/rows.tsv")) do
  local row = {
    scheme = r[1], c = tonumber(r[2]), loc = r[3], requests = tonumber(r[4]), rps = tonumber(r[6]),
    p99 = tonumber(r[8]), bad = tonumber(r[9]) + tonumber(r[10]), cpu = tonumber(r[11]), busy = tonumber(r[12]),
  }
  rows[#rows + 1] = row
  local group = row.scheme .. " " .. row.c
  if not by_key[group] then
    by_key[group] = {}
    groups[#groups + 1] = { scheme = row.scheme, c = row.c, key = group }
  end
  by_key[group][row.loc] = row
end

local missed = {}
local function ratio(a, b, field)
  if not (a and b) or b[field] == 0 then
    return "-"
  end
  return string.format("%.2f", a[field] / b[field])
end

local main_lines = {
  "| upstream | wrk -c | location | requests | req/s | p99 ms | CPU µs / req | front busy | non-2xx + errors |",
  "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
}
local ratio_lines = {
  "| upstream | wrk -c | req/s: library / lua-resty-http | req/s: library / proxy_pass "
    .. "| CPU/req: library / lua-resty-http | CPU/req: library / proxy_pass |",
  "| --- | ---: | ---: | ---: | ---: | ---: |",
}
for _, g in ipairs(groups) do
  for _, loc in ipairs { "proxy", "resty", "lib" } do
    local r = by_key[g.key][loc]
    if r then
      local label = loc == "lib" and ("**" .. LABEL[loc] .. "**") or LABEL[loc]
      main_lines[#main_lines + 1] = string.format("| %s | %d | %s | %s | %s | %.2f | %.1f | %d%% | %d |",
        SCHEME[g.scheme], g.c, label, thousands(r.requests), thousands(r.rps), r.p99, r.cpu, r.busy, r.bad)
      if loc == "lib" and r.bad > 0 then
        missed[#missed + 1] = string.format("%s c=%d: the library row had %d non-2xx responses + socket errors",
          SCHEME[g.scheme], g.c, r.bad)
      end
    end
  end
  local t = by_key[g.key]
  ratio_lines[#ratio_lines + 1] = string.format("| %s | %d | %s | %s | %s | %s |", SCHEME[g.scheme], g.c,
    ratio(t.lib, t.resty, "rps"), ratio(t.lib, t.proxy, "rps"), ratio(t.lib, t.resty, "cpu"),
    ratio(t.lib, t.proxy, "cpu"))
end

-- Batch: scheme items entries errors seconds wrk_rps non2xx socket_errors first_error
local batch_lines = {}
for _, b in ipairs(read_tsv(tmp .. "/batch.tsv", true)) do
  local items, entries, errs = tonumber(b[2]), tonumber(b[3]), tonumber(b[4])
  local ok = errs == 0 and entries == items
  if not ok then
    missed[#missed + 1] = string.format("%s batch: %d of %d items failed (%s)", SCHEME[b[1]], items - entries,
      items, b[9])
  end
  batch_lines[#batch_lines + 1] = string.format(
    "- %s: %d ids at concurrency 32 while wrk -c 256 loaded the library location: %d entries, %d failed "
      .. "(must be 0: %s)%s in %s s; wrk meanwhile %s req/s with %s non-2xx and %s socket errors.",
    SCHEME[b[1]], items, entries, items - entries, ok and "met" or "**not met**",
    b[9] ~= "-" and (", first error: `" .. b[9] .. "`") or "", b[5], thousands(tonumber(b[6])), b[7], b[8])
end

-- RSS: scheme requests rss0 rss1 heap0 heap1 non2xx
local rss_lines = {}
for _, m in ipairs(read_tsv(tmp .. "/rss.tsv", true)) do
  local rss0, rss1 = tonumber(m[3]), tonumber(m[4])
  rss_lines[#rss_lines + 1] = string.format(
    "- %s: front worker RSS %s KiB before and %s KiB after %s library requests (%+d KiB); Lua heap after a "
      .. "full GC %s → %s KiB; %s non-2xx.",
    SCHEME[m[1]], thousands(rss0), thousands(rss1), thousands(tonumber(m[2])), rss1 - rss0, m[5], m[6], m[7])
  if tonumber(m[7]) ~= 0 then
    missed[#missed + 1] = SCHEME[m[1]] .. " memory run: " .. m[7] .. " non-2xx"
  end
end

local lib_commit = sh("git -C " .. lib_root .. " log -1 --format=%h -- src lua")
  .. (sh("git -C " .. lib_root .. " status --porcelain -- src lua") ~= "" and ", with uncommitted changes" or "")
  .. (lib_root ~= sh("cd " .. bench .. "/.. && pwd") and (" in " .. lib_root) or "")

local section = {
  SECTION, "",
  "Written by bench/nginx_inside.sh (the last part of `make bench`; it also runs alone) on "
    .. os.date("!%Y-%m-%d") .. ".",
  "What an OpenResty user sees: a front nginx with one worker (`worker_processes 1`, pinned to CPU "
    .. front_cpu .. ", alone there)",
  "answers each request by fetching the seed entry from the bench server (its worker on CPU " .. load_cpu
    .. ", keep-alive",
  "over loopback) in one of three ways: `proxy_pass` to an `upstream {}` with `keepalive 64` (the",
  "limit: no Lua, no JSON), lua-resty-http " .. resty_version .. " (`request_uri` per request, pool of 64) "
    .. "+ `cjson.decode` /",
  "`cjson.encode`, and lua-supermetrics (one client per worker, `get_connector_log`) + `cjson.encode`.",
  "The upstream scheme (HTTP or HTTPS, certificate verified) is the column on the left; wrk talks plain",
  "HTTP to the front. wrk (" .. threads .. " thread, on CPU " .. load_cpu .. " with the upstream) runs "
    .. seconds .. " s per row after " .. warmup .. " s of warm-up. CPU µs / req",
  "is the front worker's utime + stime (/proc) over wrk's requests; front busy is that CPU time over",
  "the run's wall time (near 100%: the front worker is the bottleneck). non-2xx + errors: responses",
  "of 400 and up plus wrk's socket errors. Ratios are within this run.", "",
}
local function add(lines)
  for _, l in ipairs(lines) do
    section[#section + 1] = l
  end
end
add(main_lines)
add { "" }
add(ratio_lines)
-- A row whose front worker was not busy all the time was paced by
-- something else: wrk and the upstream on their core, or other work on the
-- machine. Say so rather than let it pass for the front's speed.
local paced = {}
for _, r in ipairs(rows) do
  if r.busy < 90 then
    paced[#paced + 1] = string.format("%s -c %d %s (%d%%)", SCHEME[r.scheme], r.c, r.loc, r.busy)
  end
end
if #paced > 0 then
  add { "", "Front busy under 90% (the load side or other work on the machine set the pace there, not the "
    .. "front worker): " .. table.concat(paced, ", ") .. "." }
end
add { "", "![requests per second inside nginx](results-nginx.png)", "" }
if #batch_lines > 0 then
  add { "Batch inside the loaded worker (`client:get_connector_logs(936506, \"T3S70\", ids, "
      .. "{ concurrency = 32 })`, 500 ids",
    "of the seed entry, at location `/http/batch` or `/https/batch`, 1 s into a wrk run of its own):", "" }
  add(batch_lines)
  add { "" }
end
if #rss_lines > 0 then
  add { "Memory of the front worker (VmRSS) over " .. thousands(tonumber(rss_requests))
    .. " requests to the library location (wrk -c 32), after the runs above:", "" }
  add(rss_lines)
  add { "" }
end
add {
  string.format("nginx %s, lua-nginx-module %s, lua-resty-core %s, wrk %s; lua-supermetrics library code as of "
    .. "commit %s; load average before / after: %s / %s.", version("nginx"), version("libnginx-mod-http-lua"),
    version("lua-resty-core"), version("wrk"), lib_commit, load_before, load_after),
}

-- Into RESULTS.md: replace the section (up to the next "## " heading), or
-- put it before the method notes, or at the end.
local results_path = out_dir .. "/RESULTS.md"
local old = {}
local f = io.open(results_path)
if f then
  for line in f:lines() do
    old[#old + 1] = line
  end
  f:close()
else
  old = { "# Benchmark results", "" }
end
local out, placed, skipping = {}, false, false
local function put_section()
  for _, l in ipairs(section) do
    out[#out + 1] = l
  end
  out[#out + 1] = ""
  placed = true
end
for _, line in ipairs(old) do
  if line == SECTION then
    skipping = true
    put_section()
  elseif skipping and line:match("^## ") then
    skipping = false
  end
  if not skipping then
    if line == "## Notes on the method" and not placed then
      put_section()
    end
    out[#out + 1] = line
  end
end
if not placed then
  if out[#out] ~= "" then
    out[#out + 1] = ""
  end
  put_section()
end
while out[#out] == "" do
  out[#out] = nil
end
f = assert(io.open(results_path, "w"))
f:write(table.concat(out, "\n"), "\n")
f:close()

-- The terminal table.
print(string.format("\n%-6s %5s %-30s %9s %9s %8s %9s %5s %7s", "up", "c", "location", "requests", "req/s",
  "p99 ms", "CPU us/r", "busy", "bad"))
for _, r in ipairs(rows) do
  print(string.format("%-6s %5d %-30s %9d %9.0f %8.2f %9.1f %4d%% %7d", SCHEME[r.scheme], r.c, LABEL[r.loc],
    r.requests, r.rps, r.p99, r.cpu, r.busy, r.bad))
end
print("")
for _, l in ipairs(ratio_lines) do
  print(l)
end
for _, l in ipairs(batch_lines) do
  print((l:gsub("%*%*", "")))
end
for _, l in ipairs(rss_lines) do
  print(l)
end

-- The chart: requests/s per location, grouped by scheme and concurrency.
local dat = assert(io.open(tmp .. "/chart.dat", "w"))
for _, g in ipairs(groups) do
  local t = by_key[g.key]
  local function rps(loc)
    return t[loc] and t[loc].rps or 0
  end
  dat:write(string.format("\"%s upstream\\nwrk -c %d\"\t%.1f\t%.1f\t%.1f\n", SCHEME[g.scheme], g.c, rps("proxy"),
    rps("resty"), rps("lib")))
end
dat:close()
local gp = assert(io.open(tmp .. "/chart.gp", "w"))
gp:write((([[
set terminal pngcairo size 1000,560 font "DejaVu Sans,10"
set output "OUTDIR/results-nginx.png"
set title "Inside nginx, one worker: requests/s through the front (wrk)\nCPUNAME; front worker alone on one core"
set title noenhanced
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set yrange [0:*]
set ylabel "requests / s"
set grid ytics
set key top right noenhanced
set xtics noenhanced
set bmargin 4
set xrange [-0.6:NGROUPS - 0.4]
plot "TMP/chart.dat" using 2:xtic(1) title "proxy_pass (the limit)" lc rgb "#7f7f7f", \
     "" using 3 title "lua-resty-http + cjson" lc rgb "#ef8636", \
     "" using 4 title "lua-supermetrics + cjson" lc rgb "#3b75af", \
     "" using ($0 - 0.25):2:(sprintf("%.0f", $2)) with labels offset 0,0.7 font ",8" notitle, \
     "" using ($0):3:(sprintf("%.0f", $3)) with labels offset 0,0.7 font ",8" notitle, \
     "" using ($0 + 0.25):4:(sprintf("%.0f", $4)) with labels offset 0,0.7 font ",8" notitle
]]):gsub("OUTDIR", out_dir):gsub("TMP", tmp):gsub("NGROUPS", tostring(#groups))
  :gsub("CPUNAME", (sh("lscpu | sed -n 's/^Model name: *//p'"):gsub("%%", "")))))
gp:close()
assert(os.execute("gnuplot " .. tmp .. "/chart.gp"), "gnuplot failed")
print("\nwrote " .. results_path .. " (section \"" .. SECTION:sub(4) .. "\") and " .. out_dir
  .. "/results-nginx.png")

if #missed > 0 then
  io.stderr:write("inside nginx, not met:\n  " .. table.concat(missed, "\n  ") .. "\n")
  os.exit(1)
end
