-- What the bench reports share: reading the measurements' TSV files,
-- package versions, numbers with thousands commas, a section of RESULTS.md.
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

--- The median of a list of numbers (the upper one of an even count); the
-- list is left as it was.
function report_lib.median(t)
  local c = {}
  for i, v in ipairs(t) do c[i] = v end
  table.sort(c)
  return c[math.floor((#c + 1) / 2)]
end

--- Writes section (a list of lines, its heading first) into path's
-- Markdown (RESULTS.md): in place of the section with the same heading, or
-- of the first whose heading starts with `prefix` (an older run's with other
-- settings), else at the end. Prints it too.
function report_lib.place_section(path, section, prefix)
  local old = {}
  local f = io.open(path)
  if f then
    for line in f:lines() do old[#old + 1] = line end
    f:close()
  end
  local result, skipping, placed = {}, false, false
  for _, line in ipairs(old) do
    if line == section[1] or (line:find(prefix, 1, true) == 1 and not placed) then
      skipping, placed = true, true
      for _, l in ipairs(section) do result[#result + 1] = l end
      result[#result + 1] = ""
    elseif skipping and line:match("^## ") then
      skipping = false
      result[#result + 1] = line
    elseif not skipping then
      result[#result + 1] = line
    end
  end
  if not placed then
    if #result > 0 and result[#result] ~= "" then result[#result + 1] = "" end
    for _, l in ipairs(section) do result[#result + 1] = l end
  end
  f = assert(io.open(path, "w"))
  f:write(table.concat(result, "\n"), "\n")
  f:close()
  print(table.concat(section, "\n"))
end

return report_lib
