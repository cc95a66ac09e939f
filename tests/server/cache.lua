-- The entry cache's scenarios (tests/spec/43-cache_spec.lua): entries that
-- count how often they are asked for, so that a spec can tell a cache hit
-- (no request) from a miss.
--
-- GET .../teams/<team>/connectors/cache-<nonce>/logs/<id> (auth as any):
--   200 {"id":<id>,"team":"<team>","connector":"cache-<nonce>",
--   "key":"<8 hex of the bearer token's MD5>","n":<how often this team,
--   connector, key and id were asked>,"pad":...} where id
--   `nf-...`: 404 NOT_FOUND; `e500-...`: 500 INTERNAL_SERVER_ERROR;
--   `slow<ms>-...`: the entry after <ms> ms (counted as it arrives);
--   `big<bytes>-...`: the entry with a pad of <bytes> bytes;
--   `r-...`: the entry, counted in the total only (runs over many ids).
--   While the nonce is down (below): 503 SERVICE_UNAVAILABLE, or with
--   `drop` the connection closed unanswered.
-- GET .../connectors/cachectl/logs/<nonce>.<op> (no auth): op `down`,
--   `drop` (as down, connections closed), `up`, or `stats`:
--   {"id":"<nonce>.stats","total":N,"ids":{"<id>":N,...}} (the ids' counts
--   summed over teams and keys; `total`: every request of the nonce, 401s
--   too).
local cjson = require "cjson"

local DICT = ngx.shared.hub

local cache = {}

local function k(nonce, what)
    return "cache:" .. nonce .. ":" .. what
end

local function control(arg)
    local nonce, op = arg:match("^(.+)%.(%a+)$")
    if not nonce then
        return nil
    end
    if op == "down" or op == "drop" then
        DICT:set(k(nonce, "down"), op)
    elseif op == "up" then
        DICT:delete(k(nonce, "down"))
    elseif op ~= "stats" then
        return nil
    end
    local ids = {}
    for _, id in ipairs(cjson.decode(DICT:get(k(nonce, "idlist")) or "[]")) do
        ids[id] = DICT:get(k(nonce, "id:" .. id)) or 0
    end
    return { id = arg, total = DICT:get(k(nonce, "total")) or 0, ids = next(ids) and ids or cjson.empty_array }
end

-- Answers the request and returns true; nil when connector is not ours.
function cache.handle(connector, log_id, team, authorization, authorized, send, send_error)
    if connector == "cachectl" then
        local body = control(log_id)
        if not body then
            return send_error(400, "BAD_SCENARIO", "Unknown cachectl operation: " .. log_id)
        end
        return send(200, cjson.encode(body))
    end
    local nonce = connector:match("^cache%-(.+)$")
    if not nonce then
        return nil
    end
    DICT:incr(k(nonce, "total"), 1, 0)
    if not authorized(authorization) then
        return send_error(401, "UNAUTHORIZED", "Authentication is required.", "req_unauthorized01")
    end
    local token = (authorization or ""):match("^%a+%s+(.+)$") or ""
    local key = ngx.md5(token):sub(1, 8)
    if log_id:find("^r%-") then -- many ids (the RSS run): counted in total only
        return send(200, cjson.encode { id = log_id, team = team, connector = connector, key = key, n = 0 })
    end
    if DICT:add(k(nonce, "seen:" .. log_id), true) then
        -- The ids' list, for stats (one writer at a time: one worker).
        local list = cjson.decode(DICT:get(k(nonce, "idlist")) or "[]")
        if #list < 1000 then
            list[#list + 1] = log_id
            DICT:set(k(nonce, "idlist"), cjson.encode(list))
        end
    end
    DICT:incr(k(nonce, "id:" .. log_id), 1, 0)
    local n = DICT:incr(k(nonce, "n:" .. team .. ":" .. key .. ":" .. log_id), 1, 0)
    local down = DICT:get(k(nonce, "down"))
    if down == "drop" then
        return ngx.exit(444)
    elseif down then
        return send_error(503, "SERVICE_UNAVAILABLE", "The stand-in is down for this test.")
    end
    if log_id:find("^nf%-") then
        return send_error(404, "NOT_FOUND", "Log entry not found.")
    elseif log_id:find("^e500%-") then
        return send_error(500, "INTERNAL_SERVER_ERROR", "Something broke.")
    end
    local ms = log_id:match("^slow(%d+)%-")
    if ms then
        ngx.sleep(tonumber(ms) / 1000)
    end
    local pad = tonumber(log_id:match("^big(%d+)%-") or 0)
    return send(200, cjson.encode {
        id = log_id, team = team, connector = connector, key = key, n = n, status = 200,
        pad = string.rep("x", pad),
    }, "req_cache_" .. n)
end

return cache
