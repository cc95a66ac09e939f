-- A log to export, for 41-export_spec (README.md): the list route of
-- connectors named
--
--   export-<n>-<g>[-<word>...]
--
-- n entries x1..xn, newest first, each run of g sharing one log_time, the
-- first at 2025-06-01T00:00:00Z. Words:
--   sec (default) runs 1 s apart, stamped to the second
--   ms            runs 1 ms apart, stamped to the millisecond (.999Z down)
--   min / date    runs 1 minute / 1 day apart, stamped so ("...T00:00Z",
--                 "2025-06-01")
--   incl (default) / excl   `before` inclusive / strictly before
--   k<key>        the counter of this export's list requests (with f...)
--   f<at>x<count> list requests number at..at+count-1 of key answer 503
--                 (a page that fails for good, whatever the retries; a
--                 server down for a while); several such words, several times
--   idless        entries have no id
--   l<ms>         each list request answers after ms milliseconds (a real
--                 link's round trip: 44-slices_spec)
-- A page is found by arithmetic (no scan), so 100,000 entries page as fast
-- as a real server's. The entries carry text CSV must quote and guard: an
-- event with a quote and a comma every 7th, a request that starts like a
-- formula every 11th, a null request_id every 13th. Every request counts in
-- `stats get`'s list_requests. Plain LuaJIT + ngx.
local M = {}

local DICT = ngx.shared.hub
local BASE = 1748736000 -- 2025-06-01T00:00:00Z
-- A run's step, in milliseconds.
local STEP = { sec = 1000, ms = 1, min = 60000, date = 86400000 }

local function days_from_civil(y, m, d)
    if m <= 2 then y = y - 1 end
    local era = math.floor(y / 400)
    local yoe = y - era * 400
    local doy = math.floor((153 * ((m + 9) % 12) + 2) / 5) + d - 1
    return era * 146097 + yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy - 719468
end

-- An RFC 3339 date-time in UTC (what the library sends) in microseconds
-- since the epoch; nil for anything else. Past the microsecond, digits
-- round up (a bound just after a time stays after it).
local function micros_of(s)
    local y, mo, d, h, mi, sec, frac = tostring(s):match(
        "^(%d%d%d%d)%-(%d%d)%-(%d%d)T(%d%d):(%d%d):(%d%d)%.?(%d*)Z$")
    if not y then
        return nil
    end
    local whole = days_from_civil(tonumber(y), tonumber(mo), tonumber(d)) * 86400 + tonumber(h) * 3600
        + tonumber(mi) * 60 + tonumber(sec)
    local us = tonumber((frac .. "000000"):sub(1, 6))
    if #frac > 6 and frac:sub(7):find("[1-9]") then
        us = us + 1
    end
    return whole * 1e6 + us
end

local function stamp(ms, precision)
    local whole = math.floor(ms / 1000)
    if precision == "date" then
        return os.date("!%Y-%m-%d", whole)
    elseif precision == "min" then
        return os.date("!%Y-%m-%dT%H:%MZ", whole)
    elseif precision == "ms" then
        return os.date("!%Y-%m-%dT%H:%M:%S", whole) .. string.format(".%03dZ", ms - whole * 1000)
    end
    return os.date("!%Y-%m-%dT%H:%M:%SZ", whole)
end

local function json_string(s)
    return '"' .. s:gsub('[%c"\\]', function(c)
        return string.format("\\u%04x", c:byte())
    end) .. '"'
end

local function entry_json(i, ms, precision, idless)
    local parts = {}
    if not idless then
        parts[#parts + 1] = '"id":"x' .. i .. '"'
    end
    parts[#parts + 1] = '"log_time":"' .. stamp(ms, precision) .. '"'
    parts[#parts + 1] = '"status":' .. (i % 5 == 0 and 503 or 200)
    parts[#parts + 1] = '"event":' .. json_string(i % 7 == 0 and 'say "hi", row ' .. i or "export.row")
    parts[#parts + 1] = '"request":' .. json_string(i % 11 == 0 and "=HYPERLINK(" .. i .. ")" or "GET /x/" .. i)
    parts[#parts + 1] = '"duration_ms":' .. (i % 1000)
    parts[#parts + 1] = '"request_id":' .. (i % 13 == 0 and "null" or '"r' .. i .. '"')
    return "{" .. table.concat(parts, ",") .. "}"
end

--- The list route for connector (matched "^export%-"), args the query;
-- h: hub.lua's send_json and send_error.
function M.list(connector, args, h)
    local n, g, words = connector:match("^export%-(%d+)%-(%d+)(.*)$")
    if not n then
        return h.send_error(400, "BAD_SCENARIO", "export-<n>-<g>[-<word>...]")
    end
    n, g = tonumber(n), tonumber(g)
    local precision, mode, key, idless = "sec", "incl", nil, false
    local failures = {}
    local latency -- seconds each list request waits before its answer (l<ms>)
    for word in words:gmatch("%-([%w]+)") do
        if STEP[word] then
            precision = word
        elseif word == "incl" or word == "excl" then
            mode = word
        elseif word:match("^l%d+$") then
            latency = tonumber(word:sub(2)) / 1000
        elseif word == "idless" then
            idless = true
        elseif word:match("^k%w+$") then
            key = word:sub(2)
        elseif word:match("^f%d+x%d+$") then
            local from, count = word:match("^f(%d+)x(%d+)$")
            failures[#failures + 1] = { tonumber(from), tonumber(count) }
        else
            return h.send_error(400, "BAD_SCENARIO", "unknown export word " .. word)
        end
    end
    DICT:incr("list_requests", 1, 0)
    if latency then
        -- With a key (k<key>): how many of its requests wait at once, at
        -- most (`stats maxflight-<key>`): what parallel slices overlap.
        local flying = key and DICT:incr("flying_" .. key, 1, 0)
        if flying and flying > (DICT:get("maxflight_" .. key) or 0) then
            DICT:set("maxflight_" .. key, flying)
        end
        ngx.sleep(latency)
        if flying then
            DICT:incr("flying_" .. key, -1, 0)
        end
    end
    if #failures > 0 then
        local seq = DICT:incr("export_" .. (key or connector), 1, 0)
        for _, f in ipairs(failures) do
            if seq >= f[1] and seq < f[1] + f[2] then
                return h.send_error(503, "SERVICE_UNAVAILABLE", "Export page " .. seq .. " failed.",
                    "req_export_" .. seq)
            end
        end
    end
    local limit = tonumber(args.limit or 100)
    if not limit or limit < 1 or limit > 1000 or limit % 1 ~= 0 then
        return h.send_error(400, "BAD_REQUEST", "limit must be 1..1000.")
    end
    local step = STEP[precision] * 1000 -- microseconds
    local top = BASE * 1e6 + (precision == "ms" and 999000 or 0)
    -- Run r is stamped top - r * step; the first run a page shows:
    local first_run = 0
    if args.before then
        local b = micros_of(args.before)
        if not b then
            return h.send_error(422, "UNPROCESSABLE_ENTITY", "before must be a date-time (RFC 3339).")
        end
        local d = top - b -- run r qualifies when r * step > d (excl) or >= d (incl)
        if d >= 0 then
            first_run = math.floor(d / step)
            if first_run * step < d or (mode == "excl" and first_run * step == d) then
                first_run = first_run + 1
            end
        end
    end
    local parts = {}
    local first = first_run * g + 1
    for i = first, math.min(n, first + limit - 1) do
        local run = math.floor((i - 1) / g)
        local ms = math.floor(top / 1000 + 0.5) - run * STEP[precision]
        parts[#parts + 1] = entry_json(i, ms, precision, idless)
    end
    return h.send_json(200, '{"logs":[' .. table.concat(parts, ",") .. "]}")
end

return M
