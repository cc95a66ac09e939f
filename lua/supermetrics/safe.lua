--- The same interface as `supermetrics`, but calls return `nil, err`
-- instead of raising (as `cjson.safe` does for cjson). `err` is the same
-- `supermetrics.Error` value. Anything that is not such a value (a bug, an
-- out-of-memory error) is raised as usual rather than hidden.
-- @module supermetrics.safe

local Client = require "supermetrics.client"
local supermetrics = require "supermetrics"

local is_error = supermetrics.is_error

-- pcall's results turned into value(s) or nil, err.
local function settle(ok, ...)
  if ok then
    return ...
  end
  local err = ...
  if not is_error(err) then
    error(err, 0)
  end
  return nil, err
end

local SafeClient = {}
SafeClient.__index = SafeClient

-- The wrapped client; for safe.method(...) written for safe:method(...),
-- nil and the error the client itself gives for that mistake.
local function client_of(self, method)
  if getmetatable(self) == SafeClient then
    return self._client
  end
  return settle(pcall(Client._check_self, self, method))
end

local safe = {
  _VERSION = supermetrics._VERSION,
  null = supermetrics.null,
  Error = supermetrics.Error,
  is_error = is_error,
}

--- Creates a client; returns it, or nil and the error.
function safe.new(opts)
  local client, err = settle(pcall(supermetrics.new, opts))
  if not client then
    return nil, err
  end
  return setmetatable({ _client = client }, SafeClient)
end

-- The safe form of a plain method: its results, or nil, err.
local function safe_call(method)
  return function(self, ...)
    local c, err = client_of(self, method)
    if not c then
      return nil, err
    end
    return settle(pcall(c[method], c, ...))
  end
end

-- An iterator that returns false, err once, then ends.
local function failing(err)
  local told = false
  return function()
    if told then
      return nil
    end
    told = true
    return false, err
  end
end

-- The safe form of an iterating method: bad arguments and a failing page
-- come out of the iterator as `false, err` once, then it ends; with bad
-- arguments the error is also the second value returned.
local function safe_iterator(method)
  return function(self, ...)
    local c, bad = client_of(self, method)
    if not c then
      return failing(bad), bad
    end
    local it, err = settle(pcall(c[method], c, ...))
    if not it then
      return failing(err), err
    end
    local failed = false
    return function()
      if failed then
        return nil
      end
      local entry, page_err = settle(pcall(it))
      if page_err then
        failed = true
        return false, page_err
      end
      return entry
    end
  end
end

-- Every public method of the client (a function not named new nor _...;
-- metamethods are below), in its safe form; 11-safe_spec checks that none
-- is missing.
for name, method in pairs(Client) do
  if type(method) == "function" and name ~= "new" and name:sub(1, 1) ~= "_" then
    SafeClient[name] = (Client._ITERATORS[name] and safe_iterator or safe_call)(name)
  end
end

--- `client:get_connector_log(...)`: the entry, or nil, err.
-- @function SafeClient:get_connector_log
-- @param ...

--- `client:get_connector_log_json(...)`: the entry's JSON text, or nil, err.
-- @function SafeClient:get_connector_log_json
-- @param ...

--- `client:list_connector_logs(...)`: the array, or nil, err.
-- @function SafeClient:list_connector_logs
-- @param ...

--- `client:get_connector_logs(...)`: entries, errors (per item), or nil, err
-- for a bad call.
-- @function SafeClient:get_connector_logs
-- @param ...

--- `client:each_connector_log(...)`: an iterator. When the arguments are
-- bad, or fetching a page fails, the iterator returns `false, err` once (so
-- a generic `for entry, err in ...` sees it), then ends. With bad arguments
-- the error is also the second value returned here.
-- @function SafeClient:each_connector_log
-- @param ...

--- `client:follow_connector_logs(...)`: the same, for following.
-- @function SafeClient:follow_connector_logs
-- @param ...

--- `client:rate_limit()`: what the key's rate budget knows, or nil, err.
-- @function SafeClient:rate_limit

--- Releases the client now; safe to call twice.
-- @function SafeClient:close

SafeClient.__close = SafeClient.close

function SafeClient:__tostring()
  return tostring(self._client)
end

return safe
