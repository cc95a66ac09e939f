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
-- Real time, for the timers that bound real I/O (a name lookup); the
-- deadlines are on the client's clock (state.monotonic).
local monotonic = core.monotonic
local invalid = errors.invalid
local ceil, min = math.ceil, math.min
local tcp = ngx and ngx.socket and ngx.socket.tcp
local sleep = ngx and ngx.sleep
local get_phase = ngx and ngx.get_phase
local thread = ngx and ngx.thread or {}
local spawn, wait, kill = thread.spawn, thread.wait, thread.kill
-- Inside nginx, lua-nginx-module's own coroutine.status: it knows light
-- threads, and names a killed one "dead" at once.
local status, running = coroutine.status, coroutine.running
local unpack = table.unpack or unpack

local cosocket = {
  via = "nginx",
  clock = clock.nginx,
}

-- One client's state: its handle, where to connect (open), the response
-- readers not in use, and the TLS session to resume.
local State = {}
State.__index = State

--- True in nginx's own Lua VM (a request, a timer, init_by_lua...), false
-- elsewhere.
function cosocket.available()
  return type(ngx) == "table" and type(ngx.sleep) == "function"
    and type(ngx.get_phase) == "function" and type(ngx.socket) == "table"
end

-- Phases where lua-nginx-module (0.10.23, Debian 12's, and later) gives
-- cosockets, ngx.sleep and light threads (its NGX_HTTP_LUA_CONTEXT_YIELDABLE),
-- as ngx.get_phase names them. (server_rewrite_by_lua* came in 0.10.22,
-- ssl_client_hello_by_lua* in 0.10.21.)
local YIELDABLE = {
  rewrite = true, server_rewrite = true, access = true, content = true, timer = true,
  ssl_cert = true, ssl_client_hello = true, ssl_session_fetch = true,
}

-- For the other phases: what to do there instead.
local ELSEWHERE = {
  init = "make the client there if you like (it holds no connection) and call it from a request "
    .. "handler or a timer; or, to call the API while nginx starts, create that client with "
    .. "nginx_blocking = true",
  init_worker = "start a timer there (ngx.timer.at(0, f)) and call from it",
  set = "call from rewrite_by_lua* or access_by_lua* and pass the result on in ngx.ctx or a variable",
  header_filter = "call from access_by_lua* or content_by_lua*, before the response starts, and keep "
    .. "what the filter needs in ngx.ctx",
  body_filter = "call from access_by_lua* or content_by_lua*, before the response starts, and keep "
    .. "what the filter needs in ngx.ctx",
  log = "start a timer there (ngx.timer.at(0, f)) and call from it",
  balancer = "call from access_by_lua* and keep what balancer_by_lua* needs in ngx.ctx",
  ssl_session_store = "start a timer there (ngx.timer.at(0, f)) and call from it",
  exit_worker = "the worker is stopping: make the call before, from a request handler or a timer",
}

local function check_phase()
  local phase = get_phase()
  if not YIELDABLE[phase] then
    invalid("cannot call the Hub API in nginx's " .. phase .. " phase: nginx offers no "
      .. "non-blocking sockets there, and a blocking call would stall every request of the "
      .. "worker; " .. (ELSEWHERE[phase] or "call from another phase") .. ". Calls work in "
      .. "rewrite, server_rewrite, access and content handlers, in ssl_certificate, "
      .. "ssl_client_hello and ssl_session_fetch handlers, and in timers")
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

-- What nginx's connect says when it could not open a connection at all:
-- the errno that nginx picks up then is a leftover of an earlier system
-- call, never a reason of connect()'s own. The common cause is a worker
-- with every one of its worker_connections in use (nginx's error log then
-- says "worker_connections are not enough"; Lua is told nothing more).
local NO_CONNECTION = {
  ["operation now in progress"] = true, -- EINPROGRESS: a connect before
  ["operation already in progress"] = true,
  ["resource temporarily unavailable"] = true, -- EAGAIN: a read before
  ["interrupted system call"] = true,
  ["no such file or directory"] = true,
  ["error"] = true, -- no errno at all
}
-- Out of file descriptors: socket() itself failed.
local NO_DESCRIPTOR = { ["too many open files"] = true, ["too many open files in system"] = true }

local function connect_failed(x, ep, err)
  if err == "timeout" then
    return x:fail("timeout", "connecting to " .. ep.connect_display .. " timed out")
  end
  if err:find("no resolver defined", 1, true) then
    return x:fail("connect", "cannot resolve " .. ep.lookup_name .. ": nginx has no `resolver` "
      .. "directive (add one to nginx.conf: `resolver local=on;` on OpenResty 1.19.3+, else "
      .. "`resolver ADDRESS;` with a nameserver of /etc/resolv.conf)")
  end
  if NO_CONNECTION[err] then
    -- (x:fail keeps 255 bytes: the cause first.)
    return x:fail("connect", "could not connect to " .. ep.connect_display .. ": no free connection in "
      .. "this nginx worker (worker_connections all in use? its error log then says \"worker_connections "
      .. "are not enough\"; raise it or make fewer calls at once) [" .. err .. "]")
  end
  if NO_DESCRIPTOR[err] then
    return x:fail("connect", "could not connect to " .. ep.connect_display .. ": no free file descriptor "
      .. "in this nginx worker (" .. err .. "): raise worker_rlimit_nofile (and ulimit -n), or make "
      .. "fewer calls at once")
  end
  x:fail("connect", "could not connect to " .. ep.connect_display .. ": " .. err)
end

-- Longest answer to a CONNECT read before giving up on the proxy.
local TUNNEL_HEAD_MAX = 16384

-- Asks the proxy on a new connection for a tunnel to the API; true once
-- it is open, else x says why (the socket is closed). The proxy's answer
-- is read to its blank line by connect_by (the connection's start plus
-- connect_timeout: as libcurl, whose connect timeout covers the tunnel)
-- and within the call's deadline, whichever comes first.
local function open_tunnel(state, sock, ep, x, deadline, connect_by)
  local tunnel = ep.tunnel
  local ok, err = sock:send(tunnel.request)
  local head = ""
  local by = min(deadline, connect_by)
  while ok do
    local left = ceil((by - state.monotonic()) * 1000)
    if left <= 0 then
      err = "timeout"
      break
    end
    sock:settimeout(left)
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
    x:fail("timeout", "the proxy " .. tunnel.display .. " did not open the tunnel in time ("
      .. (connect_by <= deadline and "connect_timeout" or "the call's deadline") .. ")")
  else
    x:fail("connect", "the proxy " .. tunnel.display .. " did not open a tunnel: " .. tostring(err))
  end
  return false
end

-- Cancellation. ngx.thread.kill ends the light thread it is given, and its
-- pending socket operation or sleep with it, but not the light threads
-- that thread spawned: those run on, holding the request, and only their
-- own parent may kill them (lua-nginx-module 0.10.23, uthread.c). So a
-- helper that does what a call cannot stop itself (a name lookup, a
-- batch's items) runs as the child of a watcher thread that the call
-- spawns, and the watcher looks every POLL seconds whether the call still
-- lives: once the call's thread is killed (coroutine.status names it
-- "dead" at once), the watcher kills the helpers and ends, within one
-- POLL. What the call does in its own thread (connect, TLS, send, read,
-- the waits between attempts and polls) ends with the kill itself.
local POLL = 0.05

-- The coroutine whose end also ends another's work: a batch item's thread
-- works for the batch's caller. Weak keys: an entry goes with its thread.
local owners = setmetatable({}, { __mode = "k" })

-- Whether the call that coroutine co works for was given up: co, or one it
-- works for, was killed. (A call waiting on its helpers is never "dead".)
local function abandoned(co)
  while co do
    if status(co) == "dead" then
      return true
    end
    co = owners[co]
  end
  return false
end

-- Light threads run Lua functions only: connect and sleep are C ones.
local function connect_thread(sock, ep, options)
  return sock:connect(ep.address, ep.port, options)
end

local function sleep_thread(seconds)
  sleep(seconds)
end

-- The watcher of a name lookup, the child of the call's thread (caller):
-- runs connect in a thread of its own and gives up when ms pass or the
-- call is killed. Returns ok, err as connect does ("timeout" when the
-- time ran out).
local function watch_connect(caller, sock, ep, options, ms)
  local lookup = spawn(connect_thread, sock, ep, options)
  local deadline, done, ok, err
  while true do
    if status(lookup) == "zombie" then -- it ended (a pooled connection: at once)
      done, ok, err = wait(lookup)
      break
    end
    deadline = deadline or monotonic() + ms / 1000
    local left = deadline - monotonic()
    if left <= 0 or abandoned(caller) then
      kill(lookup)
      sock:close()
      return nil, "timeout"
    end
    local tick = spawn(sleep_thread, min(POLL, left))
    done, ok, err = wait(lookup, tick)
    if status(lookup) == "dead" then -- the lookup's result, not the tick's
      kill(tick)
      if ok and abandoned(caller) then -- connected, for nobody
        sock:close()
        return nil, "timeout"
      end
      break
    end
  end
  if not done then
    return nil, tostring(ok) -- connect raised
  end
  return ok, err
end

-- Connects with a name lookup, given up when ms pass: nginx's resolver
-- keeps to its own resolver_timeout (30 s by default), not to the socket's
-- timeouts, so a lookup could outlast the call.
local function connect_within(sock, ep, options, ms)
  local done, ok, err = wait(spawn(watch_connect, running(), sock, ep, options, ms))
  if not done then
    return nil, tostring(ok)
  end
  return ok, err
end

-- Runs the light threads (children of the running thread, which the call
-- in caller spawned) to their end, and kills those still running as soon
-- as stop() says so or the call is killed: looked at as each ends and
-- every POLL seconds. Returns true when the call was killed.
local function supervise(threads, caller, stop)
  while true do
    local live = 0
    for i = 1, #threads do
      local t = threads[i]
      local state = status(t)
      if state == "zombie" then
        wait(t)
      elseif state ~= "dead" then
        live = live + 1
        threads[live] = t
      end
    end
    for i = #threads, live + 1, -1 do
      threads[i] = nil
    end
    local given_up = abandoned(caller)
    if live == 0 or given_up or stop() then
      for i = 1, live do
        kill(threads[i])
      end
      return given_up
    end
    local tick = spawn(sleep_thread, POLL)
    wait(tick, unpack(threads))
    kill(tick) -- still asleep, or ended with another: either way done
  end
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

-- The TLS version a handshake settled on (0x0303: TLS 1.2), read from the
-- session that sslhandshake returns (lua-resty-core gives it as a cdata
-- SSL_SESSION pointer) with OpenSSL's SSL_SESSION_get_protocol_version,
-- which nginx's process has loaded: LuaJIT's FFI reaches it. nil where it
-- cannot be seen (no FFI, OpenSSL older than 1.1.0 or linked without its
-- symbols, no session).
local TLS_FLOOR = 0x0303
local tls_version = function() return nil end
if ngx then
  local has_ffi, ffi = pcall(require, "ffi")
  if has_ffi then
    -- (Declared already by another library: its declaration serves.)
    pcall(ffi.cdef, "int SSL_SESSION_get_protocol_version(const void *session);")
    local found, get = pcall(function() return ffi.C.SSL_SESSION_get_protocol_version end)
    if found then
      tls_version = function(session)
        if type(session) ~= "cdata" or session == nil then
          return nil
        end
        local ok, version = pcall(get, session)
        return ok and tonumber(version) or nil
      end
    end
  end
end

local function tls_name(version)
  if version < 0x0301 then
    return "SSL " .. (version == 0x0300 and "3.0" or string.format("0x%04x", version))
  end
  return "TLS 1." .. (version - 0x0301)
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
    -- The connection started when the attempt read the clock (left):
    -- connecting and the tunnel get connect_timeout from then.
    if not open_tunnel(state, sock, ep, x, deadline, deadline - (left - connect_ms) / 1000) then
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
    local version = tls_version(session)
    if version and version < TLS_FLOOR then
      -- nginx's lua_ssl_protocols allowed it: refused before a byte of
      -- the request (and so the credential) goes out.
      sock:close()
      return x:fail("tls", "TLS handshake with " .. ep.display .. " settled on " .. tls_name(version)
        .. ", below TLS 1.2, the least this library accepts; nothing was sent. Set "
        .. "`lua_ssl_protocols TLSv1.2 TLSv1.3;` in nginx.conf")
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

-- The one path of an attempt on cosockets, for every call: x was readied
-- for it and head holds its request bytes (handle:request, or for the
-- common call's first attempt handle:log_request); left: the seconds the
-- call had left when they were written (the attempt's one clock reading).
-- The bytes go out on a connection, a pooled one that the server had
-- closed while idle not failing the call (nginx drops most of them itself,
-- the rest show as nothing received): each try takes one out of the pool,
-- so the pool's size bounds the tries. Then handle:outcome; the connection
-- goes back to the pool only once the answer is known to be this
-- request's. When it was another request's, handle:outcome says so (again,
-- the one place that decides it): the same bytes once more on a fresh
-- connection (closed after its one use), uncounted. Returns handle:outcome's
-- values: body [, info] | nil, err [, route].
local function exchange(state, x, head, deadline, left)
  local ep = state.endpoint
  local sock = round_trip(state, ep, x, head, deadline, false, left)
  if sock == STALE then
    for _ = 1, ep.pool_size do
      sock = round_trip(state, ep, x, head, deadline, false, deadline - state.monotonic())
      if sock ~= STALE then
        break
      end
    end
    if sock == STALE then
      sock = nil
      x:eof()
    end
  end
  local body, info, route, again = state.handle:outcome(x)
  if sock then
    if again then
      sock:close()
    else
      release(sock, ep)
    end
  end
  if again then
    round_trip(state, ep, x, head, deadline, true, deadline - state.monotonic())
    return state.handle:outcome(x)
  end
  return body, info, route
end

--- The state of a client; raises INVALID_ARGUMENT for an option nginx's
-- sockets cannot honour.
function cosocket.open(handle, settings, clk)
  return setmetatable({
    handle = handle,
    endpoint = endpoint(handle, settings),
    exchanges = {}, -- spare response readers (see State:attempt)
    tls_session = nil, -- the last handshake's, offered to the next one
    monotonic = clk.monotonic, -- the client's clock: the deadlines are on it
  }, State)
end

--- One attempt: body [, info] | nil, err (exchange).
-- header_lines: the extra header lines, or nil.
function State:attempt(route, deadline, credential, made, want_info, header_lines)
  check_phase()
  local handle, spare = self.handle, self.exchanges
  local x = spare[#spare]
  if x then
    spare[#spare] = nil
  else
    x = handle:exchange()
  end
  local left = deadline - self.monotonic()
  local head, err = handle:request(route, left, credential, made, want_info, header_lines, x)
  local body, info = nil, err
  if head then
    body, info = exchange(self, x, head, deadline, left)
  end
  spare[#spare + 1] = x
  return body, info
end

--- The common call's first attempt (client.lua's fast path): entry | nil,
-- err, route. The request is written without a route (log_request); a
-- failure returns one (handle:log_request's refusal, handle:outcome), for
-- the retry loop. timeout: the seconds left of deadline, read from the
-- clock with it (the attempt's one reading); raw: the body's text, checked
-- (get_connector_log_json).
function State:get_log(team_id, connector_identifier, log_id, timeout, deadline, raw)
  local handle, spare = self.handle, self.exchanges
  local n = #spare
  local x = spare[n] or handle:exchange()
  -- The ids are checked first (INVALID_ARGUMENT), as everywhere else; x
  -- stays a spare until the request is made.
  local head, err, route = handle:log_request(x, team_id, connector_identifier, log_id, timeout, raw)
  check_phase()
  if not head then
    return nil, err, route
  end
  spare[n] = nil
  local body, info
  body, info, route = exchange(self, x, head, deadline, timeout)
  spare[#spare + 1] = x
  return body, info, route
end

-- The batch's own thread, the child of the call's (caller): spawns the
-- item threads and supervises them. Returns entries, errs, and whether an
-- item raised something other than a supermetrics.Error, and what.
local function run_batch(caller, b)
  local entries, errs = {}, {}
  local log_ids, fetch = b.log_ids, b.fetch
  local n, next_item = #log_ids, 1
  local raised, failure = false, nil
  local function worker()
    while next_item <= n and not raised do
      local i = next_item
      next_item = i + 1
      local ok, res = pcall(fetch, log_ids[i])
      if ok then
        entries[i] = res
      elseif getmetatable(res) == core.Error then
        errs[i] = res
      else
        raised, failure = true, res
      end
    end
  end
  local threads = {}
  for t = 1, min(b.concurrency, n) do
    local co = spawn(worker)
    owners[co] = caller
    threads[t] = co
  end
  supervise(threads, caller, function() return raised end)
  return entries, errs, raised, failure
end

--- get_connector_logs: `concurrency` light threads each take the next id
-- and make an ordinary call (b.fetch), so retries, the token_provider and
-- on_response work as for single calls, each with the batch's extra
-- headers. They run under a thread of the batch's own, which kills them
-- when the caller's thread is killed (see POLL).
function State.batch(_, b)
  check_phase()
  if #b.log_ids == 0 then
    return {}, {}
  end
  local done, entries, errs, raised, failure = wait(spawn(run_batch, running(), b))
  if not done then
    error(entries, 0)
  end
  if raised then
    error(failure, 0)
  end
  return entries, errs
end

--- For clients made with nginx_blocking = true inside nginx: the libcurl
-- transport, whose calls block the worker. Used from a request handler,
-- that stalls every request the worker serves, so the first such call in
-- a worker is named in nginx's error log (once: a log line per call would
-- flood it).
local REQUEST_PHASES = {
  set = true, rewrite = true, server_rewrite = true, access = true, content = true,
  header_filter = true, body_filter = true, log = true, balancer = true, ssl_cert = true,
  ssl_client_hello = true, ssl_session_fetch = true, ssl_session_store = true,
}
local warned = false

local function warn_blocking()
  local phase = get_phase()
  if REQUEST_PHASES[phase] then
    warned = true
    ngx.log(ngx.WARN, "supermetrics: a client made with nginx_blocking = true was called in nginx's ",
      phase, " phase: each of its calls blocks this worker, and every request the worker serves ",
      "waits, for up to the call's timeout; in request handlers use a client without ",
      "nginx_blocking (it is meant for init_by_lua and the resty command line). Said once per worker.")
  end
end

function cosocket.blocking(transport)
  return {
    via = transport.via,
    clock = transport.clock,
    open = function(handle, settings, clk)
      local state = transport.open(handle, settings, clk)
      for _, name in ipairs { "attempt", "get_log", "batch" } do
        local method = state[name]
        if method then
          state[name] = function(...)
            if not warned then
              warn_blocking()
            end
            return method(...)
          end
        end
      end
      return state
    end,
  }
end

return cosocket
