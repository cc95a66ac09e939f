-- List-route servers that page badly on purpose, and a log too large to
-- page through, for the paging bounds (36-paging_bounds_spec, README.md).
-- hub.lua hands it every list connector that starts with "hostile-":
--
--   hostile-idless[-excl]          every page: `limit` entries without id, all
--                                  stamped T (the same ones each time)
--   hostile-fresh-<nonce>[-excl]   every page: `limit` entries with ids never
--                                  sent before, all stamped T
--   hostile-between-<nonce>[-excl] the first page: `limit` new ids stamped T;
--                                  a page asked for with before = B later than
--                                  T: `limit` new ids stamped between T and B
--   hostile-endless-<g>[-excl]     an honest log of 100,000,000 entries n1..,
--                                  newest first, g sharing each second back
--                                  from T
--
-- T is 2025-06-01T00:00:00Z. before is inclusive (entries at or before it),
-- or exclusive with -excl; nothing is older than T but the endless log, so
-- a page asked for before T (or at T, exclusive) is empty. Every request
-- counts in `stats get`'s list_requests. Plain LuaJIT + ngx + cjson.
local cjson = require "cjson"

local M = {}

local DICT = ngx.shared.hub
local T = 1748736000 -- 2025-06-01T00:00:00Z
local ENDLESS = 100000000

local function days_from_civil(y, m, d)
    if m <= 2 then y = y - 1 end
    local era = math.floor(y / 400)
    local yoe = y - era * 400
    local doy = math.floor((153 * ((m + 9) % 12) + 2) / 5) + d - 1
    return era * 146097 + yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy - 719468
end

-- An RFC 3339 date-time in UTC (what the library sends) as seconds since
-- the epoch, with its fraction; nil for anything else.
local function seconds_of(s)
    local y, mo, d, h, mi, sec, frac = tostring(s):match(
        "^(%d%d%d%d)%-(%d%d)%-(%d%d)T(%d%d):(%d%d):(%d%d)%.?(%d*)Z$")
    if not y then
        return nil
    end
    return days_from_civil(tonumber(y), tonumber(mo), tonumber(d)) * 86400 + tonumber(h) * 3600
        + tonumber(mi) * 60 + tonumber(sec) + (frac ~= "" and tonumber("0." .. frac) or 0)
end

local function stamp(t)
    local whole = math.floor(t)
    local micro = math.floor((t - whole) * 1e6 + 0.5)
    if micro >= 1e6 then
        whole, micro = whole + 1, 0
    end
    local text = os.date("!%Y-%m-%dT%H:%M:%S", whole)
    if micro > 0 then
        text = text .. string.format(".%06d", micro)
    end
    return text .. "Z"
end

local function send_page(entries)
    local body = '{"logs":[' .. table.concat(entries, ",") .. ']}'
    ngx.status = 200
    ngx.header["Content-Type"] = "application/json"
    ngx.header["Content-Length"] = #body
    ngx.print(body)
    return ngx.exit(ngx.HTTP_OK)
end

local function send_error(status, message)
    local body = cjson.encode { meta = { request_id = "req_hostile" }, error = { code = "BAD_REQUEST",
        message = message } }
    ngx.status = status
    ngx.header["Content-Type"] = "application/json"
    ngx.header["Content-Length"] = #body
    ngx.print(body)
    return ngx.exit(ngx.HTTP_OK)
end

local function entry(id, t, extra)
    return '{' .. (id and ('"id":"' .. id .. '",') or "") .. '"log_time":"' .. stamp(t)
        .. '","status":200,"event":"hostile"' .. (extra or "") .. '}'
end

-- Fresh ids: a counter per nonce in the shared dict.
local function fresh_ids(nonce, n)
    local last = DICT:incr("hostile_" .. nonce, n, 0)
    return last - n
end

-- Whether an entry stamped t is on a page asked for with before b.
local function on_page(t, b, excl)
    return not b or t < b or (not excl and t == b)
end

local function endless(g, limit, b, excl)
    local first = 1
    if b then
        local d = T - b -- how far before the newest second b is
        local run
        if excl then
            run = d < 0 and 0 or math.floor(d) + 1
        else
            run = d <= 0 and 0 or math.ceil(d)
        end
        first = run * g + 1
    end
    local out = {}
    for i = first, math.min(ENDLESS, first + limit - 1) do
        out[#out + 1] = entry("n" .. i, T - math.floor((i - 1) / g))
    end
    return out
end

function M.list(connector, args)
    local kind, arg = connector:match("^hostile%-(%a+)%-?(%w*)")
    local excl = connector:find("%-excl$") ~= nil
    if arg == "excl" then
        arg = ""
    end
    local limit = tonumber(args.limit or 100)
    if not limit or limit < 1 or limit > 1000 or limit % 1 ~= 0 then
        return send_error(400, "limit must be 1..1000.")
    end
    local b = args.before and seconds_of(args.before)
    if args.before and not b then
        return send_error(422, "before must be an RFC 3339 date-time in UTC.")
    end
    DICT:incr("list_requests", 1, 0)
    local out = {}
    if kind == "endless" then
        out = endless(tonumber(arg) or 1, limit, b, excl)
    elseif kind == "idless" then
        if on_page(T, b, excl) then
            for k = 1, limit do
                out[k] = entry(nil, T, ',"n":' .. k)
            end
        end
    elseif kind == "fresh" and arg ~= "" then
        if on_page(T, b, excl) then
            local base = fresh_ids(arg, limit)
            for k = 1, limit do
                out[k] = entry("f" .. (base + k), T)
            end
        end
    elseif kind == "between" and arg ~= "" then
        if not b or b > T then
            local base = fresh_ids(arg, limit)
            for k = 1, limit do
                -- newest first, each strictly between T and b
                out[k] = entry("b" .. (base + k), b and T + (b - T) * (limit + 1 - k) / (limit + 1) or T)
            end
        end
    else
        return send_error(400, "unknown hostile connector " .. connector)
    end
    return send_page(out)
end

return M
