-- Local stand-in for the Supermetrics Hub API (see README.md).
--
-- Two endpoints:
--   GET /v1/teams/{team_id}/connector_builder/connectors/{connector}/logs/{log_id}
--   GET /v1/teams/{team_id}/connector_builder/connectors/{connector}/logs?limit=&before=
-- The connector segment selects a test scenario, the log_id segment (or the
-- query) is its argument. Plain LuaJIT + ngx API + cjson only.

local cjson = require("cjson")

local M = {}

local DICT = ngx.shared.hub

-- Segments are matched on the raw request URI so that an encoded "%2F"
-- stays inside its segment; a raw "/" simply makes the route not match.
local ROUTE = "^/v1/teams/([^/]+)/connector_builder/connectors/([^/]+)/logs/([^/]+)$"
local LIST_ROUTE = "^/v1/teams/([^/]+)/connector_builder/connectors/([^/]+)/logs$"

local VALID_TOKENS = {
    ["Bearer api_test_key"] = true,
    ["Bearer otok_test_token"] = true,
}

local CANONICAL = {
    [400] = "BAD_REQUEST",
    [401] = "UNAUTHORIZED",
    [403] = "FORBIDDEN",
    [404] = "NOT_FOUND",
    [405] = "METHOD_NOT_ALLOWED",
    [409] = "CONFLICT_ERROR",
    [422] = "UNPROCESSABLE_ENTITY",
    [429] = "TOO_MANY_REQUESTS",
    [500] = "INTERNAL_SERVER_ERROR",
    [502] = "BAD_GATEWAY",
    [503] = "SERVICE_UNAVAILABLE",
    [504] = "GATEWAY_TIMEOUT",
}

-- The seed log entry, split around "id" so the hot (default) route only
-- has to splice one encoded string between two constants.
local SEED_HEAD = '{"id":'
local SEED_TAIL = ',"log_time":"2025-01-01","status":200,'
    .. '"event":"auth.token.refresh","request":"POST /api/oauth/token_refresh",'
    .. '"duration_ms":253,"request_id":"8dc24bc2-8a17-4188-a509-217cb8799929"}'

local function seed_fields(id)
    return {
        id = id,
        log_time = "2025-01-01",
        status = 200,
        event = "auth.token.refresh",
        request = "POST /api/oauth/token_refresh",
        duration_ms = 253,
        request_id = "8dc24bc2-8a17-4188-a509-217cb8799929",
    }
end

-- Debian's lua-cjson 2.1.0 always escapes "/" as "\/" (valid JSON, but
-- surprising in test output). Undoing it is safe: a literal backslash is
-- encoded as "\\", so "\/" can only ever be an escaped slash.
local function encode(value)
    return (cjson.encode(value):gsub("\\/", "/"))
end

local function encode_string(s)
    return encode(s)
end

-- Percent-decoding for one path segment. Not ngx.unescape_uri: that one
-- is meant for query components and may turn "+" into a space, while in a
-- path "+" is literal.
local function hex_to_char(h)
    return string.char(tonumber(h, 16))
end

local function decode_segment(s)
    if not s:find("%", 1, true) then
        return s
    end
    return (s:gsub("%%(%x%x)", hex_to_char))
end

local function new_request_id()
    return "req_" .. ngx.var.request_id
end

-- Sends a complete response with an explicit Content-Length, so that the
-- connection stays reusable without chunked encoding.
local function send(status, body, request_id, content_type)
    ngx.status = status
    ngx.header["Content-Type"] = content_type or "application/json"
    if request_id then
        ngx.header["X-Request-Id"] = request_id
    end
    ngx.header["Content-Length"] = #body
    if body ~= "" then
        ngx.print(body)
    end
    return ngx.exit(ngx.HTTP_OK)
end

local function send_json(status, body, request_id)
    request_id = request_id or new_request_id()
    return send(status, body, request_id)
end

-- Built by hand (not cjson) so the key order is exactly
-- {"meta":{...},"error":{"code","message"[,"description"]}}.
local function envelope_body(code, message, request_id, description)
    local parts = { '{' }
    if request_id then
        parts[#parts + 1] = '"meta":{"request_id":' .. encode_string(request_id) .. '},'
    end
    parts[#parts + 1] = '"error":{"code":' .. encode_string(code)
        .. ',"message":' .. encode_string(message)
    if description then
        parts[#parts + 1] = ',"description":' .. encode_string(description)
    end
    parts[#parts + 1] = '}}'
    return table.concat(parts)
end

local function send_error(status, code, message, request_id, description)
    request_id = request_id or new_request_id()
    return send(status, envelope_body(code, message, request_id, description), request_id)
end

local function canonical_code(status)
    return CANONICAL[status] or ("HTTP_" .. status)
end

-- Malformed scenario arguments are a bug in the test, not a Hub behaviour;
-- a distinct code makes that obvious.
local function bad_scenario(what)
    return send_error(400, "BAD_SCENARIO", "Unknown scenario argument: " .. what)
end

-- Statuses that must not carry a body (204, 304) or that we answer
-- bodiless on purpose (other 3xx). nginx omits Content-Length for 204/304.
local function send_bodiless(status, request_id)
    ngx.status = status
    if request_id then
        ngx.header["X-Request-Id"] = request_id
    end
    if status ~= 204 and status ~= 304 then
        ngx.header["Content-Length"] = 0
    end
    return ngx.exit(ngx.HTTP_OK)
end

local function send_seed(id, request_id)
    return send_json(200, SEED_HEAD .. encode_string(id) .. SEED_TAIL, request_id)
end

local function authorized(header)
    if type(header) ~= "string" then
        return false
    end
    return VALID_TOKENS[header] or header:find("^Bearer otok_valid_") ~= nil
end

-- Raw socket faults. ngx.req.socket(true) hands us the downstream
-- connection (after TLS for HTTPS; it is unavailable with HTTP/2, which
-- this stand-in does not enable). GET has no body, so nothing is left
-- unread. ngx.exit(444) then closes without nginx adding anything.
local RAW = {
    short = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"id":"x"',
    midheaders = 'HTTP/1.1 200 OK\r\nContent-Ty',
    badchunk = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nabc\r\n',
    garbage = 'NOT HTTP AT ALL\r\n\r\n',
}
local DRIP_HEAD = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n'
local DRIP_SECONDS = 30

local function raw_socket()
    local sock, err = ngx.req.socket(true)
    if not sock then
        ngx.log(ngx.ERR, "raw socket unavailable: ", err)
    end
    return sock
end

-- Sends bytes verbatim, then closes the connection.
local function raw_reply(bytes)
    local sock = raw_socket()
    if sock then
        sock:send(bytes)
    end
    return ngx.exit(444)
end

local function raw_drip()
    local sock = raw_socket()
    if not sock or not sock:send(DRIP_HEAD) then
        return ngx.exit(444)
    end
    for _ = 1, DRIP_SECONDS do
        ngx.sleep(1)
        if not sock:send("x") then
            break
        end
    end
    return ngx.exit(444)
end

---------------------------------------------------------------------------
-- Scenarios. Each gets (log_id, team_id) already percent-decoded.
---------------------------------------------------------------------------

local scenarios = {}
local live_add -- the live-<nonce> connector (list endpoint, below)

function scenarios.echo(log_id, team_id)
    if log_id == "redirected" then
        DICT:incr("redirected_hits", 1, 0)
    end
    local auth = ngx.var.http_authorization
    local entry = seed_fields(log_id)
    entry.team_id = team_id
    entry.uri = ngx.var.request_uri
    entry.connection = tonumber(ngx.var.connection)
    entry.connection_requests = tonumber(ngx.var.connection_requests)
    entry.user_agent = ngx.var.http_user_agent
    entry.accept = ngx.var.http_accept
    entry.accept_encoding = ngx.var.http_accept_encoding
    entry.scheme = ngx.var.scheme
    -- Only the scheme: the credential itself must never be reflected.
    if auth and auth:sub(1, 7) == "Bearer " then
        entry.authorization_scheme = "Bearer"
    end
    -- Extra headers a client sent (trace context, x-*), by lower-cased
    -- name; a header sent twice shows as an array. Never the credential,
    -- and of Proxy-Authorization (which must never get past the proxy)
    -- only that it came.
    local extra = {}
    for name, value in pairs(ngx.req.get_headers(200)) do
        if name == "traceparent" or name == "tracestate" or name:sub(1, 2) == "x-" then
            extra[name] = value
        end
    end
    entry.headers = next(extra) and extra or nil
    entry.proxy_authorization = ngx.var.http_proxy_authorization and true or nil
    return send_json(200, encode(entry))
end

-- Bodies that are not the API's envelope but say why: an RFC 9457 problem
-- as Stoplight Prism sends one (title, detail and its validation list), and
-- a gateway's {"message": ...}. Built by hand: the key order is fixed.
local PROBLEM_DETAIL = "Your request is not valid and no HTTP validation response was found in the spec, "
    .. "so Prism is generating this error for you."
local function problem_body(code, fields)
    local parts = { '{"type":"https://stoplight.io/prism/errors#' .. canonical_code(code) .. '"' }
    if fields.title then
        parts[#parts + 1] = ',"title":' .. encode_string(fields.title)
    end
    parts[#parts + 1] = ',"status":' .. code
    if fields.detail then
        parts[#parts + 1] = ',"detail":' .. encode_string(fields.detail)
    end
    if fields.validation then
        parts[#parts + 1] = ',"validation":' .. fields.validation
    end
    return table.concat(parts) .. "}"
end

local function send_problem(code, fields)
    return send(code, problem_body(code, fields), "req_problem_" .. code, "application/problem+json")
end

local function bearer_token()
    return ((ngx.var.http_authorization or ""):gsub("^Bearer ", ""))
end

-- <code>[-html|-empty|-broken|-custom|-nometa|-badcode|-leak|-leakmangled|-problem|...]
local STATUS_VARIANTS = {
    [""] = function(code)
        return send_error(code, canonical_code(code), "Status " .. code .. " from the stand-in.",
            "req_status_" .. code, "Longer text for " .. code .. ".")
    end,
    html = function(code)
        return send(code, "<html><body><h1>" .. code .. " Bad Gateway</h1></body></html>",
            "req_html_" .. code, "text/html")
    end,
    empty = function(code)
        return send(code, "", nil)
    end,
    broken = function(code)
        return send(code, '{"error": {"code": ', nil)
    end,
    custom = function(code)
        return send_error(code, "LOG_NOT_FOUND", "No such log.", "req_custom_" .. code,
            "The log " .. code .. " does not exist.")
    end,
    nometa = function(code)
        local body = envelope_body(canonical_code(code), "Status " .. code .. " without meta.", nil)
        return send(code, body, "req_header_" .. code)
    end,
    badcode = function(code)
        return send_error(code, "not screaming", "m")
    end,
    -- A careless server that quotes the credential back: clients must not
    -- pass it on in their error messages.
    leak = function(code)
        local token = (ngx.var.http_authorization or ""):gsub("^Bearer ", "")
        return send_error(code, canonical_code(code), "Bad token " .. token .. ".", "req_leak_" .. code,
            "You sent " .. token .. " twice: " .. token)
    end,
    -- The same, quoted lower-cased, cut short and upper-cased.
    leakmangled = function(code)
        local token = (ngx.var.http_authorization or ""):gsub("^Bearer ", "")
        return send_error(code, canonical_code(code), "Bad token " .. token:lower() .. ".", token:sub(1, 12),
            "Starts " .. token:sub(1, 14) .. "..., upper " .. token:upper())
    end,
    problem = function(code)
        return send_problem(code, { title = "Invalid request", detail = PROBLEM_DETAIL,
            validation = '[{"location":["query","before"],"severity":"Error","code":"format",'
                .. '"message":"must match format \\"date-time\\""},'
                .. '{"location":["path","log_id",0],"severity":"Error","code":"maxLength",'
                .. '"message":"must NOT have more than 255 characters"}]' })
    end,
    problemtitle = function(code)
        return send_problem(code, { title = "Title only" })
    end,
    problemdetail = function(code)
        return send_problem(code, { detail = "Detail only" })
    end,
    -- Quotes the bearer token in title, detail and the body around them.
    problemleak = function(code)
        local token = bearer_token()
        return send_problem(code, { title = "Bad token " .. token, detail = "You sent " .. token:upper() .. "." })
    end,
    -- Over every cap, with control characters (ESC sequences, newline, tab).
    problemlong = function(code)
        return send_problem(code, {
            title = "Line one\nline two\tand \27]0;title\7\27[2J" .. ("x"):rep(1000),
            detail = "D\r\n" .. ("\195\169"):rep(3000), -- é: two bytes each
        })
    end,
    gatewaymsg = function(code)
        return send(code, '{"message":"Endpoint request timed out"}', "req_gateway_" .. code)
    end,
    -- Not JSON: the token quoted where the first KiB of the body ends.
    edgeleak = function(code)
        return send(code, ("x"):rep(1015) .. bearer_token() .. " and more", "req_edge_" .. code, "text/plain")
    end,
}

function scenarios.status(log_id)
    local code, variant = log_id:match("^(%d%d%d)%-(%a+)$")
    if not code then
        code, variant = log_id:match("^(%d%d%d)$"), ""
    end
    code = tonumber(code)
    local respond = STATUS_VARIANTS[variant or ""]
    if not code or not respond then
        return bad_scenario(log_id)
    end
    if code < 200 then
        -- nginx would send a 1xx as if it were final and then keep the
        -- connection open, so clients hang. Send the interim response
        -- ourselves and close: the client sees a premature end instead.
        return raw_reply("HTTP/1.1 " .. code .. " Informational\r\n\r\n")
    end
    if code == 204 or (code >= 300 and code < 400) then
        return send_bodiless(code, "req_status_" .. code)
    end
    if code == 429 then
        ngx.header["X-RateLimit-Limit"] = "1000"
        ngx.header["X-RateLimit-Remaining"] = "0"
    end
    return respond(code)
end

-- <remaining>: 200 seed entry with X-RateLimit-Limit: 1000 and
-- X-RateLimit-Remaining: <remaining>.
function scenarios.ratelimit(log_id)
    if not log_id:match("^%d+$") then
        return bad_scenario(log_id)
    end
    ngx.header["X-RateLimit-Limit"] = "1000"
    ngx.header["X-RateLimit-Remaining"] = log_id
    return send_seed(log_id, "req_ratelimit_" .. log_id)
end

-- Retry-After: digits verbatim, "date<secs>" = HTTP-date in the future,
-- "dateNEG" = HTTP-date in the past, anything else verbatim (lets tests
-- send unparsable values).
local function retry_after_value(spec)
    if spec == "dateNEG" then
        return ngx.http_time(ngx.time() - 3600)
    end
    local secs = spec:match("^date(%d+)$")
    if secs then
        return ngx.http_time(ngx.time() + tonumber(secs))
    end
    return spec
end

-- <nonce>-<n>-<status>[-<retry_after>]; the nonce has no "-". A retry_after
-- of "slow<ms>" sends no Retry-After but delays the first success by ms
-- (a retry that runs into the call's deadline).
function scenarios.retry(log_id)
    local nonce, n, status, after = log_id:match("^([^-]+)-(%d+)-(%d+)-(.+)$")
    if not nonce then
        nonce, n, status = log_id:match("^([^-]+)-(%d+)-(%d+)$")
    end
    if not nonce then
        return bad_scenario(log_id)
    end
    n, status = tonumber(n), tonumber(status)
    local seen = DICT:incr(log_id, 1, 0)
    if seen <= n then
        if status == 0 then
            return ngx.exit(444)
        end
        if after and not after:find("^slow") then
            ngx.header["Retry-After"] = retry_after_value(after)
        end
        return send_error(status, canonical_code(status), "Attempt " .. seen .. " fails with " .. status .. ".",
            "req_retry_" .. status .. "_" .. seen)
    end
    local slow = after and after:match("^slow(%d+)$")
    if slow and seen == n + 1 then
        ngx.sleep(tonumber(slow) / 1000)
    end
    local entry = seed_fields(log_id)
    entry.attempts_seen = seen
    return send_json(200, encode(entry))
end

-- Sleeps ms, counted as in flight in "inflight" and, with a tag, also in
-- "inflight_<tag>" (see stats await<n>[-<tag>]).
local function sleep_in_flight(ms, tag)
    local now = DICT:incr("inflight", 1, 0)
    if now > (DICT:get("inflight_max") or 0) then
        DICT:set("inflight_max", now)
    end
    if tag then DICT:incr("inflight_" .. tag, 1, 0) end
    ngx.sleep(ms / 1000)
    if tag then DICT:incr("inflight_" .. tag, -1, 0) end
    DICT:incr("inflight", -1, 0)
end

-- <ms>[-<tag>]: the tag makes ids unique and names the request for stats
-- await<n>-<tag>.
function scenarios.slow(log_id)
    local ms, tag = log_id:match("^(%d+)%-([%w_]+)$")
    ms = tonumber(ms or log_id:match("^(%d+)$"))
    if not ms then
        return bad_scenario(log_id)
    end
    sleep_in_flight(ms, tag)
    return send_seed(log_id)
end

function scenarios.close()
    -- 444 is nginx's "close the connection, send nothing".
    return ngx.exit(444)
end

-- Answers only the first request of each connection and closes a later
-- one unanswered (444): a server that dropped a kept-alive connection just
-- as the next request arrived. Clients must retry such a request on a fresh
-- connection without an error or a counted attempt.
function scenarios.stale(log_id)
    if tonumber(ngx.var.connection_requests) > 1 then
        return ngx.exit(444)
    end
    local entry = seed_fields(log_id)
    entry.connection = tonumber(ngx.var.connection)
    return send_json(200, encode(entry))
end

local REDIRECT_PATH = "/v1/teams/1/connector_builder/connectors/echo/logs/redirected"

function scenarios.redirect(log_id)
    local location
    if log_id == "same" then
        location = REDIRECT_PATH
    elseif log_id == "other" then
        -- Another host (nothing listens on 127.0.0.2): a client following
        -- it must not forward the Authorization header.
        location = ngx.var.scheme .. "://127.0.0.2:" .. ngx.var.server_port .. REDIRECT_PATH
    else
        return bad_scenario(log_id)
    end
    ngx.header["Location"] = location
    return send_bodiless(302, new_request_id())
end

-- {"pad":"xxx..."} with exactly <bytes> bytes (no id: nothing to check it by).
local BIG_HEAD = '{"pad":"'
local BIG_TAIL = '"}'
local BIG_MIN = #BIG_HEAD + #BIG_TAIL
local BIG_MAX = 512 * 1024 * 1024
local CHUNK = 16384

local function send_big_chunked(bytes)
    ngx.status = 200
    ngx.header["Content-Type"] = "application/json"
    ngx.header["X-Request-Id"] = new_request_id()
    -- No Content-Length + flushing pieces makes nginx use chunked encoding.
    ngx.print(BIG_HEAD)
    ngx.flush(true)
    local left = bytes - BIG_MIN
    local piece = string.rep("x", CHUNK)
    while left > 0 do
        if left < CHUNK then
            piece = piece:sub(1, left)
        end
        local ok = ngx.print(piece)
        if not ok then
            return ngx.exit(444)
        end
        ngx.flush(true)
        left = left - #piece
    end
    ngx.print(BIG_TAIL)
    return ngx.exit(ngx.HTTP_OK)
end

function scenarios.big(log_id)
    local bytes, chunked = log_id:match("^(%d+)(.*)$")
    bytes = tonumber(bytes)
    if not bytes or bytes < BIG_MIN or bytes > BIG_MAX
            or (chunked ~= "" and chunked ~= "-chunked") then
        return bad_scenario(log_id)
    end
    if chunked ~= "" then
        return send_big_chunked(bytes)
    end
    return send_json(200, BIG_HEAD .. string.rep("x", bytes - BIG_MIN) .. BIG_TAIL)
end

-- Literal bodies: cjson could not produce the big integer exactly.
local SHAPES = {
    array = '[1,2,3]',
    string = '"x"',
    number = '42',
    null = 'null',
    empty = '',
    nulls = '{"id":"nulls","log_time":"2025-01-01","status":null,"event":null,'
        .. '"request":null,"duration_ms":null,"request_id":null}',
    extra = SEED_HEAD .. '"extra"' .. SEED_TAIL:sub(1, -2)
        .. ',"future":{"a":null,"list":[1,null,3]},"flag":true}',
    floaty = SEED_HEAD .. '"floaty"' .. SEED_TAIL:gsub('"duration_ms":253', '"duration_ms":253.5'),
    bigint = SEED_HEAD .. '"bigint"' .. SEED_TAIL:gsub('"duration_ms":253', '"duration_ms":9007199254740993'),
}

function scenarios.shape(log_id)
    if log_id == "notjson" then
        return send(200, "hello", new_request_id(), "text/plain")
    end
    local body = SHAPES[log_id]
    if not body then
        return bad_scenario(log_id)
    end
    return send_json(200, body)
end

-- Entries for the fast decoder and its fallback (bodies.lua).
local BODIES = require "bodies"

function scenarios.decoder(log_id)
    local body = BODIES[log_id]
    if not body then
        return bad_scenario(log_id)
    end
    return send_json(200, body)
end

-- Raw socket faults (see raw_reply above).
function scenarios.raw(log_id)
    if log_id == "drip" then
        return raw_drip()
    end
    local bytes = RAW[log_id]
    if not bytes then
        return bad_scenario(log_id)
    end
    return raw_reply(bytes)
end

-- Ids as JSON numbers (the document types them as strings; a server may
-- not): digits come back as a number.
function scenarios.numid(log_id)
    local entry = seed_fields(tonumber(log_id) or log_id)
    return send_json(200, encode(entry))
end

-- A server out of step for good: every entry carries another id.
function scenarios.wrongid(log_id)
    return send_seed("other-" .. log_id)
end

function scenarios.stats(log_id)
    if log_id == "reset" then
        DICT:flush_all()
        return send_json(200, '{"id":"reset"}')
    elseif log_id == "get" then
        local hits = DICT:get("redirected_hits") or 0
        return send_json(200, '{"id":"get","redirected_hits":' .. hits
            .. ',"list_requests":' .. (DICT:get("list_requests") or 0)
            .. ',"twice_extra":' .. (DICT:get("twice_extra") or 0) .. '}')
    end
    local flown = log_id:match("^maxflight%-([%w]+)$")
    if flown then
        return send_json(200, '{"id":"' .. log_id .. '","max":' .. (DICT:get("maxflight_" .. flown) or 0) .. '}')
    end
    -- await<n>[-<tag>]: answers once n slow requests (with that tag) are in
    -- flight (or after 10 s), so a test knows its requests have arrived.
    local want, tag = log_id:match("^await(%d+)%-([%w_]+)$")
    want = tonumber(want or log_id:match("^await(%d+)$"))
    if want then
        local key = tag and ("inflight_" .. tag) or "inflight"
        local deadline = ngx.now() + 10
        while (DICT:get(key) or 0) < want and ngx.now() < deadline do
            ngx.sleep(0.002)
            ngx.update_time()
        end
        return send_json(200, '{"id":' .. encode_string(log_id) .. ',"inflight":' .. (DICT:get(key) or 0)
            .. ',"inflight_max":' .. (DICT:get("inflight_max") or 0) .. '}')
    end
    return bad_scenario(log_id)
end

---------------------------------------------------------------------------
-- Hardening: broken servers and networks (fault.lua, docs/hardening.md).
---------------------------------------------------------------------------

scenarios.fault = require("fault").handler {
    send = send, send_json = send_json, send_error = send_error,
    raw_socket = raw_socket, bad_scenario = bad_scenario,
}

-- A hostile server's text (hostile_text.lua, 37-hostile_text_spec).
scenarios["hostile-text"] = require("hostile_text").single

---------------------------------------------------------------------------

-- ---- list endpoint ----

-- paged-<n>-<group>[-<precision>][-<mode>]: n entries e1..en, newest first,
-- each run of <group> entries sharing one log_time (so runs straddle page
-- edges). precision: sec (default; runs 60 s apart), date (runs on
-- consecutive days: "2025-06-01"), min (runs 1 minute apart, stamped to the
-- minute: "2025-06-01T00:00Z"), adjsec (runs 1 s apart), ms (runs 1 ms
-- apart: "2025-06-01T00:00:00.123Z"). Adjacent runs are what "just after
-- the last log_time" lands on. -slow<tag>: every page but the first takes
-- 20 s, in flight under that tag (stats await<n>-<tag>).
local datasets = {}
local STEP = { sec = 60, adjsec = 1, date = 86400, ms = 0.001, min = 60 }
local function stamp(t, precision)
    if precision == "date" then
        return os.date("!%Y-%m-%d", t)
    elseif precision == "min" then
        return os.date("!%Y-%m-%dT%H:%MZ", t)
    elseif precision == "ms" then
        local whole = math.floor(t)
        return os.date("!%Y-%m-%dT%H:%M:%S", whole) .. string.format(".%03dZ", math.floor((t - whole) * 1000 + 0.5))
    end
    return os.date("!%Y-%m-%dT%H:%M:%SZ", t)
end
local function dataset(n, group, precision)
    precision = precision or "sec"
    local key = n .. "-" .. group .. "-" .. precision
    if not datasets[key] then
        local base = 1748736000 -- 2025-06-01T00:00:00Z
        local entries = {}
        for i = 1, n do
            local run = math.floor((i - 1) / group)
            local t
            if precision == "ms" then
                -- whole milliseconds back from base + 0.999
                t = base + (999 - run) / 1000
            else
                t = base - run * STEP[precision]
            end
            entries[i] = seed_fields("e" .. i)
            entries[i].log_time = stamp(t, precision)
        end
        datasets[key] = entries
    end
    return datasets[key]
end

-- A log_time or before value as a comparable key (the same instant for
-- every precision; a date is its midnight), or nil. Remembered per text:
-- a page scans its dataset from the newest entry, and a walk of small
-- pages would otherwise read every log_time again for each one.
local time_keys = {} -- text -> key, or false
local parse_time_key
local function time_key(s)
    s = tostring(s)
    local k = time_keys[s]
    if k == nil then
        k = parse_time_key(s) or false
        time_keys[s] = k
    end
    return k or nil
end
function parse_time_key(s)
    local y, mo, d, rest = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)(.*)$")
    if not y then
        return nil
    end
    local t = os.time { year = tonumber(y), month = tonumber(mo), day = tonumber(d), hour = 12 }
    local days = math.floor((t - os.time { year = 1970, month = 1, day = 1, hour = 12 }) / 86400 + 0.5)
    local secs, frac = days * 86400, 0
    local h, mi, sec, f = rest:match("^T(%d%d):(%d%d):?(%d*)%.?(%d*)Z?$")
    if h then
        secs = secs + tonumber(h) * 3600 + tonumber(mi) * 60 + (tonumber(sec) or 0)
        frac = tonumber("0." .. (f ~= "" and f or "0"))
    elseif rest ~= "" then
        return nil
    end
    return secs + frac
end

local function send_logs(entries)
    return send_json(200, (encode({ logs = entries }):gsub('"logs":{}', '"logs":[]')))
end

-- Whether s is an RFC 3339 date-time (format: date-time in the API's
-- document): seconds always, an optional fraction, Z or an offset. A bare
-- date or a time without seconds is not one.
local function is_date_time(s)
    local tail = s:match("^%d%d%d%d%-%d%d%-%d%d[Tt]%d%d:%d%d:%d%d(.*)$")
    if not tail then
        return false
    end
    tail = tail:gsub("^%.%d+", "", 1)
    return tail == "Z" or tail == "z" or tail:match("^[+-]%d%d:%d%d$") ~= nil
end

-- limit defaults to 100 and must be 1..1000; before must be a date-time
-- (422 otherwise, as a server validating against the document answers) and
-- is inclusive (entries at or before it), exclusive (strictly before) or
-- ignored, by mode.
local function list_page(entries, args, mode)
    local limit = tonumber(args.limit or 100)
    if not limit or limit < 1 or limit > 1000 or limit % 1 ~= 0 then
        return send_error(400, "BAD_REQUEST", "limit must be 1..1000.")
    end
    if args.before and not is_date_time(tostring(args.before)) then
        return send_error(422, "UNPROCESSABLE_ENTITY", "before must be a date-time (RFC 3339).")
    end
    local before = mode ~= "ignore" and args.before or nil
    local bound = before and time_key(before)
    if before and not bound then
        return send_error(400, "BAD_REQUEST", "before must be an ISO 8601 timestamp.")
    end
    local page = {}
    for _, entry in ipairs(entries) do
        if #page >= limit then
            break
        end
        local t = bound and time_key(entry.log_time)
        if not bound or t < bound or (mode ~= "excl" and t == bound) then
            page[#page + 1] = entry
        end
    end
    DICT:incr("list_requests", 1, 0)
    return send_logs(page)
end

-- live-<nonce>: a log that grows while a client follows it. The list route
-- serves its entries L1..Ln newest first (three per second, on adjacent
-- seconds, before inclusive); GET .../connectors/live-<nonce>/logs/add-<k>
-- appends k entries and answers the new count.
local LIVE_BASE = 1748736000 -- 2025-06-01T00:00:00Z
local function live_entry(i)
    local entry = seed_fields("L" .. i)
    entry.log_time = os.date("!%Y-%m-%dT%H:%M:%SZ", LIVE_BASE + math.floor((i - 1) / 3))
    return entry
end

-- live-<nonce>-low: every answer says the rate limit is nearly used up
-- (1 of 100 left); live-<nonce>-busy: every other list request is a 429
-- with Retry-After: 1.
local function live_list(nonce, args, mode)
    if mode == "low" then
        ngx.header["X-RateLimit-Limit"] = "100"
        ngx.header["X-RateLimit-Remaining"] = "1"
    elseif mode == "busy" and DICT:incr("live_busy_" .. nonce, 1, 0) % 2 == 1 then
        ngx.header["Retry-After"] = "1"
        return send_error(429, "TOO_MANY_REQUESTS", "Slow down.", "req_live_busy")
    end
    local n = DICT:get("live_" .. nonce) or 0
    local entries = {}
    for i = n, 1, -1 do
        entries[#entries + 1] = live_entry(i)
    end
    return list_page(entries, args, "incl")
end

function live_add(nonce, log_id)
    local k = tonumber(log_id:match("^add%-(%d+)$"))
    if not k then
        return bad_scenario(log_id)
    end
    local n = DICT:incr("live_" .. nonce, k, 0)
    return send_json(200, '{"id":' .. encode_string(log_id) .. ',"count":' .. n .. '}')
end

-- Pages for the fast page decoder and its fallback (pages.lua).
local PAGES = require "pages"

local LIST_BODIES = {
    ["listbad-nolist"] = '{"items":[]}',
    ["listbad-noarray"] = '{"logs":{"a":1}}',
    ["listbad-nullitem"] = '{"logs":[null]}',
    ["listbad-notobject"] = '[1,2]',
}

-- Served a page at a time like paged-<n>-<g> (limit, before inclusive).
local LIST_SETS = {
    -- Statuses and events for the CLI's filters, newest first.
    mixed = '{"logs":['
        .. '{"id":"m6","log_time":"2025-06-01T00:06:00Z","status":503,"event":"query.fail"},'
        .. '{"id":"m5","log_time":"2025-06-01T00:05:00Z","status":500,"event":"query.fail"},'
        .. '{"id":"m4","log_time":"2025-06-01T00:04:00Z","status":429,"event":"query.retry"},'
        .. '{"id":"m3","log_time":"2025-06-01T00:03:00Z","status":404,"event":"auth.lookup"},'
        .. '{"id":"m2","log_time":"2025-06-01T00:02:00Z","status":200,"event":"query.run"},'
        .. '{"id":"m1","log_time":"2025-06-01T00:01:00Z","status":200,"event":"auth.token.refresh"}]}',
    -- Values CSV must quote, nested values, null and a missing field.
    odd = '{"logs":[{"id":"o1","log_time":"2025-06-01T00:00:00Z","status":200,'
        .. '"event":"say \\"hi\\", then go","request":"GET /a\\nnext line",'
        .. '"duration_ms":1.5,"meta":{"step":2,"tags":["a","b"]},"request_id":null}]}',
    -- Server text a terminal or a spreadsheet must not obey: escape
    -- sequences (set the title, clear the screen) and formula-looking
    -- strings; duration_ms is a real negative number.
    evil = '{"logs":[{"id":"=1+1","log_time":"2025-06-01T00:00:00Z","status":200,'
        .. '"event":"\\u001b]0;title\\u0007\\u001b[2Jboom","request":"+x","duration_ms":-5,'
        .. '"request_id":"-x","note":"@SUM(A1)","tab":"\\tcmd","dash":"-5","cr":"\\r=2"}]}',
}

local function handle_list(connector)
    local args = ngx.req.get_uri_args()
    if connector:find("^hostile%-") and not connector:find("^hostile%-text%-") then
        return require("hostile_pages").list(connector, args)
    end
    if connector:find("^export%-") then -- a log to export (exports.lua, 41-export_spec)
        return require("exports").list(connector, args, { send_json = send_json, send_error = send_error })
    end
    -- window-<limit>-<seconds>-<mode>: a page of paged-10-1 in an enforced rate window (window.lua).
    local admitted = require("window").gate(connector, bearer_token(), send_error)
    if admitted ~= nil then
        return admitted and list_page(dataset(10, 1), args, "incl")
    end
    if connector == "echo" then
        local entry = seed_fields("echo")
        entry.uri = ngx.var.request_uri
        entry.limit, entry.before = args.limit, args.before
        return send_logs({ entry })
    end
    if connector == "wrongid" then
        -- Out of step for good: a list request answered with an entry.
        return send_seed("wrongid-entry")
    end
    if LIST_BODIES[connector] then
        return send_json(200, LIST_BODIES[connector])
    end
    if connector:find("^hostile%-text%-") then
        return require("hostile_text").list(connector)
    end
    -- pages-<name>: the page of pages.lua, whatever the limit.
    local page = connector:match("^pages%-(%w+)$")
    if page then
        return PAGES[page] and send_json(200, PAGES[page]) or bad_scenario(connector)
    end
    if LIST_SETS[connector] then
        return list_page(cjson.decode(LIST_SETS[connector]).logs, args, "incl")
    end
    if connector:match("^status%-%d+$") then
        local code = tonumber(connector:match("%d+"))
        return send_error(code, CANONICAL[code] or ("HTTP_" .. code), "List failed with " .. code .. ".",
            "req_list_" .. code)
    end
    local live, live_mode = connector:match("^live%-(%w+)%-?(%a*)$")
    if live then
        return live_list(live, args, live_mode)
    end
    -- flaky-<nonce>-<n>: the first n list requests get 503, then 10 entries.
    local flaky, failures = connector:match("^flaky%-(%w+)%-(%d+)$")
    if flaky then
        if DICT:incr("flaky_" .. flaky, 1, 0) <= tonumber(failures) then
            return send_error(503, "SERVICE_UNAVAILABLE", "Flaky list.", "req_flaky")
        end
        return list_page(dataset(10, 1), args, "incl")
    end
    local n, group, opts = connector:match("^paged%-(%d+)%-(%d+)(.*)$")
    if n then
        local precision, mode, slow = "sec", "incl", nil
        for word in opts:gmatch("%-(%w+)") do
            if STEP[word] then
                precision = word
            elseif word == "incl" or word == "excl" or word == "ignore" then
                mode = word
            elseif word:match("^slow%w+$") then
                slow = word:sub(5)
            else
                return send_error(400, "BAD_REQUEST", "Unknown paging option " .. word .. ".")
            end
        end
        if slow and args.before then
            -- A client caught in the middle of a listing.
            sleep_in_flight(20000, slow)
        end
        return list_page(dataset(tonumber(n), tonumber(group), precision), args, mode)
    end
    -- A broken server that ignores before: always the newest entries.
    n = connector:match("^ignorebefore%-(%d+)$")
    if n then
        return list_page(dataset(tonumber(n), 1), args, "ignore")
    end
    return list_page(dataset(3, 1), args, "incl")
end

local desync = require("desync")
local hostile_decode = require("hostile_decode")

function M.handle()
    local path = ngx.var.request_uri:match("^[^?]*")
    -- A connection that starts with connector twice... is served by
    -- desync.lua to its end (a server that answers some requests twice).
    if path:find("/connectors/twice", 1, true) then
        return desync.serve_connection { authorized = authorized, seed_fields = seed_fields }
    end
    -- hostile-decode-<name>: bodies of hostile_decode.lua, both routes.
    if path:find("/connectors/hostile-decode-", 1, true) then
        return hostile_decode.serve(path, { send = send, authorized = authorized })
    end
    local team, connector, log_id = path:match(ROUTE)
    if not team then
        local list_team, list_connector = path:match(LIST_ROUTE)
        if list_team then
            if not authorized(ngx.var.http_authorization) then
                return send_error(401, "UNAUTHORIZED", "Authentication is required.", "req_unauthorized01")
            end
            return handle_list(decode_segment(list_connector))
        end
        return send_error(404, "NOT_FOUND", "Route not found.")
    end
    if ngx.req.get_method() ~= "GET" then
        return send_error(405, "METHOD_NOT_ALLOWED", "Only GET is supported.")
    end
    connector = decode_segment(connector)
    if connector:find("^cache") then -- the entry cache's scenarios (cache.lua, 43-cache_spec)
        local answered = require("cache").handle(connector, decode_segment(log_id), decode_segment(team),
            ngx.var.http_authorization, authorized, send, send_error)
        if answered ~= nil then
            return answered
        end
    end
    if connector == "windowstats" then
        return require("window").stats(decode_segment(log_id))
    end
    if connector ~= "stats" and not authorized(ngx.var.http_authorization) then
        return send_error(401, "UNAUTHORIZED", "Authentication is required.", "req_unauthorized01")
    end
    local live = connector:match("^live%-(%w+)$")
    if live then
        return live_add(live, decode_segment(log_id))
    end
    -- window-<limit>-<seconds>-<mode>: the seed in an enforced rate window (window.lua).
    local admitted = require("window").gate(connector, bearer_token(), send_error)
    if admitted ~= nil then
        return admitted and send_seed(decode_segment(log_id))
    end
    local scenario = scenarios[connector]
    if scenario then
        return scenario(decode_segment(log_id), decode_segment(team))
    end
    return send_seed(decode_segment(log_id))
end

return M
