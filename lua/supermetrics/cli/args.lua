--- The command line's arguments: options, durations, time bounds and the
-- checks that belong to the command line rather than to the library.
-- Raises `{ usage = message }` for anything a user must change.
-- @module supermetrics.cli.args
-- @local

local logtime = require "supermetrics.logtime"

local args = {}

local function usage(msg)
  error({ usage = msg }, 0)
end

-- Options that take a value: name -> field.
local VALUED = {
  ["--format"] = "format", ["--fields"] = "fields", ["--key-file"] = "key_file",
  ["--base-url"] = "base_url", ["--ca-file"] = "ca_file", ["--timeout"] = "timeout",
  ["--retries"] = "retries", ["--concurrency"] = "concurrency", ["--limit"] = "limit",
  ["--before"] = "until_", ["--until"] = "until_", ["--since"] = "since",
  ["--status"] = "status", ["--event"] = "event", ["--interval"] = "interval",
  ["--lines"] = "lines", ["-n"] = "lines", ["--output"] = "output", ["-o"] = "output",
  ["--parallel"] = "parallel", ["--record"] = "record", ["--port"] = "port",
}
-- Options that may be given more than once (their values accumulate).
local REPEATED = { status = true, event = true }
local SWITCHES = {
  ["--all"] = "all", ["--follow"] = "follow", ["-f"] = "follow", ["--verbose"] = "verbose",
  ["-v"] = "verbose", ["--quiet"] = "quiet", ["-q"] = "quiet", ["--no-color"] = "no_color",
  ["--csv-raw"] = "csv_raw", ["--resume"] = "resume", ["--progress"] = "progress",
  ["-h"] = "help", ["--help"] = "help", ["--version"] = "version",
}
-- Credentials on the command line end up in ps and shell history.
local SECRET = { ["--api-key"] = true, ["--key"] = true, ["--token"] = true }

-- Positional arguments per command: exactly, or at least (fetch).
local ARITY = { get = 3, list = 2, fetch = 3, tail = 2, serve = 1 }
-- What serve goes with: nothing about the API's requests or output.
local CALLS = { get = true, list = true, fetch = true, tail = true }
-- Which command each option goes with (options not named here go with all).
local ONLY = {
  all = { list = true }, limit = { list = true }, until_ = { list = true },
  since = { list = true, tail = true }, follow = { tail = true }, interval = { tail = true },
  lines = { tail = true }, concurrency = { fetch = true },
  status = { list = true, fetch = true, tail = true }, event = { list = true, fetch = true, tail = true },
  resume = { list = true }, progress = { list = true }, parallel = { list = true },
  record = CALLS, port = { serve = true },
}
local OPTION_NAME = {
  all = "--all", limit = "--limit", until_ = "--until", since = "--since", follow = "--follow",
  interval = "--interval", lines = "--lines", concurrency = "--concurrency", status = "--status",
  event = "--event", resume = "--resume", progress = "--progress", parallel = "--parallel",
  record = "--record", port = "--port",
}
args.FORMATS = { json = true, ndjson = true, table = true, csv = true }

local UNIT = { ms = 0.001, s = 1, m = 60, h = 3600, d = 86400 }

--- Seconds in a duration: "30s", "5m", "1h30m", "1.5h", "250ms", or plain
-- seconds ("30", "0.5") when plain is true. nil when s is none of those.
function args.duration(s, plain)
  if plain and s:match("^%d+%.?%d*$") then
    return tonumber(s)
  end
  local total, rest = 0, s
  if rest == "" then
    return nil
  end
  while rest ~= "" do
    local number, unit, after = rest:match("^(%d+%.?%d*)(%a+)(.*)$")
    if not number or not UNIT[unit] then
      return nil
    end
    total, rest = total + tonumber(number) * UNIT[unit], after
  end
  return total
end

--- A time bound: an ISO 8601 time, or a duration back from now ("10m",
-- "2h"). Returns a parsed log time (supermetrics.logtime); what reaches the
-- API from it is its RFC 3339 form (logtime.date_time).
function args.time_bound(name, s, now)
  local t = logtime.parse(s)
  if t and logtime.date_time(t) then
    return t
  end
  local ago = args.duration(s, false)
  if not ago then
    usage(name .. " needs an ISO 8601 time (2025-06-01T12:00:00Z) or a duration back from now "
      .. "(30s, 10m, 2h, 1d), not " .. string.format("%q", s))
  end
  return logtime.parse(os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(now - ago)))
end

local function integer(name, s)
  local n = tonumber(s)
  if not n or n ~= math.floor(n) then
    usage(name .. " needs a whole number, not " .. string.format("%q", s))
  end
  return n
end

-- Converts the raw option strings into what the commands use.
local function convert(o, now)
  if not args.FORMATS[o.format] then
    usage("--format must be json, ndjson, table or csv")
  end
  if o.timeout then
    o.timeout = args.duration(o.timeout, true)
      or usage("--timeout needs a duration such as 30s, 5m or plain seconds")
  end
  if o.interval then
    o.interval = args.duration(o.interval, true)
      or usage("--interval needs a duration such as 2s, 1m or plain seconds")
  end
  for _, name in ipairs { "retries", "concurrency", "limit", "lines", "parallel", "port" } do
    if o[name] then
      o[name] = integer(name == "lines" and "--lines" or "--" .. name, o[name])
    end
  end
  if o.port and (o.port < 0 or o.port > 65535) then
    usage("--port must be 0..65535 (0: any free port)")
  end
  if o.lines and o.lines < 0 then
    usage("--lines must be 0 or more")
  end
  if o.since then
    o.since = args.time_bound("--since", o.since, now)
  end
  if o.until_ then
    o.until_ = args.time_bound("--until", o.until_, now)
  end
  if o.fields then
    local list = {}
    for name in (o.fields .. ","):gmatch("([^,]*),") do
      if name == "" or not name:match("^[%w_]+[%w_.]*$") then
        usage("--fields takes names separated by commas (dot paths for nested values), such as id,status,log_time")
      end
      list[#list + 1] = name
    end
    o.fields = list
  end
end

--- Parses argv into `{ command =, args = {...}, options... }`. now: the
-- current time in seconds (for durations back from now).
function args.parse(argv, now)
  local o = { args = {}, format = "json", status = {}, event = {} }
  local i, positional_only = 1, false
  while i <= #argv do
    local a = argv[i]
    local name, inline = a:match("^(%-%-[%w-]+)=(.*)$")
    name = name or a
    if positional_only or a:sub(1, 1) ~= "-" or a == "-" or tonumber(a) then
      if not o.command then
        o.command = a
      else
        o.args[#o.args + 1] = a
      end
    elseif a == "--" then
      positional_only = true
    elseif SECRET[name] then
      usage(name .. ": keys are never taken from the command line (ps and shell history show them); "
        .. "set SUPERMETRICS_API_KEY or use --key-file FILE (--key-file - reads standard input)")
    elseif SWITCHES[name] and inline == nil then
      o[SWITCHES[name]] = true
    elseif VALUED[name] then
      local value = inline
      if value == nil then
        i = i + 1
        value = argv[i]
      end
      if value == nil then
        usage(name .. " needs a value")
      end
      local field = VALUED[name]
      if REPEATED[field] then
        o[field][#o[field] + 1] = value
      else
        o[field] = value
      end
    else
      usage("unknown option " .. a)
    end
    i = i + 1
  end
  if o.help or o.version then
    return o
  end
  local want = ARITY[o.command]
  if not want then
    usage(o.command and ("unknown command " .. o.command) or "a command is needed (get, list, fetch, tail or serve)")
  end
  if #o.args < want or (o.command ~= "fetch" and #o.args > want) then
    usage(o.command .. " takes " .. ({ get = "TEAM CONNECTOR LOG", list = "TEAM CONNECTOR",
      fetch = "TEAM CONNECTOR LOG...", tail = "TEAM CONNECTOR", serve = "FIXTURES" })[o.command])
  end
  for field, commands in pairs(ONLY) do
    local given = o[field]
    if type(given) == "table" then
      given = #given > 0 or nil
    end
    if given and not commands[o.command] then
      usage(OPTION_NAME[field] .. " does not go with " .. o.command)
    end
  end
  if o.interval and not o.follow then
    usage("--interval goes with --follow")
  end
  if o.lines and o.since then
    usage("--lines and --since do not go together")
  end
  if o.csv_raw and o.format ~= "csv" then
    usage("--csv-raw goes with --format csv")
  end
  if o.verbose and o.quiet then
    usage("--verbose and --quiet do not go together")
  end
  if o.parallel and not (o.all and o.since) then
    usage("--parallel goes with list --all --since WHEN: it splits --since..--until into slices")
  end
  if o.progress and not o.all then
    usage("--progress goes with list --all")
  end
  if o.progress and o.quiet then
    usage("--progress and --quiet do not go together")
  end
  if o.output == "" then
    usage("--output needs a file name")
  end
  if o.output and o.follow then
    usage("--output does not go with --follow (the file would appear only at Ctrl-C): redirect instead")
  end
  if o.resume and not (o.all and o.output) then
    usage("--resume goes with list --all --output FILE: it continues FILE")
  end
  if o.resume and o.format ~= "ndjson" and o.format ~= "csv" then
    usage("--resume continues ndjson or csv output (--format ndjson or csv)")
  end
  convert(o, now)
  if o.parallel and (o.parallel < 1 or o.parallel > 64) then
    usage("--parallel must be 1..64")
  end
  if o.resume and o.fields then
    local has = {}
    for _, name in ipairs(o.fields) do has[name] = true end
    if not (has.id and has.log_time) then
      usage("--resume needs id and log_time among --fields: they say where to go on")
    end
  end
  return o
end

return args
