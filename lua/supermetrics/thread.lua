--- The code that runs inside nginx's worker-thread pool (via
-- `ngx.run_worker_thread`): one HTTP attempt on a blocking libcurl handle,
-- off the event loop. Only plain data crosses between the VMs, so settings
-- come in as a table and error values go back without their metatable.
-- @module supermetrics.thread

local core = require "supermetrics.core"

local thread = {}

-- Each pool thread keeps its own VM, so this cache keeps connections warm
-- across requests: one handle per client configuration (the credential is
-- set per attempt), a few configurations at most.
local MAX_HANDLES = 16
local handles, count = {}, 0

local function handle_for(config)
  local handle = handles[config.key]
  if handle then
    return handle
  end
  if count >= MAX_HANDLES then
    for key, old in pairs(handles) do
      old:close()
      handles[key] = nil
    end
    count = 0
  end
  handle = core.new_client(config)
  handles[config.key], count = handle, count + 1
  return handle
end

--- One attempt: returns the decoded body (and with want_info the response
-- info), or nil and the error's fields. deadline is on core.monotonic()'s
-- clock, which every thread shares, so time spent waiting in the pool's
-- queue counts against the call.
function thread.perform(config, path, deadline, credential, want_info)
  local body, err = handle_for(config):perform(path, deadline - core.monotonic(), credential, want_info)
  if body then
    return body, err
  end
  return nil, setmetatable(err, nil)
end

return thread
