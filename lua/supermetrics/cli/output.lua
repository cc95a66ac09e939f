--- The command line's output: entries as JSON, NDJSON, an aligned table or
-- CSV, with the columns `--fields` picks. Every write is checked: a failed
-- one raises `{ io = message }` (or `{ pipe = true }` for a reader that went
-- away), so nothing is reported as written that was not.
-- @module supermetrics.cli.output
-- @local

local cjson = require "cjson"
local core = require "supermetrics.core"

local output = {}

-- The seed's field order first, then the others by name.
local ORDER = { "id", "log_time", "status", "event", "request", "duration_ms", "request_id" }
local TABLE_COLUMNS = { "id", "log_time", "status", "duration_ms", "event", "request" }
-- Streamed tables cannot measure every row first: columns start this wide
-- (a typical value) and widen when a longer one comes.
local STREAM_WIDTH = { id = 8, log_time = 20, status = 6, duration_ms = 11, event = 24 }
local EPIPE = 32

local json_string = core.json_string

--- Whether v is a number JSON cannot hold: infinity (a server's 1e400) or
-- NaN. Every format writes such a number as null (`null` in JSON and
-- NDJSON, a missing value in a table and in CSV: `-`, an empty cell).
function output.nonfinite(v)
  return type(v) == "number" and (v ~= v or v == math.huge or v == -math.huge)
end

-- JSON text of v with object keys sorted, so that the same entry always
-- prints the same (cjson follows the table's hash order). Strings go
-- through core.json_string (text.h): C0, DEL and C1 controls escaped,
-- ill-formed UTF-8 as \ufffd, "/" as it is. seen (a table, or nil) gets
-- nonfinite = true when a number was written as null.
local function json_value(v, seen)
  local t = type(v)
  if t == "string" then
    return json_string(v)
  elseif t ~= "table" then
    if output.nonfinite(v) then
      if seen then seen.nonfinite = true end
      return "null"
    end
    return cjson.encode(v)
  end
  local n, keys = 0, {}
  for k in pairs(v) do
    n = n + 1
    keys[n] = tostring(k)
  end
  local parts = {}
  if n > 0 and #v == n then
    for i = 1, n do
      parts[i] = json_value(v[i], seen)
    end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  table.sort(keys)
  for i, k in ipairs(keys) do
    local value = v[k]
    if value == nil then
      value = v[tonumber(k)]
    end
    parts[i] = json_string(k) .. ":" .. json_value(value, seen)
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

-- The value at a dot path ("request.method"); a key that itself holds a
-- dot is found too.
local function lookup(entry, path)
  if entry[path] ~= nil then
    return entry[path]
  end
  local v = entry
  for key in path:gmatch("[^.]+") do
    if type(v) ~= "table" then
      return nil
    end
    v = v[key]
  end
  return v
end

local function default_keys(entry)
  local keys, seen, rest = {}, {}, {}
  for _, k in ipairs(ORDER) do
    if entry[k] ~= nil then
      keys[#keys + 1], seen[k] = k, true
    end
  end
  for k in pairs(entry) do
    if not seen[k] then
      rest[#rest + 1] = tostring(k)
    end
  end
  table.sort(rest)
  for _, k in ipairs(rest) do
    keys[#keys + 1] = k
  end
  return keys
end

--- One entry as a one-line JSON object: the given fields in order (null
-- when missing), or every key in a stable order. seen: as json_value's.
function output.entry_json(entry, fields, seen)
  local parts = {}
  for i, k in ipairs(fields or default_keys(entry)) do
    local v = lookup(entry, k)
    parts[i] = json_string(k) .. ":" .. (v == nil and "null" or json_value(v, seen))
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

-- A value as text for a table or CSV cell: strings as they are, nested
-- values as JSON, nothing (nil, null, a number JSON cannot hold) as nil.
local function text_of(v, seen)
  if v == nil or v == cjson.null then
    return nil
  elseif type(v) == "string" then
    return v
  elseif output.nonfinite(v) then
    if seen then seen.nonfinite = true end
    return nil
  end
  return json_value(v, seen)
end

--- Server text made safe for a terminal, by the library's one rule
-- (core.shown, src/text.h): C0, DEL and C1 controls (escape sequences,
-- newlines, tabs, CSI as U+009B) become spaces, ill-formed UTF-8 becomes
-- U+FFFD. Tables, CSV cells and every line on stderr use it.
output.one_line = core.shown

-- The columns text takes on a terminal: its UTF-8 characters (text is
-- shown text, so well-formed).
local function width(text)
  if not text:find("[\128-\255]") then
    return #text
  end
  local _, continuation = text:gsub("[\128-\191]", "")
  return #text - continuation
end

-- OWASP's CSV injection: a spreadsheet reads a cell as a formula when it
-- starts with = + - or @ (also after spaces or control characters, which
-- some skip), or with a tab or CR (and LF).
local function formula_like(text, safe)
  return safe:find("^%s*[=+%-@]") ~= nil or text:find("^[\t\r\n]") ~= nil
end

--- One CSV field for a value (a string, a number, a nested table, or nil
-- for none): RFC 4180, quoted when it holds a comma, quote, CR or LF, quotes
-- doubled. Unless raw, a string has its control characters as spaces
-- (output.one_line) and, when it looks like a formula, a leading `'` and
-- quotes, as OWASP advises; numbers (JSON numbers: -5) are left as they
-- are, a spreadsheet reads them as numbers.
function output.csv_field(v, raw, seen)
  local c = text_of(v, seen) or ""
  if not raw and type(v) == "string" then
    local safe = output.one_line(c)
    if formula_like(c, safe) then
      return "\"'" .. safe:gsub('"', '""') .. '"'
    end
    c = safe
  end
  if c:find('[,"\r\n]') then
    c = '"' .. c:gsub('"', '""') .. '"'
  end
  return c
end

--- One CSV record of values (a list, `n` = its length when it has nils),
-- each as output.csv_field makes it; records end with CRLF.
function output.csv_record(values, raw, seen)
  local out = {}
  for i = 1, values.n or #values do
    out[i] = output.csv_field(values[i], raw, seen)
  end
  return table.concat(out, ",") .. "\r\n"
end

local COLOR = { [4] = "\27[33m", [5] = "\27[31m" }

--- Writes entries to out (a file handle). opts: format, fields (a list or
-- nil), single (one entry: a JSON object, not an array), stream (a table
-- is printed row by row rather than measured first), color (status cells
-- of a table), flush (after every entry: followed output), csv_raw (CSV
-- cells as sent: no formula guard, control characters kept), warn (a
-- function of a message, called once when a number JSON cannot hold was
-- written as null).
function output.new(out, opts)
  local format, fields = opts.format, opts.fields
  local columns = fields or (format == "table" and TABLE_COLUMNS or ORDER)
  local count, buffered, widths = 0, {}, {}
  local seen, warned = {}, false
  local w = {}

  local function note()
    if seen.nonfinite and not warned then
      warned = true
      if opts.warn then
        opts.warn("a number JSON cannot hold (infinity or NaN: a server's 1e400) was written as null")
      end
    end
  end

  local function write(...)
    local ok, err, code = out:write(...)
    if not ok then
      error(code == EPIPE and { pipe = true } or { io = err }, 0)
    end
  end

  local function cells_of(entry)
    local cells = { n = #columns } -- nil where a value is missing
    for i, name in ipairs(columns) do
      cells[i] = text_of(lookup(entry, name), seen)
    end
    return cells
  end

  local function values_of(entry)
    local values = { n = #columns }
    for i, name in ipairs(columns) do
      values[i] = lookup(entry, name)
    end
    return values
  end

  local function table_row(cells, status)
    local parts = {}
    for c = 1, #columns do
      local text = cells[c] and output.one_line(cells[c]) or "-"
      local columns_wide = width(text)
      widths[c] = math.max(widths[c] or 0, columns_wide)
      local padded = c == #columns and text or text .. (" "):rep(widths[c] - columns_wide)
      local color = opts.color and columns[c] == "status" and COLOR[math.floor((status or 0) / 100)]
      parts[c] = color and color .. padded .. "\27[0m" or padded
    end
    write(table.concat(parts, "  "), "\n")
  end

  local function header()
    local cells = {}
    for c, name in ipairs(columns) do
      cells[c] = output.one_line(name:upper())
      widths[c] = math.max(width(cells[c]), opts.stream and STREAM_WIDTH[name] or 0)
    end
    return cells
  end

  function w.entry(entry)
    count = count + 1
    if format == "ndjson" or (format == "json" and opts.single) then
      write(output.entry_json(entry, fields, seen), "\n")
    elseif format == "json" then
      write(count == 1 and "[\n  " or ",\n  ", output.entry_json(entry, fields, seen))
    elseif format == "csv" then
      if count == 1 then
        write(output.csv_record(columns, opts.csv_raw))
      end
      write(output.csv_record(values_of(entry), opts.csv_raw, seen))
    elseif opts.stream then
      if count == 1 then
        table_row(header())
      end
      table_row(cells_of(entry), tonumber(entry.status))
    else
      buffered[#buffered + 1] = entry
    end
    note()
    if opts.flush then
      w.flush()
    end
  end

  function w.flush()
    local ok, err, code = out:flush()
    if not ok then
      error(code == EPIPE and { pipe = true } or { io = err }, 0)
    end
  end

  --- Ends the output. state: "ok"; "failed" (nothing is added when nothing
  -- came before the failure; a JSON array is closed: what it holds is
  -- whole, and the error says what is missing); "interrupted" (a JSON
  -- array is left open, visibly unfinished).
  function w.finish(state)
    if state ~= "ok" and count == 0 then
      return w.flush()
    end
    if format == "json" and not opts.single then
      if state == "interrupted" then
        write("\n")
      else
        write(count == 0 and "[]\n" or "\n]\n")
      end
    elseif format == "csv" and count == 0 then
      write(output.csv_record(columns, opts.csv_raw))
    elseif format == "table" and opts.stream and count == 0 then
      table_row(header())
    elseif format == "table" and not opts.stream then
      local head = header()
      for _, entry in ipairs(buffered) do
        local cells = cells_of(entry)
        for c = 1, #columns do
          widths[c] = math.max(widths[c], width(output.one_line(cells[c] or "-")))
        end
      end
      table_row(head)
      for _, entry in ipairs(buffered) do
        table_row(cells_of(entry), tonumber(entry.status))
      end
      note()
    end
    w.flush()
  end

  return w
end

return output
