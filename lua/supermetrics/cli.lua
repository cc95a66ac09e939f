--- The `supermetrics-logs` command line: get, list and fetch log entries
-- as JSON, NDJSON or an aligned table. `bin/supermetrics-logs` runs
-- `cli.main(arg)` and exits with what it returns.
-- @module supermetrics.cli

local cjson = require "cjson"
local core = require "supermetrics.core"
local supermetrics = require "supermetrics"

local cli = {}

cli.USAGE = [[
Usage: supermetrics-logs [options] get TEAM CONNECTOR LOG
       supermetrics-logs [options] list TEAM CONNECTOR [--limit N] [--before TIME] [--all]
       supermetrics-logs [options] fetch TEAM CONNECTOR LOG...
       (after "--" every argument is taken as is, for ids that start with "-")

Options:
  --format json|ndjson|table  output format (default json)
  --key-file FILE             read the credential from FILE (else SUPERMETRICS_API_KEY)
  --base-url URL              API base URL (else SUPERMETRICS_BASE_URL, else the real API)
  --ca-file FILE              PEM bundle to trust (else SUPERMETRICS_CA_FILE, else the system)
  --timeout SECONDS           deadline of each call, retries included (default 30)
  --retries N                 retries after a failed attempt (default 2)
  --concurrency N             fetch: requests in flight at once (default 16)
  --limit N                   list: entries per page, 1..1000
  --before TIME               list: only entries at or before TIME (ISO 8601)
  --all                       list: every page, not just the first
  -h, --help                  this text
  --version                   the library's version

Credentials never come from the command line (ps and shell history would show
them). Exit status: 0 ok, 1 other error, 2 usage or bad argument, 3 not
authorised, 4 not found, 5 rate limited or unavailable.]]

--- Exit statuses by error class.
cli.EXIT = { ok = 0, other = 1, usage = 2, auth = 3, not_found = 4, unavailable = 5 }

local AUTH = { UNAUTHORIZED = true, FORBIDDEN = true, PERMISSION_ERROR = true }
local UNAVAILABLE = {
  TOO_MANY_REQUESTS = true, INTERNAL_SERVER_ERROR = true, BAD_GATEWAY = true,
  SERVICE_UNAVAILABLE = true, GATEWAY_TIMEOUT = true, TIMEOUT = true, CONNECTION_ERROR = true,
}

--- The exit status for an error value.
function cli.exit_status(err)
  local code = err.code or ""
  if code == "INVALID_ARGUMENT" then
    return cli.EXIT.usage
  elseif AUTH[code] or err.status == 401 or err.status == 403 then
    return cli.EXIT.auth
  elseif code == "NOT_FOUND" or code:find("_NOT_FOUND$") or err.status == 404 then
    return cli.EXIT.not_found
  elseif UNAVAILABLE[code] or err.status == 429 or (err.status or 0) >= 500 then
    return cli.EXIT.unavailable
  end
  return cli.EXIT.other
end

-- ---- output ----

-- The seed's field order first, then the others by name.
local ORDER = { "id", "log_time", "status", "event", "request", "duration_ms", "request_id" }

local function json_value(v)
  -- Debian's lua-cjson escapes every "/" as "\/": valid, but noisy; every
  -- "/" it writes is escaped, so this only undoes that.
  return (cjson.encode(v):gsub("\\/", "/"))
end

local function keys_of(entry)
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

--- One entry as a one-line JSON object with the keys in a stable order.
function cli.entry_json(entry)
  local parts = {}
  for i, k in ipairs(keys_of(entry)) do
    parts[i] = json_value(k) .. ":" .. json_value(entry[k])
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

local TABLE_COLUMNS = { "id", "log_time", "status", "duration_ms", "event", "request" }

local function cell(v)
  if v == nil then
    return "-"
  end
  return (tostring(v):gsub("%c", " "))
end

--- Entries as an aligned text table (header row included).
function cli.table_lines(entries)
  local widths, rows = {}, {}
  local header = {}
  for c, name in ipairs(TABLE_COLUMNS) do
    header[c] = name:upper()
    widths[c] = #header[c]
  end
  for r, entry in ipairs(entries) do
    rows[r] = {}
    for c, name in ipairs(TABLE_COLUMNS) do
      rows[r][c] = cell(entry[name])
      widths[c] = math.max(widths[c], #rows[r][c])
    end
  end
  local lines = {}
  local function line(cells)
    local out = {}
    for c, text in ipairs(cells) do
      out[c] = c == #cells and text or text .. string.rep(" ", widths[c] - #text)
    end
    lines[#lines + 1] = table.concat(out, "  ")
  end
  line(header)
  for _, cells in ipairs(rows) do
    line(cells)
  end
  return lines
end

-- Writes entries as they come (a json array, ndjson), or all at the end (a
-- table, which needs every width first). single: one entry, not an array.
local function writer(format, out, single)
  local count, buffered = 0, {}
  local w = {}
  function w.entry(entry)
    count = count + 1
    if format == "ndjson" or (format == "json" and single) then
      out:write(cli.entry_json(entry), "\n")
    elseif format == "json" then
      out:write(count == 1 and "[\n  " or ",\n  ", cli.entry_json(entry))
    else
      buffered[#buffered + 1] = entry
    end
  end
  -- failed: nothing at all is written when nothing came before the failure.
  function w.finish(failed)
    if failed and count == 0 then
      return
    end
    if format == "json" and not single then
      out:write(count == 0 and "[]\n" or "\n]\n")
    elseif format == "table" then
      for _, l in ipairs(cli.table_lines(buffered)) do
        out:write(l, "\n")
      end
    end
  end
  return w
end

-- ---- arguments ----

local FLAGS = {
  ["--format"] = "format", ["--key-file"] = "key_file", ["--base-url"] = "base_url",
  ["--ca-file"] = "ca_file", ["--timeout"] = "timeout", ["--retries"] = "retries",
  ["--concurrency"] = "concurrency", ["--limit"] = "limit", ["--before"] = "before",
}
local SECRET_FLAGS = { ["--api-key"] = true, ["--key"] = true, ["--token"] = true }
local NUMBERS = { timeout = true, retries = true, concurrency = true, limit = true }
local FORMATS = { json = true, ndjson = true, table = true }

local function usage_error(msg)
  error({ usage = msg }, 0)
end

--- Parses argv into { command =, args = {...}, options... }; raises
-- { usage = message } for bad usage.
function cli.parse(argv)
  local o = { args = {}, format = "json" }
  local i, positional_only = 1, false
  while i <= #argv do
    local a = argv[i]
    local name, inline = a:match("^(%-%-[%w-]+)=(.*)$")
    name = name or a
    if positional_only or (a:sub(1, 1) ~= "-" or a == "-" or tonumber(a)) then
      if not o.command then
        o.command = a
      else
        o.args[#o.args + 1] = a
      end
    elseif a == "--" then
      positional_only = true
    elseif SECRET_FLAGS[name] then
      usage_error(name .. ": credentials are never taken from the command line (ps and shell "
        .. "history show them); set SUPERMETRICS_API_KEY or use --key-file FILE")
    elseif name == "-h" or name == "--help" then
      o.help = true
    elseif name == "--version" then
      o.version = true
    elseif name == "--all" then
      o.all = true
    elseif FLAGS[name] then
      local value = inline
      if value == nil then
        i = i + 1
        value = argv[i]
      end
      if value == nil then
        usage_error(name .. " needs a value")
      end
      local key = FLAGS[name]
      if NUMBERS[key] then
        value = tonumber(value) or usage_error(name .. " needs a number")
      end
      o[key] = value
    else
      usage_error("unknown option " .. a)
    end
    i = i + 1
  end
  if o.help or o.version then
    return o
  end
  if not FORMATS[o.format] then
    usage_error("--format must be json, ndjson or table")
  end
  local want = ({ get = 3, list = 2, fetch = 3 })[o.command]
  if not want then
    usage_error(o.command and ("unknown command " .. o.command) or "a command is needed")
  end
  if #o.args < want or (o.command ~= "fetch" and #o.args > want) then
    usage_error(o.command .. ": wrong number of arguments")
  end
  if o.command ~= "list" and (o.all or o.limit or o.before) then
    usage_error("--all, --limit and --before go with list")
  end
  return o
end

local function read_key_file(path)
  local f = io.open(path, "rb")
  if not f then
    usage_error("--key-file: cannot read " .. path)
  end
  local key = f:read("*l") or ""
  f:close()
  return key
end

-- ---- commands ----

local COMMANDS = {}

function COMMANDS.get(client, o, w)
  w.entry(client:get_connector_log(o.args[1], o.args[2], o.args[3]))
  return cli.EXIT.ok
end

function COMMANDS.list(client, o, w)
  if not o.all then
    for _, entry in ipairs(client:list_connector_logs(o.args[1], o.args[2],
      { limit = o.limit, before = o.before })) do
      w.entry(entry)
    end
    return cli.EXIT.ok
  end
  for entry in client:each_connector_log(o.args[1], o.args[2], { page_size = o.limit, before = o.before }) do
    w.entry(entry)
  end
  return cli.EXIT.ok
end

function COMMANDS.fetch(client, o, w, stderr)
  local ids = {}
  for i = 3, #o.args do
    ids[#ids + 1] = o.args[i]
  end
  local entries, errors = client:get_connector_logs(o.args[1], o.args[2], ids, { concurrency = o.concurrency })
  local status = cli.EXIT.ok
  for i = 1, #ids do
    if entries[i] then
      w.entry(entries[i])
    else
      stderr:write(ids[i], ": ", tostring(errors[i]), "\n")
      if status == cli.EXIT.ok then
        status = cli.exit_status(errors[i])
      end
    end
  end
  return status
end

-- A progress line on a terminal's stderr while pages come in; its last
-- state stays as a summary.
local function progress(stderr, is_tty)
  if not is_tty then
    return nil, function() end
  end
  local pages, entries = 0, 0
  local p = {}
  function p.page()
    pages = pages + 1
    stderr:write(string.format("\rsupermetrics-logs: %d page%s", pages, pages == 1 and "" or "s"))
    stderr:flush()
  end
  function p.entry()
    entries = entries + 1
  end
  local function finish()
    if pages > 0 then
      stderr:write(string.format("\rsupermetrics-logs: %d entr%s in %d page%s\n", entries,
        entries == 1 and "y" or "ies", pages, pages == 1 and "" or "s"))
    end
  end
  return p, finish
end

--- Runs the command line; returns the exit status. env(name) reads the
-- environment; out and stderr are file handles (defaults: os.getenv,
-- io.stdout, io.stderr); is_tty says whether stderr is a terminal.
function cli.main(argv, env, out, stderr, is_tty)
  env, out, stderr = env or os.getenv, out or io.stdout, stderr or io.stderr
  if is_tty == nil then
    is_tty = core.isatty(2)
  end
  local ok, o = pcall(cli.parse, argv)
  if not ok then
    if type(o) == "table" and o.usage then
      stderr:write("supermetrics-logs: ", o.usage, "\n", "Try supermetrics-logs --help.\n")
      return cli.EXIT.usage
    end
    error(o, 0)
  end
  if o.help then
    out:write(cli.USAGE, "\n")
    return cli.EXIT.ok
  end
  if o.version then
    out:write("supermetrics-logs (lua-supermetrics) ", supermetrics._VERSION, "\n")
    return cli.EXIT.ok
  end

  local w = writer(o.format, out, o.command == "get")
  local bar, finish = progress(stderr, is_tty and o.command == "list" and o.all)
  local run = function()
    local key = o.key_file and read_key_file(o.key_file) or env("SUPERMETRICS_API_KEY")
    local client = supermetrics.new {
      api_key = key,
      base_url = o.base_url or env("SUPERMETRICS_BASE_URL"),
      ca_file = o.ca_file or env("SUPERMETRICS_CA_FILE"),
      timeout = o.timeout,
      max_retries = o.retries,
      on_response = bar and function(e)
        if not e.error_code then bar.page() end
      end,
    }
    local entry = w.entry
    if bar then
      w.entry = function(e) bar.entry(); entry(e) end
    end
    local status = COMMANDS[o.command](client, o, w, stderr)
    client:close()
    return status
  end
  local done, status = pcall(run)
  w.finish(not done)
  finish()
  if done then
    return status
  end
  if type(status) == "table" and status.usage then
    stderr:write("supermetrics-logs: ", status.usage, "\n")
    return cli.EXIT.usage
  end
  if not supermetrics.is_error(status) then
    error(status, 0)
  end
  stderr:write(tostring(status), "\n")
  return cli.exit_status(status)
end

return cli
