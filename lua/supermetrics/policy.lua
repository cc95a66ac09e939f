--- Internal: The policy around one HTTP attempt, for single calls and batch
-- items alike: the credential before it, the on_response report after it,
-- and after a failure the one retry decision both use. (The attempt itself
-- is the transport's mechanism: src/attempt.c, transport/cosocket.lua.)
--
-- policy: the client's settings for every call, made once in `new`:
-- `{ provider =, hook =, proxy =, timeout =, max_retries =, max_retry_wait =,
-- budget =, monotonic =, sleep = }` (token_provider, on_response, the
-- proxy's host:port for events, the options of the same names, the key's
-- rate budget: supermetrics.budget's view, and the client's clock:
-- supermetrics.clock).
-- @module supermetrics.policy

local budget = require "supermetrics.budget"
local errors = require "supermetrics.errors"
local retry = require "supermetrics.retry"

local Policy = {}

--- The error of a call whose callback (what: "token_provider" or
-- "on_response") returned after the call's deadline: TIMEOUT at that point,
-- whatever the attempt gave (after: what it gave, for the message; nil
-- before any attempt). attempts: the call's HTTP attempts so far.
function Policy.late(what, attempts, after, request_id)
  return errors.new("TIMEOUT", "the call's deadline passed while its " .. what .. " ran"
    .. (after and (" (after attempt " .. attempts .. ": " .. after .. ")") or ""),
    { attempts = attempts, request_id = request_id })
end

--- Asks the token_provider for this attempt's credential (made: HTTP
-- attempts so far). Raises INVALID_ARGUMENT when it fails, TIMEOUT when it
-- returned after deadline (the library cannot cut it short: it is the
-- caller's code; the call ends as soon as it is back). monotonic: the
-- client's clock (policy.monotonic).
function Policy.credential(provider, made, deadline, monotonic)
  local ok, credential = pcall(provider)
  if not ok then
    error(errors.new("INVALID_ARGUMENT", "token_provider raised an error (see err.cause)",
      { attempts = made, cause = credential }))
  end
  if deadline and monotonic() >= deadline then
    error(Policy.late("token_provider", made))
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
-- view: the client's rate budget, whose warning (once) goes in the event;
-- now: the clock's reading as the attempt ended.
function Policy.report(hook, route, number, started, ok, detail, extra, proxy, view, now)
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
  if view and view.warning then
    event.budget_warning = budget.take_warning(view)
  end
  pcall(hook, event)
end

-- What an attempt gave, in a late hook's TIMEOUT message.
local function outcome(ok, detail)
  if ok then
    return "HTTP " .. tostring(detail.status)
  end
  return detail.code .. (detail.status and (" (HTTP " .. detail.status .. ")") or "")
end

--- After an attempt that failed with err (made: the attempts before it;
-- started: when it began, for the report): reports it to the hook when it
-- reached the network (err.attempts counts it), then decides as the retry
-- policy says. Returns the seconds to wait before the next attempt, or nil
-- and the error to end the call with: err, or TIMEOUT when the hook
-- returned after the call's deadline. The same for single calls and batch
-- items.
function Policy.failed(policy, route, err, made, started, extra, deadline)
  local hook = policy.hook
  if hook and err.attempts > made then
    Policy.report(hook, route, err.attempts, started, false, err, extra, policy.proxy, policy.budget,
      policy.monotonic())
    if policy.monotonic() >= deadline then
      return nil, Policy.late("on_response", err.attempts, outcome(false, err), err.request_id)
    end
  end
  local delay = retry.next_delay(err, err.attempts, policy.max_retries, policy.max_retry_wait,
    deadline - policy.monotonic())
  if delay then
    return delay
  end
  return nil, err
end

--- After an attempt that succeeded: reports it to the hook, if any.
-- Returns nil, or the TIMEOUT to end the call with when the hook returned
-- after the call's deadline (the answer then counts for nothing).
function Policy.succeeded(policy, route, info, started, extra, deadline)
  if policy.hook then
    Policy.report(policy.hook, route, info.attempts, started, true, info, extra, policy.proxy,
      policy.budget, policy.monotonic())
    if deadline and policy.monotonic() >= deadline then
      return Policy.late("on_response", info.attempts, outcome(true, info), info.request_id)
    end
  end
end

return Policy
