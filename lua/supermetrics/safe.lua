--- The same interface as `supermetrics`, but calls return `nil, err`
-- instead of raising (as `cjson.safe` does for cjson). `err` is the same
-- `supermetrics.Error` value. Anything that is not such a value (a bug, an
-- out-of-memory error) is raised as usual rather than hidden.
-- @module supermetrics.safe

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
  return settle(pcall(require("supermetrics.client")._check_self, self, method))
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

--- `client:get_connector_log(...)`: the entry, or nil, err.
function SafeClient:get_connector_log(...)
  local c, err = client_of(self, "get_connector_log")
  if not c then
    return nil, err
  end
  return settle(pcall(c.get_connector_log, c, ...))
end

--- `client:list_connector_logs(...)`: the array, or nil, err.
function SafeClient:list_connector_logs(...)
  local c, err = client_of(self, "list_connector_logs")
  if not c then
    return nil, err
  end
  return settle(pcall(c.list_connector_logs, c, ...))
end

--- `client:get_connector_logs(...)`: entries, errors (per item), or nil, err
-- for a bad call.
function SafeClient:get_connector_logs(...)
  local c, err = client_of(self, "get_connector_logs")
  if not c then
    return nil, err
  end
  return settle(pcall(c.get_connector_logs, c, ...))
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
-- come out of the iterator as `false, err` once, then it ends.
local function safe_iterator(c, method, ...)
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

--- `client:each_connector_log(...)`: an iterator. When the arguments are
-- bad, or fetching a page fails, the iterator returns `false, err` once (so
-- a generic `for entry, err in ...` sees it), then ends. With bad arguments
-- the error is also the second value returned here.
function SafeClient:each_connector_log(...)
  local c, err = client_of(self, "each_connector_log")
  if not c then
    return failing(err), err
  end
  return safe_iterator(c, "each_connector_log", ...)
end

--- `client:follow_connector_logs(...)`: the same, for following.
function SafeClient:follow_connector_logs(...)
  local c, err = client_of(self, "follow_connector_logs")
  if not c then
    return failing(err), err
  end
  return safe_iterator(c, "follow_connector_logs", ...)
end

--- Releases the client now; safe to call twice.
function SafeClient:close()
  self._client:close()
end

SafeClient.__close = SafeClient.close

function SafeClient:__tostring()
  return tostring(self._client)
end

return safe
