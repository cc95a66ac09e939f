--- Internal: The iterator that walks every page of log entries whatever the server's
-- `before` semantics (the C core shapes each page: src/entry.c), and that
-- ends with INVALID_RESPONSE when the server's pages stop moving back in time.
-- @module supermetrics.paging

local core = require "supermetrics.core"
local errors = require "supermetrics.errors"
local logtime = require "supermetrics.logtime"

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

--- An iterator over every entry from `before` back (all when nil): a
-- parsed value (supermetrics.logtime). fetch(limit, before) returns one
-- page (an array of entries, newest first); before is always an RFC 3339
-- date-time (logtime.date_time), whatever the precision of the log_time it
-- was made from.
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
-- yielded.
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
function paging.iterator(fetch, page_size, before)
  local out, i = {}, 0    -- the entries of the last page still to yield, in order
  local pending           -- an error to raise once out is yielded
  local limit = page_size
  local done = false
  local inclusive = false -- learned from the server's answers
  local bound = before    -- the `before` of the next request, parsed
  local seen = {}         -- id -> key of yielded entries a later page may repeat
  local idless = {}       -- key -> how many entries without id were yielded stamped so
  local shared = {}       -- key -> how many entries were yielded stamped so
  local edge              -- the oldest log_time that ended a full page, parsed
  local idle = 0          -- requests in a row without progress
  local max_idle = paging.no_progress_bound(page_size)

  -- Checks a page against the bound it was asked for; learns inclusivity.
  local function check(got)
    if not bound then
      return
    end
    for _, entry in ipairs(got) do
      local t = logtime.parse(entry.log_time)
      if t then
        if t.key > bound.key then
          error(invalid_response("the server sent an entry stamped " .. entry.log_time .. " for before="
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

  -- The entries of got not yielded before, in order, remembered as
  -- yielded (the loop yields all of them, unless it stops). An entry
  -- whose log_time cannot be read is remembered as stamped `place`. Sets
  -- pending (and leaves out what follows) at the 1001st entry of one
  -- log_time.
  local function fresh_of(got, place)
    local new = {}
    local skip = {} -- key -> id-less entries stamped so still to skip on this page
    for _, entry in ipairs(got) do
      local t = logtime.parse(entry.log_time)
      local key = t and t.key
      local is_new = true
      if entry.id ~= nil then
        is_new = seen[entry.id] == nil
        if is_new then
          seen[entry.id] = key or place
        end
      elseif key then
        local s = skip[key] or idless[key] or 0
        if s > 0 then
          skip[key], is_new = s - 1, false
        else
          skip[key], idless[key] = 0, (idless[key] or 0) + 1
        end
      end
      if is_new then
        if key then
          local n = (shared[key] or 0) + 1
          if n > MAX_SHARED then
            pending = invalid_response("more than " .. MAX_SHARED .. " entries share the log_time "
              .. entry.log_time .. ": cannot page past them")
            break
          end
          shared[key] = n
        end
        new[#new + 1] = entry
      end
    end
    return new
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
        error(invalid_response("cannot ask for entries before " .. bound.text .. ": past year 9999"))
      end
      local was_inclusive = inclusive
      local got = fetch(limit, wire)
      check(got)
      local full = #got >= limit
      local last = full and logtime.parse(got[#got].log_time)
      if full and not last then
        error(invalid_response("a full page ends with an entry whose log_time ("
          .. tostring(got[#got].log_time) .. ") is not an ISO 8601 timestamp: cannot ask for the next one"))
      end
      out, i = fresh_of(got, last and last.key or ""), 0
      if not full or pending then
        done = true
        return
      end
      if (not edge or last.key < edge.key) and #out > 0 then
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
        error(err)
      elseif done then
        return nil
      else
        next_page()
      end
    end
  end
end

return paging
