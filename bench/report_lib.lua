-- What bench/report.lua and bench/inside_report.lua both need: reading the
-- measurements' TSV files, package versions, numbers with thousands commas.
local report_lib = {}

--- The rows of a tab-separated file, each a list of its fields (empty ones
-- kept). A missing file is an error unless optional: then no rows.
function report_lib.read_tsv(path, optional)
  local rows, f = {}, io.open(path)
  if not f then
    assert(optional, "no " .. path)
    return rows
  end
  for line in f:lines() do
    local row = {}
    for field in (line .. "\t"):gmatch("([^\t]*)\t") do
      row[#row + 1] = field
    end
    rows[#rows + 1] = row
  end
  f:close()
  return rows
end

--- A shell command's output (stderr too), without trailing blanks.
--- The instruction counts of a run (ir.tsv: group, contender, Ir per
-- request), as t[group][contender] = number; empty when callgrind did not run.
function report_lib.read_ir(path)
  local ir = {}
  for _, r in ipairs(report_lib.read_tsv(path, true)) do
    ir[r[1]] = ir[r[1]] or {}
    ir[r[1]][r[2]] = tonumber(r[3])
  end
  return ir
end

function report_lib.sh(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a"):gsub("%s+$", "")
  p:close()
  return out
end

--- An installed Debian package's version, or "?".
function report_lib.version(pkg)
  local v = report_lib.sh("dpkg-query -W -f='${Version}' " .. pkg)
  return v:find("no packages found") and "?" or v
end

--- v rounded, with commas between thousands: 1234567 -> "1,234,567".
function report_lib.thousands(v)
  return (string.format("%.0f", v):reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^(-?),", "%1"))
end

return report_lib
