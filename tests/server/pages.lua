-- The `pages-<name>` list connector's bodies: 2xx pages, written by hand so
-- every byte is as a server could send it (whatever limit is asked for).
-- The fast page decoder (src/json_page.c) takes some and leaves the others
-- to lua-cjson; 33-decoder_spec and the test app inside nginx read this
-- same table to know what was sent.
local function entry(i)
  return ('{"id":"e%d","log_time":"2025-06-01T00:%02d:%02dZ","status":%d,"event":"auth.token.refresh",'
    .. '"request":"POST /api/oauth/token_refresh","duration_ms":%d,'
    .. '"request_id":"8dc24bc2-8a17-4188-a509-%012d"}'):format(i, math.floor(i / 60) % 60, i % 60,
      200 + i % 3, 200 + i % 97, i)
end

local function page(n)
  local entries = {}
  for i = 1, n do
    entries[i] = entry(i)
  end
  return '{"logs":[' .. table.concat(entries, ",") .. ']}'
end

return {
  -- Fast: the API's page, every kind of scalar, nulls dropped, integral
  -- floats of status / duration_ms as integers.
  flat = '{"logs":[{"id":"f1","log_time":"2025-01-01","status":200,"event":"auth.token.refresh",'
    .. '"request":"POST /api/oauth/token_refresh","duration_ms":253,'
    .. '"request_id":"8dc24bc2-8a17-4188-a509-217cb8799929","ok":true,"no":false,"ratio":0.25,'
    .. '"count":42,"tiny":0.000001},'
    .. '{"id":"f2","status":404.0,"duration_ms":-7.000,"event":null,"request":null,"neg":-12.75},'
    .. '{"id":"f3"},{}]}',
  -- Fast: an empty page, with whitespace everywhere JSON allows it.
  empty = ' \t\r\n{ "logs" : [ ] }\r\n',
  -- Fast: members besides "logs" (cjson's table has them; the array does
  -- not), their nested nulls and escapes checked all the same.
  extra = '{"next":"c2","logs":[{"id":"x1","status":200}],"count":1.5,'
    .. '"meta":{"a":null,"list":[1,null,{"u":"\\u00e9\\uD83D\\uDE00"}]},"more":true,"none":null}',
  -- Fast: of duplicate "logs" keys the last wins; in entries too.
  dup = '{"logs":[{"id":"old"}],"logs":[{"id":"d1","a":1,"a":null,"b":null,"b":"y"},{"id":"d2"}]}',
  -- Fast: escapes in keys and values, UTF-16 pairs, \u0000.
  escapes = '{"logs":[{"\\u0069d":"s1","s":"q\\"b\\\\s\\/n\\nt\\tr\\rb\\bf\\f",'
    .. '"u":"\\u00e9\\u20ac\\uD83D\\uDE00\\u0041","nul":"a\\u0000b","st\\u0061tus":201}]}',
  -- cjson's: one entry with a nested value sends the whole page there.
  nested = '{"logs":[{"id":"n1","status":200},{"id":"n2","meta":{"a":null,"l":[1,null]},"x":null}]}',
  -- cjson's: exponents, over 15 digits, -0.
  bignumbers = '{"logs":[{"id":"b1","status":2e2,"duration_ms":1.5e1,"huge":1e400,'
    .. '"long":12345678901234567890,"negzero":-0,"negzerof":-0.0}]}',
  -- cjson's: an escaped "logs" key, an entry with a "logs" member, a raw tab.
  escapedkey = '{"\\u006cogs":[{"id":"k1","status":200}]}',
  logsitem = '{"logs":[{"id":"l1","logs":[]}]}',
  control = '{"logs":[{"id":"c1","s":"a\tb"}]}',
  -- Refused: "logs" is {}, an object (an empty table to cjson, which
  -- took it for an empty page).
  emptyobject = '{"logs":{}}',
  -- The largest page the API sends, and one past it.
  thousand = page(1000),
  thousandone = page(1001),
  -- Refused by cjson: a lone UTF-16 surrogate in a member besides "logs".
  lone = '{"logs":[{"id":"z1"}],"next":"\\uDE00"}',
  -- Refused by the page's shaping: the last "logs" is not an array, an
  -- item is not an object.
  dupbad = '{"logs":[{"id":"old"}],"logs":{"a":1}}',
  nullitem = '{"logs":[{"id":"y1"},null]}',
}
