--- Internal: The entry cache (option `cache` of `new`): log entries by id,
-- kept as the checked JSON text get_connector_log_json returns, so that a
-- repeated read costs no request, no rate budget and no round trip.
--
-- What is kept: an entry's text for `ttl` seconds (entries do not change);
-- a NOT_FOUND answer (404, or a `*_NOT_FOUND` code) for `negative_ttl`;
-- nothing else. An entry past its ttl is kept `stale_if_error` seconds more
-- and served when fetching it again fails with a kind of error that is
-- retried (5xx, 429, CONNECTION_ERROR), once the call's retries are spent.
-- A hit of get_connector_log_json hands out the text; one of
-- get_connector_log builds a fresh table from it (core.decode_entry).
--
-- Keys: a digest of the base URL and credential (core.budget_key: never
-- the credential), then team, connector and log id, each with its type
-- and length, so that no two calls' keys meet unless they ask the same
-- thing of the same API with the same key.
--
-- Single flight: a miss fetches once for every caller of the key. Inside
-- nginx the others wait (polling, up to their own deadline) for it: the
-- calls of a worker on the flight in this module, the workers on a lock in
-- the shared dict (supermetrics.cache.dict); its holder dying frees it at
-- its expiry (the holder's deadline). Outside nginx a call cannot wait for
-- another coroutine (its waits block the thread); a batch fetches each
-- missing entry once however often its ids repeat it (cache.batch).
--
-- The two places the request path calls: `cache.get` (client.lua's
-- get_one) and `cache.batch` / `cache.batch_done` (get_connector_logs).
-- @module supermetrics.cache

local core = require "supermetrics.core"
local errors = require "supermetrics.errors"
local retry = require "supermetrics.retry"

local monotonic, decode_entry, budget_key = core.monotonic, core.decode_entry, core.budget_key
local new_error, invalid = errors.new, errors.invalid
local min = math.min
local mtype = math.type
local format, type, tostring = string.format, type, tostring
local ngx = rawget(_G, "ngx")

local cache = {}

cache.DEFAULTS = { size = 1000, ttl = 300, negative_ttl = 5, stale_if_error = 0 }
local FIELDS = { size = true, ttl = true, negative_ttl = true, stale_if_error = true, dict = true }
local MAX_SIZE = 10000000

-- How long a waiter sleeps between looks at a flight or the dict: from
-- FIRST_POLL, doubling, up to LAST_POLL.
local FIRST_POLL, LAST_POLL = 0.001, 0.02

--- The clock items' times are read on, in seconds: inside nginx its
-- cached wall clock (ngx.now: no system call; every worker reads the same),
-- elsewhere the monotonic one (the specs move it forward to expire entries
-- without waiting). Deadlines are the calls' own, on the client's clock.
cache.clock = ngx and ngx.now or monotonic

local function seconds(v, name, zero_ok)
  if v == nil then
    return cache.DEFAULTS[name]
  end
  if type(v) ~= "number" or v ~= v or v < 0 or (v == 0 and not zero_ok) then
    invalid(format("cache.%s must be a number of seconds %s (math.huge: for ever)", name,
      zero_ok and "from 0" or "over 0"), "cache")
  end
  return v
end

--- Checks the option `cache` of `new`: nil or false (none), true (the
-- defaults) or { size =, ttl =, negative_ttl =, stale_if_error =, dict = }.
-- Returns the setting or nil; raises INVALID_ARGUMENT (argument "cache").
function cache.check_option(v)
  if v == nil or v == false then
    return nil
  elseif v == true then
    v = {}
  elseif type(v) ~= "table" then
    invalid("cache must be a table ({ size =, ttl =, negative_ttl =, stale_if_error =, dict = }), "
      .. "true (the defaults) or false (none)", "cache")
  end
  for k in pairs(v) do
    if not FIELDS[k] then
      invalid("cache: unknown field " .. format("%q", tostring(k))
        .. " (size, ttl, negative_ttl, stale_if_error, dict)", "cache")
    end
  end
  local size = v.size
  if size == nil then
    size = cache.DEFAULTS.size
  elseif type(size) ~= "number" or size ~= size or size < 1 or size > MAX_SIZE or size ~= math.floor(size) then
    invalid("cache.size must be an integer from 1 to " .. MAX_SIZE .. " (entries)", "cache")
  end
  if v.dict ~= nil and (type(v.dict) ~= "string" or v.dict == "") then
    invalid("cache.dict must be the name of a lua_shared_dict", "cache")
  end
  return {
    size = size, ttl = seconds(v.ttl, "ttl"), negative_ttl = seconds(v.negative_ttl, "negative_ttl", true),
    stale_if_error = seconds(v.stale_if_error, "stale_if_error", true), dict = v.dict,
  }
end

-- The short tag that stands for a credential's digest in the client's LRU:
-- keys stay short, and Lua 5.1 to 5.3 hash every byte of a string of up
-- to 31 bytes (of a longer one, a sample: ids that differ in a few places
-- would meet in one bucket). Tags are never reused; after MAX_TAGS
-- credentials (a token_provider's) the table starts again, and entries
-- under older tags age out of the LRU.
local MAX_TAGS = 64
local function tag_of(view, prefix)
  local tags = view.tags
  local tag = tags[prefix]
  if tag then
    return tag
  end
  if view.ntags >= MAX_TAGS then
    tags = {}
    view.tags, view.ntags = tags, 0
  end
  view.serial = view.serial + 1
  tag = view.serial .. "|"
  tags[prefix], view.ntags = tag, view.ntags + 1
  return tag
end

--- The client's cache, from the checked setting. cosocket: the client's
-- transport is nginx's (its calls may wait for each other); fixed: the
-- client has a credential of its own (else each call's key is its
-- token_provider's). clock: the client's (supermetrics.clock), which the
-- calls' deadlines are on and waits for another call's fetch take.
-- Raises INVALID_ARGUMENT when the dict cannot be had.
function cache.open(setting, handle, cosocket, fixed, clock)
  local lru
  local ok, lrucache = false, nil
  if ngx then
    ok, lrucache = pcall(require, "resty.lrucache")
  end
  if ok then
    lru = assert(lrucache.new(setting.size))
  else
    lru = require("supermetrics.cache.memory").new(setting.size)
  end
  local view = {
    lru = lru, size = setting.size, ttl = setting.ttl, negative_ttl = setting.negative_ttl,
    stale = setting.stale_if_error, wait = cosocket, handle = handle, flights = {},
    monotonic = clock.monotonic, sleep = clock.sleep,
    stats = { hits = 0, misses = 0, stale = 0, waits = 0, negative = 0 },
  }
  if setting.dict then
    local store = require("supermetrics.cache.dict").new(setting.dict)
    if not store then
      if not ngx then
        invalid("cache.dict needs nginx: a lua_shared_dict exists only inside OpenResty / nginx "
          .. "(outside it, leave dict out: the cache is then in this process)", "cache")
      end
      invalid("cache.dict: no lua_shared_dict named " .. format("%q", setting.dict)
        .. " (declare it in nginx.conf: lua_shared_dict " .. setting.dict .. " 10m;)", "cache")
    end
    view.store = store
  end
  view.tags, view.ntags, view.serial = {}, 0, 0
  if fixed then
    view.prefix = budget_key(handle)
    view.tag = tag_of(view, view.prefix)
  end
  return view
end

-- A part of a key: strings as they are, numbers in a form that tells them
-- apart (type and every bit), each with its length first.
local function part(v)
  local tv = type(v)
  if tv == "string" then
    return #v .. ":" .. v
  elseif tv == "number" then
    local s = (mtype and mtype(v) == "integer") and tostring(v) or format("%.17g", v)
    return #s .. "#" .. s
  end
end

--- The keys of an entry: in the client's LRU (a tag for the credential,
-- then team, connector and id) and, with a shared dict, in the dict (the
-- digest of credential and base URL in the tag's place: the workers'
-- tags differ); nil when the call's arguments cannot be one (the call
-- then goes uncached and raises). credential: the one a token_provider
-- gave (nil: the client's own).
function cache.key(view, credential, team_id, connector_identifier, log_id)
  local prefix, tag = view.prefix, view.tag
  if credential ~= nil then
    prefix = budget_key(view.handle, credential)
    if not prefix then
      return nil
    end
    tag = tag_of(view, prefix)
  end
  local rest
  if type(connector_identifier) == "string" and type(log_id) == "string" then
    -- The common case in one concatenation (as part() would make it).
    local tt = type(team_id)
    if tt == "string" then
      rest = #team_id .. ":" .. team_id .. #connector_identifier .. ":" .. connector_identifier
        .. #log_id .. ":" .. log_id
    elseif tt == "number" and not mtype then -- (5.1, LuaJIT: every number a double)
      local n = format("%.17g", team_id)
      rest = #n .. "#" .. n .. #connector_identifier .. ":" .. connector_identifier .. #log_id .. ":" .. log_id
    end
  end
  if not rest then
    local t, c, id = part(team_id), part(connector_identifier), part(log_id)
    if not (t and c and id) then
      return nil
    end
    rest = t .. c .. id
  end
  if view.store then
    return tag .. rest, prefix .. rest
  end
  return tag .. rest
end

-- Whether err is a NOT_FOUND answer (the cached kind of error).
local function not_found(err)
  return err.status == 404 or err.code == "NOT_FOUND"
    or (type(err.code) == "string" and err.code:find("_NOT_FOUND$") ~= nil)
end

-- A NOT_FOUND from what is kept of one: a fresh error value each time, as
-- the original said (its request_id too: the request that learned it);
-- attempts 0, as this call made none.
local function negative_error(e)
  return new_error(e.code, e.message, {
    status = e.status, request_id = e.request_id, description = e.description, attempts = 0,
  })
end

-- A fresh table from a kept entry's text: entry | nil, err
-- (INVALID_RESPONSE, no attempt made).
local function kept_entry(text)
  local entry, why = decode_entry(text)
  if entry then
    return entry
  end
  return nil, new_error("INVALID_RESPONSE", why, { attempts = 0 })
end

-- What a hit gives: the text (raw), a fresh table, or the NOT_FOUND error.
local function serve(item, raw)
  local text = item.text
  if text then
    if raw then
      return text
    end
    local entry, err = kept_entry(text)
    if not entry then
      error(err)
    end
    return entry
  end
  error(negative_error(item.err))
end

-- Keeps item under key, in the LRU and the dict.
local function remember(view, key, dkey, item, now)
  view.lru:set(key, item)
  if dkey then
    view.store:set(dkey, item, now)
  end
end

-- What fetching key gave (ok, res: pcall's) turned into the call's
-- outcome: { item = (serve it) } or { err = (raise it) }; keeps what the
-- cache keeps. old: the expired item, or nil.
local function settle(view, key, dkey, ok, res, old)
  local now = cache.clock()
  local stats = view.stats
  if ok then
    stats.misses = stats.misses + 1
    local fresh = now + view.ttl
    local item = { text = res, fresh = fresh, keep = fresh + view.stale }
    remember(view, key, dkey, item, now)
    return { item = item }
  end
  if not core.is_error(res) then
    return { raise = res } -- not one of ours: passed on as it came
  end
  if not_found(res) then
    stats.misses = stats.misses + 1
    if view.negative_ttl > 0 then
      local fresh = now + view.negative_ttl
      remember(view, key, dkey, {
        err = { code = res.code, message = res.message, status = res.status, request_id = res.request_id,
          description = res.description },
        fresh = fresh, keep = fresh,
      }, now)
    end
    return { err = res }
  end
  if old and old.text and now < old.keep and retry.retryable(res) then
    stats.stale = stats.stale + 1
    return { item = old, how = "stale" }
  end
  return { err = res }
end

-- Sleeps (nginx, on the client's clock) while cond() is false, up to
-- deadline; returns cond()'s last answer.
local function poll(view, cond, deadline)
  local wait = FIRST_POLL
  while true do
    local got = cond()
    if got then
      return got
    end
    local left = deadline - view.monotonic()
    if left <= 0 then
      return nil
    end
    view.sleep(min(wait, left))
    wait = min(wait * 2, LAST_POLL)
  end
end

-- What a waiter finds when the call it waited for was killed before it
-- settled (its coroutine gone): it then fetches the entry itself.
local GONE = {}

local function waited_too_long(what)
  return new_error("TIMEOUT", "the call's deadline passed while it waited for " .. what
    .. " fetching the same log entry", { attempts = 0 })
end

-- The on_response event of a call served by the cache (how: "hit",
-- "stale", "wait").
local function report(hook, team_id, connector_identifier, log_id, how, item, started, now)
  local ok, route = pcall(core.log_route, team_id, connector_identifier, log_id)
  local e, status = item.err, 200
  if e then
    status = e.status
  end
  pcall(hook, {
    method = "GET", path = ok and route:path() or nil, attempt = 0, cache = how,
    duration_ms = (now - started) * 1000,
    status = status, request_id = e and e.request_id or nil,
    error_code = e and e.code or nil,
  })
end

-- The outcome of a flight or a settle: served or raised.
local function finish(view, outcome, raw, hook, t, c, id, how, started)
  local item = outcome.item
  if item then
    how = outcome.how or how
    if hook and how ~= "miss" then -- (a miss's request had events of its own)
      report(hook, t, c, id, how, item, started, view.monotonic())
    end
    return serve(item, raw)
  end
  if outcome.raise ~= nil then
    error(outcome.raise, 0)
  end
  error(outcome.err)
end

--- get_connector_log (raw: _json) through the cache: a hit, or one fetch
-- of the text for every caller of the key. fetch(client, method, t, c, id,
-- opts, deadline): the uncached call for the text, which raises. hook:
-- on_response, told of calls served without a request of their own.
function cache.get(view, key, dkey, raw, deadline, hook, fetch, client, method, t, c, id, opts)
  local now = cache.clock()
  local lru, stats = view.lru, view.stats
  local item = lru:get(key)
  if item and now < item.fresh then
    stats.hits = stats.hits + 1
    if item.err then
      stats.negative = stats.negative + 1
    end
    if hook then
      local now_m = view.monotonic()
      report(hook, t, c, id, "hit", item, now_m, now_m)
    end
    return serve(item, raw)
  end
  local store = view.store
  if store then
    local shared = store:get(dkey)
    if shared and now < shared.fresh then
      lru:set(key, shared)
      return cache.get(view, key, dkey, raw, deadline, hook, fetch, client, method, t, c, id, opts)
    end
    if shared and not (item and item.keep >= shared.keep) then
      item = shared
    end
  end
  -- This worker's flight of the key, if any (a holder past its deadline
  -- is gone: its coroutine was killed).
  local flight = view.flights[key]
  local now_of = view.monotonic
  local started = now_of()
  if flight and view.wait and started < flight.deadline + 1 then
    local done = poll(view, function()
      return flight.outcome or (now_of() > flight.deadline + 1 and GONE)
    end, deadline)
    if not done then
      error(waited_too_long("another call"))
    end
    if done ~= GONE then
      stats.waits = stats.waits + 1
      return finish(view, done, raw, hook, t, c, id, "wait", started)
    end
  end
  flight = { deadline = deadline }
  view.flights[key] = flight
  local locked
  if store and view.wait then
    locked = store:lock(dkey, deadline - started + 1)
    if locked == false then
      -- Another worker fetches it: wait for its answer in the dict, or for
      -- its lock to go (failed, or died), then fetch here.
      local shared = poll(view, function()
        local s = store:get(dkey)
        if s and cache.clock() < s.fresh then
          return s
        end
        return not store:locked(dkey) and {} or nil
      end, deadline)
      if shared and shared.fresh then
        view.flights[key] = nil
        lru:set(key, shared)
        flight.outcome = { item = shared }
        stats.waits = stats.waits + 1
        return finish(view, flight.outcome, raw, hook, t, c, id, "wait", started)
      elseif not shared then
        view.flights[key] = nil
        flight.outcome = { err = waited_too_long("another nginx worker") }
        error(flight.outcome.err)
      end
      locked = store:lock(dkey, deadline - now_of() + 1)
    end
  end
  local ok, res
  if now_of() < deadline then
    ok, res = pcall(fetch, client, method, t, c, id, opts, deadline)
  else
    ok, res = false, waited_too_long("another nginx worker")
  end
  local outcome = settle(view, key, dkey, ok, res, item)
  if locked then
    store:unlock(dkey)
  end
  if view.flights[key] == flight then
    view.flights[key] = nil
  end
  flight.outcome = outcome
  return finish(view, outcome, raw, hook, t, c, id, "miss", started)
end

--- get_connector_logs through the cache, before the batch: the hits, and
-- the ids left to fetch, each missing entry once. Returns the plan:
-- { entries =, errors = (the hits'), ids = (to fetch) , keys, at = (per
-- id to fetch, the indices that want it) }.
function cache.batch(view, credential, team_id, connector_identifier, log_ids, hook)
  local now = cache.clock()
  local started = view.monotonic()
  local lru, stats = view.lru, view.stats
  local entries, errs = {}, {}
  local ids, keys, dkeys, at, slot = {}, {}, {}, {}, {}
  for i = 1, #log_ids do
    local id = log_ids[i]
    local key, dkey = cache.key(view, credential, team_id, connector_identifier, id)
    local item = key and lru:get(key)
    if not item and dkey then
      item = view.store:get(dkey)
      if item and now < item.fresh then
        lru:set(key, item)
      end
    end
    if item and now < item.fresh then
      stats.hits = stats.hits + 1
      if hook then
        report(hook, team_id, connector_identifier, id, "hit", item, started, started)
      end
      if item.err then
        stats.negative = stats.negative + 1
        errs[i] = negative_error(item.err)
      else
        entries[i], errs[i] = kept_entry(item.text)
      end
    else
      local j = key and slot[key]
      if j then
        at[j][#at[j] + 1] = i
        stats.waits = stats.waits + 1
      else
        j = #ids + 1
        ids[j], keys[j], dkeys[j], at[j] = id, key or false, dkey or false, { i }
        if key then
          slot[key] = j
        end
      end
    end
  end
  return { entries = entries, errors = errs, ids = ids, keys = keys, dkeys = dkeys, at = at, hook = hook,
    team_id = team_id, connector_identifier = connector_identifier, started = started }
end

--- After the batch of plan.ids (got: its entries, errs, the texts): every
-- index answered, what the cache keeps kept. through: the batch's items
-- went through cache.get (they are kept and counted already).
function cache.batch_done(view, plan, got, errs, through)
  local entries, out_errs = plan.entries, plan.errors
  for j, key in ipairs(plan.keys) do
    local outcome
    if through or not key then
      local text = got[j]
      outcome = text and { item = { text = text } } or { err = errs[j] }
    else
      local old = view.lru:get(key)
      outcome = settle(view, key, plan.dkeys[j] or nil, got[j] ~= nil, got[j] or errs[j], old)
    end
    for n, i in ipairs(plan.at[j]) do
      local item = outcome.item
      if plan.hook and (n > 1 or outcome.how) then -- (the first's request had its events)
        report(plan.hook, plan.team_id, plan.connector_identifier, plan.ids[j],
          n > 1 and "wait" or outcome.how, item or { err = outcome.err }, plan.started, view.monotonic())
      end
      if item then
        entries[i], out_errs[i] = kept_entry(item.text)
      else
        out_errs[i] = outcome.err
      end
    end
  end
  return entries, out_errs
end

--- `client:cache_stats()`.
function cache.stats(view)
  local s = view.stats
  return {
    hits = s.hits, misses = s.misses, stale = s.stale, waits = s.waits, negative = s.negative,
    entries = view.lru:count(), size = view.size, dict = view.store and view.store.name or nil,
  }
end

return cache
