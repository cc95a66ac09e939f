-- Turns the measurements of bench/nginx_inside.sh into the table it prints,
-- the section "## Inside nginx (one worker, wrk)" of RESULTS.md (replaced
-- when it is there, else put before "## Notes on the method"; the rest of
-- the file stays as bench/report.lua wrote it) and results-nginx.png, and
-- TMP/targets.txt (issue 21's targets inside nginx, one line each, for the
-- summary at the end of bench/run.sh).
-- Usage: lua5.4 bench/inside_report.lua TMP OUT_DIR SECONDS WARMUP THREADS FRONT_CPU LOAD_CPU
--          RSS_REQUESTS LOAD_BEFORE LOAD_AFTER RESTY_HTTP_VERSION LIB_ROOT ROUNDS PICK CG_REQUESTS
-- Exits 1 when the library failed (a library row with non-2xx responses or
-- socket errors in any round, a batch item that failed), after writing
-- everything; a speed target missed is reported, not a failure.

local tmp, out_dir, seconds, warmup, threads, front_cpu, load_cpu, rss_requests, load_before,
  load_after, resty_version, lib_root, rounds, pick, cg_requests = table.unpack(arg, 1, 15)
local bench = arg[0]:match("^(.*)/[^/]*$") or "."

local SECTION = "## Inside nginx (one worker, wrk)"
-- The locations, in the order of the tables.
local LOCATIONS = { "proxy", "bare", "bare_cjson", "resty", "lib", "lib_json" }
local LABEL = {
  proxy = "proxy_pass (nginx, the limit)",
  bare = "bare cosocket (the floor of Lua)",
  bare_cjson = "bare cosocket + cjson",
  resty = "lua-resty-http + cjson",
  lib = "lua-supermetrics + cjson",
  lib_json = "lua-supermetrics, JSON text",
}
local LIBRARY = { lib = true, lib_json = true }
local SCHEME = { http = "HTTP", https = "HTTPS" }
-- Issue 21's targets: requests/s over proxy_pass's at wrk -c 32.
local TARGET_C = 32
local TARGET = { lib = 0.88, lib_json = 0.95 }

package.path = bench .. "/?.lua;" .. package.path
local report_lib = require "report_lib"
local read_tsv, sh, version, thousands = report_lib.read_tsv, report_lib.sh, report_lib.version, report_lib.thousands

-- Runs: scheme c loc requests seconds rps p50 p99 non2xx socket_errors cpu_us busy round.
-- Each location of each group (scheme, c) keeps its median round (or its
-- best, by requests/s); its errors are those of all rounds.
local by_key, groups, runs_of = {}, {}, {}
for _, r in ipairs(read_tsv(tmp .. "/rows.tsv")) do
  local run = {
    scheme = r[1], c = tonumber(r[2]), loc = r[3], requests = tonumber(r[4]), rps = tonumber(r[6]),
    p99 = tonumber(r[8]), bad = tonumber(r[9]) + tonumber(r[10]), cpu = tonumber(r[11]), busy = tonumber(r[12]),
  }
  local group = run.scheme .. " " .. run.c
  if not by_key[group] then
    by_key[group] = {}
    groups[#groups + 1] = { scheme = run.scheme, c = run.c, key = group }
  end
  local key = group .. " " .. run.loc
  runs_of[key] = runs_of[key] or {}
  table.insert(runs_of[key], run)
end
local rows = {}
for _, g in ipairs(groups) do
  for _, loc in ipairs(LOCATIONS) do
    local runs = runs_of[g.key .. " " .. loc]
    if runs then
      local sorted = { table.unpack(runs) }
      table.sort(sorted, function(a, b)
        return a.rps < b.rps
      end)
      local chosen = pick == "best" and sorted[#sorted] or sorted[math.ceil(#sorted / 2)]
      local row = setmetatable({ runs = #runs, low = sorted[1].rps, high = sorted[#sorted].rps, bad = 0 },
        { __index = chosen })
      for _, run in ipairs(runs) do
        row.bad = row.bad + run.bad
      end
      by_key[g.key][loc] = row
      rows[#rows + 1] = row
    end
  end
end

-- Instructions per request under callgrind: scheme loc ir ir_n ir_2n n 2n.
local ir = report_lib.read_ir(tmp .. "/ir.tsv")
local notes = {}
for _, r in ipairs(read_tsv(tmp .. "/notes.txt", true)) do
  notes[#notes + 1] = r[1]
end

local missed = {}
local function x(a, b)
  if not (a and b) or b == 0 then
    return "-"
  end
  return string.format("%.2f", a / b)
end
local function field(row, name)
  return row and row[name]
end

local pick_words = pick == "best" and "the best of its " .. rounds .. " rounds"
  or "the median of its " .. rounds .. " rounds"
local main_lines = {
  "| upstream | wrk -c | location | requests | req/s | req/s, all rounds | p99 ms | CPU µs / req | front busy "
    .. "| non-2xx + errors |",
  "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
}
local ratio_lines = {
  "| upstream | wrk -c | location | req/s × proxy_pass | req/s × bare | CPU/req × proxy_pass | CPU/req × bare |",
  "| --- | ---: | --- | ---: | ---: | ---: | ---: |",
}
for _, g in ipairs(groups) do
  local t = by_key[g.key]
  for _, loc in ipairs(LOCATIONS) do
    local r = t[loc]
    if r then
      local label = LIBRARY[loc] and ("**" .. LABEL[loc] .. "**") or LABEL[loc]
      main_lines[#main_lines + 1] = string.format("| %s | %d | %s | %s | %s | %s | %.2f | %.1f | %d%% | %d |",
        SCHEME[g.scheme], g.c, label, thousands(r.requests), thousands(r.rps),
        r.runs > 1 and (thousands(r.low) .. "–" .. thousands(r.high)) or "-", r.p99, r.cpu, r.busy, r.bad)
      ratio_lines[#ratio_lines + 1] = string.format("| %s | %d | %s | %s | %s | %s | %s |", SCHEME[g.scheme], g.c,
        label, x(r.rps, field(t.proxy, "rps")), x(r.rps, field(t.bare, "rps")), x(r.cpu, field(t.proxy, "cpu")),
        x(r.cpu, field(t.bare, "cpu")))
      if LIBRARY[loc] and r.bad > 0 then
        missed[#missed + 1] = string.format("%s c=%d: the %s row had %d non-2xx responses + socket errors",
          SCHEME[g.scheme], g.c, loc, r.bad)
      end
    end
  end
end

local ir_lines = {}
if next(ir) then
  ir_lines = {
    "| upstream | location | Ir / req | × proxy_pass | × bare |",
    "| --- | --- | ---: | ---: | ---: |",
  }
  for _, scheme in ipairs { "http", "https" } do
    local t = ir[scheme] or {}
    for _, loc in ipairs(LOCATIONS) do
      if t[loc] then
        ir_lines[#ir_lines + 1] = string.format("| %s | %s | %s | %s | %s |", SCHEME[scheme],
          LIBRARY[loc] and ("**" .. LABEL[loc] .. "**") or LABEL[loc], thousands(t[loc]), x(t[loc], t.proxy),
          x(t[loc], t.bare))
      end
    end
  end
end

-- Issue 21's targets, in this run: each library form's requests/s over
-- proxy_pass's at -c 32 (and over the bare cosocket's, for reading), and
-- no error at any concurrency.
local targets = {}
local function verdict(ok)
  return ok and "met" or "**not met**"
end
local skipped_json = false
for _, n in ipairs(notes) do
  skipped_json = skipped_json or n:find("^lib_json") ~= nil
end
for _, scheme in ipairs { "http", "https" } do
  local t = by_key[scheme .. " " .. TARGET_C]
  for _, loc in ipairs { "lib", "lib_json" } do
    local what = string.format("inside nginx, %s, %s at wrk -c %d: req/s >= %.2fx proxy_pass's", SCHEME[scheme],
      LABEL[loc], TARGET_C, TARGET[loc])
    local r, proxy = t and t[loc], t and t.proxy
    if r and proxy then
      local ratio = r.rps / proxy.rps
      targets[#targets + 1] = string.format("- %s: %.2fx (%sx the bare cosocket's): %s", what, ratio,
        x(r.rps, field(t.bare, "rps")), verdict(ratio >= TARGET[loc]))
    elseif loc == "lib_json" and skipped_json then
      targets[#targets + 1] = "- " .. what .. ": not measured (this library has no get_connector_log_json)"
    else
      targets[#targets + 1] = "- " .. what .. ": not measured (this run had no such row, or no proxy_pass row)"
    end
  end
end
for _, g in ipairs(groups) do
  if g.c ~= TARGET_C then
    local bad, seen = 0, false
    for loc in pairs(LIBRARY) do
      local r = by_key[g.key][loc]
      if r then
        seen, bad = true, bad + r.bad
      end
    end
    if seen then
      targets[#targets + 1] = string.format("- inside nginx, %s, the library's rows at wrk -c %d: no non-2xx "
        .. "answers nor socket errors in any round: %d: %s", SCHEME[g.scheme], g.c, bad, verdict(bad == 0))
    end
  end
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
  "over loopback) in one of six ways: `proxy_pass` to an `upstream {}` with `keepalive 64` (the limit:",
  "no Lua, no JSON); a bare cosocket (fixed request bytes on a pooled `ngx.socket.tcp` connection, one",
  "`receiveany`, the body answered as is: the floor of any Lua location) and the same + `cjson.decode` /",
  "`cjson.encode`; lua-resty-http " .. resty_version .. " (`request_uri` per request, pool of 64) + "
    .. "`cjson.decode` / `cjson.encode`;",
  "lua-supermetrics (one client per worker) `get_connector_log` + `cjson.encode`, and its pass-through",
  "form `get_connector_log_json` (the entry's JSON text as the server sent it, checked, not decoded).",
  "The upstream scheme (HTTP or HTTPS, certificate verified) is the column on the left; wrk talks plain",
  "HTTP to the front. wrk (" .. threads .. " thread, on CPU " .. load_cpu .. " with the upstream) runs "
    .. seconds .. " s per location after " .. warmup .. " s of warm-up,",
  "in " .. rounds .. " interleaved rounds (per upstream and concurrency, each round visits every location in "
    .. "turn); each",
  "row is " .. pick_words .. " by req/s (its requests, p99, CPU and busy are that round's; non-2xx +",
  "errors add up all rounds). CPU µs / req is the front worker's utime + stime (/proc) over wrk's",
  "requests; front busy is that CPU time over the run's wall time (near 100%: the front worker is the",
  "bottleneck). non-2xx + errors: responses of 400 and up plus wrk's socket errors. Ratios are within",
  "this run: × proxy_pass is the location over nginx's own proxy, × bare over the bare cosocket.", "",
}
local function add(lines)
  for _, l in ipairs(lines) do
    section[#section + 1] = l
  end
end
add(main_lines)
add { "" }
add(ratio_lines)
for _, n in ipairs(notes) do
  add { "", "Note: " .. n .. "." }
end
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
if #ir_lines > 0 then
  add { "", "Instructions per request of the front (valgrind's callgrind; a second front from the same "
    .. "configuration, one",
    "process in the foreground, on the front's core; per location 1,000 unmeasured requests at wrk -c 64 fill "
      .. "its pools,",
    "then a sample of " .. thousands(tonumber(cg_requests)) .. " and one of " .. thousands(2 * tonumber(cg_requests))
      .. " requests at wrk -c 32; Ir / req is their difference in Ir over their",
    "difference in requests finished, counted by callgrind. The front's own instructions only, not the "
      .. "upstream's nor wrk's):", "" }
  add(ir_lines)
end
add { "", "Targets (issue 21), in this run:", "" }
add(targets)
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
print(string.format("\n%-6s %5s %-34s %9s %9s %19s %8s %9s %5s %5s", "up", "c", "location", "requests", "req/s",
  "req/s, all rounds", "p99 ms", "CPU us/r", "busy", "bad"))
for _, r in ipairs(rows) do
  print(string.format("%-6s %5d %-34s %9d %9.0f %19s %8.2f %9.1f %4d%% %5d", SCHEME[r.scheme], r.c, LABEL[r.loc],
    r.requests, r.rps, string.format("%.0f-%.0f", r.low, r.high), r.p99, r.cpu, r.busy, r.bad))
end
print("(each row: " .. pick_words .. ")\n")
local function plain(l)
  return (l:gsub("%*%*", ""))
end
for _, l in ipairs(ratio_lines) do
  print(plain(l))
end
for _, n in ipairs(notes) do
  print("note: " .. n)
end
if #ir_lines > 0 then
  print("")
  for _, l in ipairs(ir_lines) do
    print(plain(l))
  end
end
print("")
for _, l in ipairs(batch_lines) do
  print(plain(l))
end
for _, l in ipairs(rss_lines) do
  print(l)
end
print("")
for _, l in ipairs(targets) do
  print(plain(l))
end
local tf = assert(io.open(tmp .. "/targets.txt", "w"))
for _, l in ipairs(targets) do
  tf:write(plain(l), "\n")
end
tf:close()

-- The chart: requests/s per location, grouped by scheme and concurrency.
local present = {}
for _, loc in ipairs(LOCATIONS) do
  for _, g in ipairs(groups) do
    if by_key[g.key][loc] then
      present[#present + 1] = loc
      break
    end
  end
end
local COLOUR = { proxy = "#7f7f7f", bare = "#bcbcbc", bare_cjson = "#8cc08c", resty = "#ef8636", lib = "#3b75af",
  lib_json = "#1f3f6f" }
local dat = assert(io.open(tmp .. "/chart.dat", "w"))
for _, g in ipairs(groups) do
  local t = by_key[g.key]
  local values = {}
  for i, loc in ipairs(present) do
    values[i] = string.format("%.1f", t[loc] and t[loc].rps or 0)
  end
  dat:write(string.format("\"%s upstream\\nwrk -c %d\"\t%s\n", SCHEME[g.scheme], g.c, table.concat(values, "\t")))
end
dat:close()
local plots, width = {}, 0.9 / #present
for i, loc in ipairs(present) do
  local source = i == 1 and "\"TMP/chart.dat\"" or "\"\""
  plots[#plots + 1] = string.format("%s using %d%s title \"%s\" lc rgb \"%s\"", source, i + 1,
    i == 1 and ":xtic(1)" or "", LABEL[loc], COLOUR[loc])
end
for i = 1, #present do
  plots[#plots + 1] = string.format("\"\" using ($0 + %.4f):%d:(sprintf(\"%%.0f\", $%d)) with labels rotate left "
    .. "offset 0,0.5 font \",7\" notitle", (i - (#present + 1) / 2) * width, i + 1, i + 1)
end
local gp = assert(io.open(tmp .. "/chart.gp", "w"))
gp:write((([[
set terminal pngcairo size 1200,600 font "DejaVu Sans,10"
set output "OUTDIR/results-nginx.png"
set title "Inside nginx, one worker: requests/s through the front (wrk)\nCPUNAME; front worker alone on one core"
set title noenhanced
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set yrange [0:*]
set offsets 0, 0, graph 0.12, 0
set ylabel "requests / s"
set grid ytics
set key top right noenhanced
set xtics noenhanced
set bmargin 4
set xrange [-0.6:NGROUPS - 0.4]
plot PLOTS
]]):gsub("PLOTS", (table.concat(plots, ", \\\n     "):gsub("%%", "%%%%"))):gsub("OUTDIR", out_dir):gsub("TMP", tmp)
  :gsub("NGROUPS", tostring(#groups))
  :gsub("CPUNAME", (sh("lscpu | sed -n 's/^Model name: *//p'"):gsub("%%", "")))))
gp:close()
assert(os.execute("gnuplot " .. tmp .. "/chart.gp"), "gnuplot failed")
print("\nwrote " .. results_path .. " (section \"" .. SECTION:sub(4) .. "\") and " .. out_dir
  .. "/results-nginx.png")

if #missed > 0 then
  io.stderr:write("inside nginx, not met:\n  " .. table.concat(missed, "\n  ") .. "\n")
  os.exit(1)
end
