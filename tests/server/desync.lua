-- A server (or a proxy in front of one) that sometimes writes one complete
-- response too many on a kept-alive connection: the connection is then out
-- of step, and the next request on it reads the extra answer as its own.
-- nginx cannot be made to do that through its own HTTP code, so the first
-- request of a connection for connector `twice...` takes the raw socket and
-- this file serves that connection from then on: a small HTTP/1.1 loop
-- (request line and headers; GET only, no bodies), until the client closes
-- it or it idles for 10 s.
--
-- Single route  .../connectors/twice/logs/<id>: the seed entry for <id>;
--   <id> ending in -2x: the same response again 5 ms later; -2xnow: both
--   written at once; -close: the connection closed right after the
--   response, which said nothing of closing (it looked kept alive).
-- List route    .../connectors/twice[-2x|-2xnow]/logs?limit=: a page of
--   min(limit, 3) entries tw1..tw3, answered twice the same way.
-- Every extra response written counts in the shared dict as twice_extra.

local cjson = require("cjson")

local desync = {}

local DICT = ngx.shared.hub
local IDLE_MS = 10000
local LATER = 0.005

local ROUTE = "^/v1/teams/[^/]+/connector_builder/connectors/([^/?]+)/logs/?([^?]*)%??(.*)$"

local function unescape(s)
    return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- The seed entry for id (h.seed_fields, hub.lua's), the n-th of a page
-- stamped a second older than the one before.
local function entry(h, id, n)
    local e = h.seed_fields(id)
    e.log_time = string.format("2025-06-01T00:00:%02dZ", 59 - (n or 0))
    return e
end

local REASONS = { [200] = "OK", [401] = "Unauthorized" }

local function response(status, body, request_id)
    return table.concat {
        "HTTP/1.1 ", status, " ", REASONS[status],
        "\r\nContent-Type: application/json\r\nContent-Length: ", #body,
        "\r\nX-Request-Id: ", request_id, "\r\n\r\n", body,
    }
end

-- The response to one request and how it is doubled ("", "2x", "2xnow",
-- "close"), or nil: close the connection unanswered.
local function answer(target, authorization, h)
    local connector, id, query = target:match(ROUTE)
    if not connector or not connector:find("^twice") then
        -- Another scenario's request on a kept connection (nginx's pool is
        -- the worker's, not one client's): this loop cannot serve it, so
        -- the connection ends unanswered, as a server dropping an idle
        -- kept-alive connection would; clients retry that on another.
        return nil
    end
    if not h.authorized(authorization) then
        return response(401, '{"meta":{"request_id":"req_unauthorized01"},"error":'
            .. '{"code":"UNAUTHORIZED","message":"Authentication is required."}}',
            "req_unauthorized01"), ""
    end
    if id ~= "" then
        id = unescape(id)
        local twice = id:match("%-(2x%a*)$") or id:match("%-(close)$") or ""
        return response(200, cjson.encode(entry(h, id)), "req_twice_" .. #id), twice
    end
    local limit = tonumber(query:match("limit=(%d+)")) or 100
    local logs = {}
    for i = 1, math.min(limit, 3) do
        logs[i] = entry(h, "tw" .. i, i)
    end
    return response(200, cjson.encode({ logs = logs }), "req_twice_list"),
        connector:match("^twice%-(2x%a*)$") or ""
end

local function serve(sock, target, authorization, h)
    local bytes, twice = answer(target, authorization, h)
    if not bytes then
        return false
    end
    if twice == "2xnow" then
        bytes = bytes .. bytes
        DICT:incr("twice_extra", 1, 0)
    end
    if not sock:send(bytes) or twice == "close" then
        return false
    end
    if twice == "2x" then
        ngx.sleep(LATER)
        if sock:send(bytes) then
            DICT:incr("twice_extra", 1, 0)
        end
    end
    return true
end

-- Reads one request head: target, authorization, keep (false for
-- Connection: close), or nil when the client closed or idled.
local function read_request(sock)
    local line = sock:receive("*l")
    if not line then
        return nil
    end
    local target = line:match("^GET (%S+) HTTP/1%.1$")
    local authorization, keep = nil, true
    while true do
        local header = sock:receive("*l")
        if not header then
            return nil
        end
        if header == "" then
            break
        end
        local name, value = header:match("^([^:]+):%s*(.-)%s*$")
        name = name and name:lower()
        if name == "authorization" then
            authorization = value
        elseif name == "connection" and value:lower() == "close" then
            keep = false
        end
    end
    return target or "", authorization, keep
end

--- Serves the connection of the current request; h.authorized(header)
-- says whether a credential is good, h.seed_fields(id) is the seed entry.
function desync.serve_connection(h)
    local sock = ngx.req.socket(true)
    if not sock then
        return ngx.exit(444)
    end
    sock:settimeout(IDLE_MS)
    local target, authorization, keep = ngx.var.request_uri, ngx.var.http_authorization,
        (ngx.var.http_connection or ""):lower() ~= "close"
    while target do
        if not serve(sock, target, authorization, h) or not keep then
            break
        end
        target, authorization, keep = read_request(sock)
    end
    return ngx.exit(444)
end

return desync
