--- Internal: The rate budget in a `lua_shared_dict` (`budget = { dict = "NAME" }`):
-- one window per key shared by every worker of an nginx instance. The same
-- state as supermetrics.budget.memory's, one dict entry per field, named
-- `sm:<key>:c|l|r|p` (key: the digest of the credential and base URL, never
-- the credential); numbers only. Every change is one atomic dict operation
-- (`incr`, `add`, `set`, `delete`): requests let through take one from `r`
-- with `incr`, and only the worker whose `add` makes the lease probes. A full
-- dict evicts its least recently used entries (`set`, `add`, `incr` with an
-- initial value) rather than fail: what it forgets, a later response
-- teaches again; a call never fails because of the dict.
-- @module supermetrics.budget.dict

local memory = require "supermetrics.budget.memory"

local GO, CLOSED, BUSY, PROBE = memory.GO, memory.CLOSED, memory.BUSY, memory.PROBE
local HOUR = memory.HOUR_MS / 1000

local dict_store = {}

local Store = {}
Store.__index = Store

--- The store over ngx.shared[name], or nil and why.
function dict_store.new(name)
  local ngx = rawget(_G, "ngx")
  local shared = ngx and ngx.shared and ngx.shared[name]
  if not shared then
    return nil
  end
  return setmetatable({ dict = shared, name = name, source = "dict" }, Store)
end

-- The entry names of key, made once per key.
local names = {}
local function fields(key)
  local f = names[key]
  if not f then
    local base = "sm:" .. key .. ":"
    f = { c = base .. "c", l = base .. "l", r = base .. "r", p = base .. "p" }
    names[key] = f
  end
  return f
end

-- The window's end has passed: a new window, nothing known of it.
local function reopen(d, f)
  d:delete(f.c)
  d:delete(f.r)
  d:delete(f.p)
end

--- As memory.admit, for key; now in ms.
function Store:admit(key, now, ttl_ms)
  local d, f = self.dict, fields(key)
  local c = d:get(f.c)
  if c then
    if c > now then
      return CLOSED, c - now
    end
    reopen(d, f)
  end
  local r = d:get(f.r)
  if r == nil then
    return GO, 0, nil
  end
  if r > 0 then
    local left = d:incr(f.r, -1)
    if left and left >= 0 then
      return GO, 0, left
    end
    -- Others took the last ones meanwhile (or it was evicted): probe.
  end
  local ok, err = d:add(f.p, now + ttl_ms, ttl_ms / 1000)
  if ok or err ~= "exists" then
    return PROBE, 0
  end
  local p = d:get(f.p)
  return BUSY, p and math.max(p - now, 0) or 0
end

--- As memory.learn.
function Store:learn(key, now, status, ra_ms, limit, remaining, probe)
  local d, f = self.dict, fields(key)
  if limit then
    d:set(f.l, limit, HOUR)
  end
  if status == 429 then
    if ra_ms and ra_ms > 0 then
      d:set(f.c, now + ra_ms, ra_ms / 1000 + 60)
    end
    d:set(f.r, 0, HOUR)
    d:delete(f.p)
  elseif status then
    if remaining then
      local r = d:get(f.r)
      if probe or r == nil or r <= 0 then
        d:set(f.r, remaining, HOUR)
      elseif remaining < r then
        -- Down by the difference, atomically: requests let through
        -- meanwhile still count.
        d:incr(f.r, remaining - r)
      end
    elseif probe or (d:get(f.r) or 1) <= 0 then
      d:delete(f.r)
    end
    if probe then
      d:delete(f.p)
    end
  elseif probe then
    d:delete(f.p)
  end
  return true
end

--- As memory.read.
function Store:read(key, now)
  local d, f = self.dict, fields(key)
  local c = d:get(f.c)
  if c and c <= now then
    return true, nil, d:get(f.l), nil -- reopened: nothing known of the new window yet
  end
  return true, c, d:get(f.l), d:get(f.r)
end

return dict_store
