--- A Supermetrics Hub API client: options, credentials, the retry loop.
-- One HTTP attempt is `handle:perform` in the C core; everything around it
-- (which credential, whether and when to try again) is policy, kept here.
-- @classmod supermetrics.Client

local core = require "supermetrics.core"
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

--- Creates a client. See README.md "Client options".
function Client.new(opts)
  local s = options.check(opts)
  local ua = default_user_agent()
  if s.user_agent then
    ua = ua .. " " .. s.user_agent
  end
  local handle = core.new_client {
    base_url = s.base_url,
    credential = s.credential,
    credential_name = s.credential_name,
    connect_timeout = s.connect_timeout,
    max_response_bytes = s.max_response_bytes,
    ca_file = s.ca_file,
    user_agent = ua,
  }
  return setmetatable({
    _handle = handle,
    _provider = s.token_provider,
    _timeout = s.timeout,
    _max_retries = s.max_retries,
    _max_retry_wait = s.max_retry_wait,
  }, Client)
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
  local handle = self._handle
  if not handle then
    closed()
  end
  local deadline = monotonic() + self._timeout
  local provider = self._provider
  local made = 0 -- HTTP attempts made so far
  while true do
    local credential = provider and provide(provider, made)
    local body, err = handle:perform(path, deadline - monotonic(), credential)
    if body then
      return body
    end
    made = made + err.attempts
    err.attempts = made
    if made > self._max_retries or not retry.retryable(err) then
      error(err)
    end
    local wait = retry.delay(err, made, self._max_retry_wait)
    if not wait or monotonic() + wait >= deadline then
      error(err)
    end
    sleep(wait)
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
