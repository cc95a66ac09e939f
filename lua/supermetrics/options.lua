--- Internal: Checks the options of `supermetrics.new` and of each method call,
-- and fills in the defaults. Every problem raises INVALID_ARGUMENT (its
-- `argument` naming the option) before anything is built or sent.
-- @module supermetrics.options

local core = require "supermetrics.core"
local errors = require "supermetrics.errors"
local follow = require "supermetrics.follow"
local headers = require "supermetrics.headers"
local paging = require "supermetrics.paging"

local options = {}

options.DEFAULTS = {
  base_url = "https://api.supermetrics.com",
  timeout = 30,
  connect_timeout = 10,
  max_retries = 2,
  max_retry_wait = 20,
  max_response_bytes = 16777216,
  nginx_blocking = false,
  nginx_pool_size = 64,
  nginx_idle_timeout = 60,
}

-- The names `new` accepts (a set). Read by tests/spec/27-types_spec.lua,
-- which checks that the type definitions in types/ declare each of them.
options.KNOWN = {
  api_key = true, token = true, token_provider = true, base_url = true,
  timeout = true, connect_timeout = true, max_retries = true,
  max_retry_wait = true, max_response_bytes = true, ca_file = true,
  user_agent = true, nginx_blocking = true, nginx_pool_size = true,
  nginx_idle_timeout = true, on_response = true, headers = true, proxy = true,
  trace_context = true,
  budget = true, -- the key's rate budget (supermetrics.budget)
  cache = true, -- the entry cache (supermetrics.cache)
}
local KNOWN = options.KNOWN

-- A per-call option that is a number: its range, whether it must be whole,
-- its unit in messages, and its default.
local function number(min, max, integer, default, unit)
  return { min = min, max = max, integer = integer, default = default, unit = unit }
end

-- The names each method's options table accepts (per method), for
-- `options.call`: a number's rule, or true for an option checked where it
-- is used (headers: supermetrics.headers; before, since, through:
-- supermetrics.logtime; resume, on_page: client.each_connector_log; limit:
-- the route, in C). The types spec reads the names too.
options.CALLS = {
  get_connector_log = { headers = true },
  get_connector_log_json = { headers = true },
  list_connector_logs = { limit = true, before = true, headers = true },
  each_connector_log = {
    page_size = number(1, paging.MAX_PAGE_SIZE, true, paging.DEFAULT_PAGE_SIZE),
    before = true, since = true, through = true, resume = true, on_page = true, headers = true,
    slices = number(1, 64, true, nil),
  },
  follow_connector_logs = {
    since = true, interval = number(0.01, 3600, false, follow.DEFAULT_INTERVAL, " of seconds"),
    last = number(0, follow.MAX_LAST, true, nil), headers = true,
  },
  get_connector_logs = {
    concurrency = number(1, core.LIMITS.concurrency, true, 16),
    headers = true,
  },
}

-- Options that existed once, with what to do instead.
local GONE = {
  nginx_thread_pool = "nginx_thread_pool is gone: inside nginx calls now use nginx's own "
    .. "sockets, with no thread pool; remove the option (and the thread_pool line)",
}

local USER_AGENT_MAX = 256
-- The most retries max_retries allows (the command line says it too).
options.MAX_RETRIES = 100
local RETRIES_MAX = options.MAX_RETRIES

local invalid = errors.invalid
local LIMITS = core.LIMITS

local function is_callable(v)
  if type(v) == "function" then
    return true
  end
  local mt = getmetatable(v)
  return type(mt) == "table" and mt.__call ~= nil
end

-- v, a number from min to max (integer: whole); where: the method, for
-- a per-call option's message.
local function check_number(v, name, min, max, integer, where, unit)
  if type(v) ~= "number" or v ~= v or v < min or v > max
      or (integer and v ~= math.floor(v)) then
    invalid(string.format("%s%s must be %s%s from %s to %s", where and where .. ": " or "", name,
      integer and "an integer" or "a number", unit or "", tostring(min), tostring(max)), name)
  end
  return v
end

-- Which credential the client uses: one of api_key / token / token_provider,
-- else SUPERMETRICS_API_KEY. Returns credential, its name, provider.
local function pick_credential(opts)
  local given = {}
  for _, name in ipairs { "api_key", "token", "token_provider" } do
    if opts[name] ~= nil then
      given[#given + 1] = name
    end
  end
  if #given > 1 then
    invalid("give only one of api_key, token and token_provider (got "
      .. table.concat(given, " and ") .. ")")
  end
  local name = given[1]
  if name == "token_provider" then
    if not is_callable(opts.token_provider) then
      invalid("token_provider must be a function", "token_provider")
    end
    return nil, name, opts.token_provider
  elseif name then
    if type(opts[name]) ~= "string" then
      invalid(name .. " must be a string", name)
    end
    return opts[name], name
  end
  local env = os.getenv("SUPERMETRICS_API_KEY")
  if env == nil then
    -- The argument at fault is the variable, as for an empty one (src/client.c).
    invalid("no credential: pass api_key, token or token_provider, "
      .. "or set SUPERMETRICS_API_KEY", "SUPERMETRICS_API_KEY")
  end
  return env, "SUPERMETRICS_API_KEY"
end

local function check_user_agent(ua)
  if ua == nil then
    return nil
  end
  if type(ua) ~= "string" or #ua > USER_AGENT_MAX or ua:find("[^\32-\126]") then
    invalid("user_agent must be a string of at most " .. USER_AGENT_MAX
      .. " printable ASCII characters", "user_agent")
  end
  return ua
end

local function check_ca_file(path)
  if path == nil then
    return nil
  end
  if type(path) ~= "string" then
    invalid("ca_file must be a string", "ca_file")
  end
  local f = io.open(path, "rb")
  if not f then
    invalid("ca_file cannot be read: " .. path, "ca_file")
  end
  -- A directory opens on Linux but does not read; libcurl would then fail
  -- every call with TLS_ERROR.
  local text, why = f:read(1024 * 1024)
  f:close()
  if not text and why then
    invalid("ca_file is a directory or cannot be read: " .. path .. " (name a PEM file)", "ca_file")
  end
  if not (text or ""):find("-----BEGIN CERTIFICATE-----", 1, true) then
    invalid("ca_file holds no PEM certificate: " .. path, "ca_file")
  end
  return path
end

local READ_ONLY = { __newindex = function() error("read-only", 2) end }

-- Per method, the options a call without any gets: the defaults.
local CALL_DEFAULTS = {}
for method, names in pairs(options.CALLS) do
  local defaults = {}
  for name, rule in pairs(names) do
    if rule ~= true then
      defaults[name] = rule.default
    end
  end
  CALL_DEFAULTS[method] = setmetatable(defaults, READ_ONLY)
end

--- Checks a method's options table (nil allowed) against options.CALLS:
-- unknown names and numbers out of range raise INVALID_ARGUMENT. Returns
-- the options with the numbers' defaults filled in (a new table; the
-- caller's is not changed). The options marked true are the caller's to
-- check (headers, before, since, limit).
function options.call(opts, method)
  if opts == nil then
    return CALL_DEFAULTS[method]
  end
  if type(opts) ~= "table" then
    invalid(method .. ": options must be a table")
  end
  local names = options.CALLS[method]
  for k in pairs(opts) do
    if not names[k] then
      invalid(method .. ": unknown option " .. string.format("%q", tostring(k)))
    end
  end
  local checked = {}
  for name, rule in pairs(names) do
    local v = opts[name]
    if rule ~= true then
      if v == nil then
        v = rule.default
      else
        check_number(v, name, rule.min, rule.max, rule.integer, method, rule.unit)
      end
    end
    checked[name] = v
  end
  return checked
end

--- Returns a new table of checked settings, defaults filled in.
function options.check(opts)
  if opts == nil then
    opts = {}
  elseif type(opts) ~= "table" then
    invalid("options must be a table")
  end
  for k in pairs(opts) do
    if GONE[k] then
      invalid(GONE[k])
    elseif not KNOWN[k] then
      invalid("unknown option " .. string.format("%q", tostring(k)))
    end
  end
  local s = {}
  for k, v in pairs(options.DEFAULTS) do
    if opts[k] == nil then
      s[k] = v
    else
      s[k] = opts[k]
    end
  end
  if type(s.base_url) ~= "string" then
    invalid("base_url must be a string", "base_url")
  end
  check_number(s.timeout, "timeout", LIMITS.min_timeout, LIMITS.max_timeout)
  check_number(s.connect_timeout, "connect_timeout", LIMITS.min_timeout, LIMITS.max_timeout)
  check_number(s.max_retries, "max_retries", 0, RETRIES_MAX, true)
  check_number(s.max_retry_wait, "max_retry_wait", 0, 1e6)
  check_number(s.max_response_bytes, "max_response_bytes", 1, LIMITS.max_response_bytes, true)
  check_number(s.nginx_pool_size, "nginx_pool_size", 1, 10000, true)
  check_number(s.nginx_idle_timeout, "nginx_idle_timeout", 0.001, 1e6)
  if type(s.nginx_blocking) ~= "boolean" then
    invalid("nginx_blocking must be a boolean", "nginx_blocking")
  end
  s.credential, s.credential_name, s.token_provider = pick_credential(opts)
  s.on_response = opts.on_response
  if s.on_response ~= nil and not is_callable(s.on_response) then
    invalid("on_response must be a function", "on_response")
  end
  s.user_agent = check_user_agent(opts.user_agent)
  s.ca_file = check_ca_file(opts.ca_file)
  s.headers = headers.check(opts.headers or {}, "headers")
  s.proxy = opts.proxy
  if s.proxy ~= nil and s.proxy ~= false and type(s.proxy) ~= "string" then
    invalid("proxy must be a URL (http://[user:password@]host:port) or false (no proxy, "
      .. "whatever https_proxy says)", "proxy")
  end
  s.trace_context = opts.trace_context
  if s.trace_context ~= nil and type(s.trace_context) ~= "boolean" then
    invalid("trace_context must be a boolean", "trace_context")
  end
  s.budget = require("supermetrics.budget").check_option(opts.budget)
  if opts.cache ~= nil then
    s.cache = require("supermetrics.cache").check_option(opts.cache)
  end
  return s
end

return options
