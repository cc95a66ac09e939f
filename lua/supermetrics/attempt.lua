--- Internal: What surrounds one HTTP attempt, for single calls and batches alike:
-- the credential before it, the on_response report after it, and whether
-- (and after how long) to try again.
-- @module supermetrics.attempt

local core = require "supermetrics.core"
local errors = require "supermetrics.errors"
local retry = require "supermetrics.retry"

local monotonic = core.monotonic

local attempt = {}

--- Asks the token_provider for this attempt's credential (made: HTTP
-- attempts so far). Raises INVALID_ARGUMENT when it fails.
function attempt.credential(provider, made)
  local ok, credential = pcall(provider)
  if not ok then
    error(errors.new("INVALID_ARGUMENT", "token_provider raised an error (see err.cause)",
      { attempts = made, cause = credential }))
  end
  if type(credential) ~= "string" then
    error(errors.new("INVALID_ARGUMENT", "token_provider must return a string (got "
      .. type(credential) .. ")", { attempts = made }))
  end
  return credential
end

--- Tells the on_response hook about one attempt; what it raises is dropped,
-- so observing a call can never break it. detail: the info of a success or
-- the error value of a failure. extra: the call's extra headers (their
-- shown part goes in the event), proxy: the proxy's host:port, or nil.
function attempt.report(hook, route, number, started, ok, detail, extra, proxy)
  local event = {
    method = "GET", path = route:path(), attempt = number,
    duration_ms = (monotonic() - started) * 1000,
    status = detail.status, request_id = detail.request_id,
    rate_limit = detail.rate_limit, rate_limit_remaining = detail.rate_limit_remaining,
    proxy = proxy,
  }
  if extra then
    -- A copy: the hook may change its event.
    local shown = {}
    for k, v in pairs(extra.shown) do
      shown[k] = v
    end
    event.headers = shown
  end
  if not ok then
    event.error_code = detail.code
  end
  pcall(hook, event)
end

--- After a failed attempt: seconds to wait before the next one, or nil to
-- give up (not retryable, retries used up, Retry-After over max_wait, or
-- the wait would pass the deadline). made counts the attempts so far.
function attempt.retry_delay(err, made, max_retries, max_wait, time_left)
  if made > max_retries or not retry.retryable(err) then
    return nil
  end
  local delay = retry.delay(err, made, max_wait)
  if not delay or delay >= time_left then
    return nil
  end
  return delay
end

return attempt
