--- The command line's output: entries as JSON, NDJSON, an aligned table or
-- CSV, with the columns `--fields` picks. Every write is checked: a failed
-- one raises `{ io = message }` (or `{ pipe = true }` for a reader that went
-- away), so nothing is reported as written that was not.
-- @module supermetrics.cli.output
-- @local

local cjson = require "cjson"

local output = {}

-- The seed's field order first, then the others by name.
local ORDER = { "id", "log_time", "status", "event", "request", "duration_ms", "request_id" }
local TABLE_COLUMNS = { "id", "log_time", "status", "duration_ms", "event", "request" }
-- Streamed tables cannot measure every row first: columns start this wide
-- (a typical value) and widen when a longer one comes.
local STREAM_WIDTH = { id = 8, log_time = 20, status = 6, duration_ms = 11, event = 24 }
local EPIPE = 32

-- JSON text of v with object keys sorted, so that the same entry always
-- prints the same (cjson follows the table's hash order).
local function json_value(v)
  if type(v) ~= "table" then
    -- Debian's lua-cjson escapes every "/" as "\/": valid, but noisy;
    -- every "/" it writes is escaped, so this only undoes that.
    return (cjson.encode(v):gsub("\\/", "/"))
  end
  local n, keys = 0, {}
  for k in pairs(v) do
    n = n + 1
    keys[n] = tostring(k)
  end
  local parts = {}
  if n > 0 and #v == n then
    for i = 1, n do
      parts[i] = json_value(v[i])
    end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  table.sort(keys)
  for i, k in ipairs(keys) do
    local value = v[k]
    if value == nil then
      value = v[tonumber(k)]
    end
    parts[i] = json_value(k) .. ":" .. json_value(value)
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
-- when missing), or every key in a stable order.
function output.entry_json(entry, fields)
  local parts = {}
  for i, k in ipairs(fields or default_keys(entry)) do
    local v = lookup(entry, k)
    parts[i] = json_value(k) .. ":" .. (v == nil and "null" or json_value(v))
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

-- A value as text for a table or CSV cell: strings as they are, nested
-- values as JSON, nothing (nil, null) as nil.
local function text_of(v)
  if v == nil or v == cjson.null then
    return nil
  elseif type(v) == "string" then
    return v
  end
  return json_value(v)
end

--- Server text made safe for a terminal: control characters (escape
-- sequences, newlines, tabs) become spaces. Tables and CSV cells use it.
function output.one_line(text)
  return (text:gsub("%c", " "))
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
function output.csv_field(v, raw)
  local c = text_of(v) or ""
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
function output.csv_record(values, raw)
  local out = {}
  for i = 1, values.n or #values do
    out[i] = output.csv_field(values[i], raw)
  end
  return table.concat(out, ",") .. "\r\n"
end

local COLOR = { [4] = "\27[33m", [5] = "\27[31m" }

--- Writes entries to out (a file handle). opts: format, fields (a list or
-- nil), single (one entry: a JSON object, not an array), stream (a table
-- is printed row by row rather than measured first), color (status cells
-- of a table), flush (after every entry: followed output), csv_raw (CSV
-- cells as sent: no formula guard, control characters kept).
function output.new(out, opts)
  local format, fields = opts.format, opts.fields
  local columns = fields or (format == "table" and TABLE_COLUMNS or ORDER)
  local count, buffered, widths = 0, {}, {}
  local w = {}

  local function write(...)
    local ok, err, code = out:write(...)
    if not ok then
      error(code == EPIPE and { pipe = true } or { io = err }, 0)
    end
  end

  local function cells_of(entry)
    local cells = { n = #columns } -- nil where a value is missing
    for i, name in ipairs(columns) do
      cells[i] = text_of(lookup(entry, name))
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
      widths[c] = math.max(widths[c] or 0, #text)
      local padded = c == #columns and text or text .. (" "):rep(widths[c] - #text)
      local color = opts.color and columns[c] == "status" and COLOR[math.floor((status or 0) / 100)]
      parts[c] = color and color .. padded .. "\27[0m" or padded
    end
    write(table.concat(parts, "  "), "\n")
  end

  local function header()
    local cells = {}
    for c, name in ipairs(columns) do
      cells[c] = name:upper()
      widths[c] = math.max(#cells[c], opts.stream and STREAM_WIDTH[name] or 0)
    end
    return cells
  end

  function w.entry(entry)
    count = count + 1
    if format == "ndjson" or (format == "json" and opts.single) then
      write(output.entry_json(entry, fields), "\n")
    elseif format == "json" then
      write(count == 1 and "[\n  " or ",\n  ", output.entry_json(entry, fields))
    elseif format == "csv" then
      if count == 1 then
        write(output.csv_record(columns, opts.csv_raw))
      end
      write(output.csv_record(values_of(entry), opts.csv_raw))
    elseif opts.stream then
      if count == 1 then
        table_row(header())
      end
      table_row(cells_of(entry), tonumber(entry.status))
    else
      buffered[#buffered + 1] = entry
    end
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
          widths[c] = math.max(widths[c], #(cells[c] or "-"))
        end
      end
      table_row(head)
      for _, entry in ipairs(buffered) do
        table_row(cells_of(entry), tonumber(entry.status))
      end
    end
    w.flush()
  end

  return w
end

return output
