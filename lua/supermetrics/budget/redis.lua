--- Internal: The rate budget in Redis (`budget = { redis = "redis://[:password@]host:port[/db]" }`):
-- one window per key shared by every process and machine that names the
-- same Redis. The window is a hash `supermetrics:budget:<key>` (key: the
-- digest of the credential and base URL, never the credential) with the
-- fields of supermetrics.budget.memory's state; one server-side script
-- (SCRIPT below) reads and changes it atomically, on Redis's own clock, run
-- with EVALSHA and, when Redis answers NOSCRIPT (after a restart), EVAL.
--
-- The bytes are hiredis's (core.redis_command, core.redis_reader); they go
-- over nginx's cosockets inside nginx (never blocking a worker, connections
-- kept in nginx's pool) and over the C core's own blocking connection
-- elsewhere (one per store, kept open). Every operation has the store's
-- `timeout` (0.2 s by default), never more than the call has left. A
-- failure (refused, timed out, an error reply) returns nil and why, and
-- the store rests a while (1 s, doubling up to 8 s) before it is asked
-- again: meanwhile callers use their process's own budget (budget.lua).
--
-- Asking Redis before every request would cost a round trip each. Instead
-- each process (each nginx worker) also SUBSCRIBEs to CHANNEL, where the
-- script announces every window it changes: once Redis has answered that a
-- window holds nothing (never closed, no count of requests left), calls of
-- that key go without asking while the subscription stands and no
-- announcement names the window (Store:known_open); an announcement, or a
-- new subscription, makes the next call ask again. Anything known (a
-- closed window, a count to take from, a probe) is asked, atomically; a
-- closed window's end, once asked, is kept here (no more asking until
-- then). Outside nginx the subscription is a second
-- connection, read without waiting before each call (PING after a second
-- of silence: a Redis that stopped answering is noticed); inside nginx a
-- timer per worker reads it (PING every second).
-- @module supermetrics.budget.redis

local core = require "supermetrics.core"
local memory = require "supermetrics.budget.memory"

local monotonic = core.monotonic
local command, new_reader = core.redis_command, core.redis_reader
local ceil, min = math.ceil, math.min
local unpack = table.unpack or unpack
local ngx = rawget(_G, "ngx")

local redis_store = {}

-- The one script (its SHA-1 below; tests/spec/40-budget_spec.lua checks
-- the two agree). ARGV[1]: "a" admit (ARGV[2]: the probe's lease in ms)
-- -> {verdict, ms, limit, remaining}; "l" learn (status, Retry-After ms,
-- limit, remaining, probe "1"/"0"; -1 for none) -> 1, and PUBLISHes the
-- window's Redis key on CHANNEL; "r" read -> {ms until the window reopens,
-- limit, remaining}. -1: unknown.
redis_store.SCRIPT = [[
-- lua-supermetrics rate budget 1 (lua/supermetrics/budget/redis.lua)
local k, op = KEYS[1], ARGV[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = redis.call('HMGET', k, 'c', 'l', 'r', 'p')
local c, l, r, p = tonumber(h[1]), tonumber(h[2]), tonumber(h[3]), tonumber(h[4])
if c and c <= now then
  redis.call('HDEL', k, 'c', 'r', 'p')
  c, r, p = nil, nil, nil
end
if p and p <= now then
  redis.call('HDEL', k, 'p')
  p = nil
end
local function keep()
  local ttl = 3600000
  if c and c - now + 60000 > ttl then ttl = c - now + 60000 end
  redis.call('PEXPIRE', k, ttl)
end
if op == 'a' then
  if c then return {1, c - now, l or -1, -1} end
  if not r then return {0, 0, l or -1, -1} end
  if r > 0 then return {0, 0, l or -1, redis.call('HINCRBY', k, 'r', -1)} end
  if p then return {2, p - now, l or -1, 0} end
  redis.call('HSET', k, 'p', now + tonumber(ARGV[2]))
  keep()
  return {3, 0, l or -1, 0}
elseif op == 'l' then
  local status, ra, lim, rem = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
  local probe = ARGV[6] == '1'
  if lim >= 0 then redis.call('HSET', k, 'l', lim) end
  if status == 429 then
    if ra > 0 then
      c = now + ra
      redis.call('HSET', k, 'c', c)
    end
    redis.call('HSET', k, 'r', 0)
    redis.call('HDEL', k, 'p')
  elseif status > 0 then
    if rem >= 0 then
      if probe or not r or r <= 0 then
        redis.call('HSET', k, 'r', rem)
      elseif rem < r then
        redis.call('HINCRBY', k, 'r', rem - r)
      end
    elseif probe or (r and r <= 0) then
      redis.call('HDEL', k, 'r')
    end
    if probe then redis.call('HDEL', k, 'p') end
  elseif probe then
    redis.call('HDEL', k, 'p')
  end
  keep()
  redis.call('PUBLISH', 'supermetrics:budget', k)
  return 1
end
return {c and c - now or -1, l or -1, r or -1}
]]
redis_store.SHA = "8d70fc8a5b83e4423740708485b9a4a9b8071489"

redis_store.KEY_PREFIX = "supermetrics:budget:"
-- Where the script announces each window it changed (see Store:subscribed).
redis_store.CHANNEL = "supermetrics:budget"
redis_store.DEFAULT_TIMEOUT = 0.2

-- After a failure the store rests this long, doubling up to REST_MAX.
local REST_MIN, REST_MAX = 1, 8
-- The most bytes of replies read for one operation.
local REPLY_MAX = 65536
-- Idle connections kept in nginx's pool per worker, and for how long.
local POOL_SIZE, IDLE_MS = 32, 60000
-- nginx's phases with cosockets.
local YIELDABLE = { rewrite = true, access = true, content = true, timer = true }

--- Reads redis://[user][:password@]host[:port][/db]; returns the parts
-- ({ host =, port =, db =, user =, password =, display = }: display is the
-- URL without the password), or nil and what is wrong (never the password).
function redis_store.parse(url)
  if type(url) ~= "string" then
    return nil, "must be a string, redis://[:password@]host:port[/db]"
  end
  local rest = url:match("^[Rr][Ee][Dd][Ii][Ss]://(.*)$")
  if not rest then
    return nil, "must start with redis:// (redis://[:password@]host:port[/db])"
  end
  local user, password
  local at = rest:find("@[^@]*$")
  if at then
    local auth = rest:sub(1, at - 1)
    rest = rest:sub(at + 1)
    local colon = auth:find(":", 1, true)
    if colon then
      user, password = auth:sub(1, colon - 1), auth:sub(colon + 1)
    else
      user, password = "", auth
    end
    password = password:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
    if user == "" then
      user = nil
    end
    if password == "" then
      return nil, "has an empty password"
    end
  end
  local hostport, db = rest:match("^([^/]*)/?(.*)$")
  local host, port = hostport:match("^(%[[%x:.]+%]):?(%d*)$")
  if not host then
    host, port = hostport:match("^([%w._-]+):?(%d*)$")
  end
  if not host then
    return nil, "has no host (redis://[:password@]host:port[/db])"
  end
  port = port == "" and 6379 or tonumber(port)
  if port < 1 or port > 65535 then
    return nil, "has a port out of range"
  end
  if db == "" then
    db = 0
  elseif db:match("^%d+$") and #db <= 9 then
    db = tonumber(db)
  else
    return nil, "has a database that is not a number"
  end
  return {
    host = host, port = port, db = db, user = user, password = password,
    display = "redis://" .. host .. ":" .. port .. "/" .. db,
  }
end

local Store = {}
Store.__index = Store

-- The commands a new connection sends before its first operation.
local function hello(url)
  local out, n = {}, 0
  if url.password then
    if url.user then
      out[#out + 1] = command("AUTH", url.user, url.password)
    else
      out[#out + 1] = command("AUTH", url.password)
    end
    n = n + 1
  end
  if url.db ~= 0 then
    out[#out + 1] = command("SELECT", url.db)
    n = n + 1
  end
  return table.concat(out), n
end

-- Stores by URL and timeout, one per process: they keep its connection
-- (outside nginx) and its rest after a failure.
local stores = {}
local auth_ids, auth_count = {}, 0

--- The store of a checked budget option ({ url = parsed, timeout = }).
function redis_store.new(url, timeout)
  local id = url.display .. "\0" .. tostring(url.user) .. "\0" .. tostring(url.password) .. "\0" .. timeout
  local s = stores[id]
  if s then
    return s
  end
  local pool = "supermetrics:redis:" .. url.display
  if url.password then
    -- Passwords in pool names by a number, never by their value.
    local a = tostring(url.user) .. "\0" .. url.password
    if not auth_ids[a] then
      auth_count = auth_count + 1
      auth_ids[a] = auth_count
    end
    pool = pool .. ":auth" .. auth_ids[a]
  end
  local name = url.host:match("^%[(.*)%]$") or url.host
  local hello_bytes, hello_n = hello(url)
  s = setmetatable({
    url = url, timeout = timeout, source = "redis",
    address = name:lower() == "localhost" and "127.0.0.1" or name,
    pool = { pool = pool, pool_size = POOL_SIZE },
    hello = hello_bytes, hello_n = hello_n,
    rest_until = 0, rest = 0, why = nil,
    conn = nil, -- outside nginx: the open connection
    -- The subscription (see Store:subscribed): outside nginx its
    -- connection's state, inside the timer's; each new or lost one moves
    -- epoch on.
    sub = nil, sub_rest_until = 0, sub_started = false, sub_ok = false, epoch = 0, used = 0,
  }, Store)
  stores[id] = s
  return s
end

-- ---- moving bytes ----

-- A connection for one operation within ms: sock, fresh (a new connection
-- that must say hello first) | nil, why. nginx: a cosocket (pooled);
-- elsewhere the store's own connection.
local function open(store, cosocket, ms)
  if cosocket then
    local sock = ngx.socket.tcp()
    sock:settimeouts(ms, ms, ms)
    local ok, err = sock:connect(store.address, store.url.port, store.pool)
    if not ok then
      return nil, err
    end
    return sock, sock:getreusedtimes() == 0
  end
  if store.conn then
    return store.conn, false
  end
  local conn, err = core.redis_connect(store.address, store.url.port, ms)
  if not conn then
    return nil, err
  end
  store.conn = conn
  return conn, true
end

local function send(sock, cosocket, bytes, ms)
  if cosocket then
    return sock:send(bytes)
  end
  return sock:send(bytes, ms)
end

local function receive(sock, cosocket, ms)
  if cosocket then
    sock:settimeout(ms)
    return sock:receiveany(16384)
  end
  return sock:receive(ms)
end

-- Reads n replies within the deadline: the last one's tag and value (the
-- ones before it, hello's, must be OK) | nil, why.
local function replies(sock, cosocket, n, deadline)
  local reader = new_reader()
  local got, total = 0, 0
  local tag, value
  while true do
    tag, value = reader:get()
    if tag == "bad" then
      return nil, "not Redis's protocol: " .. tostring(value)
    elseif tag ~= "more" then
      got = got + 1
      if got == n then
        return tag, value
      end
      if tag ~= "ok" then
        -- Never the password: Redis's own words about AUTH or SELECT.
        return nil, "refused the connection's setup: " .. tostring(value):sub(1, 200)
      end
    else
      local ms = ceil((deadline - monotonic()) * 1000)
      if ms <= 0 then
        return nil, "timeout"
      end
      local data, err = receive(sock, cosocket, ms)
      if not data then
        return nil, err
      end
      total = total + #data
      if total > REPLY_MAX then
        return nil, "a reply longer than " .. REPLY_MAX .. " bytes"
      end
      reader:feed(data)
    end
  end
end

-- Runs the script with args on a connection: the reply | nil, why, and
-- whether a reused connection failed (the server may have closed it while
-- it was idle: the caller tries once more on a new one).
local function run(store, cosocket, key, deadline, args)
  local ms = ceil((deadline - monotonic()) * 1000)
  local sock, fresh = open(store, cosocket, ms)
  if not sock then
    return nil, fresh
  end
  local pre, pre_n = "", 0
  if fresh then
    pre, pre_n = store.hello, store.hello_n
  end
  local tag, value, ok, err
  for _, verb in ipairs { "EVALSHA", "EVAL" } do
    local bytes = command(verb, verb == "EVAL" and redis_store.SCRIPT or redis_store.SHA, 1,
      redis_store.KEY_PREFIX .. key, unpack(args))
    ok, err = send(sock, cosocket, pre .. bytes, ms)
    if not ok then
      tag, value = nil, err
      break
    end
    tag, value = replies(sock, cosocket, pre_n + 1, deadline)
    pre, pre_n = "", 0
    if tag ~= "err" or not tostring(value):find("^NOSCRIPT") then
      break
    end
  end
  if tag == "ok" then
    if cosocket and not sock:setkeepalive(IDLE_MS, POOL_SIZE) then
      sock:close()
    end
    return value
  end
  sock:close()
  if not cosocket then
    store.conn = nil
  end
  if tag == "err" then
    return nil, "answered " .. tostring(value):sub(1, 200)
  end
  return nil, value, not fresh and value ~= "timeout"
end

-- ---- the subscription ----

-- What to say after a second of silence, and how long an answer may take.
local PING_EVERY = 1
-- Inside nginx, a subscription unused this long (s) ends (the next call
-- starts another).
local SUB_IDLE = 60

-- An announcement: the window it names changed, so ask Redis next time.
local function apply(payload)
  local key = tostring(payload):match("^supermetrics:budget:(%x+)$")
  local st = key and memory.peek(key)
  if st then
    st.sync = nil
  end
end

-- Feeds what the subscription sent to its reader. sub.want: replies still
-- due before the subscription stands (hello's OKs, then the subscribe
-- confirmation). Applies every announcement; returns true, or nil and why.
local function take(sub, data)
  sub.reader:feed(data)
  while true do
    local tag, v = sub.reader:get()
    if tag == "more" then
      return true
    elseif tag ~= "ok" then
      return nil, "the subscription got " .. tostring(v):sub(1, 200)
    elseif sub.want > 0 then
      sub.want = sub.want - 1
    elseif type(v) == "table" and v[1] == "message" then
      apply(v[3])
    elseif type(v) == "table" and v[1] == "pong" then
      sub.ping = nil
    end
  end
end

-- A new subscription on sock (a fresh connection): sends hello and
-- SUBSCRIBE. Returns the subscription's state.
local function subscription(store, sock, cosocket, ms)
  local sub = { sock = sock, reader = new_reader(), want = store.hello_n + 1, seen = monotonic() }
  local ok, err = send(sock, cosocket, store.hello .. command("SUBSCRIBE", redis_store.CHANNEL), ms)
  if not ok then
    return nil, err
  end
  return sub
end

-- Outside nginx: the subscription, read without waiting. True while it
-- stands and has been read up to now; false (and it is dropped) otherwise.
function Store:poll_subscription()
  local sub = self.sub
  local now = monotonic()
  if not sub then
    if now < self.sub_rest_until then
      return false
    end
    local ms = ceil(self.timeout * 1000)
    local conn = core.redis_connect(self.address, self.url.port, ms)
    if conn then
      sub = subscription(self, conn, false, ms)
    end
    if not sub then
      if conn then
        conn:close()
      end
      self.sub_rest_until = now + REST_MIN
      return false
    end
    self.sub = sub
  end
  while true do
    local data, err = sub.sock:receive(0)
    if data then
      sub.seen = monotonic()
      if not take(sub, data) then
        break
      end
    elseif err ~= "timeout" then
      break
    elseif sub.want > 0 then
      -- Not subscribed yet: wait for the confirmation, within the timeout.
      if monotonic() - sub.seen > self.timeout then
        break
      end
      data = sub.sock:receive(ceil(self.timeout * 1000))
      if not data or not take(sub, data) then
        break
      end
      sub.seen = monotonic()
      if sub.want == 0 then
        self.epoch = self.epoch + 1 -- a new subscription: windows are asked again
      end
    elseif sub.ping and monotonic() - sub.ping > self.timeout then
      break -- no answer to the PING: Redis stopped answering
    else
      if not sub.ping and monotonic() - sub.seen > PING_EVERY then
        sub.ping = monotonic()
        if not sub.sock:send(command("PING"), 0) then
          break
        end
      end
      return true
    end
  end
  sub.sock:close()
  self.sub = nil
  self.epoch = self.epoch + 1
  self.sub_rest_until = monotonic() + REST_MIN
  return false
end

-- Inside nginx: a timer per worker holds the subscription (reconnecting
-- after a rest while the worker runs); self.sub_ok says whether it stands.
local function subscriber(premature, store)
  if premature then
    store.sub_started = false
    return
  end
  local rest = REST_MIN
  while not ngx.worker.exiting() and monotonic() - store.used < SUB_IDLE do
    local ms = ceil(store.timeout * 1000)
    local sock = ngx.socket.tcp()
    sock:settimeouts(ms, ms, (PING_EVERY + store.timeout) * 1000)
    local ok = sock:connect(store.address, store.url.port)
    local sub = ok and subscription(store, sock, true, ms)
    while sub and not ngx.worker.exiting() and monotonic() - store.used < SUB_IDLE do
      local data = sock:receiveany(16384)
      if not data or not take(sub, data) then
        break
      end
      if sub.want == 0 and not store.sub_ok then
        store.epoch = store.epoch + 1
        store.sub_ok, rest = true, REST_MIN
      end
      if monotonic() - (sub.ping or 0) >= PING_EVERY then
        sub.ping = monotonic()
        if not sock:send(command("PING")) then
          break
        end
      end
    end
    if store.sub_ok then
      store.sub_ok = false
      store.epoch = store.epoch + 1
    end
    sock:close()
    if ngx.worker.exiting() or monotonic() - store.used >= SUB_IDLE then
      break
    end
    ngx.sleep(rest)
    rest = min(rest * 2, REST_MAX)
  end
  store.sub_started = false
end

--- Whether the subscription stands (started on first use): a window this
-- process holds in sync under it (st.sync == store.epoch) and knows
-- nothing of may be used without asking Redis.
function Store:subscribed(cosocket)
  if not cosocket then
    return self:poll_subscription()
  end
  self.used = monotonic()
  if not self.sub_started then
    if not YIELDABLE[ngx.get_phase()] then
      return false
    end
    self.sub_started = ngx.timer.at(0, subscriber, self) and true
  end
  return self.sub_ok
end

-- ---- the store's operations ----

-- One script run within deadline (and the store's timeout): reply | nil, why.
-- A store resting after a failure is not asked.
function Store:call(cosocket, key, deadline, args)
  if cosocket and not YIELDABLE[ngx.get_phase()] then
    return nil, false -- no cosockets here: not asked (the call refuses anyway)
  end
  local now = monotonic()
  if now < self.rest_until then
    return nil, self.why
  end
  local until_ = min(deadline, now + self.timeout)
  if until_ <= now then
    return nil, "no time left in the call"
  end
  local ok, reply, why, stale = pcall(run, self, cosocket, key, until_, args)
  if ok and stale then
    ok, reply, why = pcall(run, self, cosocket, key, until_, args)
  end
  if ok and reply ~= nil then
    self.rest, self.why = 0, nil
    return reply
  end
  if not ok then
    why = tostring(reply)
  end
  if self.conn then
    self.conn:close()
    self.conn = nil
  end
  why = why == "timeout" and ("no answer within " .. self.timeout .. " s") or tostring(why)
  self.rest = self.rest == 0 and REST_MIN or min(self.rest * 2, REST_MAX)
  self.rest_until = monotonic() + self.rest
  self.why = self.url.display .. ": " .. why
  return nil, self.why
end

local function known(v)
  if v == nil or v < 0 then
    return nil
  end
  return v
end

--- Whether a call may go without asking: the subscription stands, Redis
-- answered for the window st under it, and nothing is known of it.
function Store:known_open(st, cosocket)
  return self:subscribed(cosocket) and st.sync == self.epoch and not st.armed
end

--- As memory.admit: verdict, ms, remaining | nil, why. A window Redis
-- says holds nothing is in sync from now on (while the subscription that
-- stood when it was asked stands); one with a count of requests left is
-- known here too (so it is asked next time, to take from it).
function Store:admit(key, now, ttl_ms, cosocket, deadline)
  local standing = cosocket and self.sub_ok or (not cosocket and self.sub ~= nil and self.sub.want == 0)
  local epoch = self.epoch
  local reply, why = self:call(cosocket, key, deadline, { "a", ceil(ttl_ms) })
  if type(reply) ~= "table" then
    return nil, why or "an unexpected reply"
  end
  local remaining = known(reply[4])
  local st = reply[1] == memory.GO and memory.peek(key)
  if st and remaining then
    memory.remember(st, now, remaining)
  elseif st and standing and epoch == self.epoch then
    st.sync = epoch
  end
  return reply[1], reply[2], remaining
end

--- As memory.learn: true | nil, why.
function Store:learn(key, _, status, ra_ms, limit, remaining, probe, cosocket, deadline)
  local reply, why = self:call(cosocket, key, deadline, {
    "l", status or -1, ra_ms and ceil(ra_ms) or -1, limit or -1, remaining or -1, probe and "1" or "0",
  })
  if reply == nil then
    return nil, why
  end
  return true
end

--- As memory.read: true, closed_until (ms, this machine's clock), limit,
-- remaining | nil, why.
function Store:read(key, now, cosocket, deadline)
  local reply, why = self:call(cosocket, key, deadline, { "r" })
  if type(reply) ~= "table" then
    return nil, why or "an unexpected reply"
  end
  local left = known(reply[1])
  return true, left and now + left, known(reply[2]), known(reply[3])
end

return redis_store
