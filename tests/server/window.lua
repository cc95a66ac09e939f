-- A rate-limit window, enforced (tests/spec/40-budget_spec.lua): connector
-- window-<limit>-<seconds>-<mode> on the single and list routes. Each key
-- (the bearer token) has its own window: it opens with the key's first
-- request and lasts <seconds>; its first <limit> requests are answered as
-- the plain connectors would (the seed entry; a page of paged-10-1), every
-- later one gets 429 TOO_MANY_REQUESTS with Retry-After = the seconds left
-- until the window resets (rounded up) and X-RateLimit-Limit / -Remaining
-- (0). Modes: `all` sends X-RateLimit-Limit and -Remaining on every
-- response, `429` on the 429 only (as the API's document declares them),
-- `date` as 429 with Retry-After as an HTTP-date.
--
-- GET .../connectors/windowstats/logs/<token> (no auth) answers what the key's
-- windows saw: { ok =, limited =, late =, late_after_ms =, windows =,
-- ok_per_window = [...], starts = [when each window opened],
-- first_limited_at = } where late counts the
-- requests that arrived while the window was closed after its first 429
-- had been sent, and late_after_ms is how long after that 429 the last of
-- them arrived (a client that obeys the window sends none, but requests
-- already in flight when the 429 went out).
local cjson = require "cjson"

local DICT = ngx.shared.hub

local window = {}

local MODES = { all = true, ["429"] = true, date = true }

local function k(token, field)
    return "w:" .. token .. ":" .. field
end

-- Admits the request (true: the caller answers it; the window's headers
-- are set) or answers it with a 429 (false). nil: not a window connector.
function window.gate(connector, token, send_error)
    local limit, seconds, mode = connector:match("^window%-(%d+)%-(%d+)%-(%w+)$")
    if not limit or not MODES[mode] then
        return nil
    end
    limit, seconds = tonumber(limit), tonumber(seconds)
    ngx.update_time()
    local now = ngx.now()
    local start = DICT:get(k(token, "start"))
    if not start or now >= start + seconds then
        local windows = DICT:incr(k(token, "windows"), 1, 0)
        start = now
        DICT:set(k(token, "start"), start)
        DICT:set(k(token, "n"), 0)
        DICT:delete(k(token, "closed_at"))
        DICT:set(k(token, "ok" .. windows), 0)
        DICT:set(k(token, "start" .. windows), start)
    end
    local n = DICT:incr(k(token, "n"), 1, 0)
    if n <= limit then
        DICT:incr(k(token, "ok"), 1, 0)
        DICT:incr(k(token, "ok" .. (DICT:get(k(token, "windows")) or 1)), 1, 0)
        if mode == "all" then
            ngx.header["X-RateLimit-Limit"] = tostring(limit)
            ngx.header["X-RateLimit-Remaining"] = tostring(limit - n)
        end
        return true
    end
    DICT:incr(k(token, "limited"), 1, 0)
    local closed_at = DICT:get(k(token, "closed_at"))
    if not closed_at then
        DICT:set(k(token, "closed_at"), now)
        DICT:set(k(token, "first_limited_at"), now)
    else
        DICT:incr(k(token, "late"), 1, 0)
        local after = math.floor((now - closed_at) * 1000)
        if after > (DICT:get(k(token, "late_after_ms")) or 0) then
            DICT:set(k(token, "late_after_ms"), after)
        end
    end
    local reset = start + seconds
    ngx.header["Retry-After"] = mode == "date" and ngx.http_time(math.ceil(reset))
        or tostring(math.max(1, math.ceil(reset - now)))
    ngx.header["X-RateLimit-Limit"] = tostring(limit)
    ngx.header["X-RateLimit-Remaining"] = "0"
    send_error(429, "TOO_MANY_REQUESTS", "The rate limit window is closed.")
    return false
end

-- The stats of token's windows (see above).
function window.stats(token)
    local windows = DICT:get(k(token, "windows")) or 0
    local per, starts = {}, {}
    for i = 1, windows do
        per[i] = DICT:get(k(token, "ok" .. i)) or 0
        starts[i] = DICT:get(k(token, "start" .. i))
    end
    ngx.header["Content-Type"] = "application/json"
    ngx.print(cjson.encode {
        id = token, ok = DICT:get(k(token, "ok")) or 0, limited = DICT:get(k(token, "limited")) or 0,
        late = DICT:get(k(token, "late")) or 0, late_after_ms = DICT:get(k(token, "late_after_ms")) or 0,
        windows = windows, ok_per_window = per, starts = starts,
        first_limited_at = DICT:get(k(token, "first_limited_at")),
    })
    return ngx.exit(ngx.HTTP_OK)
end

return window
