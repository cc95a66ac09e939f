--- Pages of log entries: the list body's shape, and the iterator that walks
-- pages with `before` = the last entry's `log_time`.
-- @module supermetrics.paging

local core = require "supermetrics.core"
local errors = require "supermetrics.errors"

local normalize_entry = core.normalize_entry

local paging = {}

paging.DEFAULT_PAGE_SIZE = 100
local MAX_PAGE_SIZE = 1000

local function invalid_response(message, info)
  error(errors.new("INVALID_RESPONSE", message, {
    status = info and info.status, request_id = info and info.request_id,
    attempts = info and info.attempts or 0,
  }))
end

--- The entries of a list body `{"logs": [...]}`, each shaped like a single
-- fetch's entry. Anything else is INVALID_RESPONSE.
function paging.entries(body, info)
  local logs = body.logs
  if type(logs) ~= "table" then
    invalid_response("the response has no \"logs\" array", info)
  end
  local n, count = #logs, 0
  for _ in pairs(logs) do
    count = count + 1
  end
  if count ~= n then
    invalid_response("\"logs\" is not an array", info)
  end
  local out = {}
  for i = 1, n do
    local entry = logs[i]
    if type(entry) ~= "table" then
      invalid_response("\"logs\" item " .. i .. " is not an object", info)
    end
    out[i] = normalize_entry(entry)
  end
  return out
end

--- An iterator over every entry from `before` back (all when nil).
-- fetch(limit, before) returns one page (an array of entries, newest first).
--
-- The API's `before` is taken as inclusive (entries at or before it), so each
-- page after the first starts again at the previous page's last timestamp;
-- entries already yielded with that timestamp are skipped by id. A full page
-- that does not get past that timestamp (more entries share it than fit in
-- a page) is followed by one with twice the limit, up to 1000.
function paging.iterator(fetch, page_size, before)
  local page, i = {}, 0
  local limit = page_size
  local done = false
  local edge_time, edge_ids = nil, {} -- last yielded log_time, ids yielded with it

  local function repeated(entry)
    return entry.log_time == edge_time and entry.id ~= nil and edge_ids[entry.id] == true
  end

  -- Every round either moves `before` to an older timestamp or grows the
  -- limit (up to 1000, then an error), so no server reply can make this loop
  -- forever.
  local function next_page()
    while true do
      page, i = fetch(limit, before), 0
      if #page < limit then
        done = true
        return
      end
      local last_time = page[#page].log_time
      if type(last_time) ~= "string" then
        invalid_response("an entry without log_time ends a full page: cannot ask for the next one")
      end
      -- ISO 8601 timestamps in one format compare as strings.
      if before and last_time > before then
        invalid_response("the server sent entries newer than before=" .. before
          .. ": it does not page as expected")
      end
      if last_time ~= before then
        before, limit = last_time, page_size
        return
      end
      -- The whole page sits on the edge timestamp: only a larger page gets
      -- past it. Yield what is new in this one first, if anything.
      if limit >= MAX_PAGE_SIZE then
        invalid_response("more than " .. MAX_PAGE_SIZE .. " entries share the log_time "
          .. last_time .. ": cannot page past them")
      end
      limit = math.min(MAX_PAGE_SIZE, limit * 2)
      for _, entry in ipairs(page) do
        if not repeated(entry) then
          return
        end
      end
    end
  end

  return function()
    while true do
      if i < #page then
        i = i + 1
        local entry = page[i]
        if not repeated(entry) then
          if entry.log_time ~= edge_time then
            edge_time, edge_ids = entry.log_time, {}
          end
          if entry.id ~= nil then
            edge_ids[entry.id] = true
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
