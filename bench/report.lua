-- Turns the measurements of bench/run.sh into the table it prints,
-- bench/RESULTS.md and bench/results.png (gnuplot), and TMP/targets.txt
-- (issue 21's standalone targets, one line each, for run.sh's summary).
-- Usage: lua5.4 bench/report.lua TMP N SECONDS RSS_CALLS CPU REPEAT LOAD_BEFORE LOAD_AFTER

local tmp, n, seconds_max, rss_calls, cpu, repeat_n, load_before, load_after =
  arg[1], tonumber(arg[2]), arg[3], arg[4], arg[5], arg[6], arg[7], arg[8]
local bench = arg[0]:match("^(.*)/[^/]*$") or "."
local out_dir = os.getenv("BENCH_RESULTS_DIR") or bench
local lib_root = (os.getenv("BENCH_LIB_ROOT") or "") ~= "" and os.getenv("BENCH_LIB_ROOT") or (bench .. "/..")

package.path = bench .. "/?.lua;" .. package.path
local report_lib = require "report_lib"
local read_tsv, sh, version = report_lib.read_tsv, report_lib.sh, report_lib.version

-- Contender rows, grouped by protocol, ratios against the raw libcurl row.
-- A contender that ran several times keeps its fastest run; `runs` keeps
-- every rate for the spread, `rounds` the same in the order they ran (the
-- raw loop and the library take turns: round i of each ran together).
local results = { HTTP = {}, HTTPS = {}, ["HTTP-2cores"] = {}, ["HTTPS-2cores"] = {} }
for _, r in ipairs(read_tsv(tmp .. "/rows.tsv")) do
  local requests, secs = tonumber(r[4]), tonumber(r[5])
  local cpu_s = tonumber(r[6]) + tonumber(r[7])
  local row = {
    id = tonumber(r[2]), label = r[3], requests = requests, rate = requests / secs,
    cpu = cpu_s / requests * 1000, rss = tonumber(r[8]) / 1024,
  }
  local rows, seen = results[r[1]], nil
  for _, old in ipairs(rows) do
    if old.label == row.label then
      seen = old
    end
  end
  if not seen then
    row.runs, row.rounds = { row.rate }, { row.rate }
    rows[#rows + 1] = row
  else
    table.insert(seen.runs, row.rate)
    table.insert(seen.rounds, row.rate)
    if row.rate > seen.rate then
      row.runs, row.rounds = seen.runs, seen.rounds
      for k, v in pairs(row) do
        seen[k] = v
      end
    end
  end
end
for _, rows in pairs(results) do
  local limit = rows[1] or { id = 1 }
  assert(limit.id == 1, "the first row must be the raw libcurl loop")
  for _, row in ipairs(rows) do
    row.rate_x = row.rate / limit.rate
    row.cpu_x = row.cpu / limit.cpu
  end
end

-- Instructions per request under callgrind (run.sh, when valgrind is
-- there): proto label ir.
local ir = report_lib.read_ir(tmp .. "/ir.tsv")
local function ir_of(proto, label)
  return ir[proto] and ir[proto][label]
end
local function ir_cell(proto, r)
  local v, base = ir_of(proto, r.label), ir_of(proto, "raw libcurl, one easy handle (C + cJSON)")
  if not v then
    return "-"
  end
  return report_lib.thousands(v) .. (base and string.format(" (%.2f)", v / base) or "")
end

local function fmt_rate(v)
  return v >= 100 and report_lib.thousands(v) or string.format("%.1f", v)
end

local function table_lines(proto)
  local lines = {
    "| contender | requests | requests/s | × raw | CPU s / 1,000 req | × raw | Ir / req (× raw) | peak RSS MiB |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  }
  local spread = {}
  for _, r in ipairs(results[proto]) do
    local label = r.id == 2 and ("**" .. r.label .. "**") or r.label
    lines[#lines + 1] = string.format("| %s | %s | %s | %s | %.3f | %.2f | %s | %.1f |", label,
      fmt_rate(r.requests), fmt_rate(r.rate), string.format(r.rate_x >= 0.1 and "%.2f" or "%.4f", r.rate_x),
      r.cpu, r.cpu_x, ir_cell(proto, r), r.rss)
    if #r.runs > 1 then
      table.sort(r.runs)
      spread[#spread + 1] = string.format("%s %s–%s", r.label, fmt_rate(r.runs[1]), fmt_rate(r.runs[#r.runs]))
    end
  end
  if #spread > 0 then
    lines[#lines + 1] = ""
    lines[#lines + 1] = "Fastest of " .. #results[proto][1].runs .. " interleaved runs; requests/s of all runs: "
      .. table.concat(spread, "; ") .. "."
  end
  return lines
end

-- Targets (issue 21): each library row's requests/s >= 0.97x the raw
-- loop's (the fastest run of each, as in the table; the median of the
-- per-round ratios is shown beside it, a check that one lucky run did not
-- decide), CPU per request <= 1.3x, and ahead of every contender other than
-- the raw loop. summary: the short lines for run.sh's summary.
local RATE_TARGET, CPU_TARGET = 0.97, 1.3
local checks, summary = {}, {}
local function median(t)
  local s = { table.unpack(t) }
  table.sort(s)
  local k = #s
  return k % 2 == 1 and s[(k + 1) / 2] or (s[k / 2] + s[k / 2 + 1]) / 2
end
for _, proto in ipairs { "HTTP", "HTTPS" } do
  local best_other, raw = 0, nil
  for _, r in ipairs(results[proto]) do
    if r.id > 2 then
      best_other = math.max(best_other, r.rate)
    elseif r.id == 1 then
      raw = r
    end
  end
  for _, r in ipairs(results[proto]) do
    if r.id == 2 then
      local function verdict(ok)
        return ok and "met" or "**not met**"
      end
      local paired = {}
      for i = 1, math.min(#r.rounds, raw and #raw.rounds or 0) do
        paired[i] = r.rounds[i] / raw.rounds[i]
      end
      local paired_words = #paired > 1
        and string.format(" (median of the %d per-round ratios %.2fx)", #paired, median(paired)) or ""
      local ir_words = ""
      local v, base = ir_of(proto, r.label), ir_of(proto, "raw libcurl, one easy handle (C + cJSON)")
      if v and base then
        ir_words = string.format("; instructions per request %.2fx", v / base)
      end
      checks[#checks + 1] = string.format(
        "- %s, %s: requests/s %.2fx the raw loop's%s (target >= %.2f: %s); CPU per request %.2fx "
          .. "(target <= %.1f: %s)%s; %.2fx the fastest other contender (ahead: %s)",
        proto, r.label, r.rate_x, paired_words, RATE_TARGET, verdict(r.rate_x >= RATE_TARGET), r.cpu_x, CPU_TARGET,
        verdict(r.cpu_x <= CPU_TARGET), ir_words, r.rate / best_other, verdict(r.rate > best_other))
      summary[#summary + 1] = string.format("- standalone, %s, %s: req/s >= %.2fx raw libcurl's: %.2fx%s: %s",
        proto, r.label, RATE_TARGET, r.rate_x, paired_words, r.rate_x >= RATE_TARGET and "met" or "not met")
    end
  end
end
local tf = assert(io.open(tmp .. "/targets.txt", "w"))
tf:write(table.concat(summary, "\n"), "\n")
tf:close()

local memory = {}
for _, m in ipairs(read_tsv(tmp .. "/memory.tsv")) do
  local growth = tonumber(m[4]) - tonumber(m[3])
  memory[#memory + 1] = string.format(
    "| %s | %s | %d | %d | %+d | %d | %s → %s |%s", m[1], m[2] == "luajit" and "LuaJIT" or "Lua 5.4",
    tonumber(m[3]), tonumber(m[4]), growth, tonumber(m[5]), m[6], m[7],
    growth < 2048 and "" or " (over the 2 MiB target)")
end
local allocs = {}
for _, a in ipairs(read_tsv(tmp .. "/alloc.tsv")) do
  allocs[#allocs + 1] = string.format("| %s | %s | %s | %s |", a[1], a[2], a[3], a[4])
end

local machine = {
  string.format("- CPU: %s, %s cores (%s), %s",
    sh("lscpu | sed -n 's/^Model name: *//p'"), sh("nproc"),
    sh("lscpu | sed -n 's/^Hypervisor vendor: *//p'") ~= "" and
      (sh("lscpu | sed -n 's/^Hypervisor vendor: *//p'") .. " guest") or "bare metal",
    sh("awk '/MemTotal/ {printf \"%.0f GiB memory\", $2 / 1048576}' /proc/meminfo")),
  string.format("- OS: Debian %s, Linux %s", sh("cat /etc/debian_version"), sh("uname -r")),
  string.format("- libcurl %s, OpenSSL %s, nginx %s, cJSON %s", version("libcurl4"), version("openssl"),
    version("nginx"), version("libcjson1")),
  string.format("- Lua 5.4 %s, LuaJIT %s, lua-cjson %s, LuaSocket %s, LuaSec %s, lua-http %s",
    version("lua5.4"), version("luajit2"), version("lua-cjson"), version("lua-socket"),
    version("lua-sec"), version("lua-http")),
  string.format("- Python %s, httpx %s, curl %s", sh("/usr/bin/python3 -c 'import sys; print(sys.version.split()[0])'"),
    version("python3-httpx"), version("curl")),
  string.format("- lua-supermetrics: library code (src/, lua/) as of commit %s",
    sh("git -C " .. lib_root .. " log -1 --format=%h -- src lua")
      .. (lib_root ~= bench .. "/.." and (" in " .. lib_root) or "")
      .. (sh("git -C " .. lib_root .. " status --porcelain -- src lua") ~= "" and ", with uncommitted changes" or "")),
}

local out = {}
local function add(...)
  for _, s in ipairs { ... } do
    out[#out + 1] = s
  end
end
add("# Benchmark results", "",
  "Written by `make bench` (bench/run.sh) on " .. os.date("!%Y-%m-%d") .. ". Each contender is one process that",
  "fetches and decodes the seed log entry " .. fmt_rate(n) .. " times (or until " .. seconds_max
    .. " s have passed: then the",
  "table says how many it made) from the same local nginx; CPU (user + sys) and peak RSS are",
  "those of that process, from `/usr/bin/time`, start-up included. × raw is the ratio to the",
  "raw libcurl loop measured in the same run. Client and nginx worker share CPU " .. cpu .. ".",
  "Ir / req: instructions per request of the client process under valgrind's callgrind (a run of",
  "2N requests minus a run of N, over N = " .. (os.getenv("BENCH_CALLGRIND_N") or "500")
    .. ": start-up cancels out), when valgrind was there.", "",
  "## Summary", "")
-- What the figures mean, written by hand (they move little from run to run).
for line in io.lines(bench .. "/SUMMARY.md") do
  add(line)
end
add("", "## Machine", "")
add(table.unpack(machine))
add(string.format("- load average before / after the run: %s / %s (the run itself adds 1 to 2; more means "
  .. "other work on the machine. The raw loop and the library ran %s times each, interleaved, and keep their "
  .. "fastest run)", load_before, load_after, repeat_n))
add("", "## HTTP (keep-alive where the client does it)", "")
add(table.unpack(table_lines("HTTP")))
add("", "## HTTPS (nginx offers TLS 1.2 and 1.3; every client verifies the certificate against the bench CA)", "")
add(table.unpack(table_lines("HTTPS")))
-- First-level cache misses per request (callgrind's cache simulation, run.sh):
-- proto label i1 d1r d1w. Where the library's time goes beyond its instructions.
local misses = report_lib.read_tsv(tmp .. "/misses.tsv", true)
if #misses > 0 then
  add("", "## First-level cache misses per request", "",
    "callgrind's cache simulation (" .. report_lib.sh("sed -n 's/^desc: I1 cache: *//p' " .. tmp
      .. "/cg.raw.1"):gsub("%s+", " ") .. " per first-level cache), the same runs as Ir / req. "
      .. "Where the library's instructions are near the raw loop's and its CPU per request is not, "
      .. "these misses are the difference (each is a trip to the second-level cache, about 10-15 "
      .. "cycles): the Lua VM's own bytecode, heap and collector, which also evict libcurl's data "
      .. "between requests.", "",
    "| protocol | contender | instruction | data read | data write | all (× raw) |",
    "| --- | --- | ---: | ---: | ---: | ---: |")
  local raw_all = {}
  for _, m in ipairs(misses) do
    local all = tonumber(m[3]) + tonumber(m[4]) + tonumber(m[5])
    raw_all[m[1]] = raw_all[m[1]] or all
    add(string.format("| %s | %s | %s | %s | %s | %s (%.2f) |", m[1], m[2], report_lib.thousands(tonumber(m[3])),
      report_lib.thousands(tonumber(m[4])), report_lib.thousands(tonumber(m[5])), report_lib.thousands(all),
      all / raw_all[m[1]]))
  end
end
add("", "![requests per second](results.png)", "", "## Targets", "")
add(table.unpack(checks))
if #results["HTTP-2cores"] > 0 then
  add("", "## The limit and the library on separate cores", "",
    "The client on another core than the nginx worker (as an API client on its own machine would be):",
    "every request then waits for a cross-core wake-up, which on this VM costs more than the request's",
    "own CPU work, so requests/s move together and only the CPU column tells the clients apart.", "",
    "### HTTP, 2 cores", "")
  add(table.unpack(table_lines("HTTP-2cores")))
  add("", "### HTTPS, 2 cores", "")
  add(table.unpack(table_lines("HTTPS-2cores")))
end
add("", "## Memory: " .. fmt_rate(tonumber(rss_calls)) .. " calls on one client", "",
  "RSS after 2,000 warm-up calls and a full GC, at the end (after a full GC), the largest seen in",
  "between (sampled every tenth of the run), and the Lua heap (`collectgarbage(\"count\")`).", "",
  "| protocol | Lua | RSS warm KiB | RSS end KiB | growth KiB | max KiB | Lua heap KiB |",
  "| --- | --- | ---: | ---: | ---: | ---: | ---: |")
add(table.unpack(memory))
local worst = 0
for _, m in ipairs(read_tsv(tmp .. "/memory.tsv")) do
  worst = math.max(worst, tonumber(m[4]) - tonumber(m[3]))
end
add("", string.format("Target, RSS growth under 2 MiB over %s calls: largest growth %d KiB: **%s**.",
  fmt_rate(tonumber(rss_calls)), worst, worst < 2048 and "met" or "not met"))
add("", "Allocations per request (malloc + calloc + realloc calls, counted by an LD_PRELOAD shim,",
  "bench/malloc_count.c: a run of 4,000 requests minus a run of 2,000, over 2,000). The raw",
  "loop's count includes cJSON's 22 per decode; libcurl itself makes the rest. The library's own",
  "share is its count minus libcurl's (the raw count minus 22): the entry table and its growth,",
  "cjson's scratch buffer, the path string, strings not already interned.", "",
  "| protocol | raw libcurl + cJSON | lua-supermetrics, Lua 5.4 | lua-supermetrics, LuaJIT |",
  "| --- | ---: | ---: | ---: |")
add(table.unpack(allocs))
-- The batch benchmark (bench/batch.lua), when it ran.
local batch_file = io.open(tmp .. "/batch.tsv")
if batch_file then
  add("", "## Concurrent batch (get_connector_logs)", "",
    "1,000 ids against the test stand-in (tests/server), which adds 20 ms to every response,",
    "at concurrency 32, Lua 5.4, not pinned (the 32 transfers are the point); the ideal is",
    "1,000 / 32 x 20 ms = 0.625 s (target: within 1.5x, 0.94 s). The same 1,000 ids one by",
    "one on the same client, for comparison (HTTP only: about 20 s).", "",
    "| protocol | batch s | × ideal | entries | errors | one by one s | speed-up |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
  for line in batch_file:lines() do
    local proto, took, got, failed, seq = line:match("^(%S+)\t(%S+)\t(%S+)\t(%S+)\t(%S+)")
    if proto then
      took = tonumber(took)
      add(string.format("| %s | %.2f | %.2f | %s | %s | %s | %s |", proto, took, took / 0.625, got, failed,
        seq == "-" and "-" or string.format("%.1f", tonumber(seq)),
        seq == "-" and "-" or string.format("%.0fx", tonumber(seq) / took)))
    end
  end
  batch_file:close()
  add("", "Over HTTPS against nginx offering HTTP/2, multiplexing the batch on one HTTP/2",
    "connection measured 0.93-1.28 s against 0.71 s on 32 HTTP/1.1 connections (README, batch",
    "section): batches use HTTP/1.1.")
end

add("", "## Notes on the method", "")
for line in io.lines(bench .. "/METHOD.md") do
  add(line)
end
add("", "Where the time of one call goes, and what could be cut: [PROFILE.md](PROFILE.md).")

local f = assert(io.open(out_dir .. "/RESULTS.md", "w"))
f:write(table.concat(out, "\n"), "\n")
f:close()

-- The terminal table.
print(string.format("\n%-12s %-44s %9s %10s %6s %9s %6s %17s %8s", "proto", "contender", "requests", "req/s",
  "x raw", "CPU/1k", "x raw", "Ir/req (x raw)", "RSS MiB"))
for _, proto in ipairs { "HTTP", "HTTPS", "HTTP-2cores", "HTTPS-2cores" } do
  for _, r in ipairs(results[proto]) do
    print(string.format("%-12s %-44s %9d %10.0f %6.3f %9.3f %6.2f %17s %8.1f", proto, r.label, r.requests,
      r.rate, r.rate_x, r.cpu, r.cpu_x, ir_cell(proto, r), r.rss))
  end
end
print("")
for _, c in ipairs(checks) do
  print((c:gsub("%*%*", "")))
end
for _, m in ipairs(memory) do
  print("memory " .. m)
end

-- The chart: requests/s per contender, HTTP and HTTPS side by side, log scale.
local SHORT = {
  ["raw libcurl, one easy handle (C + cJSON)"] = "raw libcurl\\n(C, the limit)",
  ["lua-supermetrics, Lua 5.4"] = "lua-supermetrics\\nLua 5.4",
  ["lua-supermetrics, LuaJIT"] = "lua-supermetrics\\nLuaJIT",
  ["LuaSocket + LuaSec + cjson, Lua 5.4"] = "LuaSocket/LuaSec\\nLua 5.4",
  ["lua-http + cjson, LuaJIT"] = "lua-http\\nLuaJIT",
  ["curl command line, one process per request"] = "curl CLI\\n(process/request)",
  ["Python httpx, one Client + json"] = "Python httpx\\n(one Client)",
  ["lua-resty-http (nginx + LuaJIT)"] = "lua-resty-http\\n(nginx)",
}
local dat = assert(io.open(tmp .. "/chart.dat", "w"))
for i, r in ipairs(results.HTTP) do
  local s = results.HTTPS[i]
  local short = SHORT[r.label] or r.label
  dat:write(string.format("\"%s\"\t%.1f\t%.1f\n", short, r.rate, s and s.rate or 0))
end
dat:close()
local gp = assert(io.open(tmp .. "/chart.gp", "w"))
gp:write((([[
set terminal pngcairo size 1100,600 font "DejaVu Sans,10"
set output "OUTDIR/results.png"
set title "get_connector_log against a local nginx: requests/s (log scale)\nCPUNAME; client and server on one core"
set title noenhanced
set bmargin 5
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set yrange [10:*]
set ylabel "requests / s"
set grid ytics
set key top right
set xtics noenhanced font ",9"
plot "TMP/chart.dat" using 2:xtic(1) title "HTTP" lc rgb "#3b75af", \
     "" using 3 title "HTTPS" lc rgb "#ef8636", \
     "" using ($0 - 1.0/6):2:(sprintf("%.0f", $2)) with labels offset 0,0.7 font ",8" notitle, \
     "" using ($0 + 1.0/6):3:(sprintf("%.0f", $3)) with labels offset 0,0.7 font ",8" notitle
]]):gsub("OUTDIR", out_dir):gsub("TMP", tmp)
  :gsub("CPUNAME", (sh("lscpu | sed -n 's/^Model name: *//p'"):gsub("%%", "")))))
gp:close()
assert(os.execute("gnuplot " .. tmp .. "/chart.gp"), "gnuplot failed")
print("\nwrote " .. out_dir .. "/RESULTS.md and " .. out_dir .. "/results.png")
