--- Internal: The key's rate budget (option `budget`): one request window per key
-- and base URL, learned from every response and obeyed by every call, so
-- that no request goes into a window known to be closed.
--
-- What a response teaches: a 429's `Retry-After` closes the window until
-- then; `X-RateLimit-Limit` and `X-RateLimit-Remaining` (any status, where
-- sent) say how many requests are left, and each request let through takes
-- one. Before each attempt the budget says go, wait, or refuse: while the
-- window is known closed nothing is sent (the call waits when the wait fits
-- `max_retry_wait` and its deadline, as a retry does, else it raises
-- TOO_MANY_REQUESTS at once, `retry_after` = the seconds left, `attempts` =
-- those made); while no request is known to be left and no reset is known,
-- one request at a time probes (the others wait for its answer, or raise).
--
-- Where the window lives (supermetrics.budget.memory, .dict, .redis):
-- `nil` (default): in this process, per key and base URL, shared by its
-- clients; `{ dict = "NAME" }`: a lua_shared_dict shared by nginx's workers;
-- `{ redis = "redis://..." [, timeout = s] }`: Redis, shared by machines;
-- `false`: none (each call faces the window alone). A shared store that
-- fails or is slow never fails a call: the call goes on with its process's
-- own budget, and the client says so once (the on_response event's
-- `budget_warning`, and nginx's error log) until the store answers again.
--
-- The two entry points the request path calls: `budget.before` (or, for a
-- loop that schedules its own waits, `budget.check`) before an attempt,
-- `budget.after` after it. Keys in shared stores are a digest of the
-- credential and base URL (core.budget_key), never the credential.
-- @module supermetrics.budget

local core = require "supermetrics.core"
local errors = require "supermetrics.errors"
local memory = require "supermetrics.budget.memory"
-- The shared stores are loaded when a client asks for one.
local function store_module(name)
  return require("supermetrics.budget." .. name)
end

local monotonic, budget_key = core.monotonic, core.budget_key
local new_error, invalid = errors.new, errors.invalid
local GO, CLOSED, PROBE = memory.GO, memory.CLOSED, memory.PROBE
local ceil, floor, min = math.ceil, math.floor, math.min
local ngx = rawget(_G, "ngx")

local budget = {}

-- The ticket of the request that probes (others: the requests left after
-- it, or nil when unknown).
local PROBE_TICKET = -1
budget.PROBE_TICKET = PROBE_TICKET

-- How often a call waiting for another request's probe looks again.
local BUSY_POLL = 0.05

-- What client.lua's common call reads before asking anything: a shared
-- store must always be asked; no budget never.
local ALWAYS = { armed = true }
local NEVER = { armed = false }

-- The client's wall clock (supermetrics.clock), in ms: windows end on it.
local function now_ms(view)
  return view.clock.wall() * 1000
end

-- A deadline on the client's clock moved onto the real one: a shared
-- store's I/O is real, and bounded in real time.
local function real(view, deadline)
  return monotonic() + (deadline - view.clock.monotonic())
end

--- Checks the option `budget` of `new`: nil (this process), false (none),
-- { dict = "NAME" } or { redis = "redis://...", timeout = s }. Returns the
-- setting; raises INVALID_ARGUMENT (argument "budget").
function budget.check_option(v)
  if v == nil then
    return { kind = "local" }
  elseif v == false then
    return { kind = "off" }
  elseif type(v) ~= "table" then
    invalid("budget must be a table ({ dict = \"NAME\" } or { redis = \"redis://host:port\" }) or "
      .. "false (none; by default one budget per key and base URL in this process)", "budget")
  end
  for k in pairs(v) do
    if k ~= "dict" and k ~= "redis" and k ~= "timeout" then
      invalid("budget: unknown field " .. string.format("%q", tostring(k))
        .. " (dict, redis, timeout)", "budget")
    end
  end
  if (v.dict == nil) == (v.redis == nil) then
    invalid("budget: give either dict = \"NAME\" (a lua_shared_dict) or redis = \"redis://...\"", "budget")
  end
  if v.dict ~= nil then
    if type(v.dict) ~= "string" or v.dict == "" then
      invalid("budget.dict must be the name of a lua_shared_dict", "budget")
    end
    if v.timeout ~= nil then
      invalid("budget.timeout is for redis only", "budget")
    end
    return { kind = "dict", dict = v.dict }
  end
  local redis_store = store_module("redis")
  local url, why = redis_store.parse(v.redis)
  if not url then
    invalid("budget.redis " .. why, "budget")
  end
  local timeout = v.timeout
  if timeout == nil then
    timeout = redis_store.DEFAULT_TIMEOUT
  elseif type(timeout) ~= "number" or timeout ~= timeout or timeout < 0.001 or timeout > 60 then
    invalid("budget.timeout must be a number of seconds from 0.001 to 60", "budget")
  end
  return { kind = "redis", url = url, timeout = timeout }
end

--- The client's view of its budget, from the checked setting: its store,
-- its key (for a fixed credential), what it has warned of. cosocket: the
-- client's transport is nginx's (the store's connections are cosockets
-- too); max_wait: its max_retry_wait; clock: the client's
-- (supermetrics.clock: the call's waits and the windows' time). Raises
-- INVALID_ARGUMENT when the store cannot be had (a dict outside nginx or
-- not declared).
function budget.open(setting, handle, cosocket, max_wait, fixed, clock)
  local view = {
    kind = setting.kind, source = setting.kind, handle = handle, cosocket = cosocket,
    max_wait = max_wait, gate = ALWAYS, clock = clock,
  }
  if setting.kind == "off" then
    view.off, view.gate = true, NEVER
    return view
  elseif setting.kind == "dict" then
    local store = store_module("dict").new(setting.dict)
    if not store then
      if not ngx then
        invalid("budget.dict needs nginx: a lua_shared_dict exists only inside OpenResty / nginx "
          .. "(outside it, use the default budget or budget.redis)", "budget")
      end
      invalid("budget.dict: no lua_shared_dict named " .. string.format("%q", setting.dict)
        .. " (declare it in nginx.conf: lua_shared_dict " .. setting.dict .. " 1m;)", "budget")
    end
    view.store = store
  elseif setting.kind == "redis" then
    view.store = store_module("redis").new(setting.url, setting.timeout)
  end
  if fixed then
    view.key = budget_key(handle)
    view.st = memory.state(view.key)
    if not view.store then
      view.gate = view.st
    end
  end
  return view
end

-- The key and local window of an attempt's credential (a token_provider's,
-- or nil: the client's own); nil for a credential the attempt will refuse.
local function key_of(view, credential)
  if credential == nil then
    return view.key, view.st
  end
  local key = budget_key(view.handle, credential)
  if not key then
    return nil
  end
  local st = memory.state(key)
  view.last_key, view.last_st = key, st
  return key, st
end

-- The shared store failed (why) or answered again (why nil): the client
-- says so once per failure, in its next on_response event and (inside
-- nginx) in the error log.
local function store_failed(view, why)
  if why == false then
    return -- not asked (nginx's phase has no cosockets)
  end
  view.store_error = why
  if not view.warned then
    view.warned = true
    local msg = "the rate budget's " .. view.source .. " store failed (" .. tostring(why)
      .. "); this client goes on with its process's own budget until the store answers again"
    view.warning = msg
    if ngx and ngx.log then
      ngx.log(ngx.WARN, "supermetrics: ", msg)
    end
  end
end

local function store_answered(view)
  view.warned, view.store_error = false, nil
end

--- The warning the next on_response event carries, once; nil when none.
function budget.take_warning(view)
  local w = view.warning
  view.warning = nil
  return w
end

local function utc(ms)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", ceil(ms / 1000))
end

-- The window is closed until ms; left seconds. made: attempts so far.
local function closed_error(until_ms, left, made)
  return new_error("TOO_MANY_REQUESTS", "the key's rate limit window is closed until "
    .. utc(until_ms) .. " (UTC), as an earlier answer's Retry-After said; no request was sent",
    { retry_after = ceil(left), attempts = made })
end

local function busy_error(made)
  return new_error("TOO_MANY_REQUESTS", "the key's rate limit window has no requests left "
    .. "(X-RateLimit-Remaining: 0, no reset time known) and another request is finding out "
    .. "when it reopens; no request was sent", { attempts = made })
end

--- Before an attempt: may it go now? Returns ticket (go: the requests left
-- after it, nil when unknown, PROBE_TICKET when it probes), or nil and a
-- wait in seconds (then ask again), or nil, nil and the error to fail
-- with. deadline: the call's (monotonic); made: attempts so far; since:
-- when the call began waiting for another's probe (the 4th value returned
-- with a wait for one), or nil.
function budget.check(view, credential, deadline, made, since)
  if not view.gate.armed then
    return nil -- nothing known (and no shared store to ask): go
  end
  local key, st = key_of(view, credential)
  if not key then
    return nil
  end
  local left = deadline - view.clock.monotonic()
  local now = now_ms(view)
  local ttl = left > 0 and left * 1000 or 1
  local verdict, ms, remaining
  local store = view.store
  if store and st.armed then
    memory.refresh(st, now)
  end
  if store and store.known_open and store:known_open(st, view.cosocket) then
    return nil -- Redis would have said (supermetrics.budget.redis: the subscription)
  end
  if store and not (st.c and st.c > now) then
    verdict, ms, remaining = store:admit(key, now, ttl, view.cosocket, real(view, deadline))
    if verdict then
      store_answered(view)
      if verdict == CLOSED then
        memory.close(st, now + ms) -- the next calls need not ask
      end
    else
      store_failed(view, ms)
    end
  end
  if not verdict then
    verdict, ms, remaining = memory.admit(st, now, ttl)
  end
  if verdict == GO then
    return remaining
  elseif verdict == PROBE then
    return PROBE_TICKET
  end
  local wait = ms / 1000
  if verdict == CLOSED then
    if wait <= view.max_wait and wait < left then
      return nil, wait + 0.001
    end
    return nil, nil, closed_error(now + ms, wait, made)
  end
  -- Another request probes: look again soon, as long as waiting fits.
  local t = view.clock.monotonic()
  since = since or t
  local poll = min(BUSY_POLL, wait + 0.001)
  if t + poll - since <= view.max_wait and poll < left then
    return nil, poll, nil, since
  end
  return nil, nil, busy_error(made)
end

--- budget.check's answer obeyed: returns the ticket once the attempt may
-- go, after waiting (the client's clock) where the window says so; raises
-- the error when the call must not wait.
function budget.before(view, credential, deadline, made)
  local since
  while true do
    local ticket, wait, err, busy_since = budget.check(view, credential, deadline, made, since)
    if err then
      error(err)
    end
    if not wait then
      return ticket
    end
    since = busy_since
    view.clock.sleep(wait)
  end
end

--- After an attempt: learns what its answer says of the window. ticket:
-- budget.check's; detail: the info of a success (nil when it carried no
-- rate headers) or the error value of a failure (no status: no answer);
-- deadline: the call's, bounding a shared store's update.
function budget.after(view, credential, ticket, detail, deadline)
  if view.off then
    return
  end
  local status = detail and detail.status
  local probe = ticket == PROBE_TICKET
  if not status and not probe then
    return
  end
  local remaining = status and detail.rate_limit_remaining
  local limit = status and detail.rate_limit
  if status ~= 429 and not probe and not (limit and limit ~= view.limit)
      and (remaining == nil or (ticket ~= nil and remaining >= ticket)) then
    return -- nothing the store does not know
  end
  local key, st = key_of(view, credential)
  if not key then
    return
  end
  view.limit = limit or view.limit
  local ra = status == 429 and detail.retry_after
  local ra_ms = ra and ra * 1000 or nil
  local now = now_ms(view)
  memory.learn(st, now, status, ra_ms, limit, remaining, probe)
  local store = view.store
  if store then
    local ok, why = store:learn(key, now, status, ra_ms, limit, remaining, probe, view.cosocket,
      deadline and real(view, deadline) or monotonic() + 1)
    if ok then
      store_answered(view)
    else
      store_failed(view, why)
    end
  end
end

--- `client:rate_limit()`: what the budget knows of the key's window.
function budget.read(view)
  local out = { source = view.source }
  if view.off then
    return out
  end
  local key, st = view.key, view.st
  if not key then
    key, st = view.last_key, view.last_st
  end
  if not key then
    return out
  end
  local now = now_ms(view)
  local c, l, r = memory.read(st, now)
  local store = view.store
  if store then
    local ok, sc, sl, sr = store:read(key, now, view.cosocket, monotonic() + 1)
    if ok then
      store_answered(view)
      if sc and not (c and c > sc) then
        c = sc -- (a window this process saw closing stays closed)
      end
      l, r = sl, sr
    else
      store_failed(view, sc)
      out.source = "local"
    end
  end
  out.closed_until = c and floor(c) / 1000
  out.limit, out.remaining = l, r
  out.store_error = view.store_error
  return out
end

return budget
