--- Internal: The iterator that walks every page of log entries whatever the server's
-- `before` semantics (the C core shapes each page: src/entry.c).
-- @module supermetrics.paging

local core = require "supermetrics.core"
local errors = require "supermetrics.errors"
local logtime = require "supermetrics.logtime"

local paging = {}

paging.DEFAULT_PAGE_SIZE = 100
paging.MAX_PAGE_SIZE = core.LIMITS.page_size
local MAX_PAGE_SIZE = paging.MAX_PAGE_SIZE

local function invalid_response(message, info)
  error(errors.new("INVALID_RESPONSE", message, {
    status = info and info.status, request_id = info and info.request_id,
    attempts = info and info.attempts or 0,
  }))
end

--- An iterator over every entry from `before` back (all when nil): a
-- parsed value (supermetrics.logtime). fetch(limit, before) returns one
-- page (an array of entries, newest first); before is always an RFC 3339
-- date-time (logtime.date_time), whatever the precision of the log_time it
-- was made from.
--
-- Nothing published says whether the API's `before` is exclusive or
-- inclusive, and `log_time` may be a date, seconds or fractions. So after a
-- full page whose last entry is stamped T, the next page is asked for with
-- `before` just after T at T's own precision (the next day, minute,
-- second, millisecond...; written as an RFC 3339 date-time in UTC, the
-- only form the API's document accepts): an exclusive server then returns
-- every entry stamped T again, an inclusive one also those stamped exactly
-- that bound (newer, already yielded). Entries already yielded are skipped by id. Once the
-- server has shown it is inclusive (an entry stamped exactly the bound
-- asked for), later pages are asked for with `before` = T itself. A full page
-- with nothing new (more entries share T than fit) is asked for again with
-- twice the limit, up to 1000; past that an error says so. A page with an
-- entry newer than the bound asked for (a server that ignores `before`) is an
-- error before anything of it is yielded.
function paging.iterator(fetch, page_size, before)
  local page, i = {}, 0
  local limit = page_size
  local done = false
  local inclusive = false -- learned from the server's answers
  local bound = before  -- the `before` of the next request, parsed
  local seen = {}         -- id -> key of yielded entries a later page may repeat
  local edge              -- the oldest log_time that ended a full page, parsed

  local function repeated(entry)
    return entry.id ~= nil and seen[entry.id] ~= nil
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
          invalid_response("the server sent an entry stamped " .. entry.log_time .. " for before="
            .. logtime.date_time(bound) .. ": it does not page as expected (ignores before?)")
        elseif t.key == bound.key then
          inclusive = true
        end
      end
    end
  end

  -- Every round either moves the edge to an older log_time, or yields
  -- something new, or doubles the limit (up to 1000, then an error), so no
  -- server reply can make this loop forever.
  local function next_page()
    while true do
      if bound then
        -- No page from here on holds anything newer than the bound (check
        -- makes sure): forget the ids of what is newer.
        for id, k in pairs(seen) do
          if k > bound.key then seen[id] = nil end
        end
      end
      local wire = bound and logtime.date_time(bound)
      if bound and not wire then
        invalid_response("cannot ask for entries before " .. bound.text .. ": past year 9999")
      end
      local got = fetch(limit, wire)
      check(got)
      page, i = got, 0
      if #got < limit then
        done = true
        return
      end
      local last = logtime.parse(got[#got].log_time)
      if not last then
        invalid_response("a full page ends with an entry whose log_time ("
          .. tostring(got[#got].log_time) .. ") is not an ISO 8601 timestamp: cannot ask for the next one")
      end
      local fresh = false
      for _, entry in ipairs(got) do
        if not repeated(entry) then
          fresh = true
          break
        end
      end
      local moved = not edge or last.key < edge.key
      if moved then
        edge, limit = last, page_size
      elseif not fresh then
        -- A full page of entries already yielded: only a larger one gets
        -- past them.
        if limit >= MAX_PAGE_SIZE then
          invalid_response("more than " .. MAX_PAGE_SIZE .. " entries share the log_time "
            .. edge.text .. ": cannot page past them")
        end
        limit = math.min(MAX_PAGE_SIZE, limit * 2)
      end
      bound = inclusive and edge or logtime.successor(edge)
      if fresh then
        return
      end
    end
  end

  return function()
    while true do
      if i < #page then
        i = i + 1
        local entry = page[i]
        if not repeated(entry) then
          if entry.id ~= nil then
            local t = logtime.parse(entry.log_time)
            seen[entry.id] = t and t.key or ""
          end
          return entry
        end
      elseif done then
        return nil
      else
        next_page()
      end
    end
  end
end

return paging
