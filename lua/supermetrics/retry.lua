--- Internal: The retry policy: which failures are tried again, and after how long.
-- Pure functions of an error value, so the policy can be read (and tested)
-- apart from the transport.
-- @module supermetrics.retry

local CODES = require("supermetrics.core").CODES

local retry = {}

-- Which statuses say "try again later" rather than "your request is wrong":
-- the table of codes (src/codes.h) says, by the code of each status.
local RETRY_STATUS = {}
for _, row in pairs(CODES) do
  if row.status then
    RETRY_STATUS[row.status] = row.retried
  end
end

--- Whether err may succeed when tried again: a library code's row says
-- (TIMEOUT is never: the deadline covers the whole call, no time is left);
-- for an HTTP error, whatever code it carries, its status's row.
function retry.retryable(err)
  local row = CODES[err.code]
  if row and row.kind == "library" then
    return row.retried
  end
  -- No status: no answer came (the rate budget refused to send): the
  -- code's own status row says.
  return RETRY_STATUS[err.status or (row and row.status)] == true
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

--- After a failed attempt: seconds to wait before the next one, or nil to
-- give up (not retryable, retries used up, Retry-After over max_wait, or
-- the wait would pass the deadline). made counts the attempts so far.
function retry.next_delay(err, made, max_retries, max_wait, time_left)
  if made > max_retries or not retry.retryable(err) then
    return nil
  end
  local delay = retry.delay(err, made, max_wait)
  if not delay or delay >= time_left then
    return nil
  end
  return delay
end

return retry
