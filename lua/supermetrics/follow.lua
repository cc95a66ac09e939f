--- Internal: Following a connector's log as it grows (`client:follow_connector_logs`),
-- and catching up from a point in time (`tail --since`): entries newer than
-- a mark, oldest first, found in windows of time that each fit one page, so
-- that at most one page is held whatever the size of the log.
-- @module supermetrics.follow

local core = require "supermetrics.core"
local errors = require "supermetrics.errors"
local logtime = require "supermetrics.logtime"
local paging = require "supermetrics.paging"
local retry = require "supermetrics.retry"

local follow = {}

follow.DEFAULT_INTERVAL = 2
-- The most entries `last` shows before following (ten full pages).
follow.MAX_LAST = 10000
-- The entries asked for by a poll's first request (the newest ones), and
-- by every request of a catch-up (a window).
follow.POLL_SIZE = 100
follow.WINDOW_SIZE = core.LIMITS.page_size
-- The most requests in a row that bring no progress (no complete window)
-- before a catch-up ends with INVALID_RESPONSE: each narrows the window at
-- least by half, so an honest log never needs more than about 60 (log2 of
-- 10,000 years in microseconds).
follow.MAX_NO_PROGRESS = 64
-- The most requests in a row of one catch-up that bring no new entry (a
-- search through empty time takes about two per halving of the gap).
follow.MAX_DRY = 200
-- The longest wait when the server says to slow down (rate limit).
local MAX_WAIT = 60

local floor = math.floor
local POLL_SIZE, WINDOW_SIZE = follow.POLL_SIZE, follow.WINDOW_SIZE
local MAX_SHARED = paging.MAX_SHARED

local function invalid_response(message)
  return errors.new("INVALID_RESPONSE", message, { attempts = 0 })
end

-- ---- instants on a grid ----
-- A window's bounds are instants { s = whole seconds since the epoch, u =
-- microseconds 0..999999 } on the grid of the finest log_time precision
-- seen (a step of a day, a minute, a second, or 10^-n s down to 1 us), so
-- that every `before` sent is at the entries' own precision.

-- The instant of a parsed log_time, down to the microsecond.
local function instant_of(t)
  return { s = t.seconds, u = tonumber((t.frac .. "000000"):sub(1, 6)) }
end

-- A log_time's precision, in microseconds.
local function step_of(t)
  if t.unit == "day" then
    return 86400e6
  elseif t.unit == "minute" then
    return 60e6
  elseif t.unit == "second" or #t.frac == 0 then
    return 1e6
  end
  return #t.frac >= 6 and 1 or 10 ^ (6 - #t.frac)
end

local function later(a, b)
  return a.s > b.s or (a.s == b.s and a.u > b.u)
end

-- b - a in microseconds (rounded when more than 2^53).
local function span(a, b)
  return (b.s - a.s) * 1e6 + (b.u - a.u)
end

-- a + us microseconds (us >= 0; past 2^52 to the whole second).
local function plus(a, us)
  if us >= 2 ^ 52 then
    return { s = a.s + floor(us / 1e6), u = a.u }
  end
  local total = a.u + us
  return { s = a.s + floor(total / 1e6), u = total % 1e6 }
end

-- The grid point at or before x.
local function align(x, step)
  if step >= 1e6 then
    local seconds = step / 1e6
    return { s = floor(x.s / seconds) * seconds, u = 0 }
  end
  return { s = x.s, u = floor(x.u / step) * step }
end

-- The grid point just before x (x on the grid).
local function before_point(x, step)
  if step >= 1e6 then
    return { s = x.s - step / 1e6, u = x.u }
  end
  local u = x.u - step
  if u < 0 then
    return { s = x.s - 1, u = u + 1e6 }
  end
  return { s = x.s, u = u }
end

local function same(a, b)
  return a.s == b.s and a.u == b.u
end

-- The parsed value of an instant (its key compares with log_times').
local function as_time(x)
  return logtime.instant(x.s, string.format("%06d", x.u))
end

local FIRST = instant_of(logtime.parse("0000-01-01T00:00:00Z"))
local LAST = instant_of(logtime.parse("9999-12-31T23:59:59Z"))

-- ---- the walk ----

--- A walk forward through a log from `since` (a parsed value: entries newer
-- than it are new; nil: everything is, until remember says otherwise).
-- The mark is the newest log_time yielded so far, with the ids yielded at
-- exactly that time: an entry is new when it is newer than the mark, or at
-- the mark with another id. Entries stamped older than the mark when they
-- first appear cannot be told from old ones and are not yielded (logs are
-- written in time order). An entry without a usable log_time is new once,
-- by id.
--
-- A catch-up (begin, then round until it says it is done) first asks for
-- the newest page; when that reaches back to the mark, its new entries are
-- all there is. Otherwise it walks forward from `covered` (every new entry
-- stamped before it has been yielded) in windows: a page asked for with
-- `before` = the window's end holds every entry of the window when it is
-- not full or reaches back past `covered`; its new entries are yielded and
-- the next window starts where it ended (twice or four times as wide when
-- it held few). A window that does not fit one page is narrowed to half its
-- span below its oldest entry. No server reply makes this loop forever:
-- every round either completes a window (time covered moves forward) or
-- narrows the next one, and past follow.MAX_NO_PROGRESS rounds in a row
-- without a complete window, or when a window one step wide (the log's
-- finest precision) does not fit a page, it ends with INVALID_RESPONSE.
function follow.walk(since)
  local walk = {}
  local mark = since
  local at_mark = {}  -- id -> true for entries yielded stamped exactly mark
  local shared = 0    -- how many entries were yielded stamped exactly mark
  -- While the mark is `since` itself, nothing stamped with it is new.
  local all_at_mark = since ~= nil
  local timeless = {} -- id -> true for entries yielded without a log_time
  local covered = since and instant_of(since)
  local step          -- the grid: the finest precision seen, in microseconds
  local top           -- the newest log_time on the newest page, as an instant
  local phase = "top" -- the next round asks for: "top" (a poll), "top1000", "window"
  local window        -- the end of the next window (nil: the newest page)
  local width         -- its span, in microseconds
  local ceiling       -- a window ending past it did not fit a page (nil: none known)
  local idle = 0      -- rounds in a row without a complete window
  local dry = 0       -- rounds in a row of this catch-up without a new entry

  -- new: true, false (older than the mark) or nil (already yielded, or
  -- not placeable twice).
  local function classify(entry, t)
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

  --- Remembers entry as yielded (entries are yielded oldest first).
  function walk.remember(entry, t)
    if t == nil then
      t = logtime.parse(entry.log_time)
    end
    if not t then
      timeless[entry.id] = true
    elseif not mark or t.key > mark.key then
      mark, at_mark, all_at_mark, shared = t, {}, false, 1
      if entry.id ~= nil then at_mark[entry.id] = true end
    elseif t.key == mark.key and entry.id ~= nil and not at_mark[entry.id] then
      at_mark[entry.id] = true
      shared = shared + 1
      if shared > MAX_SHARED then
        walk.pending = walk.pending or invalid_response("more than " .. MAX_SHARED
          .. " entries share the log_time " .. t.text .. ": cannot tell new ones from old")
      end
    end
  end

  --- After remembering where following starts (no since): time is covered
  -- up to the mark.
  function walk.settle()
    if mark then
      covered = instant_of(mark)
    end
  end

  --- Starts a catch-up: the next round asks for the newest page.
  function walk.begin()
    phase, window, idle, dry = "top", nil, 0, 0
  end

  -- Counts a request (asked for with before = bound) without a new entry.
  local function parched(bound)
    dry = dry + 1
    if dry >= follow.MAX_DRY then
      error(invalid_response("the server's pages do not let the log be read forward: " .. dry
        .. " requests in a row brought no new entry (the last with before="
        .. (bound and logtime.date_time(bound) or "none") .. ")"))
    end
  end

  local function narrow(tried, oldest, newest)
    idle = idle + 1
    if idle > follow.MAX_NO_PROGRESS then
      error(invalid_response("the server's pages do not let the log be read forward: " .. idle
        .. " requests in a row brought no complete window of time (the last ending at "
        .. (tried and logtime.date_time(as_time(tried)) or "the newest entry") .. ")"))
    end
    covered = covered or FIRST
    -- The window from covered up to the grid point below the oldest entry.
    local o = instant_of(oldest)
    local upper = align(o, step)
    if same(upper, o) and oldest.key == as_time(o).key then
      upper = before_point(upper, step)
    end
    local smallest = plus(align(covered, step), step)
    if not later(upper, covered) then
      upper = smallest
    end
    if tried and not later(tried, upper) then
      error(invalid_response("at least " .. WINDOW_SIZE .. " entries share the log_time " .. oldest.text
        .. " (to the " .. (step >= 1e6 and "second or coarser" or "microsecond") .. "): cannot read them "
        .. "oldest first"))
    end
    -- Half the gap at most; less when the full page shows entries denser
    -- than that (a window about 90% of a page at the page's density).
    local half = floor(span(covered, upper) / 2)
    local dense = newest and floor(span(o, instant_of(newest)) * 0.9)
    local x = align(plus(covered, (dense and dense > 0 and dense < half) and dense or half), step)
    if not later(x, covered) then
      x = smallest
    end
    window, width, ceiling = x, span(covered, x), upper
  end

  --- One request of the catch-up, with fetch(limit, before): returns the
  -- new entries it found, oldest first (at most one page; often none), and
  -- true once the catch-up has reached the newest entry.
  function walk.round(fetch)
    local limit = phase == "top" and POLL_SIZE or WINDOW_SIZE
    local x = phase == "window" and window or nil
    local bound = x and as_time(x)
    local got = fetch(limit, bound and logtime.date_time(bound))
    local parsed = {}
    for i, entry in ipairs(got) do
      local t = logtime.parse(entry.log_time)
      parsed[i] = t or false
      if t then
        local s = step_of(t)
        if not step or s < step then step = s end
        if bound and t.key > bound.key then
          error(invalid_response("the server sent an entry stamped " .. entry.log_time .. " for before="
            .. logtime.date_time(bound) .. ": it does not page as expected (ignores before?)"))
        end
      end
    end
    local full = #got >= limit
    local last = parsed[#got]
    if full and not last then
      error(invalid_response("a full page ends with an entry whose log_time ("
        .. tostring(got[#got].log_time) .. ") is not an ISO 8601 timestamp: cannot ask for the next one"))
    end
    if not x then
      -- The newest instant there is, for placing windows.
      for _, t in ipairs(parsed) do
        if t then
          top = instant_of(t)
          break
        end
      end
    end
    -- Complete: nothing new can be past this page. Ending at the mark
    -- itself, only when every entry stamped so is old (since), or when the
    -- page moves the mark on and shows no new entry stamped with it: an
    -- entry stamped with the old mark that no page showed yet is then one
    -- stamped older than what was yielded, not reported (above). Else the
    -- rest of the mark's entries may be new.
    local complete = not full or (covered and last.key < as_time(covered).key)
    if not complete and mark and last.key <= mark.key then
      complete = last.key < mark.key or all_at_mark
      if not complete then
        local newer, late = false, false
        for i, t in ipairs(parsed) do
          if t and t.key > mark.key then
            newer = true
          elseif t and t.key == mark.key and classify(got[i], t) then
            late = true
          end
        end
        complete = newer and not late
      end
    end
    if not complete then
      parched(bound)
      if phase == "top" then
        -- More new entries than a poll's page: the newest page at its
        -- largest first (a burst usually fits), then windows.
        phase, idle = "top1000", idle + 1
        return {}, false
      end
      local newest
      for _, t in ipairs(parsed) do
        if t then
          newest = t
          break
        end
      end
      narrow(x, last, newest)
      phase = "window"
      return {}, false
    end
    idle = 0
    local new = {}
    for i = #got, 1, -1 do
      local t = parsed[i] or nil
      if classify(got[i], t) then
        walk.remember(got[i], t)
        if walk.pending then
          return new, true
        end
        new[#new + 1] = got[i]
      end
    end
    if #new > 0 then
      dry = 0
    elseif x then
      parched(bound)
    end
    if not x then
      if mark and (not covered or later(instant_of(mark), covered)) then
        covered = instant_of(mark)
      end
      phase = "top"
      return new, true
    end
    covered = x
    -- The next window: about 90% of a page at this one's density, from
    -- half as wide to four times.
    width = math.max(step, floor(width * (#new == 0 and 4 or math.min(4, math.max(0.5, 0.9 * WINDOW_SIZE / #new)))))
    local nxt = align(plus(covered, width), step)
    if ceiling and not later(ceiling, covered) then
      ceiling = nil
    end
    if ceiling and #new == 0 then
      -- Below where a page was too small, windows come back empty: halve
      -- the gap to it (a bisection for where the entries start).
      nxt = align(plus(covered, floor(span(covered, ceiling) / 2)), step)
    elseif ceiling and later(nxt, ceiling) then
      nxt = ceiling -- never past where a page was too small
    end
    if not later(nxt, covered) then
      nxt = plus(align(covered, step), step)
    end
    if (top and not later(top, nxt)) or later(nxt, LAST) then
      nxt = nil -- past the newest entry: the newest page
    end
    window, phase = nxt, "window"
    return new, false
  end

  return walk
end

--- The entries newer than since (a parsed value), oldest first, as an
-- iterator that ends once it has reached the newest entry: `tail --since`.
-- fetch(limit, before) returns one page (newest first).
function follow.catch_up(fetch, since)
  local walk = follow.walk(since)
  walk.begin()
  local queue, q, done = {}, 0, false
  return function()
    while true do
      if q < #queue then
        q = q + 1
        return queue[q]
      elseif walk.pending then
        local err = walk.pending
        walk.pending = nil
        done = true
        error(err)
      elseif done then
        return nil
      end
      queue, q = {}, 0
      queue, done = walk.round(fetch)
    end
  end
end

--- An endless iterator. fetch(limit, before) returns one page (newest
-- first) and the response info (rate limits); sleep(seconds) waits.
-- since: a log_time (entries newer than it come first), or nil to start
-- with what appears from now on; last: with no since, how many of the
-- newest entries there are to yield first (as `tail -n N -f`; nil: none).
-- The first catch-up and every poll are a walk's catch-up (above): at most
-- one page is held, entries come as each window completes.
function follow.iterator(fetch, sleep, since, interval, last)
  local walk = follow.walk(since and assert(logtime.parse(since)))
  local queue, q = {}, 0 -- what the last round found, oldest first
  local started = since ~= nil
  local catching = false -- a catch-up is under way (rounds left)
  local wait = interval
  local last_info

  local function page(limit, before)
    local entries, info = fetch(limit, before)
    last_info = info
    return entries
  end

  -- Starting from now: the newest log_time there is, and the ids stamped
  -- with it, are the mark; the newest `last` entries are queued (oldest
  -- first) and the rest of those sharing the newest time remembered, so
  -- that none of them comes again as new. Holds at most `last` entries
  -- (follow.MAX_LAST).
  local function start()
    local found, newest = {}, nil
    for entry in paging.iterator(page, POLL_SIZE, nil) do
      local t = logtime.parse(entry.log_time)
      if #found < (last or 0) then
        found[#found + 1] = entry
        newest = newest or t
      elseif t then
        if newest and t.key ~= newest.key then
          break
        end
        newest = t
        walk.remember(entry, t)
      end
    end
    queue, q = {}, 0
    for i = #found, 1, -1 do
      queue[#queue + 1] = found[i]
      walk.remember(found[i])
    end
    walk.settle()
    started = true
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

  -- One step: the start, or one round of a catch-up (a poll).
  local function step()
    if not started then
      return start()
    end
    local found, done = walk.round(page)
    queue, q = found, 0
    catching = not done
  end

  local polled = false
  return function()
    while true do
      if q < #queue then
        q = q + 1
        return queue[q]
      end
      if walk.pending then
        error(walk.pending)
      end
      if not catching then
        if polled then
          sleep(pace())
        end
        polled = true
        walk.begin()
        catching = started
      end
      local ok, err = pcall(step)
      if not ok then
        -- Transient failures (after the call's own retries): wait and go
        -- on where it failed; anything else ends the loop.
        if type(err) ~= "table" or not retry.retryable(err) then
          error(err, 0)
        end
        sleep(pace(err))
        -- A failed start is tried again at once; a failed round of a
        -- catch-up is asked again (catching is still true).
        polled = started
      end
    end
  end
end

return follow
