-- A hostile server's text (tests/spec/37-hostile_text_spec.lua): the
-- `hostile-text` connector of the stand-in (single and list routes). It
-- sends what a terminal must never obey (C0, DEL and C1 controls, raw bytes
-- 0x80..0x9F, ill-formed UTF-8), numbers JSON output cannot hold (1e400),
-- and echoes the bearer token it was sent in every form a server may write
-- it in (JSON escapes, percent-encoding, base64 at every alignment, letter
-- case, split across lines), in every field: envelope message and
-- description, meta.request_id, X-Request-Id (of errors and of successes),
-- a problem's title and detail, a plain body.
--
-- Single route, log_id:
--   c1-<where>            the hostile text M.C1 (where: env 400 envelope
--                         message and description; problem 400 title and
--                         detail; gateway 502 {"message"}; text 400 plain
--                         body; entry 200 entry whose event and request hold
--                         it)
--   inf                   200 entry: status 1e400, duration_ms -1e400,
--                         meta.x 1e400
--   echo-<form>-<where>   the token in form <form> (M.FORMS): where env 400
--                         envelope (message "key <F> end", description, and
--                         meta.request_id and X-Request-Id <F>); problem 400
--                         (title, detail); text 400 plain body; ok 200 seed
--                         entry with X-Request-Id <F>
-- List route, connector hostile-text-<what> (any query): c1 (one entry with
-- M.C1 in event and request), inf (the inf entry), echo (a page of one seed
-- entry with X-Request-Id: the token), echo-<form> (the same with <F>).
--
-- The forms are plain functions of the token (no ngx here): the specs use
-- the same table to know what was sent, and the oracle below (M.leak: a
-- decoder of its own, not the library's) to check that none of it survives.

local M = {}

-- Text a terminal must not obey: CSI and OSC as C1 (U+009B, U+009D in
-- UTF-8, and U+009B as a JSON escape), NEL (U+0085), a raw 0x9B byte, ESC
-- sequences, C0, DEL, ill-formed UTF-8 (a stray 0xFF 0xFE, a cut three-byte
-- sequence, an overlong '/', a surrogate), and a real é.
M.C1 = "A\194\155[31mB\194\157" .. "0;title\7C\194\133D\155E\27[2JF\1G\127H\255\254I\224\160J"
  .. "\192\175K\237\160\128L\195\169M\194\155N"
-- The same as the one rule shows it (text.h): controls as spaces, each
-- maximal ill-formed part as U+FFFD.
local R = "\239\191\189"
M.C1_SHOWN = "A [31mB 0;title C D" .. R .. "E [2JF G H" .. R .. R .. "I" .. R .. "J" .. R .. R .. "K"
  .. R .. R .. R .. "L\195\169M N"
-- In JSON output (text.h): escaped, ill-formed bytes as \ufffd.
M.C1_JSON = '"A\\u009b[31mB\\u009d0;title\\u0007C\\u0085D\\ufffdE\\u001b[2JF\\u0001G\\u007fH\\ufffd\\ufffdI'
  .. '\\ufffdJ\\ufffd\\ufffdK\\ufffd\\ufffd\\ufffdL\195\169M\\u009bN"'

-- M.C1 inside a JSON string literal: C0 escaped as JSON requires, the rest
-- as raw bytes, except the last C1, written as the escape \u009b.
local function json_text(s)
  local body = s:gsub("[\1-\31\"\\]", function(c) return string.format("\\u%04x", c:byte()) end)
  return '"' .. body:gsub("\194\155N$", "\\u009bN") .. '"'
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

--- Standard base64 with padding.
function M.base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local v = a * 65536 + (b or 0) * 256 + (c or 0)
    local chars = b and (c and 4 or 3) or 2
    for k = 1, 4 do
      if k <= chars then
        local x = math.floor(v / 2 ^ (6 * (4 - k))) % 64
        out[#out + 1] = B64:sub(x + 1, x + 1)
      else
        out[#out + 1] = "="
      end
    end
  end
  return table.concat(out)
end

local function url_safe(s)
  return (s:gsub("%+", "-"):gsub("/", "_"):gsub("=", ""))
end

local function pct(c, fmt)
  return string.format(fmt or "%%%02X", c:byte())
end

-- Wrapped every width characters with CRLF, as MIME wraps base64.
local function wrap(s, width)
  local lines = {}
  for i = 1, #s, width do
    lines[#lines + 1] = s:sub(i, i + width - 1)
  end
  return table.concat(lines, "\r\n")
end

local function halves(k, sep)
  local mid = math.floor(#k / 2)
  return k:sub(1, mid) .. sep .. k:sub(mid + 1)
end

-- Each form: a function of the token. Raw CR, LF and tab are turned into
-- JSON escapes where the form goes into a JSON string (M.form).
M.FORMS = {
  plain = function(k) return k end,
  upper = function(k) return k:upper() end,
  lower = function(k) return k:lower() end,
  swap = function(k) return (k:gsub("%a", function(c) return c == c:upper() and c:lower() or c:upper() end)) end,
  cut = function(k) return k:sub(1, 10) end,
  jslash = function(k) return (k:gsub("/", "\\/")) end,
  ju = function(k) return (k:gsub(".", function(c) return string.format("\\u%04X", c:byte()) end)) end,
  julower = function(k) return (k:gsub(".", function(c) return string.format("\\u%04x", c:byte()) end)) end,
  juone = function(k) return k:sub(1, 4) .. string.format("\\u%04x", k:byte(5)) .. k:sub(6) end,
  pct = function(k) return (k:gsub(".", pct)) end,
  pctlower = function(k) return (k:gsub(".", function(c) return pct(c, "%%%02x") end)) end,
  pctreserved = function(k) return (k:gsub("[^%w%-%._~]", pct)) end,
  pcttwice = function(k) return (k:gsub("[^%w%-%._~]", function(c) return "%25" .. pct(c):sub(2) end)) end,
  html = function(k) return (k:gsub("[^%w%-%._~]", function(c) return string.format("&#x%X;", c:byte()) end)) end,
  b64 = function(k) return M.base64(k) end,
  b64nopad = function(k) return (M.base64(k):gsub("=", "")) end,
  b64url = function(k) return url_safe(M.base64(k)) end,
  bearer64 = function(k) return M.base64("Bearer " .. k) end,
  bearer64url = function(k) return url_safe(M.base64("Bearer " .. k)) end,
  -- Inside a longer base64 text, at byte alignment 1 and 2 (0 is b64).
  b64align1 = function(k) return M.base64("{" .. k .. "} and more text") end,
  b64align2 = function(k) return M.base64("{\"" .. k .. "\" and more text") end,
  bearer64align1 = function(k) return url_safe(M.base64("x:Bearer " .. k .. ";")) end,
  -- Basic credentials (user:key) as a server may log them.
  basic = function(k) return M.base64("user:" .. k) end,
  b64wrap = function(k) return wrap(M.base64("token=" .. k .. "&more=1"), 16) end,
  split = function(k) return halves(k, "\r\n") end,
  splitlf = function(k) return halves(k, "\n") end,
  splitfold = function(k) return halves(halves(k, "\r\n\t"), "\r\n ") end,
  splitb64 = function(k) return halves(url_safe(M.base64(k)), "\r\n") end,
}

--- The token in form name, ready for a JSON string when json is set.
function M.form(name, token, json)
  local f = M.FORMS[name](token)
  if json then
    f = f:gsub("[\r\n\t]", { ["\r"] = "\\r", ["\n"] = "\\n", ["\t"] = "\\t" })
  end
  return f
end

-- ---- the specs' oracle: does text show the token? (independent of the
-- library: tests/spec/37-hostile_text_spec.lua and 16-secrets_spec.lua) ----

-- text with every encoding the forms use undone, repeatedly (escapes of
-- escapes), and runs of spaces and control characters that hold a control
-- character taken out (an echo split across lines).
local function plain(text)
  local before
  repeat
    before = text
    text = text:gsub("\\+u(%x%x%x%x)", function(h)
      local v = tonumber(h, 16)
      return v < 128 and string.char(v) or "?"
    end)
    text = text:gsub("\\+([/\"])", "%1"):gsub("\\+[rntbf]", "\n")
    text = text:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
    text = text:gsub("&#[xX](%x+);", function(h) return string.char(tonumber(h, 16) % 256) end)
    text = text:gsub("&#(%d+);", function(d) return string.char(tonumber(d) % 256) end)
  until text == before
  return (text:gsub("[ %c]*%c[ %c]*", ""))
end

--- The base64 characters of token at byte alignment a (0..2) inside any
-- base64 text: those that depend on its bytes alone.
function M.b64_core(token, a)
  local text = M.base64(("\0"):rep(a) .. token)
  local first, last = math.ceil(8 * a / 6) + 1, math.floor(8 * (a + #token) / 6)
  return text:sub(first, last)
end

--- A description of where text shows token (8 of its characters in a
-- row, any case, any encoding; or 11 base64 characters of it), or nil.
function M.leak(text, token)
  if type(text) ~= "string" then
    return nil
  end
  local p = plain(text)
  local low = p:lower()
  for i = 1, #token - 7 do
    local piece = token:sub(i, i + 7):lower()
    if low:find(piece, 1, true) then
      return "shows " .. piece .. " in " .. string.format("%q", text)
    end
  end
  for a = 0, 2 do
    local std = M.b64_core(token, a)
    local url = std:gsub("%+", "-"):gsub("/", "_")
    for i = 1, #std - 10 do
      for _, c in ipairs { std, url } do
        if p:find(c:sub(i, i + 10), 1, true) then
          return "shows base64 " .. c:sub(i, i + 10) .. " in " .. string.format("%q", text)
        end
      end
    end
  end
  return nil
end

--- Whether s is well-formed UTF-8 without a C0, DEL or C1 control: what the
-- one rule promises (src/text.h), checked without the library; false and
-- the offset of the first byte that breaks it otherwise.
function M.shown_ok(s)
  local i = 1
  while i <= #s do
    local c = s:byte(i)
    if c < 0x20 or c == 0x7F then
      return false, i
    elseif c < 0x80 then
      i = i + 1
    else
      local n = c >= 0xF0 and c <= 0xF4 and 3 or c >= 0xE0 and c <= 0xEF and 2 or c >= 0xC2 and c <= 0xDF and 1
      if not n then
        return false, i
      end
      local cp = c % (2 ^ (6 - n))
      for k = 1, n do
        local d = s:byte(i + k)
        if not d or d < 0x80 or d > 0xBF then
          return false, i
        end
        cp = cp * 64 + d % 64
      end
      local min = ({ 0x80, 0x800, 0x10000 })[n]
      if cp < min or (cp >= 0xD800 and cp <= 0xDFFF) or cp > 0x10FFFF or (cp >= 0x80 and cp <= 0x9F) then
        return false, i
      end
      i = i + n + 1
    end
  end
  return true
end

-- ---- the server (hub.lua hooks it in) ----

local SEED = '{"id":%s,"log_time":"2025-01-01","status":200,"event":"auth.token.refresh",'
  .. '"request":"POST /api/oauth/token_refresh","duration_ms":253}'
local INF = '{"id":"inf","log_time":"2025-06-01T00:00:00Z","status":1e400,"event":"x.inf",'
  .. '"duration_ms":-1e400,"meta":{"x":1e400,"ok":1}}'

local function token()
  return ((ngx.var.http_authorization or ""):gsub("^Bearer ", ""))
end

local function send(status, body, content_type, request_id)
  ngx.status = status
  ngx.header["Content-Type"] = content_type or "application/json"
  if request_id and not request_id:find("[\r\n]") then
    ngx.header["X-Request-Id"] = request_id
  end
  ngx.header["Content-Length"] = #body
  ngx.print(body)
  return ngx.exit(ngx.HTTP_OK)
end

local function c1(where, log_id)
  local t = json_text(M.C1)
  if where == "env" then
    return send(400, '{"meta":{"request_id":"req_c1"},"error":{"code":"BAD_REQUEST","message":' .. t
      .. ',"description":' .. t .. '}}')
  elseif where == "problem" then
    return send(400, '{"type":"about:blank","title":' .. t .. ',"status":400,"detail":' .. t .. '}',
      "application/problem+json", "req_c1_problem")
  elseif where == "gateway" then
    return send(502, '{"message":' .. t .. '}', nil, "req_c1_gateway")
  elseif where == "text" then
    return send(400, M.C1, "text/plain", "req_c1_text")
  elseif where == "entry" then
    return send(200, '{"id":"' .. log_id .. '","log_time":"2025-06-01T00:00:00Z","status":200,"event":' .. t
      .. ',"request":' .. t .. '}', nil, "req_c1_entry")
  end
end

local function echo(form, where, log_id)
  if not M.FORMS[form] then
    return nil
  end
  local key = token()
  local f, j = M.form(form, key, false), M.form(form, key, true)
  if where == "env" then
    return send(400, '{"meta":{"request_id":"' .. j .. '"},"error":{"code":"BAD_REQUEST","message":"key ' .. j
      .. ' end","description":"d ' .. j .. '"}}', nil, f)
  elseif where == "problem" then
    return send(400, '{"type":"about:blank","title":"t ' .. j .. '","status":400,"detail":"d ' .. j .. '"}',
      "application/problem+json", f)
  elseif where == "text" then
    return send(400, "error: " .. f .. " end", "text/plain", f)
  elseif where == "ok" then
    return send(200, SEED:format('"' .. log_id .. '"'), nil, f)
  end
end

--- The single route: log_id as above.
function M.single(log_id)
  local where = log_id:match("^c1%-(%a+)$")
  if where then
    return c1(where, log_id)
  elseif log_id == "inf" then
    return send(200, INF)
  end
  local form
  form, where = log_id:match("^echo%-(%w+)%-(%a+)$")
  if form then
    return echo(form, where, log_id)
  end
  return send(400, '{"error":{"code":"BAD_SCENARIO","message":"hostile-text: ' .. log_id:gsub("%W", "") .. '"}}')
end

--- The list route: connector hostile-text-<what>.
function M.list(connector)
  local what = connector:match("^hostile%-text%-(.+)$") or ""
  if what == "c1" then
    return send(200, '{"logs":[{"id":"c1","log_time":"2025-06-01T00:00:00Z","status":500,"event":'
      .. json_text(M.C1) .. ',"request":' .. json_text(M.C1) .. '}]}')
  elseif what == "inf" then
    return send(200, '{"logs":[' .. INF .. ']}')
  end
  local form = what == "echo" and "plain" or what:match("^echo%-(%w+)$")
  if form and M.FORMS[form] then
    return send(200, '{"logs":[' .. SEED:format('"l1"') .. ']}', nil, M.form(form, token(), false))
  end
  return send(400, '{"error":{"code":"BAD_SCENARIO","message":"hostile-text list"}}')
end

return M
