-- Fault injection for the hardening specs (tests/spec/14-faults_spec.lua,
-- docs/hardening.md): the `fault` connector of the stand-in. Each log_id is one
-- misbehaving server; the table in tests/server/README.md lists them with the
-- error code the library must give. Kept apart from hub.lua's scenarios,
-- which model the real API; these model broken servers and networks.
--
-- Compressed bodies come from files start.sh makes with gzip (DIR/fault/),
-- since the stand-in's LuaJIT has no zlib binding.

local M = {}

local DICT = ngx.shared.hub

-- Set by M.handler: hub.lua's helpers.
local h

-- Entries carry the log id asked for (clients check it): "fault" for the
-- bodies that must fail anyway, the scenario's own id for the others.
local SEED_OF = '{"id":"%s","log_time":"2025-01-01","status":200,"event":"auth.token.refresh",'
    .. '"request":"POST /api/oauth/token_refresh","duration_ms":253,'
    .. '"request_id":"8dc24bc2-8a17-4188-a509-217cb8799929"}'
local SEED = SEED_OF:format("fault")
local SEED_100K = SEED_OF:format("headers-100k")

local files = {}

-- The bytes of DIR/fault/name, read once per worker.
local function file(name)
    if not files[name] then
        local f = assert(io.open(ngx.config.prefix() .. "fault/" .. name, "rb"))
        files[name] = f:read("*a")
        f:close()
    end
    return files[name]
end

-- Writes bytes on the raw downstream socket, then closes the connection.
local function raw(bytes)
    local sock = h.raw_socket()
    if sock then
        sock:send(bytes)
    end
    return ngx.exit(444)
end

-- Sends bytes one per second; stops when the client has gone.
local function drip(bytes)
    local sock = h.raw_socket()
    if not sock then
        return ngx.exit(444)
    end
    for i = 1, #bytes do
        if not sock:send(bytes:sub(i, i)) then
            break
        end
        ngx.sleep(1)
    end
    return ngx.exit(444)
end

local function head(status, extra)
    return "HTTP/1.1 " .. status .. "\r\nContent-Type: application/json\r\n" .. (extra or "")
end

-- A response with Content-Encoding, sent whole (nginx does not re-encode).
local function encoded(status, body, encoding)
    ngx.status = status
    ngx.header["Content-Type"] = "application/json"
    ngx.header["Content-Encoding"] = encoding or "gzip"
    ngx.header["X-Request-Id"] = "req_fault_encoded"
    ngx.header["Content-Length"] = #body
    ngx.print(body)
    return ngx.exit(ngx.HTTP_OK)
end

-- n header lines of `width` bytes each (name included).
local function pad_headers(n, width)
    local value = string.rep("p", width - #"X-Pad-0000: " - 2)
    local t = {}
    for i = 1, n do
        t[i] = string.format("X-Pad-%04d: %s\r\n", i, value)
    end
    return table.concat(t)
end

local function nested(depth, inner)
    return string.rep("[", depth) .. inner .. string.rep("]", depth)
end

local RAW = {
    -- Content-Length promises 1000 bytes; 50 arrive, then the close.
    longer = head("200 OK", "Content-Length: 1000\r\n\r\n") .. SEED:sub(1, 50),
    -- Cut inside a header line, and after whole lines with no blank line.
    ["cut-headers"] = head("200 OK", "X-Request-Id: req_cut"),
    ["cut-headers-line"] = head("200 OK", "X-Request-Id: req_cut\r\n"),
    -- Chunked bodies: no last chunk; a size past 2^64; a chunk shorter than
    -- its size; a size line that is not hex.
    ["cut-chunked"] = head("200 OK", "Transfer-Encoding: chunked\r\n\r\n") .. "20\r\n" .. SEED:sub(1, 32) .. "\r\n",
    ["chunk-overflow"] = head("200 OK", "Transfer-Encoding: chunked\r\n\r\n") .. "FFFFFFFFFFFFFFFFFFFF\r\nabc\r\n",
    ["chunk-short"] = head("200 OK", "Transfer-Encoding: chunked\r\n\r\n") .. "64\r\n{\"id\":1}\r\n0\r\n\r\n",
    ["chunk-garbage"] = head("200 OK", "Transfer-Encoding: chunked\r\n\r\n") .. "zz\r\n{}\r\n0\r\n\r\n",
    -- 100 KB of headers over 100 lines, then a good body: must succeed.
    ["headers-100k"] = head("200 OK", pad_headers(100, 1024) .. "Content-Length: " .. #SEED_100K
        .. "\r\n\r\n") .. SEED_100K,
    -- One header line over libcurl's 100 KB line limit.
    ["header-line-100k"] = head("200 OK", "X-Pad: " .. string.rep("p", 102400) .. "\r\n"
        .. "Content-Length: " .. #SEED .. "\r\n\r\n") .. SEED,
    -- 1 MB of headers in 1 KB lines: past libcurl's total cap.
    ["headers-1m"] = head("200 OK", pad_headers(1024, 1024) .. "Content-Length: " .. #SEED .. "\r\n\r\n") .. SEED,
}

-- Bodies with status 200 unless listed in BODY_STATUS.
local BODIES = {
    -- Invalid UTF-8 inside strings: passed through as bytes.
    utf8 = '{"id":"utf8","request_id":"\255\254","event":"caf\195","request":"\237\160\128"}',
    ["utf8-404"] = '{"meta":{"request_id":"req_utf8"},"error":{"code":"NOT_FOUND","message":"bad \255 byte"}}',
    -- Nesting past the decoder's 128 levels, and just inside it.
    deep = '{"id":"deep","x":' .. nested(100000, "1") .. '}',
    ["deep-404"] = '{"error":' .. nested(100000, "1") .. '}',
    ["deep-ok"] = '{"id":"deep-ok","x":' .. nested(120, "1") .. '}',
    -- Numbers out of every range.
    numbers = '{"id":"numbers","status":1e400,"duration_ms":-1e400,"tiny":1e-400,"neg":-0}',
    ["int-overflow"] = '{"id":"int-overflow","status":9223372036854775808,"duration_ms":-9223372036854775809}',
    nan = '{"id":"nan","status":NaN}',
    hex = '{"id":"hex","status":0x10}',
    -- Duplicate keys: the last one wins (lua-cjson's rule).
    -- Two "id" members are refused (names must be unique: 35-hostile_decode);
    -- of other names the last wins.
    dup = '{"id":"dup","status":1,"event":"first","status":200,"event":"dup"}',
    ["dup-404"] = '{"error":{"code":"FIRST_CODE","message":"first"},'
        .. '"error":{"code":"NOT_FOUND","message":"second"},"meta":{"request_id":"req_dup"}}',
}
local BODY_STATUS = { ["utf8-404"] = 404, ["deep-404"] = 404, ["dup-404"] = 404 }

local handlers = {}

-- 1 byte per second of the status line and headers: the deadline must win.
handlers["drip-headers"] = function()
    return drip(head("200 OK", "Content-Length: 2\r\n\r\n") .. "{}")
end

handlers.gzip = function() return encoded(200, file("seed.json.gz")) end
handlers["gzip-404"] = function() return encoded(404, file("404.json.gz")) end
-- Says gzip, is not.
handlers["gzip-corrupt"] = function() return encoded(200, "\31\139\8\0garbage-not-deflate") end
-- An encoding libcurl does not know.
handlers["encoding-unknown"] = function() return encoded(200, SEED, "x-unknown") end
-- About 20 KB on the wire, 20 MB decoded: a JSON object with a long pad.
handlers.bomb = function() return encoded(200, file("bomb.json.gz")) end

-- storm-<nonce>: always 429 with Retry-After: 0, counting hits per nonce;
-- count-<nonce> tells how many arrived.
local function storm(nonce)
    local hits = DICT:incr("storm_" .. nonce, 1, 0)
    ngx.header["Retry-After"] = "0"
    return h.send_error(429, "TOO_MANY_REQUESTS", "Storm hit " .. hits .. ".", "req_storm_" .. hits)
end

local function count(nonce)
    return h.send_json(200, '{"id":"count-' .. nonce .. '","hits":' .. (DICT:get("storm_" .. nonce) or 0) .. '}')
end

-- An X-Request-Id and an envelope that echo the credential back as ids.
handlers["echo-credential"] = function()
    local token = (ngx.var.http_authorization or ""):gsub("^Bearer ", "")
    ngx.header["X-Request-Id"] = token
    return h.send(400, '{"meta":{"request_id":"' .. token .. '"},"error":{"code":"BAD_REQUEST",'
        .. '"message":"Bad ' .. token .. '","description":"' .. token .. '"}}', token)
end
handlers["echo-credential-header"] = function()
    local token = (ngx.var.http_authorization or ""):gsub("^Bearer ", "")
    return h.send(502, "<html>bad gateway</html>", token, "text/html")
end

--- Installs the helpers hub.lua shares; returns the scenario function.
function M.handler(helpers)
    h = helpers
    return function(log_id)
        if RAW[log_id] then
            return raw(RAW[log_id])
        elseif BODIES[log_id] then
            return h.send(BODY_STATUS[log_id] or 200, BODIES[log_id], "req_fault_" .. log_id)
        elseif handlers[log_id] then
            return handlers[log_id]()
        end
        local nonce = log_id:match("^storm%-(%w+)$")
        if nonce then
            return storm(nonce)
        end
        nonce = log_id:match("^count%-(%w+)$")
        if nonce then
            return count(nonce)
        end
        return h.bad_scenario(log_id)
    end
end

return M
