--- Internal: The nginx transport: calls inside OpenResty / nginx go through nginx's
-- own non-blocking sockets (`ngx.socket.tcp`), so a worker serves other
-- requests while one waits. Lua only moves bytes here: the C core writes
-- the request (`handle:request`) and reads the response
-- (`exchange:feed`, src/http1.c) into the same outcome as libcurl's
-- (`handle:outcome`). Connections are kept in nginx's pool, named by
-- scheme, host, port and server name (and the proxy); TLS trust is nginx's
-- `lua_ssl_trusted_certificate`, names are resolved by its `resolver`.
-- Through a proxy (client.lua picks it, `handle:proxy()`), a new connection
-- goes to the proxy, asks it for a tunnel (CONNECT, with the proxy's
-- credentials only) and talks TLS to the API inside it.
-- The interface is supermetrics.transport's.
-- @module supermetrics.transport.cosocket

local clock = require "supermetrics.clock"
local core = require "supermetrics.core"
local errors = require "supermetrics.errors"

local ngx = rawget(_G, "ngx")
local invalid = errors.invalid
local ceil, min = math.ceil, math.min
local tcp = ngx and ngx.socket and ngx.socket.tcp
local sleep = ngx and ngx.sleep
local get_phase = ngx and ngx.get_phase
local thread = ngx and ngx.thread or {}
local spawn, wait, kill = thread.spawn, thread.wait, thread.kill
local status = coroutine.status

local cosocket = {
  via = "nginx",
  clock = clock.nginx,
}

-- One client's state: its handle, where to connect (open), the response
-- readers not in use, the TLS session to resume, and its clock's
-- monotonic reading (the deadlines are on it).
local State = {}
State.__index = State

--- True in nginx's own Lua VM (a request, a timer, init_by_lua...), false
-- elsewhere.
function cosocket.available()
  return type(ngx) == "table" and type(ngx.sleep) == "function"
    and type(ngx.get_phase) == "function" and type(ngx.socket) == "table"
end

-- Phases where cosockets and ngx.sleep may be used.
local YIELDABLE = { rewrite = true, access = true, content = true, timer = true }

local function check_phase()
  local phase = get_phase()
  if not YIELDABLE[phase] then
    invalid("cannot call the Hub API in nginx's " .. phase .. " phase: nginx offers no "
      .. "non-blocking sockets there, and a blocking call would stall every request of the "
      .. "worker; call it from rewrite, access, content or a timer (ngx.timer.at also "
      .. "serves init_worker_by_lua), or create the client with nginx_blocking = true "
      .. "(meant for init_by_lua and the resty command line)")
  end
end

-- Where to connect for a host as a URL gives it: the address (localhost
-- is loopback by definition, RFC 6761: no resolver needed for it), and
-- whether nginx's resolver must look it up (not an address literal).
local function address_of(host)
  local name = host:match("^%[(.*)%]$") or host
  local address = name:lower() == "localhost" and "127.0.0.1" or name
  return address, not (address:match("^%d+%.%d+%.%d+%.%d+$") or address:find(":", 1, true)), name
end

-- Proxy credentials in pool names by a number, never by their value.
local auth_ids, auth_count = {}, 0

-- Checks what this transport cannot honour and returns its settings for
-- the client: where to connect and how to pool connections.
local function endpoint(handle, settings)
  if settings.ca_file then
    invalid("ca_file is not used inside nginx: nginx's sockets trust the certificates of "
      .. "`lua_ssl_trusted_certificate` in nginx.conf (with `lua_ssl_verify_depth`); put the "
      .. "bundle there, or create the client with nginx_blocking = true to use libcurl", "ca_file")
  end
  local https, host, port = handle:endpoint()
  local address, resolve, name = address_of(host)
  local pool = table.concat({ "supermetrics", https and "https" or "http", name, port }, ":")
  local display = host .. ":" .. port
  local connect_port, connect_display, lookup_name = port, display, name
  local tunnel
  local proxy_host, proxy_port, proxy_display, proxy_auth = handle:proxy()
  if proxy_host then
    -- A new connection goes to the proxy; the pool keeps tunnels, named
    -- by the proxy (and which credentials opened them) too.
    address, resolve, lookup_name = address_of(proxy_host)
    connect_port, connect_display = proxy_port, "the proxy " .. proxy_display
    pool = pool .. ":via:" .. proxy_display
    if proxy_auth then
      if not auth_ids[proxy_auth] then
        auth_count = auth_count + 1
        auth_ids[proxy_auth] = auth_count
      end
      pool = pool .. ":auth" .. auth_ids[proxy_auth]
    end
    local authority = host .. ":" .. port
    tunnel = {
      display = proxy_display,
      request = "CONNECT " .. authority .. " HTTP/1.1\r\nHost: " .. authority .. "\r\nUser-Agent: "
        .. settings.user_agent .. "\r\n"
        .. (proxy_auth and ("Proxy-Authorization: " .. proxy_auth .. "\r\n") or "") .. "\r\n",
    }
  end
  return {
    https = https,
    address = address,
    resolve = resolve,
    tunnel = tunnel,
    -- After an answer out of step: a connection from a pool nothing is
    -- ever kept in, so always a new one (closed after its one use).
    fresh_options = { pool = pool .. ":fresh" },
    port = connect_port,
    server_name = name,
    lookup_name = lookup_name,
    display = display,
    connect_display = connect_display,
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
    return x:fail("timeout", "connecting to " .. ep.connect_display .. " timed out")
  end
  if err:find("no resolver defined", 1, true) then
    return x:fail("connect", "cannot resolve " .. ep.lookup_name .. ": nginx has no `resolver` "
      .. "directive (add one to nginx.conf: `resolver local=on;` on OpenResty 1.19.3+, else "
      .. "`resolver ADDRESS;` with a nameserver of /etc/resolv.conf)")
  end
  x:fail("connect", "could not connect to " .. ep.connect_display .. ": " .. err)
end

-- Longest answer to a CONNECT read before giving up on the proxy.
local TUNNEL_HEAD_MAX = 16384

-- Asks the proxy on a new connection for a tunnel to the API; true once
-- it is open, else x says why (the socket is closed). The proxy's answer
-- is read to its blank line, within the connect timeout.
local function open_tunnel(state, sock, ep, x, deadline)
  local tunnel = ep.tunnel
  local ok, err = sock:send(tunnel.request)
  local head = ""
  while ok do
    local left = ceil((deadline - state.monotonic()) * 1000)
    if left <= 0 then
      err = "timeout"
      break
    end
    sock:settimeout(min(ep.connect_ms, left))
    local data
    data, err = sock:receiveany(TUNNEL_HEAD_MAX)
    if not data then
      break
    end
    head = head .. data
    local stop = head:find("\r\n\r\n", 1, true)
    if stop then
      local code = tonumber(head:match("^HTTP/1%.[01] (%d%d%d)[ \r]"))
      if not code then
        err = "it did not answer the CONNECT in HTTP"
      elseif code < 200 or code > 299 then
        sock:close()
        state.handle:refused(x, code)
        return false
      elseif stop + 3 < #head then
        err = "it sent bytes after its answer to the CONNECT"
      else
        return true
      end
      break
    elseif #head > TUNNEL_HEAD_MAX then
      err = "its answer to the CONNECT is longer than " .. TUNNEL_HEAD_MAX .. " bytes"
      break
    end
  end
  sock:close()
  if err == "timeout" then
    x:fail("timeout", "the proxy " .. tunnel.display .. " did not open the tunnel in time")
  else
    x:fail("connect", "the proxy " .. tunnel.display .. " did not open a tunnel: " .. tostring(err))
  end
  return false
end

-- Runs connect(sock, ...) in a light thread and gives up when ms pass:
-- nginx's resolver keeps to its own resolver_timeout (30 s by default),
-- not to the socket's timeouts, so a name lookup could outlast the call.
-- (The timer bounds real I/O: it sleeps in real time whatever the clock.)
-- Returns ok, err as connect does ("timeout" when the time ran out).
local function connect_within(sock, ep, options, ms)
  -- Light threads run Lua functions only: connect and sleep are C ones.
  local lookup = spawn(function()
    return sock:connect(ep.address, ep.port, options)
  end)
  local done, ok, err
  if status(lookup) == "dead" then -- a pooled connection: no lookup
    done, ok, err = wait(lookup)
  else
    local timer = spawn(function()
      sleep(ms / 1000)
    end)
    done, ok, err = wait(lookup, timer)
    if status(lookup) ~= "dead" then
      kill(lookup)
      sock:close()
      return nil, "timeout"
    end
    kill(timer)
  end
  if not done then
    return nil, tostring(ok) -- connect raised
  end
  if ok == nil and err == nil then -- the timer's result, both done at once
    return nil, "timeout"
  end
  return ok, err
end

-- Connects for one request; fresh: never a pooled connection.
local function connect(sock, ep, left, fresh)
  local options = fresh and ep.fresh_options or ep.pool_options
  if ep.resolve then
    return connect_within(sock, ep, options, left)
  end
  return sock:connect(ep.address, ep.port, options)
end

-- A TLS record holding an empty ClientHello: a TLS server answers it at
-- once with an alert; an HTTP server with "HTTP/1.x 400" (its first byte is
-- no method). A plain HTTP request would not tell: nginx and others answer
-- one on a TLS port with a 400 too.
local TLS_PROBE = "\22\3\1\0\4\1\0\0\0"

-- After a failed TLS handshake: whether the port speaks plain HTTP. nginx
-- tells Lua only "handshake failed" (the reason goes to its error log),
-- where libcurl says "wrong version number"; one probe on a connection of
-- its own, without the credential, tells the two apart.
local function speaks_plain_http(state, ep, deadline)
  local left = ceil((deadline - state.monotonic()) * 1000)
  if left <= 0 then
    return false
  end
  left = min(left, 1000)
  local probe = tcp()
  probe:settimeouts(min(left, ep.connect_ms), left, left)
  local ok = connect(probe, ep, min(left, ep.connect_ms), true)
  local head = ok and probe:send(TLS_PROBE) and probe:receive(5)
  probe:close()
  return head == "HTTP/"
end

-- One request on one connection; fills x and returns the socket while the
-- connection may carry another request (the caller keeps or closes it once
-- it knows the answer was this request's), or STALE. left: the seconds
-- the call had left when the request was written (the attempt's one clock
-- reading).
local function round_trip(state, ep, x, head, deadline, fresh, left)
  left = ceil(left * 1000)
  if left <= 0 then
    return x:fail("timeout", "the call's deadline passed before the request was sent")
  end
  local sock = tcp()
  local connect_ms = min(ep.connect_ms, left)
  sock:settimeouts(connect_ms, left, left)
  local ok, err
  if ep.resolve then
    ok, err = connect(sock, ep, connect_ms, fresh)
  else -- connect's common case, without the extra call
    ok, err = sock:connect(ep.address, ep.port, fresh and ep.fresh_options or ep.pool_options)
  end
  if not ok then
    if err == "timeout" and ep.resolve then
      return x:fail("timeout", "connecting to " .. ep.connect_display .. " (name lookup included) did "
        .. "not finish in time (connect_timeout or the call's deadline)")
    end
    return connect_failed(x, ep, err)
  end
  local reused = sock:getreusedtimes()
  if ep.tunnel and reused == 0 then
    if not open_tunnel(state, sock, ep, x, deadline) then
      return
    end
    left = ceil((deadline - state.monotonic()) * 1000)
    if left <= 0 then
      sock:close()
      return x:fail("timeout", "the call's deadline passed before the request was sent")
    end
    sock:settimeouts(min(ep.connect_ms, left), left, left)
  end
  if ep.https and reused == 0 then
    -- lua-resty-core 0.1.25 raises ("assertion failed!") instead of
    -- returning nil, err for some failed verifications: both are failures.
    local raised, session
    raised, session, err = pcall(sock.sslhandshake, sock, state.tls_session, ep.server_name, true)
    if not raised then
      session, err = nil, session
    end
    if not session then
      sock:close()
      if err == "timeout" then
        return x:fail("timeout", "the TLS handshake with " .. ep.display .. " timed out")
      end
      -- (Through a tunnel the probe would reach the proxy, not the API.)
      if not ep.tunnel and speaks_plain_http(state, ep, deadline) then
        err = core.NO_TLS_WORDS
      end
      return x:fail("tls", "TLS handshake with " .. ep.display .. " failed: " .. tostring(err))
    end
    state.tls_session = session
  end
  ok, err = sock:send(head)
  if not ok then
    sock:close()
    if reused > 0 then
      return STALE
    end
    return x:fail(err == "timeout" and "timeout" or "connect", "sending the request failed: " .. err)
  end
  -- Whether the connection may carry another request; only a feed that
  -- completes the response says yes.
  local reusable = false
  while true do
    local data
    data, err = sock:receiveany(65536)
    if data then
      local done
      done, reusable = x:feed(data)
      if done then
        break
      end
      left = ceil((deadline - state.monotonic()) * 1000)
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
  if reusable and not fresh then
    return sock
  end
  sock:close()
end

-- Back to the pool, or closed when nginx will not keep it (bytes left
-- unread, a pool in a bad state): a socket left open would hold its
-- connection until garbage collection.
local function release(sock, ep)
  if not sock:setkeepalive(ep.idle_ms, ep.pool_size) then
    sock:close()
  end
end

-- The request on a connection, a pooled one that the server had closed
-- while idle not failing the call: nginx drops most of them itself, the
-- rest (a close racing our request) show as nothing received. Each try
-- takes one out of the pool, so the pool's size bounds the tries; tried:
-- how many were made already (get_log's first). Returns the socket to
-- keep, if any.
local function send_request(state, ep, x, route, deadline, credential, made, fresh, block, tried)
  for _ = tried or 0, ep.pool_size do
    -- The attempt's one clock reading, for the C side and for the socket.
    local left = deadline - state.monotonic()
    local head, err = state.handle:request(route, left, credential, made, nil, block, x)
    if not head then
      return nil, err
    end
    local sock = round_trip(state, ep, x, head, deadline, fresh, left)
    if sock ~= STALE then
      return sock
    end
  end
  x:eof()
end

-- Once the answer is known: the connection back to the pool, or closed
-- when the answer was another request's.
local function settle(sock, ep, out_of_step)
  if out_of_step then
    sock:close()
  else
    release(sock, ep)
  end
end

-- The request and its outcome: body, info [, out_of_step] | nil, err
-- (handle:outcome); the connection kept or closed once the answer is known
-- to be this request's. fresh: on a new connection, after an answer out of
-- step (closed after its one use).
local function request_outcome(state, x, route, deadline, credential, made, want_info, fresh, block)
  local ep = state.endpoint
  local sock, refused = send_request(state, ep, x, route, deadline, credential, made, fresh, block)
  if refused then
    return nil, refused
  end
  local body, info, out_of_step = state.handle:outcome(x, want_info, fresh)
  if sock then
    settle(sock, ep, out_of_step)
  end
  return body, info, out_of_step
end

--- The state of a client; raises INVALID_ARGUMENT for an option nginx's
-- sockets cannot honour.
function cosocket.open(handle, settings, clk)
  return setmetatable({
    handle = handle,
    endpoint = endpoint(handle, settings),
    exchanges = {}, -- spare response readers (see State:attempt)
    tls_session = nil, -- the last handshake's, offered to the next one
    monotonic = clk.monotonic,
  }, State)
end

--- One attempt: body [, info] | nil, err.
-- block: the extra header lines, or nil.
function State:attempt(route, deadline, credential, made, want_info, block)
  check_phase()
  local spare = self.exchanges
  local x = spare[#spare]
  if x then
    spare[#spare] = nil
  else
    x = self.handle:exchange()
  end
  local body, info, out_of_step = request_outcome(self, x, route, deadline, credential, made, want_info,
    nil, block)
  if out_of_step then
    -- The answer was another request's: that connection was out of step
    -- (a server or proxy wrote one response too many) and is closed. Ask
    -- once more on a fresh connection, uncounted.
    body, info = request_outcome(self, x, route, deadline, credential, made, want_info, true, block)
  end
  spare[#spare + 1] = x
  return body, info
end

--- The common call's first attempt (client.lua's fast path): entry | nil,
-- err, route. The request is written without a route (log_request); one
-- is made only when the call goes on (a retry, a resend, more tries after
-- a dead pooled connection). timeout: the seconds left of deadline, read
-- from the clock with it (the attempt's one reading); raw: the body's
-- text, checked (get_connector_log_json).
function State:get_log(team_id, connector_identifier, log_id, timeout, deadline, raw)
  local handle, spare = self.handle, self.exchanges
  local n = #spare
  local x = spare[n] or handle:exchange()
  -- The ids are checked first (INVALID_ARGUMENT), as everywhere else; x
  -- stays a spare until the request is made.
  local head, err = handle:log_request(x, team_id, connector_identifier, log_id, timeout, raw)
  check_phase()
  if not head then
    return nil, err, x:route()
  end
  spare[n] = nil
  local ep = self.endpoint
  local route
  -- send_request's first try, with the request already written.
  local sock = round_trip(self, ep, x, head, deadline, nil, timeout)
  if sock == STALE then
    route = x:route()
    sock, err = send_request(self, ep, x, route, deadline, nil, 0, nil, nil, 1)
    if err then
      spare[#spare + 1] = x
      return nil, err, route
    end
  end
  local body, info, out_of_step = handle:outcome(x, false, nil)
  if sock then
    settle(sock, ep, out_of_step)
  end
  if out_of_step then
    -- As in State:attempt.
    route = route or x:route()
    body, info = request_outcome(self, x, route, deadline, nil, 0, false, true, nil)
  end
  if not body then
    route = route or x:route()
  end
  spare[#spare + 1] = x
  return body, info, route
end

--- get_connector_logs: `concurrency` light threads each take the next id
-- and make an ordinary call (b.fetch), so retries, the token_provider and
-- on_response work as for single calls, each with the batch's extra
-- headers.
function State.batch(_, b)
  check_phase()
  local entries, errs = {}, {}
  local log_ids, fetch = b.log_ids, b.fetch
  local n, next_item = #log_ids, 1
  local function worker()
    while next_item <= n do
      local i = next_item
      next_item = i + 1
      local ok, res = pcall(fetch, log_ids[i])
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
  for t = 1, min(b.concurrency, n) do
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
