--- Internal: supermetrics.testing's HTTP/1.1 bytes: the request bytes the
-- library wrote, parsed into a plain table with the credential redacted;
-- the answers as response bytes, and the API's error envelope.
-- @module supermetrics.testing.wire

local core = require "supermetrics.core"
local fixture = require "supermetrics.testing.fixture"

local wire = {}

local concat, sort = table.concat, table.sort
local format = string.format
local json_string = fixture.json_string

local REDACTED = "[REDACTED]"

-- The status codes' names and reasons (core.CODES).
local BY_STATUS = {}
for code, c in pairs(core.CODES) do
  if c.status and c.status > 0 then
    BY_STATUS[c.status] = { code = code, reason = c.reason }
  end
end

-- Requests as the library wrote them.

local function unescape(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function redact(s, secret)
  if not secret or secret == "" or type(s) ~= "string" then
    return s
  end
  local out, from = {}, 1
  while true do
    local i, j = s:find(secret, from, true)
    if not i then
      break
    end
    out[#out + 1] = s:sub(from, i - 1)
    out[#out + 1] = REDACTED
    from = j + 1
  end
  out[#out + 1] = s:sub(from)
  return concat(out)
end

-- The request bytes (handle:request's) as a plain table, the credential
-- redacted everywhere: { method, target, path, query = {name = value},
-- raw_query, headers = {Name = value}, op = "get"|"list"|nil, team,
-- connector, id }.
local function parse_request(head)
  local line, rest = head:match("^([^\r\n]*)\r\n(.*)$")
  local method, target = (line or ""):match("^(%S+) (%S+) HTTP/1%.1$")
  local headers = {}
  local credential
  for name, value in (rest or ""):gmatch("([^:\r\n]+):[ \t]*([^\r\n]*)\r\n") do
    if name:lower() == "authorization" then
      credential = value:match("^Bearer (.+)$") or value
    end
    headers[name] = value
  end
  for name, value in pairs(headers) do
    headers[name] = redact(value, credential)
  end
  target = redact(target or "", credential)
  local path, raw_query = target:match("^([^?]*)%??(.*)$")
  local query = {}
  for k, v in raw_query:gmatch("([^&=]+)=?([^&]*)") do
    query[unescape(k)] = unescape(v)
  end
  local r = { method = method, target = target, path = path, query = query, raw_query = raw_query,
    headers = headers }
  local team, connector, tail = path:match("/teams/([^/]+)/connector_builder/connectors/([^/]+)/logs(.*)$")
  if team then
    r.team, r.connector = unescape(team), unescape(connector)
    if tail == "" then
      r.op = "list"
    elseif tail:match("^/[^/]+$") then
      r.op, r.id = "get", unescape(tail:sub(2))
    end
  end
  return r, credential
end

-- Answers: HTTP/1.1 response bytes.

local function envelope(code, message, request_id, description)
  local parts = { "{" }
  if request_id then
    parts[#parts + 1] = '"meta":{"request_id":' .. json_string(request_id) .. "},"
  end
  parts[#parts + 1] = '"error":{"code":' .. json_string(code) .. ',"message":' .. json_string(message)
  if description then
    parts[#parts + 1] = ',"description":' .. json_string(description)
  end
  parts[#parts + 1] = "}}"
  return concat(parts)
end

local REASONS = { [200] = "OK", [201] = "Created", [204] = "No Content", [301] = "Moved Permanently",
  [302] = "Found", [304] = "Not Modified", [405] = "Method Not Allowed", [418] = "I'm a teapot" }

local function response_bytes(status, headers, body, declared)
  local reason = BY_STATUS[status] and BY_STATUS[status].reason or REASONS[status] or "Status"
  local lines = { format("HTTP/1.1 %d %s", status, reason) }
  local names = {}
  for name in pairs(headers) do
    names[#names + 1] = name
  end
  sort(names)
  for _, name in ipairs(names) do
    lines[#lines + 1] = name .. ": " .. tostring(headers[name])
  end
  if status >= 200 and status ~= 204 and status ~= 304 then
    lines[#lines + 1] = "Content-Length: " .. (declared or #body)
  end
  return concat(lines, "\r\n") .. "\r\n\r\n" .. body
end

wire.REDACTED = REDACTED
wire.BY_STATUS = BY_STATUS
wire.redact = redact
wire.parse_request = parse_request
wire.envelope = envelope
wire.response_bytes = response_bytes

return wire
