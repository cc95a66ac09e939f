--- A Supermetrics Hub API client: options, credentials, the retry loop.
-- One HTTP attempt is `handle:perform` in the C core; everything around it
-- (which credential, whether and when to try again) is policy, kept here.
-- @classmod supermetrics.Client

local core = require "supermetrics.core"
local nginx = require "supermetrics.nginx"
local options = require "supermetrics.options"
local retry = require "supermetrics.retry"

local monotonic, sleep = core.monotonic, core.sleep
local log_path, normalize_entry = core.log_path, core.normalize_entry
local invalid = options.invalid

local Client = {}
Client.__index = Client

Client.VERSION = "0.1.0"

local function default_user_agent()
  local lua = type(jit) == "table" and jit.version or _VERSION
  return string.format("lua-supermetrics/%s (%s; libcurl/%s)",
    Client.VERSION, lua, core.curl_version)
end

-- One attempt on the client's own handle, blocking the calling thread.
local function direct_perform(client, path, deadline, credential)
  return client._handle:perform(path, deadline - monotonic(), credential)
end

-- How a client makes attempts and waits between them: returns perform,
-- sleep. Outside nginx that is always the blocking pair.
local function direct(_)
  return direct_perform, sleep
end

--- Creates a client. See README.md "Client options".
function Client.new(opts)
  local s = options.check(opts)
  local ua = default_user_agent()
  if s.user_agent then
    ua = ua .. " " .. s.user_agent
  end
  s.user_agent = ua
  local handle = core.new_client(s)
  local client = setmetatable({
    _handle = handle,
    _runtime = direct,
    _provider = s.token_provider,
    _timeout = s.timeout,
    _max_retries = s.max_retries,
    _max_retry_wait = s.max_retry_wait,
  }, Client)
  if nginx.active() then
    -- Worker threads rebuild the handle from plain data and get the
    -- credential with each attempt.
    client._runtime = function(c) return nginx.runtime(c, direct) end
    client._credential = s.credential
    client._thread_config = nginx.thread_config(s)
    client._nginx_thread_pool = s.nginx_thread_pool
    client._nginx_blocking = s.nginx_blocking
  end
  return client
end

local function closed()
  invalid("the client is closed")
end

-- Asks the token_provider for this attempt's credential.
local function provide(provider, attempts)
  local ok, credential = pcall(provider)
  if not ok then
    local err = setmetatable({
      code = "INVALID_ARGUMENT", attempts = attempts, cause = credential,
      message = "token_provider raised an error (see err.cause)",
    }, core.Error)
    error(err)
  end
  if type(credential) ~= "string" then
    local err = setmetatable({
      code = "INVALID_ARGUMENT", attempts = attempts,
      message = "token_provider must return a string (got " .. type(credential) .. ")",
    }, core.Error)
    error(err)
  end
  return credential
end

--- GET base_url .. path, retried by the policy in supermetrics.retry within
-- one deadline. Returns the decoded JSON object or raises an error value.
function Client:_get(path)
  if not self._handle then
    closed()
  end
  local perform, wait = self._runtime(self)
  local deadline = monotonic() + self._timeout
  local provider = self._provider
  local made = 0 -- HTTP attempts made so far
  while true do
    local credential = provider and provide(provider, made)
    local body, err = perform(self, path, deadline, credential)
    if body then
      return body
    end
    made = made + err.attempts
    err.attempts = made
    if made > self._max_retries or not retry.retryable(err) then
      error(err)
    end
    local delay = retry.delay(err, made, self._max_retry_wait)
    if not delay or monotonic() + delay >= deadline then
      error(err)
    end
    wait(delay)
  end
end

--- Fetches one Codeless Connector log entry as a plain table.
function Client:get_connector_log(team_id, connector_identifier, log_id)
  local path = log_path(team_id, connector_identifier, log_id)
  return normalize_entry(self:_get(path))
end

--- Releases the client's connections and credential now. Safe to call twice.
function Client:close()
  local handle = self._handle
  if handle then
    self._handle = false
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
