--- Internal: The iterator that walks every page of log entries whatever the server's
-- `before` semantics (the C core shapes each page: src/entry.c), and that
-- ends with INVALID_RESPONSE when the server's pages stop moving back in time.
-- @module supermetrics.paging

local cjson = require "cjson"
local core = require "supermetrics.core"
local errors = require "supermetrics.errors"
local logtime = require "supermetrics.logtime"

local is_error = core.is_error

local paging = {}

paging.DEFAULT_PAGE_SIZE = 100
paging.MAX_PAGE_SIZE = core.LIMITS.page_size
local MAX_PAGE_SIZE = paging.MAX_PAGE_SIZE
-- The most entries yielded stamped with one log_time: a full page of them
-- is all a server can show of one value.
paging.MAX_SHARED = MAX_PAGE_SIZE
local MAX_SHARED = paging.MAX_SHARED

local function invalid_response(message)
  return errors.new("INVALID_RESPONSE", message, { attempts = 0 })
end

--- How many requests in a row may bring no progress before the iterator
-- gives up, for a page size: the page doubles on each (page_size, 2x, 4x,
-- ... up to 1000), then one more when that last request first showed the
-- server's `before` to be inclusive (docs/api.md).
function paging.no_progress_bound(page_size)
  local n, limit = 1, page_size
  while limit < MAX_PAGE_SIZE do
    limit, n = math.min(MAX_PAGE_SIZE, limit * 2), n + 1
  end
  return n
end

-- ---- resume values ----
-- What an iterator's error carries (err.resume) so that a new iterator
-- continues where it failed: plain data, the same as its JSON text.
--   version    1
--   before     the next request's `before` (RFC 3339), or nil: from the newest
--   edge       the oldest log_time that ended a full page (as the server
--              wrote it: its precision says what "just after" it is)
--   inclusive  whether the server has shown its `before` to be inclusive
--   ids        { {id, log_time}, ... }: entries already yielded that a
--              later page may show again (those stamped between the edge
--              and `before`), each with its log_time as an RFC 3339 date-time
--   idless     { {log_time, n}, ... }: how many entries without id were
--              yielded stamped so (the first n such on a page are those)
--   since, through  the bounds, as given
--   entries, pages  how many entries were yielded and pages received so far

paging.RESUME_VERSION = 1
-- The most ids a resume value may hold, and the longest JSON text of one.
local MAX_RESUME_IDS = 100000
local MAX_RESUME_BYTES = 16 * 1024 * 1024

local function text_of_key(key)
  if #key ~= 34 then
    return nil
  end
  return logtime.date_time(logtime.from_key(key))
end

--- Reads a resume value (the table an iterator's error carried, or its
-- JSON text) into the state a new iterator starts from. invalid(message,
-- argument) raises INVALID_ARGUMENT; what is wrong is said, the value is
-- not echoed.
function paging.read_resume(value, invalid, method)
  local function bad(why)
    invalid(method .. ": resume " .. why, "resume")
  end
  if type(value) == "string" then
    if #value > MAX_RESUME_BYTES then
      bad("is longer than " .. MAX_RESUME_BYTES .. " bytes")
    end
    local ok, decoded = pcall(cjson.decode, value)
    if not ok or type(decoded) ~= "table" then
      bad("is not the JSON text of a resume value")
    end
    value = decoded
  elseif type(value) ~= "table" then
    bad("must be what an iterator's error carried (err.resume), or its JSON text")
  end
  if value.version ~= paging.RESUME_VERSION then
    bad("was not written by this version of the library (version " .. tostring(value.version) .. ")")
  end
  local function time_of(v, name)
    if v == nil or v == cjson.null then
      return nil
    end
    local t = type(v) == "string" and logtime.parse(v)
    if not t or not logtime.date_time(t) then
      bad("has a " .. name .. " that is not an ISO 8601 time")
    end
    return t
  end
  local function count(v, name, max)
    if v == nil or v == cjson.null then
      return 0
    end
    if type(v) ~= "number" or v < 0 or v > max or v ~= math.floor(v) then
      bad("has a bad " .. name)
    end
    return math.floor(v)
  end
  local function list(v, name)
    if v == nil or v == cjson.null then
      return {}
    end
    if type(v) ~= "table" or #v > MAX_RESUME_IDS then
      bad("has a bad " .. name .. " (a list of at most " .. MAX_RESUME_IDS .. ")")
    end
    return v
  end
  local state = {
    bound = time_of(value.before, "before"),
    edge = time_of(value.edge, "edge"),
    since = time_of(value.since, "since"),
    through = time_of(value.through, "through"),
    seen = {}, idless = {},
    entries = count(value.entries, "entries", 2 ^ 53),
    pages = count(value.pages, "pages", 2 ^ 53),
  }
  local inclusive = value.inclusive
  if inclusive ~= nil and inclusive ~= cjson.null and type(inclusive) ~= "boolean" then
    bad("has a bad inclusive (true or false)")
  end
  state.inclusive = inclusive == true
  for _, pair in ipairs(list(value.ids, "ids")) do
    local id = type(pair) == "table" and pair[1]
    if not (type(id) == "string" or (type(id) == "number" and id == id and id ~= math.huge and id ~= -math.huge)) then
      bad("has an id that is neither a string nor a number")
    end
    state.seen[id] = time_of(pair[2], "log_time of an id").key
  end
  for _, pair in ipairs(list(value.idless, "idless")) do
    if type(pair) ~= "table" then
      bad("has a bad idless entry")
    end
    local key = time_of(pair[1], "log_time of idless").key
    state.idless[key] = count(pair[2], "idless count", MAX_SHARED)
  end
  return state
end

--- The resume value of entries written newest first, as list --all writes
-- them (the command line's --resume reads them back from its output):
-- tail, the last entries, in the order written (the oldest last), holding
-- at least every entry stamped at or after the successor of the last one's
-- log_time (what a page asked for just after it may show again); since and
-- through as given (texts, or nil). Returns the value, or nil and why.
function paging.resume_after(tail, since, through)
  local last = tail[#tail]
  local t = last and logtime.parse(last.log_time)
  if not t then
    return nil, "its last entry has no ISO 8601 log_time to go on from"
  end
  local bound = logtime.successor(t)
  local before = logtime.date_time(bound)
  if not before then
    return nil, "its last entry's log_time is past year 9999"
  end
  local ids, idless, counts = {}, {}, {}
  for i = #tail, 1, -1 do
    local entry = tail[i]
    local e = logtime.parse(entry.log_time)
    if not e or e.key > bound.key then
      break
    end
    if entry.id ~= nil then
      ids[#ids + 1] = { entry.id, logtime.date_time(e) }
    else
      counts[e.key] = (counts[e.key] or 0) + 1
    end
  end
  for key, n in pairs(counts) do
    idless[#idless + 1] = { text_of_key(key), n }
  end
  return { version = paging.RESUME_VERSION, before = before, edge = last.log_time, inclusive = false, ids = ids,
    idless = idless, since = since, through = through }
end

-- ---- the iterator ----

--- The `before` that asks for every entry at or before through (a parsed
-- value): just after it, to the second, or to its fraction's last digit.
-- Both kinds of server then show every entry stamped through; what is newer
-- is for the caller to leave out.
function paging.through_bound(through)
  local after = logtime.successor(logtime.instant(through.seconds, through.frac))
  return logtime.instant(after.seconds, after.frac) -- no trailing zeros (a slice's through: .999...)
end

--- An iterator over every entry from `before` back (all when nil): a
-- parsed value (supermetrics.logtime). fetch(limit, before) returns one
-- page (an array of entries, newest first); before is always an RFC 3339
-- date-time (logtime.date_time), whatever the precision of the log_time it
-- was made from. opts (optional): since, through (parsed values: only
-- entries at or after / at or before them; paging ends at the first entry
-- older than since), resume (paging.read_resume's state: go on from
-- there), on_page (a function of the progress event, called as each page
-- arrives, before its entries are yielded), resumable (errors carry
-- `resume`, below).
--
-- Nothing published says whether the API's `before` is exclusive or
-- inclusive, and `log_time` may be a date, seconds or fractions. So after a
-- full page whose last entry is stamped T (the edge), the next page is asked
-- for with `before` just after T at T's own precision (the next day,
-- minute, second, millisecond...; written as an RFC 3339 date-time in UTC,
-- the only form the API's document accepts): an exclusive server then
-- returns every entry stamped T again, an inclusive one also those stamped
-- exactly that bound (newer, already yielded). Entries already yielded are
-- skipped: by id, and an entry without id by its place among the id-less
-- ones stamped alike (the n first of them stamped T on a page are those
-- already yielded, when n were). Once the server has shown it is inclusive
-- (an entry stamped exactly the bound asked for), later pages are asked for
-- with `before` = T itself. A page with an entry newer than the bound asked
-- for (a server that ignores `before`) is an error before anything of it is
-- yielded. `through` is asked for the same way: the first `before` is just
-- after it (to the second, or its own fraction's digit), no later one asks
-- for more, and what is newer than it is left out.
--
-- Progress is a full page whose last entry is older than the edge and that
-- brings something not yet yielded. A request without progress asks for
-- twice the entries next time, up to 1000; one at 1000 still without
-- progress ends the iteration with INVALID_RESPONSE (once more is allowed
-- when that page first showed `before` to be inclusive, as the bound then
-- changes). So no server reply can make this loop forever: at most
-- paging.no_progress_bound(page_size) requests in a row without progress.
-- Past 1000 entries yielded with one log_time is an error too (a server
-- that brings new ids at one log_time on every page).
--
-- With resumable, every error the iterator raises once made (a page that
-- failed for good, INVALID_RESPONSE) carries `resume`: the state after the last entry it
-- yielded, as plain data (above), which a new iterator takes to go on
-- with every entry exactly once. What on_page raises is raised as it is.
function paging.iterator(fetch, page_size, before, opts)
  opts = opts or {}
  local since, through, on_page = opts.since, opts.through, opts.on_page
  local r = opts.resume
  local resumable = opts.resumable -- errors carry a resume value (each_connector_log's)
  local out, i = {}, 0    -- the entries of the last page still to yield, in order
  local pending           -- an error to raise once out is yielded
  local limit = page_size
  local done = false
  local inclusive = r and r.inclusive or false -- learned from the server's answers
  local bound             -- the `before` of the next request, parsed
  local seen = r and r.seen or {}     -- id -> key of yielded entries a later page may repeat
  local idless = r and r.idless or {} -- key -> how many entries without id were yielded stamped so
  local shared = {}       -- key -> how many entries were yielded stamped so
  local edge = r and r.edge -- the oldest log_time that ended a full page, parsed
  local idle = 0          -- requests in a row without progress
  local max_idle = paging.no_progress_bound(page_size)
  local total = r and r.entries or 0 -- entries yielded, and to yield from out
  local pages = r and r.pages or 0   -- pages received
  local oldest            -- the oldest log_time on the pages received, parsed
  local reached = false   -- an entry older than since came: the end
  -- With through, no request asks for more than the first: just after it
  -- (an edge of a coarser precision, a date, would ask for the next day).
  local ceiling = through and paging.through_bound(through)

  if r then
    bound = r.bound
    for _, key in pairs(seen) do
      shared[key] = (shared[key] or 0) + 1
    end
    for key, n in pairs(idless) do
      shared[key] = (shared[key] or 0) + n
    end
  elseif through then
    bound = paging.through_bound(through)
  else
    bound = before
  end

  -- The state after what was yielded, as plain data (the resume value).
  local function resume_value()
    local ids, none = {}, {}
    for id, key in pairs(seen) do
      local text = text_of_key(key)
      if text then ids[#ids + 1] = { id, text } end
    end
    table.sort(ids, function(a, b)
      return a[2] < b[2] or (a[2] == b[2] and tostring(a[1]) < tostring(b[1]))
    end)
    for key, n in pairs(idless) do
      local text = text_of_key(key)
      if text then none[#none + 1] = { text, n } end
    end
    table.sort(none, function(a, b) return a[1] < b[1] end)
    return {
      version = paging.RESUME_VERSION, before = bound and logtime.date_time(bound) or nil,
      edge = edge and edge.text, inclusive = inclusive, ids = ids, idless = none,
      since = since and since.text, through = through and through.text, entries = total, pages = pages,
    }
  end

  -- Raises err with the resume value (a library error; anything else as it is).
  local function fail(err)
    if resumable and is_error(err) and err.resume == nil then
      err.resume = resume_value()
    end
    error(err, 0)
  end

  -- Checks a page against the bound it was asked for; learns inclusivity.
  local function check(got)
    if not bound then
      return
    end
    for _, entry in ipairs(got) do
      local t = logtime.parse(entry.log_time)
      if t then
        if t.key > bound.key then
          fail(invalid_response("the server sent an entry stamped " .. entry.log_time .. " for before="
            .. logtime.date_time(bound) .. ": it does not page as expected (ignores before?)"))
        elseif t.key == bound.key then
          inclusive = true
        end
      end
    end
  end

  -- No page from here on holds anything newer than the bound (check makes
  -- sure): forgets what is remembered of what is newer.
  local function forget()
    local key = bound.key
    for id, k in pairs(seen) do
      if k > key then seen[id] = nil end
    end
    for k in pairs(idless) do
      if k > key then idless[k] = nil end
    end
    for k in pairs(shared) do
      if k > key then shared[k] = nil end
    end
  end

  -- The entries of got to yield, in order, and how many of got were new
  -- (not yielded before, in the bounds or not). New entries are remembered
  -- as yielded (the loop yields those in the bounds, unless it stops); an
  -- entry whose log_time cannot be read is remembered as stamped `place`.
  -- Stops at the first new entry older than since (reached), and sets
  -- pending (leaving out what follows) at the 1001st entry of one log_time.
  local function take(got, place)
    local new, fresh = {}, 0
    local skip = {} -- key -> id-less entries stamped so still to skip on this page
    for _, entry in ipairs(got) do
      local t = logtime.parse(entry.log_time)
      local key = t and t.key
      if t and (not oldest or key < oldest.key) then
        oldest = t
      end
      local id = entry.id
      local is_new = true
      if id ~= nil then
        is_new = seen[id] == nil
      elseif key then
        local s = skip[key] or idless[key] or 0
        if s > 0 then
          skip[key], is_new = s - 1, false
        end
      end
      if is_new then
        if since and key and key < since.key then
          reached = true -- newest first: so is the rest
          break
        end
        if key then
          local n = (shared[key] or 0) + 1
          if n > MAX_SHARED then
            pending = invalid_response("more than " .. MAX_SHARED .. " entries share the log_time "
              .. entry.log_time .. ": cannot page past them")
            break
          end
          shared[key] = n
        end
        if id ~= nil then
          seen[id] = key or place
        elseif key then
          skip[key], idless[key] = 0, (idless[key] or 0) + 1
        end
        fresh = fresh + 1
        -- An entry without a readable log_time is in no bounds.
        if (not through or (key and key <= through.key)) and (not since or key) then
          new[#new + 1] = entry
        end
      end
    end
    return new, fresh
  end

  -- Why paging ends after a full page at the largest size without progress.
  local function stalled(got, last)
    for _, entry in ipairs(got) do
      local t = logtime.parse(entry.log_time)
      if not t or t.key ~= last.key then
        return invalid_response(string.format("the server's pages do not move back in time: %d %s in a row "
          .. "(the last with before=%s, limit %d) brought no new entry older than log_time %s", idle,
          idle == 1 and "request" or "requests", logtime.date_time(bound), limit, edge.text))
      end
    end
    return invalid_response("more than " .. MAX_SHARED .. " entries share the log_time " .. last.text
      .. ": cannot page past them")
  end

  local function next_page()
    while true do
      if bound then
        forget()
      end
      local wire = bound and logtime.date_time(bound)
      if bound and not wire then
        fail(invalid_response("cannot ask for entries before " .. bound.text .. ": past year 9999"))
      end
      local was_inclusive = inclusive
      local ok, got = pcall(fetch, limit, wire)
      if not ok then
        fail(got)
      end
      check(got)
      local full = #got >= limit
      local last = full and logtime.parse(got[#got].log_time)
      if full and not last then
        fail(invalid_response("a full page ends with an entry whose log_time ("
          .. tostring(got[#got].log_time) .. ") is not an ISO 8601 timestamp: cannot ask for the next one"))
      end
      pages = pages + 1
      local fresh
      out, fresh = take(got, last and last.key or "")
      i, total = 0, total + #out
      if on_page then
        local called, err = pcall(on_page, { page = pages, entries = total, received = #got,
          oldest = oldest and oldest.text, before = wire })
        if not called then
          out, i, done, pending = {}, 0, true, nil
          error(err, 0)
        end
      end
      if not full or pending or reached then
        done = true
        return
      end
      if (not edge or last.key < edge.key) and fresh > 0 then
        edge, limit, idle = last, page_size, 0
      else
        idle = idle + 1
        edge = edge or last
        if limit >= MAX_PAGE_SIZE and (idle >= max_idle + 1 or was_inclusive or not inclusive) then
          pending, done = stalled(got, last), true
          return
        end
        limit = math.min(MAX_PAGE_SIZE, limit * 2)
      end
      bound = inclusive and edge or logtime.successor(edge)
      if ceiling and bound.key > ceiling.key then
        bound = ceiling
      end
      if #out > 0 then
        return
      end
    end
  end

  return function()
    while true do
      if i < #out then
        i = i + 1
        return out[i]
      elseif pending then
        local err = pending
        pending, out, i = nil, {}, 0
        fail(err)
      elseif done then
        return nil
      else
        next_page()
      end
    end
  end
end

return paging
