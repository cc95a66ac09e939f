--- The command line's `--output FILE`: written atomically (a temporary file
-- in FILE's folder, synced and renamed over FILE on success, removed on
-- failure: FILE is the whole output or what it was before), and with
-- `--resume`, continued in place from its last complete entry (a partial
-- NDJSON or CSV output of `list --all`: its tail is read back, a record
-- written in part dropped, and where to go on worked out from the entries).
-- Failures raise `{ io = message }` (cannot write) or `{ resume = message }`
-- (FILE is not this command's output).
-- @module supermetrics.cli.outfile
-- @local

local cjson = require "cjson"
local core = require "supermetrics.core"
local native = require "supermetrics.cli_native"
local format = require "supermetrics.format"
local logtime = require "supermetrics.logtime"
local paging = require "supermetrics.paging"

local outfile = {}

local CHUNK = 64 * 1024
-- The most records of a CSV file whose ends are remembered while it is
-- read forward (the tail a resume needs is far shorter: the entries
-- stamped with the last log_time, at most 1000).
local RING = 8192

local function io_fail(message)
  error({ io = message }, 0)
end

local function refuse(path, message)
  error({ resume = "--resume: " .. path .. " " .. message }, 0)
end

-- A name no other file has, from the system's randomness.
local function random_hex()
  local f = io.open("/dev/urandom", "rb")
  local bytes = f and f:read(8)
  if f then f:close() end
  if not bytes or #bytes < 8 then
    bytes = tostring(os.time()) .. tostring(os.clock()) .. tostring({})
  end
  return (bytes:gsub(".", function(c) return string.format("%02x", c:byte()) end)):sub(1, 16)
end

local function folder_and_name(path)
  local dir, name = path:match("^(.*)/([^/]*)$")
  if not dir then
    return ".", path
  end
  return dir == "" and "/" or dir, name
end

--- Opens FILE's temporary for an atomic write. Returns { file = the open
-- handle, commit = function: true or nil, message (closes, syncs, renames
-- over FILE, syncs the folder; on failure the temporary is gone), abort =
-- function (closes and removes the temporary) }.
function outfile.atomic(path)
  local dir, name = folder_and_name(path)
  if name == "" or name == "." or name == ".." then
    io_fail(path .. " is a folder: --output takes a file")
  end
  local tmp
  for _ = 1, 8 do
    tmp = dir .. "/." .. name .. "." .. random_hex() .. ".tmp"
    local taken = io.open(tmp, "rb")
    if not taken then break end
    taken:close()
  end
  local file, err = io.open(tmp, "wb")
  if not file then
    io_fail(err)
  end
  local open = true
  local h = { file = file, path = tmp }
  local function close()
    if open then
      open = false
      return file:close()
    end
    return true
  end
  function h.commit()
    local ok, why = close()
    if ok then ok, why = native.sync_file(tmp) end
    if ok then ok, why = os.rename(tmp, path) end
    if not ok then
      os.remove(tmp)
      return nil, why
    end
    native.sync_file(dir) -- the rename itself on the disk; a folder that cannot say is no failure
    return true
  end
  function h.abort()
    pcall(close)
    os.remove(tmp)
  end
  return h
end

-- ---- reading back a partial output ----

-- The complete lines of f that end at or before keep (just after a "\n"),
-- last first, without their "\n".
local function lines_backward(f, keep)
  local pos, data = keep, ""
  local lines, li = {}, 0
  return function()
    while true do
      if li > 0 then
        li = li - 1
        return lines[li + 1]
      end
      if pos == 0 then
        return nil
      end
      local n = math.min(CHUNK, pos)
      pos = pos - n
      f:seek("set", pos)
      data = f:read(n) .. data
      local head, rest = data:match("^(.-\n)(.*)$")
      if pos == 0 then
        head, rest = "", data
      end
      data = head
      lines, li = {}, 0
      for line in rest:gmatch("([^\n]*)\n") do
        li = li + 1
        lines[li] = line
      end
    end
  end
end

-- Where FILE's last "\n" is: the end of its complete lines (0 for none).
local function last_newline(f, size)
  local pos = size
  while pos > 0 do
    local n = math.min(CHUNK, pos)
    pos = pos - n
    f:seek("set", pos)
    local chunk = f:read(n)
    local at = chunk:find("\n[^\n]*$")
    if at then
      return pos + at
    end
  end
  return 0
end

-- One CSV record's cells (RFC 4180), the record without its CRLF.
local function csv_cells(record)
  local cells, i, n = {}, 1, #record
  while true do
    if record:sub(i, i) == '"' then
      local text, j = {}, i + 1
      while true do
        local q = record:find('"', j, true)
        if not q then
          return nil
        end
        text[#text + 1] = record:sub(j, q - 1)
        if record:sub(q + 1, q + 1) == '"' then
          text[#text + 1] = '"'
          j = q + 2
        else
          i = q + 1
          break
        end
      end
      cells[#cells + 1] = table.concat(text)
    else
      local comma = record:find(",", i, true) or n + 1
      cells[#cells + 1] = record:sub(i, comma - 1)
      i = comma
    end
    if i > n then
      return cells
    end
    if record:sub(i, i) ~= "," then
      return nil
    end
    i = i + 1
    if i > n then
      cells[#cells + 1] = ""
      return cells
    end
  end
end

-- The ends (offsets just past CRLF) of FILE's complete CSV records, read
-- forward: a CRLF outside quotes ends a record. Returns the first record's
-- end (the header's), the last RING ends in order, and their count.
local function csv_record_ends(f)
  f:seek("set", 0)
  local ends, count, first = {}, 0, nil
  local quoted, offset, prev = false, 0, nil
  while true do
    local chunk = f:read(1024 * 1024)
    if not chunk then
      break
    end
    local i = 1
    while true do
      local j = chunk:find('["\n]', i)
      if not j then
        break
      end
      if chunk:byte(j) == 34 then
        quoted = not quoted
      elseif not quoted and ((j > 1 and chunk:byte(j - 1) == 13) or (j == 1 and prev == 13)) then
        count = count + 1
        ends[(count - 1) % RING + 1] = offset + j
        first = first or offset + j
      end
      i = j + 1
    end
    prev = chunk:byte(#chunk)
    offset = offset + #chunk
  end
  local ordered = {}
  for k = math.max(1, count - RING + 1), count do
    ordered[#ordered + 1] = ends[(k - 1) % RING + 1]
  end
  return first, ordered, count
end

-- Undoes the formula guard of a CSV cell (format.csv_text): a leading '
-- before text that starts like a formula.
local function unguard(text)
  local rest = text:match("^'(.*)$")
  if rest and (core.shown(rest):find("^%s*[=+%-@]") or rest:find("^[\t\r\n]")) then
    return rest
  end
  return text
end

--- The text FILE shows of an entry's id and log_time, one string (or nil
-- without an id): what read_tail's `printed` holds of the entries it read.
-- o as for read_tail.
function outfile.printed(o, entry)
  if entry.id == nil then
    return nil
  end
  local log_time = entry.log_time
  if o.format == "csv" then
    return format.csv_text(entry.id, o.csv_raw) .. "\0" .. format.csv_text(log_time, o.csv_raw)
  end
  -- NDJSON: what decoding the line gives back.
  local id = cjson.decode(core.json_string(tostring(entry.id)))
  return id .. "\0" .. (type(log_time) == "string" and cjson.decode(core.json_string(log_time)) or "nil")
end

--- Reads the end of a partial output written by `list --all` (newest
-- first) to continue it. o: `format` ("ndjson" or "csv"), `fields` (the
-- --fields list, or nil: the default; must hold id and log_time), `csv_raw`.
-- Returns `keep` (bytes of complete records: the rest is cut), `header`
-- (a CSV header row is there), `tail` (the last entries as { id =,
-- log_time = }, oldest last: every one stamped at or after the successor
-- of the last's log_time, and the last) and `printed` (a set of the tail's
-- id and log_time as the file shows them, for entries whose text the format
-- changed). Raises { resume = message } when FILE is not such an output.
function outfile.read_tail(path, o)
  local f = io.open(path, "rb")
  if not f then
    return { keep = 0, header = false, tail = {}, printed = {} }
  end
  local size = f:seek("end")
  local result = { keep = 0, header = false, tail = {}, printed = {} }
  local records = {} -- { id =, log_time =, shown_id =, shown_time = }, last first
  local bound         -- the successor of the last entry's log_time
  local function wanted(entry)
    local t = logtime.parse(entry.log_time)
    if not bound then
      if not t then
        f:close()
        refuse(path, "ends with an entry without an ISO 8601 log_time: cannot tell where to go on")
      end
      bound = logtime.successor(t)
      return true
    end
    return t ~= nil and t.key <= bound.key
  end
  if o.format == "ndjson" then
    result.keep = last_newline(f, size)
    f:seek("set", 0)
    if result.keep == 0 and size > 0 and f:read(1) ~= "{" then
      f:close()
      refuse(path, "is not NDJSON output (it does not start with a JSON object): give the --format it was "
        .. "written in")
    end
    local n = 0
    for line in lines_backward(f, result.keep) do
      n = n + 1
      local ok, entry = pcall(cjson.decode, line)
      if not ok or type(entry) ~= "table" or (line:sub(1, 1) ~= "{") then
        f:close()
        refuse(path, "is not NDJSON output (line " .. n .. " from the end is not a JSON object): "
          .. "give the --format it was written in")
      end
      if o.fields then
        -- --fields writes exactly those keys, null when missing.
        local keys = 0
        for _ in pairs(entry) do keys = keys + 1 end
        for _, name in ipairs(o.fields) do
          if entry[name] == nil then keys = -1 end
        end
        if keys ~= #o.fields then
          f:close()
          refuse(path, "holds other fields than this command writes: give the same --fields")
        end
      end
      local id = entry.id ~= cjson.null and entry.id or nil
      local log_time = entry.log_time ~= cjson.null and entry.log_time or nil
      local e = { id = id, log_time = log_time, shown_id = id ~= nil and tostring(id) or nil,
        shown_time = type(log_time) == "string" and log_time or nil }
      if not wanted(e) then
        break
      end
      records[#records + 1] = e
    end
  elseif o.format == "csv" then
    local header_line = format.csv_record(o.fields or format.COLUMNS, o.csv_raw)
    local first, ends = csv_record_ends(f)
    if not first then
      -- Not even a whole header: start again, if it is the start of one.
      f:seek("set", 0)
      local text = f:read(#header_line + 1) or ""
      f:close()
      if header_line:sub(1, #text) ~= text then
        refuse(path, "does not start with this command's CSV header (" .. header_line:sub(1, -3)
          .. "): give the same --fields and --format")
      end
      return result
    end
    f:seek("set", 0)
    if f:read(first) ~= header_line then
      f:close()
      refuse(path, "does not start with this command's CSV header (" .. header_line:sub(1, -3)
        .. "): give the same --fields and --format")
    end
    result.header, result.keep = true, ends[#ends]
    local id_at, time_at
    local columns = o.fields or format.COLUMNS
    for i, name in ipairs(columns) do
      if name == "id" then id_at = i elseif name == "log_time" then time_at = i end
    end
    for k = #ends, 2, -1 do
      local from = ends[k - 1]
      if from < first then break end
      f:seek("set", from)
      local record = f:read(ends[k] - from):sub(1, -3)
      local cells = csv_cells(record)
      if not cells or #cells ~= #columns then
        f:close()
        refuse(path, "has a record that is not one of this command's CSV records: give the same --fields")
      end
      local raw_id, raw_time = cells[id_at], cells[time_at]
      local e = {
        id = raw_id ~= "" and (o.csv_raw and raw_id or unguard(raw_id)) or nil,
        log_time = raw_time ~= "" and raw_time or nil,
        shown_id = raw_id ~= "" and raw_id or nil, shown_time = raw_time,
      }
      if not wanted(e) then
        break
      end
      records[#records + 1] = e
    end
  else
    f:close()
    error("--resume: no such format " .. tostring(o.format))
  end
  f:close()
  -- Newest first, as list --all writes: read last first, no entry may be
  -- newer than one after it.
  local newer
  for _, e in ipairs(records) do
    local t = logtime.parse(e.log_time)
    if t and newer and t.key < newer.key then
      refuse(path, "is not newest first (was it written by list --all? tail writes oldest first)")
    end
    newer = t or newer
  end
  for i = #records, 1, -1 do
    local e = records[i]
    result.tail[#result.tail + 1] = { id = e.id, log_time = e.log_time }
    if e.shown_id then
      result.printed[e.shown_id .. "\0" .. (e.shown_time or "nil")] = true
    end
  end
  return result
end

--- Continues FILE: reads its tail (outfile.read_tail), cuts what follows
-- its last complete record, and opens it to append. since, through: the
-- command's bounds (texts, or nil). Returns { file = the handle, header =,
-- resume = the iterator's resume value (nil: start from the newest entry),
-- printed = , last = the parsed log_time of FILE's last entry or nil }.
function outfile.continue(path, o, since, through)
  local tail = outfile.read_tail(path, o)
  local existing = io.open(path, "rb")
  if existing then
    local size = existing:seek("end")
    existing:close()
    if size > tail.keep then
      local ok, why = native.truncate_file(path, tail.keep)
      if not ok then
        io_fail(why)
      end
    end
  end
  local file, err = io.open(path, "ab")
  if not file then
    io_fail(err)
  end
  local resume, last
  if #tail.tail > 0 then
    local why
    resume, why = paging.resume_after(tail.tail, since, through)
    if not resume then
      file:close()
      refuse(path, why)
    end
    last = logtime.parse(tail.tail[#tail.tail].log_time)
  end
  return { file = file, header = tail.header, resume = resume, printed = tail.printed, last = last }
end

return outfile
