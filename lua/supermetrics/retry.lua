--- Internal: The retry policy: which failures are tried again, and after how long.
-- Pure functions of an error value, so the policy can be read (and tested)
-- apart from the transport.
-- @module supermetrics.retry

local retry = {}

-- Statuses that say "try again later" rather than "your request is wrong".
local RETRY_STATUS = { [429] = true, [500] = true, [502] = true, [503] = true, [504] = true }

-- Failures that another attempt cannot fix, whatever their status. TIMEOUT is
-- here because the deadline covers the whole call: no time is left to retry.
local NEVER = {
  TIMEOUT = true, TLS_ERROR = true, INVALID_ARGUMENT = true,
  INVALID_RESPONSE = true, RESPONSE_TOO_LARGE = true,
}

--- Whether err may succeed when tried again.
function retry.retryable(err)
  if NEVER[err.code] then
    return false
  end
  return err.code == "CONNECTION_ERROR" or RETRY_STATUS[err.status] == true
end

--- Seconds to wait before retry number n (1, 2, ...), or nil to stop now:
-- the server's Retry-After when it sent one (nil if over max_wait), else
-- full jitter in [0, min(max_wait, 0.5 * 2^(n-1))].
function retry.delay(err, n, max_wait, random)
  if err.retry_after then
    if err.retry_after > max_wait then
      return nil
    end
    return err.retry_after
  end
  return (random or math.random)() * math.min(max_wait, 0.5 * 2 ^ (n - 1))
end

return retry
