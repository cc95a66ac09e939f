--- Running inside OpenResty / nginx without blocking the event loop.
-- Each HTTP attempt runs in nginx's worker-thread pool
-- (`ngx.run_worker_thread`, module `supermetrics.thread`); waits between
-- retries use `ngx.sleep`. The token_provider, the retry loop and the
-- deadline stay in the request's own VM. Phases that cannot yield get a
-- clear error unless the client opted into blocking (`nginx_blocking`).
-- @module supermetrics.nginx

local core = require "supermetrics.core"
local errors = require "supermetrics.errors"

local ngx = rawget(_G, "ngx")
local invalid = errors.invalid

local nginx = {}

--- True in nginx's own Lua VM (a request, a timer, init_by_lua...), false
-- elsewhere, including inside a worker thread (which has no ngx.sleep).
function nginx.active()
  return type(ngx) == "table" and type(ngx.sleep) == "function"
    and type(ngx.get_phase) == "function"
end

-- Phases where ngx.run_worker_thread and ngx.sleep may be called.
local YIELDABLE = { rewrite = true, access = true, content = true, timer = true }

local function threaded_perform(client, path, deadline, credential, want_info)
  local ok, body, second = ngx.run_worker_thread(client._nginx_thread_pool, "supermetrics.thread",
    "perform", client._thread_config, path, deadline, credential or client._credential, want_info)
  if not ok then
    invalid("ngx.run_worker_thread failed: " .. tostring(body) .. " (is there a `thread_pool "
      .. client._nginx_thread_pool .. " threads=16;` line in nginx.conf's main context, and "
      .. "lua_package_path / lua_package_cpath that find supermetrics?)")
  end
  if body ~= nil then
    return body, second
  end
  return nil, setmetatable(second, core.Error)
end

--- The runtime of a client inside nginx: returns perform, sleep for this
-- call's phase (see client.lua), or raises INVALID_ARGUMENT.
function nginx.runtime(client, blocking)
  if client._nginx_blocking then
    return blocking(client)
  end
  local phase = ngx.get_phase()
  if not YIELDABLE[phase] then
    invalid("cannot call the Hub API in nginx's " .. phase .. " phase: it cannot yield, and a "
      .. "blocking call would stall every request of the worker; call it from rewrite, access, "
      .. "content or a timer, or create the client with nginx_blocking = true (meant for "
      .. "init_by_lua and the resty command line)")
  end
  if type(ngx.run_worker_thread) ~= "function" then
    invalid("this nginx has no ngx.run_worker_thread (lua-nginx-module 0.10.21 or later is "
      .. "needed to call without blocking); create the client with nginx_blocking = true to "
      .. "block the worker instead")
  end
  return threaded_perform, ngx.sleep, true
end

--- get_connector_logs inside nginx: `concurrency` light threads each take
-- the next id and make an ordinary call (one worker-thread hop per attempt),
-- so retries, the token_provider and on_response work as for single calls.
function nginx.batch(client, team_id, connector_identifier, log_ids, concurrency)
  local entries, errs = {}, {}
  local n, next_item = #log_ids, 1
  local function worker()
    while next_item <= n do
      local i = next_item
      next_item = i + 1
      local ok, res = pcall(client.get_connector_log, client, team_id, connector_identifier, log_ids[i])
      if ok then
        entries[i] = res
      elseif getmetatable(res) == core.Error then
        errs[i] = res
      else
        error(res, 0)
      end
    end
  end
  local threads = {}
  for t = 1, math.min(concurrency, n) do
    threads[t] = ngx.thread.spawn(worker)
  end
  for t = 1, #threads do
    local ok, err = ngx.thread.wait(threads[t])
    if not ok then
      error(err, 0)
    end
  end
  return entries, errs
end

--- What a worker thread needs to rebuild the client's handle: plain data.
function nginx.thread_config(settings)
  local config = {
    base_url = settings.base_url,
    connect_timeout = settings.connect_timeout,
    max_response_bytes = settings.max_response_bytes,
    ca_file = settings.ca_file,
    user_agent = settings.user_agent,
  }
  config.key = table.concat({ config.base_url, config.connect_timeout, config.max_response_bytes,
    config.ca_file or "", config.user_agent }, "\0")
  return config
end

return nginx
