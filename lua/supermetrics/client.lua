--- A client: what `supermetrics.new` returns; call its methods as
-- `client:get_connector_log(...)`. This file holds its options, credentials
-- and the retry loop.
-- One HTTP attempt belongs to the client's transport, picked once in
-- `new` and reached through one interface (supermetrics.transport):
-- libcurl, or inside nginx nginx's cosockets. Everything around an attempt
-- (which credential, whether and when to try again, what to report) is
-- policy, kept here and in supermetrics.policy, and shared by both.
-- @classmod client

local Policy = require "supermetrics.policy"
local budget = require "supermetrics.budget"
local core = require "supermetrics.core"
local errors = require "supermetrics.errors"
local follow = require "supermetrics.follow"
local headers = require "supermetrics.headers"
local logtime = require "supermetrics.logtime"
local options = require "supermetrics.options"
local paging = require "supermetrics.paging"
local proxy = require "supermetrics.proxy"
local slices = require "supermetrics.slices"
local transport = require "supermetrics.transport"
local cache -- CACHE: supermetrics.cache, loaded when a client asks for one

local log_route, page_route = core.log_route, core.page_route
local invalid = errors.invalid

local Client = {}
Client.__index = Client
local sliced -- each_connector_log with slices (below)

Client.VERSION = "0.1.0"

-- The methods that return an iterator: supermetrics.safe hands their
-- errors to the loop instead of returning nil, err.
Client._ITERATORS = { each_connector_log = true, follow_connector_logs = true }

-- The User-Agent: the library's, then the caller's (option user_agent).
local function user_agent(via, own)
  local lua = type(jit) == "table" and jit.version or _VERSION
  local ua = string.format("lua-supermetrics/%s (%s; %s)", Client.VERSION, lua, via)
  return own and ua .. " " .. own or ua
end

--- Creates a client (as `supermetrics.new`); the options are in the README's table
-- and in docs/api.md.
-- @static
-- @tparam[opt] table opts the options; with none, SUPERMETRICS_API_KEY is the credential
-- @return the client
-- @raise INVALID_ARGUMENT for a bad option or credential
function Client.new(opts, ...)
  local s = options.check(opts)
  -- An internal second argument (never from supermetrics.new): { clock = }
  -- gives the clock the client reads and waits on (supermetrics.clock; the
  -- tests' fake one) instead of its transport's real one; { transport = }
  -- a transport module (supermetrics.transport's interface) instead of
  -- the one picked for these settings (supermetrics.testing's fake Hub).
  local inner = ...
  local via = inner and inner.transport or transport.pick(s)
  s.user_agent = user_agent(via.via, s.user_agent)
  local clock = inner and inner.clock or via.clock
  local handle = core.new_client(s)
  local view -- the key's rate budget (supermetrics.budget)
  local cached -- the entry cache (supermetrics.cache), or nil
  local opened, state = pcall(function()
    proxy.apply(handle, s.proxy)
    view = budget.open(s.budget, handle, via.via == "nginx", s.max_retry_wait, not s.token_provider, clock)
    if s.cache then -- CACHE: the client's entry cache
      cache = cache or require "supermetrics.cache"
      cached = cache.open(s.cache, handle, via.via == "nginx", not s.token_provider, clock)
    end
    return via.open(handle, s, clock)
  end)
  if not opened then
    handle:close()
    error(state, 0)
  end
  local extra = headers.compile(s.headers)
  return setmetatable({
    _handle = handle,
    _transport = state,
    -- What every attempt of every call follows (supermetrics.policy).
    _policy = {
      provider = s.token_provider,
      hook = s.on_response,
      proxy = select(3, handle:proxy()), -- "host:port", for on_response
      timeout = s.timeout,
      max_retries = s.max_retries,
      max_retry_wait = s.max_retry_wait,
      budget = view,
      monotonic = clock.monotonic,
      sleep = clock.sleep,
    },
    -- Extra headers: the client's (checked map, and merged set or nil),
    -- and whether to forward nginx's trace context.
    _headers = s.headers,
    _extra = extra,
    _trace = s.trace_context or nil,
    -- The common case (a transport with a one-call path, a fixed
    -- credential, no hook, no extra headers) makes its first attempt in one
    -- C call; see get_connector_log.
    _one_call = state.get_log ~= nil and not s.token_provider and not s.on_response
      and not extra and not s.trace_context,
    _timeout = s.timeout,
    -- The rate budget, and what the common call reads first (armed: ask it).
    _budget = view,
    _gate = view.gate,
    _cache = cached, -- CACHE
    _monotonic = clock.monotonic, -- the fast path's one clock reading
  }, Client)
end

local function closed()
  invalid("the client is closed")
end

-- client.method(...) written for client:method(...) passes the first
-- argument as the client: say so rather than fail inside.
local function check_self(self, method)
  if getmetatable(self) ~= Client then
    invalid(method .. " must be called with a colon: client:" .. method .. "(...), not client."
      .. method .. "(...)")
  end
end
Client._check_self = check_self

--- The extra headers of one call (the merged set, or nil): the client's,
-- the trace context of nginx's current request when trace_context is on,
-- and the call's own (opts.headers), which win. Raises INVALID_ARGUMENT
-- for bad headers, before any traffic.
-- @local
function Client:_extra_for(call, method)
  local trace = self._trace and headers.trace()
  if call == nil and not trace then
    return self._extra
  end
  local where = method .. ": headers"
  return headers.merge(self._headers, trace, call and headers.check(call, where, true), where)
end

--- Every attempt of one call to route (core.log_route / core.page_route),
-- retried by the policy in supermetrics.retry within one deadline. Returns
-- the body as the route shapes it (and with want_info a table with status,
-- request_id, rate limits and attempts), or raises an error. The C core
-- counts the attempts: a result's `attempts` is the call's total so far.
-- @local
function Client:_get(route, want_info, deadline, first_err, extra)
  if not self._handle then
    closed()
  end
  local state, policy = self._transport, self._policy
  deadline = deadline or policy.monotonic() + policy.timeout
  local provider, hook = policy.provider, policy.hook
  want_info = want_info or hook ~= nil
  local made = 0 -- HTTP attempts made so far
  -- first_err: the result of a first attempt already made (the fast path).
  local pending = first_err
  while true do
    local body, detail, started
    if pending then
      detail, pending = pending, nil
    else
      -- A callback that returns after the deadline ends the call with
      -- TIMEOUT there (supermetrics.policy), not with another attempt.
      local credential = provider and Policy.credential(provider, made, deadline, policy.monotonic)
      if not self._handle then
        closed() -- by the on_response hook or the token_provider, between attempts
      end
      -- BUDGET: before an attempt (waits or raises while the window is closed)
      local ticket = self._gate.armed and budget.before(self._budget, credential, deadline, made)
      started = hook and policy.monotonic()
      body, detail = state:attempt(route, deadline, credential, made, want_info, extra and extra.header_lines)
      if ticket or detail then -- BUDGET: after a response
        budget.after(self._budget, credential, ticket or nil, detail, deadline)
      end
      if body then
        local late = Policy.succeeded(policy, route, detail, started, extra, deadline)
        if late then
          error(late)
        end
        return body, detail
      end
    end
    local err = detail
    local delay, final = Policy.failed(policy, route, err, made, started, extra, deadline)
    if not delay then
      error(final)
    end
    made = err.attempts
    policy.sleep(delay)
  end
end

-- get_connector_log, and get_connector_log_json (raw: the body's text). The
-- common call first, with as few calls and lookups as it takes (it is most
-- of what a gateway does; check_self's test inline): its first attempt is
-- one transport call without a route (_one_call is false once the client
-- is closed); a failure goes on in the retry loop with the route it gives.
-- deadline: the call's, when the cache made it (else from now).
local cached_one -- CACHE
local function get_one(self, method, raw, team_id, connector_identifier, log_id, opts, deadline)
  local mine = getmetatable(self) == Client
  local cached = mine and not deadline and self._cache
  if cached then -- CACHE: a hit, or one request for every caller of the entry
    return cached_one(self, cached, method, raw, team_id, connector_identifier, log_id, opts)
  end
  if opts == nil and mine and self._one_call then
    local timeout = self._timeout
    if deadline then
      timeout = deadline - self._monotonic()
    else
      deadline = self._monotonic() + timeout
    end
    local ticket
    if self._gate.armed then -- BUDGET: before an attempt
      ticket = budget.before(self._budget, nil, deadline, 0)
      timeout = deadline - self._monotonic()
    end
    local entry, err, route = self._transport:get_log(team_id, connector_identifier, log_id, timeout,
      deadline, raw)
    if entry then
      if err or ticket then -- BUDGET: after a response (err: its info, when it had rate headers)
        budget.after(self._budget, nil, ticket, err, deadline)
      end
      return entry
    end
    budget.after(self._budget, nil, ticket, err, deadline) -- BUDGET: after a response
    return (self:_get(route, false, deadline, err))
  end
  check_self(self, method)
  local extra = self._extra
  if opts ~= nil or self._trace then
    opts = options.call(opts, method)
    extra = self:_extra_for(opts.headers, method)
  end
  return (self:_get(log_route(team_id, connector_identifier, log_id, raw), false, deadline, nil, extra))
end

-- CACHE: get_one through the client's cache (supermetrics.cache): the
-- call's checks first (a hit raises what a request would have), then the
-- key (a token_provider's credential: its key's), then the cache, which
-- fetches the text on a miss with get_one itself (deadline given).
local function fetch_text(self, method, team_id, connector_identifier, log_id, opts, deadline)
  return get_one(self, method, true, team_id, connector_identifier, log_id, opts, deadline)
end

cached_one = function(self, view, method, raw, team_id, connector_identifier, log_id, opts)
  if not self._handle then
    closed()
  end
  if opts ~= nil then
    self:_extra_for(options.call(opts, method).headers, method)
  end
  local policy = self._policy
  local deadline = policy.monotonic() + self._timeout
  local credential = policy.provider and Policy.credential(policy.provider, 0, deadline, policy.monotonic)
  local key, dkey = cache.key(view, credential, team_id, connector_identifier, log_id)
  if not key then
    return get_one(self, method, raw, team_id, connector_identifier, log_id, opts, deadline)
  end
  return cache.get(view, key, dkey, raw, deadline, policy.hook, fetch_text, self, method, team_id,
    connector_identifier, log_id, opts)
end

--- Fetches one Codeless Connector log entry.
-- @param team_id integer 1..2^63-1, or a string of its decimal digits
-- @param connector_identifier 1..100 characters of `A-Z a-z 0-9 _ -`
-- @param log_id string of 1..255 bytes, or an integer
-- @param[opt] opts `{ headers = { ["X-Name"] = "value" } }`: extra headers of this call
-- (over the client's; false drops one of the client's)
-- @return the entry: a plain table
-- @raise a `supermetrics.Error` value
function Client:get_connector_log(team_id, connector_identifier, log_id, opts)
  return get_one(self, "get_connector_log", false, team_id, connector_identifier, log_id, opts)
end

--- Fetches one log entry as the JSON text the server sent, for handlers that only pass it
-- on (`ngx.print`): no table is built and nothing is encoded again. The text is checked,
-- not decoded: it must be one JSON object (whitespace around it only) whose top-level `id`
-- is the log id asked for (or absent), as `get_connector_log` checks its entry. Arguments,
-- options, retries and errors are those of `get_connector_log`.
-- @param team_id as for `get_connector_log`
-- @param connector_identifier as for `get_connector_log`
-- @param log_id as for `get_connector_log`
-- @param[opt] opts as for `get_connector_log`
-- @return the response body, a string, byte for byte as it came
-- @raise a `supermetrics.Error` value
function Client:get_connector_log_json(team_id, connector_identifier, log_id, opts)
  return get_one(self, "get_connector_log_json", true, team_id, connector_identifier, log_id, opts)
end

-- One page of the list route: its entries (shaped in C) and the response info.
local function fetch_page(client, team_id, connector_identifier, limit, before, extra)
  return client:_get(page_route(team_id, connector_identifier, limit, before), true, nil, nil, extra)
end

--- Fetches one page of log entries, newest first.
-- @param team_id as for `get_connector_log`
-- @param connector_identifier as for `get_connector_log`
-- @param[opt] opts `{ limit = 1..1000 (server default 100), before = "2025-06-01T00:00:00Z",
-- headers = {...} }`; `before` in any ISO 8601 form logtime reads (a date is
-- its midnight UTC, an offset is converted) goes out as an RFC 3339
-- date-time in UTC
-- @return array of entries (plain tables), possibly empty
-- @raise a `supermetrics.Error` value
function Client:list_connector_logs(team_id, connector_identifier, opts)
  check_self(self, "list_connector_logs")
  opts = options.call(opts, "list_connector_logs")
  local before = logtime.argument(opts.before, "before", "list_connector_logs", invalid)
  local extra = self:_extra_for(opts.headers, "list_connector_logs")
  return (fetch_page(self, team_id, connector_identifier, opts.limit, before and before.date_time, extra))
end

-- each_connector_log with slices = k (> 1): the range split into k slices
-- of time walked at the same time (supermetrics.slices), yielded newest
-- first. An error carries the resume value of one loop over the range: the
-- failed slice's, with the range's since, and through its slice's own
-- (everything newer was yielded).
sliced = function(self, team_id, connector_identifier, page_size, since, through, resume, on_page, extra, k)
  local list = slices.plan(since, through, k, resume and (resume.edge or resume.bound))
  list[1].resume = resume
  local pages, entries = resume and resume.pages or 0, resume and resume.entries or 0
  local yielded = entries
  local function open(slice, ystate)
    -- ystate: the slices' event loop's transport state (their attempts go out together)
    -- and its waits between attempts are handed to that loop too.
    local target = self
    if ystate then
      target = setmetatable({ _transport = ystate,
        _policy = setmetatable({ sleep = ystate.sleep }, { __index = self._policy }) }, { __index = self })
    end
    local counted = slice.resume and slice.resume.entries or 0
    return paging.iterator(function(limit, bound)
      return (fetch_page(target, team_id, connector_identifier, limit, bound, extra))
    end, page_size, nil, { since = slice.since, through = slice.through, resume = slice.resume, resumable = true,
      on_page = function(p)
        pages, entries, counted = pages + 1, entries + p.entries - counted, p.entries
        if on_page then
          on_page({ page = pages, entries = entries, received = p.received, oldest = p.oldest, before = p.before })
        end
      end })
  end
  local function finish(err)
    local r = core.is_error(err) and err.resume
    if type(r) == "table" then
      r.since, r.entries, r.pages = since.text, yielded, pages
    end
    return err
  end
  local it = slices.iterator(self._transport, list, open, finish)
  return function()
    local entry = it()
    if entry ~= nil then
      yielded = yielded + 1
    end
    return entry
  end
end

--- Iterates over every log entry, newest first, fetching pages as needed.
-- Each next page is asked for with `before` just past the last entry's
-- `log_time` at its own precision; entries sharing that timestamp across a
-- page edge come once each, whether the server's `before` is inclusive or
-- exclusive (docs/api.md). Pages that stop moving back in time end it with
-- `INVALID_RESPONSE` after a bounded number of requests (docs/api.md, No-progress bound).
-- `since` and `through` bound it exactly, whatever the server's `before`:
-- entries at or after `since` (paging stops at the first older one), at or
-- before `through`. An error raised from the loop carries `err.resume`: plain
-- data (store it as JSON text, `supermetrics.format.json`) that a new
-- iterator takes as `resume` to go on after the last entry yielded, every
-- entry exactly once (docs/api.md, Resuming).
-- @param team_id as for `get_connector_log`
-- @param connector_identifier as for `get_connector_log`
-- @param[opt] opts `{ page_size = 1..1000 (default 100), before = "...", since = "...",
-- through = "...", resume = err.resume or its JSON text, on_page = function(progress),
-- slices = 1..64, headers = {...} }`; `on_page` gets `{ page =, entries =, received =, oldest =,
-- before = }` as each page arrives; `slices` (needs since) fetches since..through in that
-- many slices of time at once, yielding newest first all the same (docs/api.md, Parallel slices)
-- @return an iterator for a generic `for`; it raises `supermetrics.Error` values
function Client:each_connector_log(team_id, connector_identifier, opts)
  check_self(self, "each_connector_log")
  local method = "each_connector_log"
  opts = options.call(opts, method)
  local page_size = opts.page_size
  -- Checks every argument now, before any traffic.
  local before = logtime.argument(opts.before, "before", method, invalid)
  local since = logtime.argument(opts.since, "since", method, invalid)
  local through = logtime.argument(opts.through, "through", method, invalid)
  if before and through then
    invalid(method .. ": give before or through, not both (through is at or before, exactly)", "through")
  end
  local resume = opts.resume ~= nil and paging.read_resume(opts.resume, invalid, method) or nil
  if resume then
    if before then
      invalid(method .. ": give before or resume, not both (the resume value says where to go on)", "resume")
    end
    -- The bounds are the resume value's; given again, they must be the same
    -- (or through later: a sliced loop's value holds the slice's through,
    -- everything newer being yielded already).
    for name, given in pairs { since = since, through = through } do
      local held = resume[name]
      if given and not (held and (held.key == given.key or (name == "through" and held.key < given.key))) then
        invalid(method .. ": resume was made with " .. (held and name .. " = " .. held.text or "no " .. name)
          .. ", not " .. name .. " = " .. given.text, "resume")
      end
    end
    since, through = resume.since, resume.through
  end
  if since and through and since.key > through.key then
    invalid(method .. ": since (" .. since.text .. ") is later than through (" .. through.text .. ")", "since")
  end
  local on_page = opts.on_page
  if on_page ~= nil and type(on_page) ~= "function" and not (getmetatable(on_page) or {}).__call then
    invalid(method .. ": on_page must be a function", "on_page")
  end
  page_route(team_id, connector_identifier, page_size, before and before.date_time)
  local extra = self:_extra_for(opts.headers, method)
  if opts.slices and opts.slices > 1 then
    if not since then
      invalid(method .. ": slices needs since (the older end of the range it splits)", "slices")
    elseif before then
      invalid(method .. ": give before or slices, not both (slices split since..through)", "slices")
    end
    return sliced(self, team_id, connector_identifier, page_size, since, through, resume, on_page, extra,
      opts.slices)
  end
  return paging.iterator(function(limit, bound)
    return (fetch_page(self, team_id, connector_identifier, limit, bound, extra))
  end, page_size, before, { since = since, through = through, resume = resume, on_page = on_page,
    resumable = true })
end

--- Follows a connector's log as it grows.
-- First yields the entries newer than `since`, or the newest `last` ones
-- (oldest first; with neither, none), then polls every `interval` seconds and yields each new
-- entry once, oldest first, until the loop breaks. When many entries are
-- new it reads them forward in windows of time of one page each, yielding
-- as it goes (docs/api.md, Catching up), waits longer while
-- the rate limit runs low or the server asks to (Retry-After), and keeps
-- following through failures that retries may cure; others raise.
-- @param team_id as for `get_connector_log`
-- @param connector_identifier as for `get_connector_log`
-- @param[opt] opts `{ since = "2025-06-01T00:00:00Z" or last = 10, interval = 2, headers = {...} }`
-- @return an endless iterator for a generic `for`
-- @raise a `supermetrics.Error` value
function Client:follow_connector_logs(team_id, connector_identifier, opts)
  check_self(self, "follow_connector_logs")
  opts = options.call(opts, "follow_connector_logs")
  -- Checks every argument now, before any traffic.
  page_route(team_id, connector_identifier)
  local since = logtime.argument(opts.since, "since", "follow_connector_logs", invalid)
  if since and opts.last then
    invalid("follow_connector_logs: give since or last, not both", "last")
  end
  local extra = self:_extra_for(opts.headers, "follow_connector_logs")
  return follow.iterator(function(limit, before)
    return fetch_page(self, team_id, connector_identifier, limit, before, extra)
  end, self._policy.sleep, since and since.date_time, opts.interval, opts.last)
end

--- Fetches many log entries of one connector at once.
-- Each item is retried and timed like a single call (its own deadline from
-- its first attempt); a bad id fails its own item only.
-- @param team_id as for `get_connector_log`
-- @param connector_identifier as for `get_connector_log`
-- @param log_ids array of log ids (strings or integers)
-- @param[opt] opts `{ concurrency = 1..256 (default 16), headers = {...} }`
-- @return entries, errors: for each i of log_ids exactly one of
-- `entries[i]` / `errors[i]` is set
-- @raise a `supermetrics.Error` value for a bad team_id, connector or option
function Client:get_connector_logs(team_id, connector_identifier, log_ids, opts)
  check_self(self, "get_connector_logs")
  opts = options.call(opts, "get_connector_logs")
  if type(log_ids) ~= "table" then
    invalid("log_ids must be an array of log ids", "log_ids")
  end
  page_route(team_id, connector_identifier) -- checks both before any traffic
  local extra = self:_extra_for(opts.headers, "get_connector_logs")
  if not self._handle then
    closed()
  end
  -- Items of a batch without extra headers are common calls, with their
  -- one-call path (for transports whose batch makes ordinary calls, b.fetch);
  -- get_one's other path is the one below for them.
  local one = extra == nil and self._one_call
  local view = self._cache
  if view then -- CACHE: the hits taken, each missing entry fetched once (as its text)
    local policy = self._policy
    local credential = policy.provider
      and Policy.credential(policy.provider, 0, policy.monotonic() + policy.timeout, policy.monotonic)
    local plan = cache.batch(view, credential, team_id, connector_identifier, log_ids, policy.hook)
    local through, call = false, opts.headers and { headers = opts.headers } or nil
    local got, errs = self._transport:batch({
      team_id = team_id, connector_identifier = connector_identifier, log_ids = plan.ids,
      concurrency = opts.concurrency, extra = extra, policy = policy, raw = true,
      fetch = function(log_id)
        through = true
        return get_one(self, "get_connector_logs", true, team_id, connector_identifier, log_id, call)
      end,
    })
    return cache.batch_done(view, plan, got, errs, through)
  end
  return self._transport:batch({
    team_id = team_id, connector_identifier = connector_identifier, log_ids = log_ids,
    concurrency = opts.concurrency, extra = extra, policy = self._policy,
    fetch = function(log_id)
      if one then
        return get_one(self, "get_connector_logs", false, team_id, connector_identifier, log_id)
      end
      return (self:_get(log_route(team_id, connector_identifier, log_id), false, nil, nil, extra))
    end,
  })
end

--- What the key's rate budget knows (see the option `budget`).
-- @return `{ source = "local" | "dict" | "redis" | "off", limit =, remaining =,
-- closed_until = }`: `limit` and `remaining` as the API's X-RateLimit headers
-- last said (remaining less the requests let through since), `closed_until`
-- the end of a window a 429 closed (seconds since the epoch) or nil;
-- `store_error` while a shared store fails (source is then "local")
function Client:rate_limit()
  check_self(self, "rate_limit")
  if not self._handle then
    closed()
  end
  return budget.read(self._budget)
end

--- What the entry cache has done (see the option `cache`).
-- @return `{ hits =, misses =, stale =, waits =, negative =, entries =, size =, dict = }`,
-- or nil for a client without a cache
function Client:cache_stats()
  check_self(self, "cache_stats")
  local view = self._cache
  return view and cache.stats(view) or nil
end

--- Releases the client's connections and credential now. Safe to call twice.
function Client:close()
  check_self(self, "close")
  local handle = self._handle
  if handle then
    self._handle = false
    self._one_call = false
    handle:close()
  end
end

Client.__close = Client.close

function Client:__tostring()
  if not self._handle then
    return "supermetrics client (closed)"
  end
  return tostring(self._handle)
end

return Client
