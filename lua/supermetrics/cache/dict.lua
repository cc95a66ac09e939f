--- Internal: The entry cache in a `lua_shared_dict` (`cache = { dict = "NAME" }`):
-- what every worker of an nginx instance has fetched, under each worker's
-- own LRU (supermetrics.cache), and the lock that lets one worker fetch a
-- missing entry while the others wait for it.
--
-- Entries are named `smc:<key>` and locks `smcl:<key>` (key: the digest
-- of the credential and base URL, then team, connector and log id; never
-- the credential). A value is a string: a kind letter (`T`: an entry's
-- text, `N`: a NOT_FOUND answer), the item's fresh-until and keep-until
-- times (monotonic seconds, the same clock in every worker of a machine),
-- then the text, or the error's fields. Writes use `set`, which evicts
-- the least recently used entries of a full dict; a write that fails all
-- the same is dropped: the dict failing never fails a call.
-- @module supermetrics.cache.dict

local dict_store = {}

local Store = {}
Store.__index = Store

local huge = math.huge
local format, find, sub, match = string.format, string.find, string.sub, string.match

--- The store over ngx.shared[name], or nil.
function dict_store.new(name)
  local ngx = rawget(_G, "ngx")
  local shared = ngx and ngx.shared and ngx.shared[name]
  if not shared then
    return nil
  end
  return setmetatable({ dict = shared, name = name }, Store)
end

local function time_text(t)
  return t == huge and "inf" or format("%.3f", t)
end

local function time_of(s)
  return s == "inf" and huge or tonumber(s)
end

-- The item a value holds (see above), or nil for one it cannot read.
local function decode(s)
  local nl = find(s, "\n", 1, true)
  if not nl then
    return nil
  end
  local kind, fresh, keep = match(sub(s, 1, nl - 1), "^([TN])(%S+) (%S+)$")
  fresh, keep = fresh and time_of(fresh), keep and time_of(keep)
  if not (fresh and keep) then
    return nil
  end
  if kind == "T" then
    return { text = sub(s, nl + 1), fresh = fresh, keep = keep }
  end
  local status, code, request_id, description, message =
    match(s, "^([^\n]*)\n([^\n]*)\n([^\n]*)\n([^\n]*)\n(.*)$", nl + 1)
  if not code then
    return nil
  end
  return {
    err = {
      code = code, message = message, status = tonumber(status),
      request_id = request_id ~= "" and request_id or nil,
      description = description ~= "" and description or nil,
    },
    fresh = fresh, keep = keep,
  }
end

local function one_line(s)
  return s and (s:gsub("\n", " ")) or ""
end

local function encode(item)
  local head = time_text(item.fresh) .. " " .. time_text(item.keep) .. "\n"
  if item.text then
    return "T" .. head .. item.text
  end
  local e = item.err
  return "N" .. head .. tostring(e.status or "") .. "\n" .. one_line(e.code) .. "\n"
    .. one_line(e.request_id) .. "\n" .. one_line(e.description) .. "\n" .. (e.message or "")
end

--- The item of key, or nil.
function Store:get(key)
  local s = self.dict:get("smc:" .. key)
  return s and decode(s) or nil
end

--- Keeps item under key until it is no use (past keep; now: monotonic).
-- Returns nothing: a full dict evicts, a failing one is ignored.
function Store:set(key, item, now)
  local left = item.keep - now
  if left <= 0 then
    return
  end
  -- 0: no expiry; the dict's own at least 1 ms.
  local exptime = left == huge and 0 or math.max(left, 0.001)
  pcall(self.dict.set, self.dict, "smc:" .. key, encode(item), exptime)
end

--- Takes key's lock for seconds: true (taken), false (another worker
-- holds it) or nil (the dict failed: go on without it).
function Store:lock(key, seconds)
  local ok, added, err = pcall(self.dict.add, self.dict, "smcl:" .. key, true, math.max(seconds, 0.001))
  if not ok then
    return nil
  end
  if added then
    return true
  end
  if err == "exists" then
    return false
  end
  return nil
end

--- Whether key's lock is held.
function Store:locked(key)
  return self.dict:get("smcl:" .. key) ~= nil
end

--- Frees key's lock.
function Store:unlock(key)
  pcall(self.dict.delete, self.dict, "smcl:" .. key)
end

return dict_store
