--- Internal: What surrounds one HTTP attempt, for single calls and batch items
-- alike: the credential before it, the on_response report after it, and
-- after a failure the one retry decision both use.
--
-- policy: the client's settings for every call, made once in `new`:
-- `{ provider =, hook =, proxy =, timeout =, max_retries =, max_retry_wait =,
-- monotonic =, sleep = }` (token_provider, on_response, the proxy's
-- host:port for events, the options of the same names, and the client's
-- clock, supermetrics.clock).
-- @module supermetrics.attempt

local errors = require "supermetrics.errors"
local retry = require "supermetrics.retry"

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
-- shown part goes in the event), proxy: the proxy's host:port, or nil;
-- now: the clock's reading as the attempt ended.
function attempt.report(hook, route, number, started, ok, detail, extra, proxy, now)
  local event = {
    method = "GET", path = route:path(), attempt = number,
    duration_ms = (now - started) * 1000,
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

--- After an attempt that failed with err (made: the attempts before it;
-- started: when it began, for the report): reports it to the hook when it
-- reached the network (err.attempts counts it), then decides as the retry
-- policy says. Returns the seconds to wait before the next attempt, or nil
-- to give up with err. The same for single calls and batch items.
function attempt.failed(policy, route, err, made, started, extra, deadline)
  local hook = policy.hook
  if hook and err.attempts > made then
    attempt.report(hook, route, err.attempts, started, false, err, extra, policy.proxy, policy.monotonic())
  end
  return retry.next_delay(err, err.attempts, policy.max_retries, policy.max_retry_wait,
    deadline - policy.monotonic())
end

--- After an attempt that succeeded: reports it to the hook, if any.
function attempt.succeeded(policy, route, info, started, extra)
  if policy.hook then
    attempt.report(policy.hook, route, info.attempts, started, true, info, extra, policy.proxy,
      policy.monotonic())
  end
end

return attempt
