--- Internal: The rate budget's local store: one window per key (a digest of
-- the credential and base URL) in this process, shared by every client of
-- that key. It is the default store, and the one a shared store falls back
-- to when it fails; what a client learns always lands here too, so a window
-- this process saw closing stays closed for it whatever a shared store says.
--
-- A window's state, as every store keeps it (times in milliseconds since the
-- epoch):
--
-- - `c`: closed until then (a 429's Retry-After), or nil;
-- - `l`: the limit (X-RateLimit-Limit) last seen, or nil;
-- - `r`: requests left: the server's X-RateLimit-Remaining, less one for
--   each request let through since, or nil when unknown;
-- - `p`: while `r` is 0 and no reset is known, the one request probing for
--   it holds this lease until then, or nil.
--
-- `armed` is true while any of them is known: client.lua's common call
-- asks the budget nothing while it is false.
-- @module supermetrics.budget.memory

local memory = {}

-- Verdicts of admit (the same numbers in every store).
memory.GO, memory.CLOSED, memory.BUSY, memory.PROBE = 0, 1, 2, 3

-- How long a learned limit and remaining count are trusted (the API's
-- window is an hour).
memory.HOUR_MS = 3600 * 1000

-- Every window by key, held as long as a client holds it (its view), and
-- while it knows something (`kept`) even when no client does: a client made
-- after the last one of its key went still finds the window closed.
local states = setmetatable({}, { __mode = "v" })
local kept = {} -- luacheck: ignore (only holds them)

local function rearm(st)
  local armed = st.c ~= nil or st.r ~= nil or st.p ~= nil
  if armed ~= st.armed then
    st.armed = armed
    kept[st.key] = armed and st or nil
  end
end

--- The window of key (created empty).
function memory.state(key)
  local st = states[key]
  if not st then
    st = { armed = false, key = key }
    states[key] = st
  end
  return st
end

-- A window whose end has passed is a new one: nothing is known of it.
local function expire(st, now)
  if st.c and st.c <= now then
    st.c, st.r, st.p = nil, nil, nil
  end
  if st.seen and now - st.seen > memory.HOUR_MS then
    st.r, st.l, st.seen = nil, nil, nil
  end
  if st.p and st.p <= now then
    st.p = nil
  end
end

--- Before a request: verdict, ms, remaining. GO (ms 0; remaining: what is
-- left after this request, or nil when unknown), CLOSED (ms until the
-- window reopens), BUSY (another request is probing; ms until its lease
-- ends) or PROBE (this request is the probe; its lease lasts ttl_ms).
function memory.admit(st, now, ttl_ms)
  expire(st, now)
  rearm(st)
  if st.c then
    return memory.CLOSED, st.c - now
  end
  local r = st.r
  if r == nil then
    return memory.GO, 0, nil
  end
  if r > 0 then
    st.r = r - 1
    return memory.GO, 0, r - 1
  end
  if st.p then
    return memory.BUSY, st.p - now
  end
  st.p = now + ttl_ms
  rearm(st)
  return memory.PROBE, 0
end

--- After a response (status nil: none came): what it says of the window.
-- ra_ms: its Retry-After in ms; limit, remaining: its X-RateLimit headers;
-- probe: the request was the probe.
function memory.learn(st, now, status, ra_ms, limit, remaining, probe)
  expire(st, now)
  if limit then
    st.l, st.seen = limit, now
  end
  if status == 429 then
    if ra_ms and ra_ms > 0 then
      st.c = now + ra_ms
    end
    st.r, st.p, st.seen = 0, nil, now
  elseif status then
    local r = st.r
    if remaining then
      if probe or r == nil or r <= 0 or remaining < r then
        st.r = remaining
      end
      st.seen = now
    elseif probe or (r and r <= 0) then
      st.r = nil -- answered, not refused: the window is open again
    end
    if probe then
      st.p = nil
    end
  elseif probe then
    st.p = nil -- no answer: another request may probe
  end
  rearm(st)
end

--- Forgets what a window's passing end made stale (as admit does).
function memory.refresh(st, now)
  expire(st, now)
  rearm(st)
end

--- The window of key if this process has one, else nil.
function memory.peek(key)
  return states[key]
end

--- A shared store said the window is closed until c (ms): so it is here.
function memory.close(st, c)
  if not (st.c and st.c >= c) then
    st.c = c
  end
  rearm(st)
end

--- A shared store said requests are left (remaining): so it is here.
function memory.remember(st, now, remaining)
  st.r, st.seen = remaining, now
  rearm(st)
end

--- What the window knows: closed_until (ms), limit, remaining.
function memory.read(st, now)
  expire(st, now)
  rearm(st)
  return st.c, st.l, st.r
end

return memory
