-- Bodies a hostile server could send, for tests/spec/35-hostile_decode_spec.lua
-- (issue 26, points 2, 3, 4, 5 and 11): the `hostile-decode-<name>` connector
-- of the stand-in, on the single route (any log id: the test picks the id the
-- body must answer) and on the list route alike. Each body is exactly the
-- bytes below; the large ones (about 16 MB, under the default
-- max_response_bytes of 16 MiB) are made when asked for. Plain Lua but for
-- M.serve, so the spec reads BODIES to know what was sent.

local M = {}

-- Just under the default max_response_bytes (16 MiB).
local BIG = 16000000

-- n copies of unit joined by commas (string.rep's separator is not in
-- Lua 5.1).
local function rep(unit, n)
    return (unit .. ","):rep(n - 1) .. unit
end

-- head .. unit repeated (joined by commas) .. tail, about BIG bytes.
local function filled(head, unit, tail)
    return head .. rep(unit, math.floor((BIG - #head - #tail) / (#unit + 1))) .. tail
end

local members
-- {"id":"123","k1":1,"k2":1,...}: about BIG bytes of distinct names.
local function many_members()
    if not members then
        local parts, size, i = { '{"id":"123"' }, 11, 0
        while size < BIG - 40 do
            i = i + 1
            parts[#parts + 1] = ',"k' .. i .. '":1'
            size = size + #parts[#parts]
        end
        parts[#parts + 1] = "}"
        members = table.concat(parts)
    end
    return members
end

-- 1000 entries, each with a nested array of empty arrays: about BIG bytes.
local function nested_page()
    local each = math.floor(BIG / 1000) - 40
    local item = '{"id":"i","x":[' .. rep("[]", math.floor(each / 3)) .. ']}'
    return '{"logs":[' .. rep(item, 1000) .. ']}'
end

-- 1000 entries, each a string of about BIG / 1000 bytes.
local function string_page()
    local item = '{"id":"i","s":"' .. string.rep("x", math.floor(BIG / 1000) - 30) .. '"}'
    return '{"logs":[' .. rep(item, 1000) .. ']}'
end

local ENVELOPE = '{"meta":{"request_id":"req_hostile_err"},"error":{"code":"LOG_NOT_FOUND",'
    .. '"message":"No such entry.","description":"Gone."}'

-- name -> { body = text or function returning it, status = 200 }
M.BODIES = {
    -- Point 2: pages that are not {"logs": [objects]}.
    ["logs-object"] = { body = '{"logs":{}}' },
    ["logs-object-item"] = { body = '{"logs":{"a":{"id":"x"}}}' },
    ["logs-arrays"] = { body = '{"logs":[[1,2]]}' },
    ["logs-missing"] = { body = '{"items":[]}' },
    ["logs-null"] = { body = '{"logs":null}' },
    ["logs-string"] = { body = '{"logs":"x"}' },
    ["logs-last-object"] = { body = '{"logs":[{"id":"a"}],"logs":{}}' },
    ["item-number"] = { body = '{"logs":[{"id":"a"},1]}' },
    ["item-string"] = { body = '{"logs":[{"id":"a"},"b"]}' },
    ["item-null"] = { body = '{"logs":[{"id":"a"},null]}' },
    ["item-true"] = { body = '{"logs":[{"id":"a"},true]}' },
    -- the first item goes to lua-cjson (nested), the second is an array
    ["item-array-nested"] = { body = '{"logs":[{"id":"n","meta":{"a":[1]}},[1,2]]}' },
    ["item-array-control"] = { body = '{"logs":[{"id":"c","s":"a\tb"},[1]]}' },
    -- fine pages, through each decoder
    ["page-flat"] = { body = '{"logs":[{"id":"a","status":200},{"id":"b"}]}' },
    ["page-nested"] = { body = '{"logs":[{"id":"a","meta":{"x":[1,null]}},{"id":"b","status":201}]}' },
    ["page-empty"] = { body = '{"logs":[]}' },
    -- Point 3: bytes after the JSON value.
    ["page-trail-nul"] = { body = '{"logs":[]}\0junk' },
    ["page-trail-nul-nested"] = { body = '{"logs":[{"id":"a","m":{}}]}\0junk' },
    ["page-trail-text"] = { body = '{"logs":[]} x' },
    ["trail-nul"] = { body = '{"id":"123","status":200}\0junk' },
    ["trail-nul-nested"] = { body = '{"id":"123","meta":{"a":1}}\0junk' },
    ["trail-nul-control"] = { body = '{"id":"123","s":"a\tb"}\0junk' },
    ["trail-nul-only"] = { body = '{"id":"123"}\0' },
    ["trail-nul-space"] = { body = '{"id":"123"}\n\0' },
    ["trail-text"] = { body = '{"id":"123"} junk' },
    ["trail-object"] = { body = '{"id":"123"}{"id":"123"}' },
    ["trail-object-nested"] = { body = '{"id":"123","m":[]}{"id":"123"}' },
    ["err-trail-nul"] = { status = 404, body = ENVELOPE .. '}\0junk' },
    -- a fine one: whitespace around the object
    ["spaced"] = { body = ' \r\n{"id":"123"}\t\n' },
    -- Point 4: ids compared as the text sent, never through a double.
    ["bigid"] = { body = '{"id":9007199254740993,"status":200}' },
    ["bigid-nested"] = { body = '{"id":9007199254740993,"meta":{"a":1}}' },
    ["bigid-control"] = { body = '{"id":9007199254740993,"s":"a\tb"}' },
    ["bigid-string"] = { body = '{"id":"9007199254740993","status":200}' },
    ["hugeid"] = { body = '{"id":123456789012345678901234567890,"status":200}' },
    ["id-int"] = { body = '{"id":100,"status":200}' },
    ["id-fraction"] = { body = '{"id":100.0,"status":200}' },
    ["id-exponent"] = { body = '{"id":1e2,"status":200}' },
    ["id-exponent-nested"] = { body = '{"id":1e2,"m":{}}' },
    ["id-negative"] = { body = '{"id":-5,"status":200}' },
    -- Point 5: duplicate names.
    ["dupid"] = { body = '{"id":"999","status":200,"id":"123"}' },
    ["dupid-same"] = { body = '{"id":"123","id":"123"}' },
    ["dupid-escaped"] = { body = '{"id":"123","\\u0069d":"999"}' },
    ["dupid-nested"] = { body = '{"id":"999","meta":{"a":1},"id":"123"}' },
    ["dupid-null"] = { body = '{"id":null,"id":"123"}' },
    ["dupid-number"] = { body = '{"id":123,"id":"123"}' },
    ["dup-other"] = { body = '{"id":"123","status":1,"status":200,"event":"a","event":"b"}' },
    ["dup-other-nested"] = { body = '{"id":"123","m":{"a":1,"a":2},"status":1,"status":200}' },
    ["item-dupid"] = { body = '{"logs":[{"id":"a"},{"id":"b","status":1,"id":"c"}]}' },
    ["item-dupid-nested"] = { body = '{"logs":[{"id":"b","m":{},"id":"c"}]}' },
    ["item-dupid-escaped"] = { body = '{"logs":[{"id":"b","\\u0069d":"c"}]}' },
    ["item-dup-other"] = { body = '{"logs":[{"id":"a","status":1,"status":200}]}' },
    -- Point 11: about 16 MB of every shape.
    ["big-page-items"] = { body = function() return filled('{"logs":[', "{}", "]}") end },
    ["big-page-arrays"] = { body = function() return filled('{"logs":[{"id":"1","x":[', "[]", "]}]}") end },
    ["big-page-nested"] = { body = nested_page },
    ["big-page-strings"] = { body = string_page },
    ["big-err-arrays"] = { status = 404, body = function() return filled(ENVELOPE .. ',"x":[', "[]", "]}") end },
    ["big-err-top"] = { status = 404, body = function() return filled("[", "[]", "]") end },
    ["big-err-members"] = { status = 503, body = function()
        return ENVELOPE .. many_members():sub(#'{"id":"123"' + 1)
    end },
    ["big-entry-arrays"] = { body = function() return filled('{"id":"123","x":[', "[]", "]}") end },
    ["big-entry-objects"] = { body = function() return filled('{"id":"123","x":[', "{}", "]}") end },
    ["big-entry-numbers"] = { body = function() return filled('{"id":"123","x":[', "1", "]}") end },
    ["big-entry-strings"] = { body = function() return filled('{"id":"123","x":[', '"ab"', "]}") end },
    ["big-entry-members"] = { body = many_members },
    ["big-entry-string"] = { body = function()
        return '{"id":"123","s":"' .. string.rep("x", BIG - 20) .. '"}'
    end },
    ["big-entry-deep"] = { body = function()
        local n = math.floor((BIG - 14) / 2)
        return '{"id":"123","x":' .. string.rep("[", n) .. string.rep("]", n) .. "}"
    end },
    ["big-entry-spaces"] = { body = function() return string.rep(" ", BIG - 12) .. '{"id":"123"}' end },
}

-- The text of body name.
function M.text(name)
    local b = M.BODIES[name]
    return b and (type(b.body) == "function" and b.body() or b.body)
end

-- Serves GET .../connectors/hostile-decode-<name>/logs[/<id>] (h: hub.lua's
-- helpers).
function M.serve(path, h)
    if not h.authorized(ngx.var.http_authorization) then
        return h.send(401, '{"error":{"code":"UNAUTHORIZED","message":"Authentication is required."}}')
    end
    local name = path:match("/connectors/hostile%-decode%-([%w_%-]+)/logs")
    local b = name and M.BODIES[name]
    if not b then
        return h.send(400, '{"error":{"code":"BAD_SCENARIO","message":"Unknown hostile body."}}')
    end
    return h.send(b.status or 200, M.text(name), "req_hostile_" .. name)
end

return M
