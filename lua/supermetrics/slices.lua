--- Internal: each_connector_log's `slices`: the range [since, through] split
-- into k slices of time, each walked by its own paging iterator between its
-- two exact bounds (supermetrics.paging's since and through), fetched at
-- the same time and yielded newest first: every entry of the newest slice,
-- then the next one's. What is yielded, and the resume value an error
-- carries, are exactly those of one iterator over the whole range.
--
-- Concurrency: on the libcurl transport (a state with `page_slots`), each
-- slice runs in a coroutine of its own whose attempts go out on the
-- client's batch slots (libcurl's multi interface, src/batch.c), one event
-- loop for all; the retry loop, budget and hooks are the client's own
-- (Client:_get over a transport state that yields). Elsewhere (inside
-- nginx; Lua 5.1, which cannot yield across pcall) the slices are walked
-- one after another: the same entries, the same requests, no overlap.
-- @module supermetrics.slices

local logtime = require "supermetrics.logtime"

local unpack = table.unpack or unpack -- luacheck: compat

local slices = {}

local function pack(...)
  return { n = select("#", ...), ... }
end

slices.MAX = 64

-- The most entries the older slices hold fetched ahead of the one being
-- yielded: past it they fetch no further page until it is drawn down, so
-- memory stays bounded whatever the range (the one being yielded always
-- goes on). Each slice may overshoot by one page.
slices.AHEAD = 50000

-- Whether a coroutine may yield from inside pcall (paging's fetch is
-- called so): Lua 5.2 and later, and LuaJIT.
local YIELDS = _VERSION ~= "Lua 5.1" or type(jit) == "table"

--- The slices of [since, upper], newest first: { since =, through = } as
-- parsed values (the newest slice's through is the one given, maybe nil).
-- Edges fall on whole seconds, the slices as long as one another; at most
-- one slice a second of the range. top: the newest instant still to walk
-- (a resume value's edge or bound), else through, else now.
function slices.plan(since, through, k, top)
  local upper = top or through
  local hi = upper and upper.seconds or os.time()
  if top and top.key == logtime.instant(top.seconds, "").key then
    hi = hi - 1 -- what is left is older than top: no slice of it alone
  end
  local lo = since.seconds
  local span = hi - lo
  if span < k then
    k = math.max(1, span)
  end
  local edges = {} -- whole seconds, ascending, each > since and <= hi
  for i = 1, k - 1 do
    edges[i] = logtime.instant(lo + math.floor(span * i / k), "")
  end
  local out = {}
  for i = k, 1, -1 do
    local s = i == 1 and since or edges[i - 1]
    local t = through
    if i < k then
      t = logtime.just_before(edges[i])
    end
    out[#out + 1] = { since = s, through = t }
  end
  return out
end

-- ---- one after another ----

local function sequential(list, open, finish)
  local cur, it = 1, nil
  return function()
    while true do
      local slice = list[cur]
      if not slice then
        return nil
      end
      it = it or open(slice, nil)
      local ok, entry = pcall(it)
      if not ok then
        error(finish(entry, slice), 0)
      elseif entry ~= nil then
        return entry
      end
      cur, it = cur + 1, nil
    end
  end
end

-- ---- at the same time, on libcurl's multi interface ----

local TAG = {} -- what the slices' coroutines yield to the loop below

-- The transport state a slice's Client:_get talks to: an attempt or a
-- wait is handed to the event loop, which resumes the slice with its end.
local Yielding = {}
Yielding.__index = Yielding

function Yielding.attempt(_, route, deadline, credential, made, want_info, header_lines)
  return coroutine.yield(TAG, "attempt", route, deadline, credential, made, want_info, header_lines)
end

-- (a plain function: it stands in for the client's clock's sleep, which
-- the retry loop calls between attempts)
function Yielding.sleep(seconds)
  coroutine.yield(TAG, "sleep", seconds)
end

local WEAK_VALUES = { __mode = "v" }

-- Longest single wait for activity: bounds how late a due retry starts.
local MAX_POLL = 0.5

local function concurrent(state, list, open, finish)
  local handle, monotonic = state.handle, state.monotonic -- the client's clock
  local owner = state.batch_owner
  if not owner then
    owner = setmetatable({}, WEAK_VALUES)
    state.batch_owner = owner
  end
  -- The slots are held while slices are in flight: a batch in between is
  -- refused (curl_batch.run), as one suspended by a hook would be.
  local token = {}
  handle:batch_reset()
  handle:batch_open(#list)
  owner.running = token
  local ystate = setmetatable({}, Yielding)

  local runs = {} -- per slice: co, queue, n, qi, status, args, ready_at, err
  for i, slice in ipairs(list) do
    local r = { queue = {}, n = 0, qi = 0, status = "run", args = { n = 0 } }
    r.co = coroutine.create(function()
      for entry in open(slice, ystate) do
        r.n = r.n + 1
        r.queue[r.n] = entry
      end
    end)
    runs[i] = r
  end
  local running = 0

  local function release()
    if owner.running == token then
      handle:batch_reset()
      owner.running = nil
    end
  end

  -- Resumes slice i until it waits for the network or a timer, or ends.
  local function step(i)
    local r = runs[i]
    local args = r.args
    while true do
      r.args = nil
      local back = pack(coroutine.resume(r.co, unpack(args, 1, args.n)))
      if not back[1] then
        r.status, r.err = "failed", back[2]
        return
      elseif coroutine.status(r.co) == "dead" then
        r.status = "done"
        return
      elseif back[2] ~= TAG then
        -- A hook or token_provider that yields its own coroutine: handed
        -- on to whoever resumes this loop, its answer back to the slice.
        args = pack(coroutine.yield(unpack(back, 2, back.n)))
      elseif back[3] == "sleep" then
        r.status, r.ready_at = "sleep", monotonic() + back[4]
        return
      else
        local route, deadline, credential, made, want_info, header_lines = back[4], back[5], back[6], back[7],
          back[8], back[9]
        local ok, started, err = pcall(handle.batch_add, handle, route, deadline - monotonic(), credential, made,
          want_info, header_lines, i)
        if not ok then
          r.status, r.err = "failed", started
          return
        elseif started then
          r.status = "wait"
          running = running + 1
          return
        end
        args = { nil, err, n = 2 }
      end
    end
  end

  local cur, given = 1, 0

  -- Moves every slice on as far as it goes without waiting more than
  -- `wait` seconds for the network (0: not at all); the older slices only
  -- while what they hold ahead is under slices.AHEAD.
  local function pump(wait)
    local now = monotonic()
    local ahead = 0
    for i = cur + 1, #runs do
      ahead = ahead + runs[i].n - runs[i].qi
    end
    for i, r in ipairs(runs) do
      if r.status == "sleep" and r.ready_at <= now then
        r.status, r.args = "run", { n = 0 }
      end
      if r.status == "run" and (i <= cur or ahead < slices.AHEAD) then
        local held = r.n
        step(i)
        if i > cur then
          ahead = ahead + r.n - held
        end
      end
    end
    if running == 0 then
      local soonest
      for _, r in ipairs(runs) do
        if r.status == "sleep" then
          soonest = math.min(soonest or math.huge, r.ready_at - monotonic())
        end
      end
      if soonest and wait > 0 then
        state.sleep(math.max(0, math.min(soonest, wait)))
      end
      return
    end
    for _, r in ipairs(runs) do
      if r.status == "sleep" then
        wait = math.min(wait, math.max(0, r.ready_at - now))
      end
    end
    local ok, finished = pcall(handle.batch_poll, handle, wait)
    if not ok then
      release()
      error(finished, 0)
    end
    for _, f in ipairs(finished) do
      local r = runs[f.id]
      running = running - 1
      r.status = "run"
      if f.body then
        r.args = { f.body, f.info, n = 2 }
      else
        r.args = { nil, f.err, n = 2 }
      end
    end
  end

  return function()
    while true do
      local r = runs[cur]
      if not r then
        release()
        return nil
      end
      if r.qi < r.n then
        r.qi = r.qi + 1
        local entry = r.queue[r.qi]
        r.queue[r.qi] = nil
        given = given + 1
        if given % 64 == 0 then
          pump(0) -- keeps the other slices' transfers going
        end
        return entry
      elseif r.status == "done" then
        cur = cur + 1
      elseif r.status == "failed" then
        release()
        for _, other in ipairs(runs) do
          other.status = "done"
        end
        error(finish(r.err, list[cur]), 0)
      else
        local ok, err = pcall(pump, MAX_POLL)
        if not ok then
          release()
          error(err, 0)
        end
      end
    end
  end
end

--- The iterator over the slices in list (slices.plan), newest first.
-- open(slice, ystate) returns a paging iterator for one slice (ystate: the
-- transport state its attempts go through, or nil for the client's own).
-- finish(err, slice) turns an error one raised into the whole iteration's
-- (its resume value over the whole range). state: the client's transport
-- state.
function slices.iterator(state, list, open, finish)
  if #list > 1 and YIELDS and state.page_slots and state:page_slots() then
    local owner = state.batch_owner
    if not (owner and owner.running) then
      return concurrent(state, list, open, finish)
    end
  end
  return sequential(list, open, finish)
end

return slices
