-- The `decoder` connector's bodies: 2xx entries, by log id, written by hand
-- so every byte is as a server could send it. The fast entry decoder
-- (src/json_entry.c) takes some and leaves the others to lua-cjson;
-- 33-decoder_spec reads this same table to know what was sent. Each carries
-- its log id as `id` (or none), as the library checks.
local fields = {}
for i = 1, 70 do
  fields[#fields + 1] = ('"f%d":%d'):format(i, i)
end

return {
  -- Fast: the API's flat entry, every kind of scalar.
  flat = '{"id":"flat","log_time":"2025-01-01","status":200,"event":"auth.token.refresh",'
    .. '"request":"POST /api/oauth/token_refresh","duration_ms":253,'
    .. '"request_id":"8dc24bc2-8a17-4188-a509-217cb8799929","ok":true,"no":false,'
    .. '"ratio":0.25,"neg":-7,"count":42,"zero":0,"tiny":0.000001}',
  -- Fast: nulls dropped, the last of duplicate keys wins.
  nulls = '{"id":"nulls","status":null,"a":null,"b":"x","b":null,"c":null,"c":"y","d":1,"d":2}',
  -- Fast: every escape, UTF-16 pairs, \u0000, escaped keys.
  escapes = '{"\\u0069d":"escapes","s":"q\\"b\\\\s\\/n\\nt\\tr\\rb\\bf\\f",'
    .. '"u":"\\u00e9\\u20ac\\uD83D\\uDE00\\u0041","nul":"a\\u0000b","st\\u0061tus":201}',
  -- Fast: integral floats for the integer fields, fractions as strtod.
  numbers = '{"id":"numbers","status":200.0,"duration_ms":253.000,"frac":0.1,'
    .. '"money":-12.75,"small":0.0000000000000000000001}',
  -- Fast: 15 significant digits (more than the OpenResty app's JSON keeps).
  precise = '{"id":"precise","long":123456789012345,"third":0.333333333333333,"neg":-98765.4321098765}',
  -- Whitespace everywhere JSON allows it, a newline after.
  spaced = ' \t\r\n{ "id" : "spaced" ,\n "status" : 204 }\r\n',
  -- cjson's: exponents, numbers over 15 digits, -0.
  bignumbers = '{"id":"bignumbers","status":2e2,"duration_ms":1.5e1,"exp":1E3,"huge":1e400,'
    .. '"long":12345678901234567890,"negzero":-0,"negzerof":-0.0,"precise":0.12345678901234567}',
  -- cjson's: nested values keep their nulls.
  nested = '{"id":"nested","status":200,"meta":{"a":null,"list":[1,null,3]},"x":null,"e":{},"l":[]}',
  -- cjson's: a raw control character inside a string (not JSON; cjson takes it).
  control = '{"id":"control","s":"a\tb"}',
  -- cjson's: more members than the fast decoder holds.
  wide = '{"id":"wide",' .. table.concat(fields, ",") .. '}',
  -- cjson's, refused: a lone UTF-16 surrogate, text after the object.
  lone = '{"id":"lone","s":"\\uDE00"}',
  trailing = '{"id":"trailing"} x',
  -- An escaped id, and an id as a number (compared as the API sends it).
  escapedid = '{"id":"\\u0065scapedid","status":200}',
  ["77"] = '{"id":77,"status":200}',
}
