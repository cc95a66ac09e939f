--- Writers of log entries: JSON, NDJSON, CSV and an aligned table, exactly as
-- the command line `supermetrics-logs` writes them (it uses this module).
-- Every format is safe to print and CSV safe to open in a spreadsheet: text
-- shown to a person goes through the library's one cleaning rule (C0, DEL and
-- C1 controls as spaces, bytes that are not UTF-8 as U+FFFD; JSON escapes
-- them instead), a CSV text cell that starts like a formula gets a leading
-- `'` (OWASP's advice against CSV injection), and a number JSON cannot hold
-- (infinity, NaN) is written as null. docs/api.md, Writing entries.
--
--     local format = require "supermetrics.format"
--     local csv = format.writer(io.stdout, { format = "csv" })
--     for entry in client:each_connector_log(team, connector) do csv:entry(entry) end
--     csv:finish()
--
-- Every write is checked: a failed one raises `{ io = message, pipe = true
-- when the reader went away (EPIPE) }` (`tostring` gives one line), so
-- nothing is reported as written that was not.
-- @module supermetrics.format

local cjson = require "cjson"
local core = require "supermetrics.core"

local format = {}

--- The formats a writer takes.
format.FORMATS = { json = true, ndjson = true, csv = true, table = true }

-- The seed's field order first, then the others by name.
local ORDER = { "id", "log_time", "status", "event", "request", "duration_ms", "request_id" }

--- The columns of CSV without `fields`: the API's fields of an entry, in
-- the API's order.
format.COLUMNS = { "id", "log_time", "status", "event", "request", "duration_ms", "request_id" }
local TABLE_COLUMNS = { "id", "log_time", "status", "duration_ms", "event", "request" }
-- Streamed tables cannot measure every row first: columns start this wide
-- (a typical value) and widen when a longer one comes.
local STREAM_WIDTH = { id = 8, log_time = 20, status = 6, duration_ms = 11, event = 24 }
local EPIPE = 32

local json_string = core.json_string
local math_type = math.type

--- Server text made safe for a terminal, by the library's one rule
-- (`core.shown`, src/text.h): C0, DEL and C1 controls (escape sequences,
-- newlines, tabs, CSI as U+009B) become spaces, ill-formed UTF-8 becomes
-- U+FFFD. Tables, CSV cells and every line the command line writes on
-- stderr use it.
-- @function shown
-- @string text
-- @treturn string
format.shown = core.shown

--- Whether v is a number JSON cannot hold: infinity (a server's 1e400) or
-- NaN. Every format writes such a number as null (`null` in JSON and
-- NDJSON, a missing value in a table and in CSV: `-`, an empty cell).
-- @param v any value
-- @treturn boolean
function format.nonfinite(v)
  return type(v) == "number" and (v ~= v or v == math.huge or v == -math.huge)
end
local nonfinite = format.nonfinite

-- JSON text of v with object keys sorted, so that the same entry always
-- prints the same (cjson follows the table's hash order). Strings go
-- through core.json_string (text.h): C0, DEL and C1 controls escaped,
-- ill-formed UTF-8 as \ufffd, "/" as it is; integers exactly (Lua 5.3+).
-- seen (a table, or nil) gets nonfinite = true when a number was written as
-- null.
local function json_value(v, seen)
  local t = type(v)
  if t == "string" then
    return json_string(v)
  elseif t ~= "table" then
    if nonfinite(v) then
      if seen then seen.nonfinite = true end
      return "null"
    elseif math_type and math_type(v) == "integer" then
      return string.format("%d", v)
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

--- Any value (an entry, an error's `resume`...) as one line of JSON text:
-- object keys sorted, strings escaped as the JSON formats escape them,
-- integers exact, a number JSON cannot hold as null. An empty table is `{}`.
-- @param v a string, number, boolean, nil, `supermetrics.null` or a table of those
-- @treturn string
function format.json(v)
  if v == nil then
    return "null"
  end
  return json_value(v)
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

--- One entry as a one-line JSON object (an NDJSON line without its
-- newline): the given fields in order (null when missing; dot paths reach
-- nested values), or every key, the API's fields first.
-- @tab entry
-- @tparam[opt] {string,...} fields
-- @param[opt] seen a table that gets `nonfinite = true` when a number was written as null
-- @treturn string
function format.entry_json(entry, fields, seen)
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
  elseif nonfinite(v) then
    if seen then seen.nonfinite = true end
    return nil
  end
  return json_value(v, seen)
end

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

-- A CSV cell's text before quoting, and whether a formula guard was added.
local function cell(v, raw, seen)
  local c = text_of(v, seen) or ""
  if not raw and type(v) == "string" then
    local safe = core.shown(c)
    if formula_like(c, safe) then
      return "'" .. safe, true
    end
    return safe, false
  end
  return c, false
end

--- The text of one CSV cell before RFC 4180 quoting: strings cleaned
-- (`shown`) and, when they start like a formula, with a leading `'`
-- (unless raw); numbers as they are (a spreadsheet reads `-5` as a
-- number); nested values as JSON text; nothing as "".
-- @param v a value
-- @bool[opt] raw the text as sent: no cleaning, no formula guard
-- @treturn string
function format.csv_text(v, raw)
  return (cell(v, raw))
end

--- One CSV field for a value: `csv_text`, quoted per RFC 4180 when it holds a
-- comma, quote, CR or LF (quotes doubled); a guarded formula is quoted too.
-- @param v a value
-- @bool[opt] raw as for `csv_text`
-- @param[opt] seen a table that gets `nonfinite = true` when a number was written as nothing
-- @treturn string
function format.csv_field(v, raw, seen)
  local c, guarded = cell(v, raw, seen)
  if guarded or c:find('[,"\r\n]') then
    c = '"' .. c:gsub('"', '""') .. '"'
  end
  return c
end

--- One CSV record: each value as `csv_field` makes it, separated by commas,
-- ended by CRLF.
-- @tab values a list (`n` = its length when it holds nils)
-- @bool[opt] raw as for `csv_text`
-- @param[opt] seen as for `csv_field`
-- @treturn string
function format.csv_record(values, raw, seen)
  local out = {}
  for i = 1, values.n or #values do
    out[i] = format.csv_field(values[i], raw, seen)
  end
  return table.concat(out, ",") .. "\r\n"
end

-- A write failure, as raised: { io =, pipe = }, one line as a string.
local WriteError = {
  __tostring = function(e)
    return "supermetrics.format: cannot write: " .. tostring(e.pipe and "the reader went away" or e.io)
  end,
}

local function write_error(err, code)
  return setmetatable(code == EPIPE and { pipe = true, io = err } or { io = err }, WriteError)
end

local COLOR = { [4] = "\27[33m", [5] = "\27[31m" }

--- A writer of entries to out, in one format.
-- @param out where to write: a file handle, or any value with `out:write(...)`
-- (returning a true value, or nil, a message and an error number) and
-- `out:flush()`
-- @tparam[opt] table opts `format` ("json" (default): an array, or one object
-- with `single`; "ndjson": one object a line; "csv": RFC 4180, a header row,
-- CRLF; "table": aligned columns), `fields` (the columns, in order; dot paths
-- reach nested values; default: every key for JSON, the API's fields for CSV
-- and tables), `csv_raw` (cells as sent: no cleaning, no formula guard),
-- `header` (false: no CSV header row, to append to a file that has one),
-- `single` (JSON: one object), `stream` (a table printed row by row rather
-- than measured at the end), `color` (a table's 4xx/5xx statuses in color),
-- `flush` (after every entry), `warn` (a function of a message, called once
-- when a number JSON cannot hold was written as null)
-- @return the writer: `writer:entry(entry)` writes one, `writer:finish([state])`
-- ends the output ("ok"; "failed": a JSON array is closed, nothing is added when
-- nothing came; "interrupted": a JSON array is left open, visibly unfinished)
-- and flushes, `writer:flush()`, `writer.count` (entries written)
-- @raise `{ io = message, pipe = true|nil }` when a write fails
function format.writer(out, opts)
  opts = opts or {}
  local kind, fields = opts.format or "json", opts.fields
  if not format.FORMATS[kind] then
    error("supermetrics.format.writer: format must be json, ndjson, csv or table, not " .. tostring(kind), 2)
  end
  local columns = fields or (kind == "table" and TABLE_COLUMNS or ORDER)
  local raw = opts.csv_raw
  local buffered, widths = {}, {}
  local seen, warned = {}, false
  local w = { count = 0 }

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
      error(write_error(err, code), 0)
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
      local text = cells[c] and core.shown(cells[c]) or "-"
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
      cells[c] = core.shown(name:upper())
      widths[c] = math.max(width(cells[c]), opts.stream and STREAM_WIDTH[name] or 0)
    end
    return cells
  end

  local function csv_header()
    if opts.header ~= false then
      write(format.csv_record(columns, raw))
    end
  end

  -- Writes one entry.
  function w.entry(self, entry)
    if entry == nil and self ~= w then
      entry = self -- writer.entry(entry) works too
    end
    local count = w.count + 1
    w.count = count
    if kind == "ndjson" or (kind == "json" and opts.single) then
      write(format.entry_json(entry, fields, seen), "\n")
    elseif kind == "json" then
      write(count == 1 and "[\n  " or ",\n  ", format.entry_json(entry, fields, seen))
    elseif kind == "csv" then
      if count == 1 then
        csv_header()
      end
      write(format.csv_record(values_of(entry), raw, seen))
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

  -- Flushes out (when it has a flush method).
  function w.flush()
    if not out.flush then
      return
    end
    local ok, err, code = out:flush()
    if not ok then
      error(write_error(err, code), 0)
    end
  end

  -- Ends the output (state "ok" by default).
  function w.finish(self, state)
    if self ~= w then
      state = self
    end
    state = state or "ok"
    local count = w.count
    if state ~= "ok" and count == 0 then
      return w.flush()
    end
    if kind == "json" and not opts.single then
      if state == "interrupted" then
        write("\n")
      else
        write(count == 0 and "[]\n" or "\n]\n")
      end
    elseif kind == "csv" and count == 0 then
      csv_header()
    elseif kind == "table" and opts.stream and count == 0 then
      table_row(header())
    elseif kind == "table" and not opts.stream then
      local head = header()
      for _, entry in ipairs(buffered) do
        local cells = cells_of(entry)
        for c = 1, #columns do
          widths[c] = math.max(widths[c], width(core.shown(cells[c] or "-")))
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

return format
