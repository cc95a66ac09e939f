--- Internal: Following a connector's log as it grows (`client:follow_connector_logs`):
-- poll the newest page, page back only as far as the last entry yielded,
-- yield what is new oldest first, wait, and again.
-- @module supermetrics.follow

local logtime = require "supermetrics.logtime"
local paging = require "supermetrics.paging"
local retry = require "supermetrics.retry"

local follow = {}

follow.DEFAULT_INTERVAL = 2
-- The most entries `last` shows before following (ten full pages).
follow.MAX_LAST = 10000
-- The longest wait when the server says to slow down (rate limit).
local MAX_WAIT = 60
local PAGE_SIZE = 100

--- An endless iterator. fetch(limit, before) returns one page (newest
-- first) and the response info (rate limits); sleep(seconds) waits.
-- since: a log_time (entries newer than it come first), or nil to start
-- with what appears from now on; last: with no since, how many of the
-- newest entries there are to yield first (as `tail -n N -f`; nil: none).
--
-- The mark is the newest log_time yielded so far, with the ids yielded at
-- exactly that time: an entry is new when it is newer than the mark, or at
-- the mark with another id. Entries stamped older than the mark when they
-- first appear cannot be told from old ones and are not yielded (logs are
-- written in time order). An entry without a usable log_time is yielded
-- once, by id.
function follow.iterator(fetch, sleep, since, interval, last)
  local mark = since and assert(logtime.parse(since))
  local at_mark = {}  -- id -> true for entries yielded stamped exactly mark
  -- While the mark is `since` itself, nothing stamped with it is new.
  local all_at_mark = since ~= nil
  local timeless = {} -- id -> true for entries yielded without a log_time
  local queue, q = {}, 0 -- what the last poll found, oldest first
  local started = since ~= nil
  local wait = interval
  local last_info

  local function page(limit, before)
    local entries, info = fetch(limit, before)
    last_info = info
    return entries
  end

  -- new: true, false (older than the mark: stop paging back) or nil
  -- (already yielded, or not placeable twice).
  local function classify(entry)
    local t = logtime.parse(entry.log_time)
    if not t then
      if entry.id == nil or timeless[entry.id] then
        return nil
      end
      return true
    end
    if not mark or t.key > mark.key then
      return true
    elseif t.key == mark.key then
      if all_at_mark or entry.id == nil or at_mark[entry.id] then
        return nil
      end
      return true
    end
    return false
  end

  -- Remembers entry as yielded (the queue is yielded oldest first).
  local function remember(entry)
    local t = logtime.parse(entry.log_time)
    if not t then
      timeless[entry.id] = true
    elseif not mark or t.key > mark.key then
      mark, at_mark, all_at_mark = t, {}, false
      if entry.id ~= nil then at_mark[entry.id] = true end
    elseif t.key == mark.key and entry.id ~= nil then
      at_mark[entry.id] = true
    end
  end

  -- Starting from now: the newest log_time there is, and the ids stamped
  -- with it, are the mark; the newest `last` entries are queued (oldest
  -- first) and the rest of those sharing the newest time remembered, so
  -- that none of them comes again as new.
  local function start()
    local found, newest = {}, nil
    for entry in paging.iterator(page, PAGE_SIZE, nil) do
      local t = logtime.parse(entry.log_time)
      if #found < (last or 0) then
        found[#found + 1] = entry
        newest = newest or t
      elseif t then
        if newest and t.key ~= newest.key then
          break
        end
        newest = t
        remember(entry)
      end
    end
    queue, q = {}, 0
    for i = #found, 1, -1 do
      queue[#queue + 1] = found[i]
      remember(found[i])
    end
    started = true
  end

  -- One poll: fills queue with the new entries, oldest first.
  local function poll()
    if not started then
      return start()
    end
    local found = {}
    for entry in paging.iterator(page, PAGE_SIZE, nil) do
      local new = classify(entry)
      if new == false then
        break
      elseif new then
        found[#found + 1] = entry
      end
    end
    queue, q = {}, 0
    for i = #found, 1, -1 do
      queue[#queue + 1] = found[i]
      remember(found[i])
    end
  end

  -- How long to wait after a poll: the interval, longer while the rate
  -- limit runs low (doubling up to a minute), the server's Retry-After
  -- after a rate-limited poll.
  local function pace(err)
    if err and err.retry_after then
      return math.max(interval, math.min(err.retry_after, MAX_WAIT))
    end
    local left = last_info and last_info.rate_limit_remaining
    local limit = last_info and last_info.rate_limit
    if left and (left <= 1 or (limit and left < limit / 10)) then
      wait = math.min(MAX_WAIT, wait * 2)
    else
      wait = interval
    end
    return wait
  end

  local polled = false
  return function()
    while true do
      if q < #queue then
        q = q + 1
        return queue[q]
      end
      if polled then
        sleep(pace())
      end
      polled = true
      local ok, err = pcall(poll)
      if not ok then
        -- Transient failures (after the call's own retries): wait and go
        -- on; anything else ends the loop.
        if type(err) ~= "table" or not retry.retryable(err) then
          error(err, 0)
        end
        sleep(pace(err))
        polled = false
      end
    end
  end
end

return follow
