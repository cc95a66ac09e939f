--- The `supermetrics-logs` command line: get, list, fetch and tail (follow)
-- log entries as JSON, NDJSON, a table or CSV. `bin/supermetrics-logs`
-- runs `cli.run(arg)` and exits with what it returns.
-- @module supermetrics.cli

local core = require "supermetrics.core"
-- The command line's own C (src/cli/): the terminal, the key read, Ctrl-C;
-- the library's core has none of it.
local native = require "supermetrics.cli_native"
local supermetrics = require "supermetrics"
local args = require "supermetrics.cli.args"
local filter = require "supermetrics.cli.filter"
local follow = require "supermetrics.follow"
local format = require "supermetrics.format"
local logtime = require "supermetrics.logtime"
local outfile = require "supermetrics.cli.outfile"
local paging = require "supermetrics.paging"
local refused = require "supermetrics.cli.refused"

local cli = {}

cli.USAGE = [[
Usage: supermetrics-logs [options] get TEAM CONNECTOR LOG
       supermetrics-logs [options] list TEAM CONNECTOR [--all] [--limit N]
                         [--since WHEN] [--until WHEN] [--parallel K]
       supermetrics-logs [options] fetch TEAM CONNECTOR LOG...
       supermetrics-logs [options] tail TEAM CONNECTOR [--since WHEN | -n N]
                         [--follow] [--interval DURATION]
       supermetrics-logs serve FIXTURES [--port N]
       (after "--" every argument is taken as is, for ids that start with "-")

Output:
  --format json|ndjson|table|csv  default json; csv is RFC 4180 with a header row,
                              safe to open: control characters as spaces, text
                              that starts like a formula (= + - @) prefixed with '
  --csv-raw                   csv cells as sent: no formula guard, control characters kept
  --fields id,status,...      columns to print, in order (dot paths reach nested values)
  --no-color                  no color in tables (also: NO_COLOR set)
  -v, --verbose               each HTTP request on stderr (method, path, status,
                              request id, attempt, time, proxy)
  -q, --quiet                 nothing on stderr but errors
  -o, --output FILE           write FILE whole or not at all: a temporary file
                              beside it, renamed over it on success, removed on
                              failure (FILE is then as it was)
Filters (list, fetch, tail):
  --status 5xx|404|400-499    only these statuses (comma-separated, repeatable)
  --event GLOB                only events matching GLOB (* ? [a-z]; repeatable)
  --since WHEN, --until WHEN  list, tail: only entries at or after / at or before
                              WHEN: ISO 8601 (2025-06-01T12:00:00Z) or a duration
                              back from now (30s, 10m, 2h, 1d); --before WHEN is
                              another name for --until WHEN
list:
  --all                       every page, streamed as it comes (else one page)
  --limit N                   entries per page, 1..1000
  --resume                    with --all --output FILE (ndjson or csv): FILE holds
                              what an earlier run wrote before it failed; go on
                              from its last complete entry, appending to it
  --progress                  with --all: pages and entries so far on stderr, as
                              lines when stderr is not a terminal (cron)
  --parallel K                with --all --since: K slices of the time range
                              fetched at once (1..64), written newest first
tail (oldest first):
  -n, --lines N               the newest N entries (default 10) when no --since
  -f, --follow                then keep printing new entries until Ctrl-C
  --interval DURATION         how often to look for new entries (default 2s)
fetch:
  --concurrency N             requests in flight at once (default 16)
Connection:
  --key-file FILE             read the API key from the first line of FILE, a
                              regular file ("-": standard input), at most 16384
                              bytes; else SUPERMETRICS_API_KEY
  --base-url URL              else SUPERMETRICS_BASE_URL, else the real API
  --ca-file FILE              PEM bundle to trust (else SUPERMETRICS_CA_FILE)
  --timeout DURATION          deadline of each request, retries included
                              (30s, 5m, or plain seconds; default 30s)
  --retries N                 retries after a failed attempt (default 2)
  --record FILE               get, list, fetch, tail: write the API's answers to
                              FILE as a supermetrics.testing fixture, the key
                              redacted (docs/testing.md)
serve (a fake Hub for tests, docs/testing.md):
  --port N                    answer on 127.0.0.1:N from the fixture file
                              FIXTURES (default 0: any free port, named on stderr)
  -h, --help                  this text
  --version                   the version

Keys are never taken from the command line (ps and shell history show them).
The key's rate budget (nothing is sent into a window a 429 closed) lasts the
run; SUPERMETRICS_BUDGET_REDIS=redis://[:password@]host:port[/db] shares it
with every process and machine that names the same Redis.
Exit status: 0 ok, 1 other error, 64 usage, 65 key missing, refused or not
permitted, 66 not found, 69 server or network unavailable, 74 input or output
failure, 75 rate limited, 130 interrupted (tail --follow: 0).]]

--- Exit statuses (sysexits where they fit; see the README's table).
cli.EXIT = {
  ok = 0, other = 1, usage = 64, auth = 65, not_found = 66, unavailable = 69, io = 74,
  rate_limited = 75, interrupted = 130, pipe = 141,
}

--- The exit status of each code of the library's table (core.CODES,
-- src/codes.h) but HTTP_ERROR, whose status decides; the README's table
-- says the same (31-codes_spec checks all three agree).
cli.EXIT_OF_CODE = {
  BAD_REQUEST = cli.EXIT.other,
  UNAUTHORIZED = cli.EXIT.auth,
  FORBIDDEN = cli.EXIT.auth,
  NOT_FOUND = cli.EXIT.not_found,
  CONFLICT_ERROR = cli.EXIT.other,
  UNPROCESSABLE_ENTITY = cli.EXIT.other,
  TOO_MANY_REQUESTS = cli.EXIT.rate_limited,
  INTERNAL_SERVER_ERROR = cli.EXIT.unavailable,
  BAD_GATEWAY = cli.EXIT.unavailable,
  SERVICE_UNAVAILABLE = cli.EXIT.unavailable,
  GATEWAY_TIMEOUT = cli.EXIT.unavailable,
  TIMEOUT = cli.EXIT.unavailable,
  CONNECTION_ERROR = cli.EXIT.unavailable,
  TLS_ERROR = cli.EXIT.other,
  RESPONSE_TOO_LARGE = cli.EXIT.other,
  INVALID_RESPONSE = cli.EXIT.other,
  INVALID_ARGUMENT = cli.EXIT.usage,
  PERMISSION_ERROR = cli.EXIT.auth,
  UNPROCESSABLE_CONTENT = cli.EXIT.other,
  DUPLICATION_FAILED = cli.EXIT.other,
}

-- The exit status of each status that has a code of its own.
local EXIT_OF_STATUS = {}
for code, row in pairs(core.CODES) do
  if row.status then
    EXIT_OF_STATUS[row.status] = cli.EXIT_OF_CODE[code]
  end
end

--- The exit status for an error value: its code's (cli.EXIT_OF_CODE); for
-- a code the API adds, *_NOT_FOUND is not found, and otherwise its status
-- decides (any other 5xx: unavailable).
function cli.exit_status(err)
  local code = err.code or ""
  local exit = cli.EXIT_OF_CODE[code]
  if exit then
    return exit
  elseif code:find("_NOT_FOUND$") then
    return cli.EXIT.not_found
  end
  return EXIT_OF_STATUS[err.status] or ((err.status or 0) >= 500 and cli.EXIT.unavailable)
    or cli.EXIT.other
end

--- An error value as one line for a CLI user: a refused value in the
-- command line's words (cli/refused.lua), else the error as it prints.
function cli.describe(err)
  return refused.says(err) or (tostring(err):gsub("^supermetrics: ", ""))
end

-- Writes one line on stderr, made of the pieces given, as shown text
-- (core.shown: the library's one rule, src/text.h): whatever a server or a
-- command line put in it, no control character reaches the terminal.
local function say(stderr, ...)
  stderr:write(core.shown(table.concat({ ... })), "\n")
end

local function fail(status, message)
  error({ fail = message, status = status }, 0)
end

-- ---- the key ----

-- The longest key (src/credential.h); a key file's first line may be no
-- longer, and no more than one byte past it is ever read.
local KEY_MAX = 16384

-- What read_key's failures say (native.read_key's why), and the exit status.
local KEY_FAILURES = {
  directory = { cli.EXIT.io, "is a directory, not a file" },
  ["not a file"] = { cli.EXIT.io, "is not a regular file (a FIFO, device or socket): give a file, "
    .. "or - for standard input" },
  ["too long"] = { cli.EXIT.io, "too long: the key (its first line) is at most " .. KEY_MAX .. " bytes" },
}

-- The key's first line from a stand-in for standard input (cli.main's
-- io_.stdin, in tests): at most KEY_MAX + 1 bytes of it.
local function read_stream_key(stdin)
  local data = stdin:read(KEY_MAX + 1)
  if not data then
    return nil
  end
  local line = data:match("^([^\n]*)\n")
  if not line and #data > KEY_MAX then
    return false, "too long"
  end
  return line or data
end

local function read_key(path, stdin, stderr, quiet)
  local key, mode, detail
  if path == "-" and stdin ~= io.stdin then
    key, mode = read_stream_key(stdin)
  else
    -- A regular file or standard input, read in C: bounded, and a wait on
    -- standard input (or a FIFO behind it) ends at Ctrl-C.
    key, mode, detail = native.read_key(path)
  end
  if key == false then
    if mode == "interrupted" then
      fail(cli.EXIT.interrupted, "interrupted")
    end
    local known = KEY_FAILURES[mode]
    if known then
      fail(known[1], "--key-file " .. path .. ": " .. known[2])
    end
    fail(cli.EXIT.io, "--key-file " .. path .. ": cannot " .. (mode == "open" and "open" or "read")
      .. " it (" .. tostring(detail) .. ")")
  end
  if path == "-" then
    if not key then
      fail(cli.EXIT.auth, "--key-file -: no key on standard input")
    end
    return key, "standard input"
  end
  if mode and mode % 64 ~= 0 and not quiet then
    -- Like ssh with a private key: say so, as the key is in the clear.
    stderr:write(string.format("supermetrics-logs: warning: %s can be read by other users (mode %03o); "
      .. "chmod 600 %s\n", path, mode, path))
  end
  return key or "", "--key-file " .. path
end

local function api_key(o, env, stdin, stderr)
  local key, source
  if o.key_file then
    key, source = read_key(o.key_file, stdin, stderr, o.quiet)
  else
    key, source = env("SUPERMETRICS_API_KEY"), "SUPERMETRICS_API_KEY"
  end
  if key == nil then
    fail(cli.EXIT.auth, "no API key: set SUPERMETRICS_API_KEY, or use --key-file FILE "
      .. "(--key-file - reads it from standard input)")
  end
  if not key:find("%S") then
    fail(cli.EXIT.auth, "the API key from " .. source .. " is empty")
  end
  return key, source
end

-- ---- stderr: verbose lines, progress ----

-- The extra headers of an event (secret-looking ones are never in it:
-- supermetrics.headers), sorted, as "; headers A: 1, B: 2".
local function shown_headers(h)
  if not h or next(h) == nil then
    return ""
  end
  local lines = {}
  for name, value in pairs(h) do
    lines[#lines + 1] = name .. ": " .. value
  end
  table.sort(lines)
  return "; headers " .. table.concat(lines, ", ")
end

local function verbose_hook(stderr)
  return function(e)
    local result = e.status and tostring(e.status) or "no response"
    if e.error_code then
      result = result .. " " .. e.error_code
    end
    -- The event holds no credential (the library drops a request id that
    -- shows it); the line is shown text all the same.
    say(stderr, string.format("supermetrics-logs: %s %s -> %s, attempt %d, %d ms%s%s%s", e.method, e.path,
      result, e.attempt, math.floor(e.duration_ms + 0.5),
      e.request_id and (", request id " .. tostring(e.request_id)) or "",
      e.proxy and (", via proxy " .. e.proxy) or "", shown_headers(e.headers)))
  end
end

-- Progress while pages come in (list --all), from each_connector_log's
-- on_page: on a terminal one line redrawn in place (\r), else (--progress:
-- cron, a log file) a line a page; a summary line at the end.
local function progress(stderr, lines)
  local pages, entries, drawn = 0, 0, 0
  local p = {}
  local function draw(text)
    if lines then
      stderr:write("supermetrics-logs: ", text, "\n")
    else
      -- Shorter than the last one: spaces over the line first (none
      -- after the text, so that the line ends where the text does).
      if #text < drawn then
        stderr:write("\r", (" "):rep(#"supermetrics-logs: " + drawn))
      end
      stderr:write("\rsupermetrics-logs: ", text)
      drawn = #text
    end
    stderr:flush()
  end
  function p.page(event)
    pages, entries = event.page, event.entries
    draw(core.shown(string.format("page %d, %d entr%s%s", pages, entries, entries == 1 and "y" or "ies",
      event.oldest and ", back to " .. event.oldest or "")))
  end
  function p.finish()
    if pages > 0 then
      draw(string.format("%d entr%s in %d page%s", entries, entries == 1 and "y" or "ies", pages,
        pages == 1 and "" or "s"))
      if not lines then
        stderr:write("\n")
      end
    end
  end
  return p
end

-- ---- commands ----

-- Stops a loop at the next entry once Ctrl-C came (cli.run's trap).
local INTERRUPTED = {}
local function check_interrupt()
  if native.interrupted() then
    error(INTERRUPTED, 0)
  end
end

local COMMANDS = {}

function COMMANDS.get(client, o, emit)
  emit(client:get_connector_log(o.args[1], o.args[2], o.args[3]))
  return cli.EXIT.ok
end

-- list: one page (--until asked for as the library asks for `through`:
-- just after it, what is newer left out by the filters), or with --all
-- every entry between --since and --until, exactly, whatever the server's
-- `before` (the library's since / through), from where --resume says.
function COMMANDS.list(client, o, emit)
  if not o.all then
    local before = o.until_ and logtime.date_time(paging.through_bound(o.until_))
    for _, entry in ipairs(client:list_connector_logs(o.args[1], o.args[2], { limit = o.limit, before = before })) do
      emit(entry)
    end
    return cli.EXIT.ok
  end
  local opts = { page_size = o.limit, on_page = o.on_page, slices = o.parallel }
  if o.resume_value then
    opts.resume = o.resume_value -- it holds the bounds
  else
    opts.since, opts.through = o.since and o.since.text, o.until_ and o.until_.text
  end
  for entry in client:each_connector_log(o.args[1], o.args[2], opts) do
    emit(entry)
  end
  return cli.EXIT.ok
end

-- fetch with mixed failures exits with the worst one's status: a key or
-- permission problem (every id would fail), then the service unavailable,
-- then rate limited, then any other error, then an id not found.
local WORST_FIRST = {
  cli.EXIT.auth, cli.EXIT.unavailable, cli.EXIT.rate_limited, cli.EXIT.other, cli.EXIT.not_found,
}
local RANK = {}
for rank, status in ipairs(WORST_FIRST) do
  RANK[status] = rank
end

--- Of two exit statuses, the worse one (fetch's rule above).
function cli.worse(a, b)
  if a == cli.EXIT.ok then
    return b
  end
  return (RANK[b] or #WORST_FIRST) < (RANK[a] or #WORST_FIRST) and b or a
end

function COMMANDS.fetch(client, o, emit, stderr)
  local ids = {}
  for i = 3, #o.args do
    ids[#ids + 1] = o.args[i]
  end
  local entries, errors = client:get_connector_logs(o.args[1], o.args[2], ids, { concurrency = o.concurrency })
  check_interrupt()
  local status = cli.EXIT.ok
  for i = 1, #ids do
    if entries[i] then
      emit(entries[i])
    else
      say(stderr, ids[i], ": ", cli.describe(errors[i]))
      status = cli.worse(status, cli.exit_status(errors[i]))
    end
  end
  return status
end

-- The newest want entries, newest first (tail -n: at most want held).
local function newest(client, o, want)
  local found = {}
  if want == 0 then
    return found
  end
  for entry in client:each_connector_log(o.args[1], o.args[2], { page_size = math.min(want, 1000) }) do
    check_interrupt()
    found[#found + 1] = entry
    if #found == want then
      break
    end
  end
  return found
end

-- tail: the entries since --since, oldest first, each printed as the
-- catch-up finds it (one page held at most: supermetrics.follow's windows),
-- or the newest --lines (default 10); with --follow, then every new one as
-- it appears (the library's follow_connector_logs, which shows each entry
-- once).
function COMMANDS.tail(client, o, emit)
  local since = o.since and logtime.just_before(o.since)
  if not o.follow then
    if since then
      local team, connector = o.args[1], o.args[2]
      for entry in follow.catch_up(function(limit, before)
        return client:list_connector_logs(team, connector, { limit = limit, before = before })
      end, since) do
        emit(entry)
      end
      return cli.EXIT.ok
    end
    local found = newest(client, o, o.lines or 10)
    for i = #found, 1, -1 do
      emit(found[i])
    end
    return cli.EXIT.ok
  end
  for entry in client:follow_connector_logs(o.args[1], o.args[2], { since = since and since.text,
    last = not since and (o.lines or 10) or nil, interval = o.interval }) do
    emit(entry)
  end
  return cli.EXIT.ok -- not reached: following ends with Ctrl-C
end

-- ---- main ----

-- The fields of a LogEntry (hub-api.md); others come from entries.
local ENTRY_FIELDS = { "id", "log_time", "status", "event", "request", "duration_ms", "request_id" }

-- Checks --fields against the first entry printed: a top-level name that
-- neither it nor the API's entry has is most likely a typo; said once.
-- Returns a function of the entry that returns nil (done).
local function unknown_field_check(fields, stderr)
  local known = {}
  for _, name in ipairs(ENTRY_FIELDS) do
    known[name] = true
  end
  return function(entry)
    for _, path in ipairs(fields) do
      local top = path:match("^[^.]+")
      if not known[top] and entry[top] == nil then
        say(stderr, "supermetrics-logs: warning: --fields ", top, ": no such field in the entries ",
          "(the API's are ", table.concat(ENTRY_FIELDS, ", "), ")")
      end
    end
  end
end

local function env_flag(env, name)
  local v = env(name)
  return v ~= nil and v ~= ""
end

-- The key of the run in progress, so that not even an unexpected failure's
-- line can show it (cli.main).
local current_key

local function main(argv, io_)
  local env = io_.env or os.getenv
  local out, stderr, stdin = io_.stdout or io.stdout, io_.stderr or io.stderr, io_.stdin or io.stdin
  local stdout_tty, stderr_tty = io_.stdout_tty, io_.stderr_tty
  if stdout_tty == nil then stdout_tty = native.isatty(1) end
  if stderr_tty == nil then stderr_tty = native.isatty(2) end

  local ok, o = pcall(function()
    local parsed = args.parse(argv, os.time())
    parsed.keep = not parsed.help and not parsed.version and filter.new(parsed)
    return parsed
  end)
  if not ok then
    if type(o) == "table" and o.usage then
      say(stderr, "supermetrics-logs: ", o.usage)
      stderr:write("Try supermetrics-logs --help.\n")
      return cli.EXIT.usage
    end
    error(o, 0)
  end
  if o.help or o.version then
    out:write(o.help and cli.USAGE or ("supermetrics-logs (lua-supermetrics) " .. supermetrics._VERSION), "\n")
    return cli.EXIT.ok
  end
  if o.command == "serve" then
    -- The fake Hub over HTTP (supermetrics.testing.serve), until killed.
    local served, why = pcall(require("supermetrics.testing").serve, o.args[1], {
      port = o.port,
      ready = function(port)
        if not o.quiet then
          say(stderr, "supermetrics-logs: serving ", o.args[1], " on http://127.0.0.1:", tostring(port))
        end
      end,
    })
    if not served then
      say(stderr, "supermetrics-logs: serve: ", tostring(why))
      return cli.EXIT.other
    end
    return cli.EXIT.ok
  end

  -- --output FILE: a temporary file renamed over FILE on success (target),
  -- or with --resume FILE itself, continued from its last entry.
  local sink, target, continued = out, nil, nil
  local opened, open_err = pcall(function()
    if o.output and o.resume then
      continued = outfile.continue(o.output, o, o.since and o.since.text, o.until_ and o.until_.text)
      sink, o.resume_value = continued.file, continued.resume
      local last = continued.last
      if last and o.until_ and last.key > o.until_.key then
        continued.file:close()
        error({ resume = "--resume: " .. o.output .. " ends with an entry stamped " .. last.text
          .. ", after --until: not this command's output" }, 0)
      end
    elseif o.output then
      target = outfile.atomic(o.output)
      sink = target.file
    end
  end)
  if not opened then
    if type(open_err) == "table" and open_err.resume then
      say(stderr, "supermetrics-logs: ", open_err.resume)
      return cli.EXIT.usage
    elseif type(open_err) == "table" and open_err.io then
      say(stderr, "supermetrics-logs: cannot write the output: ", open_err.io)
      return cli.EXIT.io
    end
    error(open_err, 0)
  end
  local to_terminal = stdout_tty and not o.output -- the entries show on the terminal
  local streaming = o.all or o.command == "tail"
  local w = format.writer(sink, {
    format = o.format, fields = o.fields, single = o.command == "get", stream = streaming,
    color = to_terminal and not o.no_color and not env_flag(env, "NO_COLOR"), csv_raw = o.csv_raw,
    header = not (continued and continued.header),
    -- Streamed output goes out entry by entry, also into a pipe: a reader
    -- that leaves (`| head -3`) stops the command within one page.
    flush = (streaming or stdout_tty) and not o.output,
    warn = not o.quiet and function(message)
      say(stderr, "supermetrics-logs: warning: ", message)
    end or nil,
  })
  -- Progress (list --all): without --progress, a line redrawn on stderr
  -- when it is a terminal and the entries go elsewhere (a file, a pipe:
  -- on one terminal it would mix into them); --progress forces it, as a
  -- line a page where it cannot be redrawn (not a terminal: cron; or
  -- between --verbose lines).
  local bar
  if o.all and not o.quiet then
    if o.progress then
      bar = progress(stderr, not stderr_tty or o.verbose)
    elseif stderr_tty and not to_terminal and not o.verbose then
      bar = progress(stderr, false)
    end
  end
  o.on_page = bar and bar.page or nil
  local keep = o.keep
  local unknown_fields = o.fields and not o.quiet and unknown_field_check(o.fields, stderr)
  -- --resume: entries FILE shows already, by their text there (an id the
  -- format cleaned may not match the library's), until one is older than
  -- FILE's last.
  local printed = continued and continued.last and next(continued.printed) and continued.printed
  local function emit(entry)
    if printed then
      local t = logtime.parse(entry.log_time)
      if t and t.key < continued.last.key then
        printed = nil
      elseif printed[outfile.printed(o, entry) or ""] then
        return check_interrupt()
      end
    end
    if keep(entry) then
      if unknown_fields then
        unknown_fields = unknown_fields(entry)
      end
      w:entry(entry)
    end
    check_interrupt()
  end

  local client
  local function run()
    local key, source = api_key(o, env, stdin, stderr)
    current_key = key
    -- --record FILE: a client that writes what the API answered to FILE
    -- (supermetrics.testing.record, the key redacted).
    local new = o.record and function(opts) return require("supermetrics.testing").record(o.record, opts) end
      or supermetrics.new
    local made, c = pcall(new, {
      api_key = key,
      base_url = o.base_url or env("SUPERMETRICS_BASE_URL"),
      ca_file = o.ca_file or env("SUPERMETRICS_CA_FILE"),
      timeout = o.timeout,
      max_retries = o.retries,
      -- The key's rate budget: this run's, or shared through Redis.
      budget = (env("SUPERMETRICS_BUDGET_REDIS") or "") ~= "" and { redis = env("SUPERMETRICS_BUDGET_REDIS") }
        or nil,
      -- fetch: an entry cache for the run, so that repeated ids cost one request.
      cache = o.command == "fetch" and { size = math.min(math.max(#o.args - 2, 1), 10000000), ttl = math.huge,
        negative_ttl = math.huge } or nil,
      on_response = o.verbose and verbose_hook(stderr) or nil,
    })
    if not made then
      local refused_key = supermetrics.is_error(c) and refused.key(c, source)
      if refused_key then
        fail(cli.EXIT.auth, refused_key)
      end
      error(c, 0)
    end
    client = c
    return COMMANDS[o.command](client, o, emit, stderr)
  end

  local done, status = pcall(run)
  if client then
    client:close()
  end
  local interrupted = status == INTERRUPTED or (not done and native.interrupted())
  local state = done and "ok" or (interrupted and "interrupted" or "failed")
  local finished, io_err = pcall(w.finish, w, state)
  if bar then bar.finish() end
  -- The output file: renamed over FILE when all went right, else removed
  -- (FILE as it was); a continued FILE keeps what was appended.
  if target then
    if finished and done and status == cli.EXIT.ok then
      local committed, why = target.commit()
      if not committed then
        finished, io_err = false, { io = why }
      end
    else
      target.abort()
    end
  elseif continued then
    local closed, why = continued.file:close()
    if finished and not closed then
      finished, io_err = false, { io = why }
    end
  end
  if not finished or (not done and type(status) == "table" and (status.io or status.pipe)) then
    local e = finished and status or io_err
    if type(e) ~= "table" or not (e.io or e.pipe) then
      error(e, 0)
    end
    if e.pipe then
      return cli.EXIT.pipe -- the reader went away (`| head`): nothing to say
    end
    say(stderr, "supermetrics-logs: cannot write the output: ", e.io)
    return cli.EXIT.io
  end
  if interrupted then
    if o.follow then
      return cli.EXIT.ok
    end
    stderr:write("supermetrics-logs: interrupted\n")
    return cli.EXIT.interrupted
  end
  if done then
    return status
  end
  if type(status) == "table" and (status.usage or status.fail) then
    say(stderr, "supermetrics-logs: ", status.usage or status.fail)
    return status.usage and cli.EXIT.usage or status.status
  end
  if not supermetrics.is_error(status) then
    error(status, 0)
  end
  say(stderr, "supermetrics-logs: ", cli.describe(status))
  return cli.exit_status(status)
end

--- What an unexpected failure (a bug, out of memory, a write that raised)
-- says: one line of shown text, the key redacted in every form.
function cli.failure_line(e, key)
  local text
  if supermetrics.is_error(e) then
    text = cli.describe(e)
  elseif type(e) == "string" or type(e) == "number" then
    text = tostring(e)
  else
    local ok, s = pcall(tostring, e)
    text = ok and type(s) == "string" and s or ("a " .. type(e) .. " value")
  end
  if type(key) == "string" then
    -- As the library takes it: trimmed, without a leading "Bearer ".
    key = key:match("^%s*(.-)%s*$"):gsub("^Bearer ", "")
    text = core.redact(text, key)
  end
  if #text > 1000 then
    text = text:sub(1, 1000) .. "..."
  end
  return "supermetrics-logs: unexpected failure: " .. core.shown(text)
end

--- Runs the command line; returns the exit status. io: optional
-- `{ env =, stdout =, stderr =, stdin =, stdout_tty =, stderr_tty = }`
-- (defaults: os.getenv, the standard files, isatty). Whatever fails
-- unexpectedly (no Lua error escapes) is one line on stderr and status 1.
function cli.main(argv, io_)
  io_ = io_ or {}
  current_key = nil
  local ok, status = pcall(main, argv, io_)
  local key = current_key
  current_key = nil
  if ok then
    return status
  end
  local stderr = io_.stderr or io.stderr
  pcall(function()
    stderr:write(cli.failure_line(status, key), "\n")
  end)
  return cli.EXIT.other
end

--- The command line as a process runs it: no core dumps (the key is in
-- its memory), Ctrl-C ends a request or wait at once (the output so far
-- stays whole, and so does a wait for the key), then cli.main's status.
function cli.run(argv)
  local trapped, err = pcall(function()
    native.trap_interrupt()
    native.no_core_dumps()
  end)
  if not trapped then
    pcall(function() io.stderr:write(cli.failure_line(err), "\n") end)
    return cli.EXIT.other
  end
  return cli.main(argv)
end

return cli
