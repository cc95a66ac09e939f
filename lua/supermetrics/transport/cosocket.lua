--- Internal: The nginx transport: calls inside OpenResty / nginx go through nginx's
-- own non-blocking sockets (`ngx.socket.tcp`), so a worker serves other
-- requests while one waits. Lua only moves bytes here: the C core writes
-- the request (`handle:request`) and reads the response
-- (`exchange:feed`, src/http1.c) into the same outcome as libcurl's
-- (`handle:outcome`). Connections are kept in nginx's pool, named by
-- scheme, host, port and server name; TLS trust is nginx's
-- `lua_ssl_trusted_certificate`, names are resolved by its `resolver`.
-- @module supermetrics.transport.cosocket

local core = require "supermetrics.core"
local errors = require "supermetrics.errors"

local ngx = rawget(_G, "ngx")
local monotonic = core.monotonic
local invalid = errors.invalid
local ceil, min = math.ceil, math.min

local cosocket = {}

--- True in nginx's own Lua VM (a request, a timer, init_by_lua...), false
-- elsewhere.
function cosocket.available()
  return type(ngx) == "table" and type(ngx.sleep) == "function"
    and type(ngx.get_phase) == "function" and type(ngx.socket) == "table"
end

-- Phases where cosockets and ngx.sleep may be used.
local YIELDABLE = { rewrite = true, access = true, content = true, timer = true }

local function check_phase()
  local phase = ngx.get_phase()
  if not YIELDABLE[phase] then
    invalid("cannot call the Hub API in nginx's " .. phase .. " phase: nginx offers no "
      .. "non-blocking sockets there, and a blocking call would stall every request of the "
      .. "worker; call it from rewrite, access, content or a timer (ngx.timer.at also "
      .. "serves init_worker_by_lua), or create the client with nginx_blocking = true "
      .. "(meant for init_by_lua and the resty command line)")
  end
end

--- Checks what this transport cannot honour and returns its settings for
-- the client: where to connect and how to pool connections.
function cosocket.setup(handle, settings)
  if settings.ca_file then
    invalid("ca_file is not used inside nginx: nginx's sockets trust the certificates of "
      .. "`lua_ssl_trusted_certificate` in nginx.conf (with `lua_ssl_verify_depth`); put the "
      .. "bundle there, or create the client with nginx_blocking = true to use libcurl")
  end
  local https, host, port = handle:endpoint()
  local name = host:match("^%[(.*)%]$") or host
  local address = host
  if name:lower() == "localhost" then
    -- Loopback by definition (RFC 6761): no resolver needed for it.
    address = "127.0.0.1"
  end
  local pool = table.concat({ "supermetrics", https and "https" or "http", name, port }, ":")
  return {
    https = https,
    address = address,
    port = port,
    server_name = name,
    display = host .. ":" .. port,
    pool_options = { pool = pool, pool_size = settings.nginx_pool_size },
    pool_size = settings.nginx_pool_size,
    idle_ms = ceil(settings.nginx_idle_timeout * 1000),
    connect_ms = ceil(settings.connect_timeout * 1000),
  }
end

-- A reused connection that the server had closed: try again on another.
local STALE = {}

local function connect_failed(x, ep, err)
  if err == "timeout" then
    return x:fail("timeout", "connecting to " .. ep.display .. " timed out")
  end
  if err:find("no resolver defined", 1, true) then
    return x:fail("connect", "cannot resolve " .. ep.server_name .. ": nginx has no `resolver` "
      .. "directive (add one to nginx.conf, e.g. `resolver 127.0.0.53;` or your DNS server)")
  end
  x:fail("connect", "could not connect to " .. ep.display .. ": " .. err)
end

-- One request on one connection; fills x, or returns STALE.
local function exchange(client, ep, x, head, deadline)
  local left = ceil((deadline - monotonic()) * 1000)
  if left <= 0 then
    return x:fail("timeout", "the call's deadline passed before the request was sent")
  end
  local sock = ngx.socket.tcp()
  sock:settimeouts(min(ep.connect_ms, left), left, left)
  local ok, err = sock:connect(ep.address, ep.port, ep.pool_options)
  if not ok then
    return connect_failed(x, ep, err)
  end
  local reused = sock:getreusedtimes()
  if ep.https and reused == 0 then
    -- lua-resty-core 0.1.25 raises ("assertion failed!") instead of
    -- returning nil, err for some failed verifications: both are failures.
    local raised, session
    raised, session, err = pcall(sock.sslhandshake, sock, client._tls_session, ep.server_name, true)
    if not raised then
      session, err = nil, session
    end
    if not session then
      sock:close()
      if err == "timeout" then
        return x:fail("timeout", "the TLS handshake with " .. ep.display .. " timed out")
      end
      return x:fail("tls", "TLS handshake with " .. ep.display .. " failed: " .. tostring(err))
    end
    client._tls_session = session
  end
  ok, err = sock:send(head)
  if not ok then
    sock:close()
    if reused > 0 then
      return STALE
    end
    return x:fail(err == "timeout" and "timeout" or "connect", "sending the request failed: " .. err)
  end
  while true do
    local data
    data, err = sock:receiveany(65536)
    if data then
      if x:feed(data) then
        break
      end
      left = ceil((deadline - monotonic()) * 1000)
      if left <= 0 then
        err = "timeout"
      else
        sock:settimeout(left)
      end
    end
    if err then
      if reused > 0 and x:received() == 0 and err ~= "timeout" then
        sock:close()
        return STALE
      end
      if err == "closed" then
        x:eof()
      elseif err == "timeout" then
        x:fail("timeout", "no complete response within the call's deadline")
      else
        x:fail("connect", "reading the response failed: " .. err)
      end
      break
    end
  end
  if x:reusable() then
    sock:setkeepalive(ep.idle_ms, ep.pool_size)
  else
    sock:close()
  end
end

--- One attempt: body [, info] | nil, err (see client.lua, Client:_get).
function cosocket.attempt(client, route, deadline, credential, made, want_info)
  check_phase()
  local handle, ep = client._handle, client._endpoint
  local spare = client._exchanges
  local x = spare[#spare]
  if x then
    spare[#spare] = nil
  else
    x = handle:exchange()
  end
  -- A pooled connection the server closed while idle must not fail the
  -- call; nginx drops most of them itself, the rest (a close racing our
  -- request) show as nothing received. Each try takes one out of the pool,
  -- so the pool's size bounds the tries.
  local stale
  for _ = 0, ep.pool_size do
    local head, err = handle:request(route, deadline - monotonic(), credential, made, x)
    if not head then
      spare[#spare + 1] = x
      return nil, err
    end
    stale = exchange(client, ep, x, head, deadline) == STALE
    if not stale then
      break
    end
  end
  if stale then
    x:eof()
  end
  local body, info = handle:outcome(x, want_info)
  spare[#spare + 1] = x
  return body, info
end

--- Waits seconds without blocking the worker.
function cosocket.sleep(seconds)
  ngx.sleep(seconds)
end

--- get_connector_logs: `concurrency` light threads each take the next id
-- and make an ordinary call, so retries, the token_provider and
-- on_response work as for single calls.
function cosocket.batch(client, team_id, connector_identifier, log_ids, concurrency)
  check_phase()
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
  for t = 1, min(concurrency, n) do
    threads[t] = ngx.thread.spawn(worker)
  end
  for t = 1, #threads do
    local ok, err = ngx.thread.wait(threads[t])
    if not ok then
      for k = t + 1, #threads do
        ngx.thread.kill(threads[k])
      end
      error(err, 0)
    end
  end
  return entries, errs
end

return cosocket
