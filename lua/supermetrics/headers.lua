--- Internal: Extra request headers (the `headers` option of `new` and of every
-- call) and W3C trace context forwarded from nginx's current request: their
-- checks, the per-call merge, and what of them may be shown (on_response,
-- the command line's --verbose). A merged set is a table `{ header_lines =,
-- shown = }`: header_lines is the lines as sent ("Name: value\r\n" each, the
-- one name of this value down to C), shown the names and values that do not
-- look secret.
-- @module supermetrics.headers

local core = require "supermetrics.core"
local errors = require "supermetrics.errors"

-- Every refusal here is about the headers option (err.argument).
local function invalid(message)
  errors.invalid(message, "headers")
end

local LIMITS = core.LIMITS

local headers = {}

-- Headers the library writes (or that would change how it reads the
-- answer), refused in any letter case, with where they come from.
local OWNED = {
  authorization = "the credential (api_key, token or token_provider)",
  ["proxy-authorization"] = "the proxy URL (http://user:password@host:port)",
  host = "base_url",
  ["user-agent"] = "the user_agent option (appended to the library's)",
  accept = "the library (application/json: it reads nothing else)",
  ["accept-encoding"] = "the library (it decodes only what it asked for)",
  ["content-length"] = "the library (a GET has no body)",
  ["transfer-encoding"] = "the library (a GET has no body)",
  expect = "the library (a GET has no body)",
  connection = "the library (it manages its connections)",
  ["keep-alive"] = "the library (it manages its connections)",
  ["proxy-connection"] = "the library (it manages its connections)",
  te = "the library (it manages its connections)",
  trailer = "the library (it manages its connections)",
  upgrade = "the library (it manages its connections)",
}

-- A name that looks like it carries a secret: its value is never shown
-- (on_response's event, --verbose), as the credential never is.
local SECRET_WORDS = { "auth", "token", "key", "secret", "pass", "cookie", "session",
  "signature", "credential", "jwt", "bearer" }

--- True when a header named name must not be shown.
function headers.secret(name)
  local lower = name:lower()
  for _, word in ipairs(SECRET_WORDS) do
    if lower:find(word, 1, true) then
      return true
    end
  end
  return false
end

-- RFC 9110 token characters.
local TOKEN = "^[0-9A-Za-z!#$%%&'*+%-.^_`|~]+$"

-- Why value cannot be sent, or nil. Never quotes the value: it may be a
-- secret.
local function bad_value(value)
  if type(value) ~= "string" then
    return "must be a string (got " .. type(value) .. ")"
  elseif value == "" then
    return "is empty"
  elseif #value > LIMITS.header_value_bytes then
    return "is longer than " .. LIMITS.header_value_bytes .. " bytes"
  elseif value:find("[^\32-\126\t]") then
    return "contains a control or non-ASCII character (CR, LF and NUL included)"
  elseif value:find("^[ \t]") or value:find("[ \t]$") then
    return "starts or ends with whitespace"
  end
end

-- A name as it may appear in a message: quoted, cut short, only when it
-- is printable.
local function shown_name(name)
  if type(name) ~= "string" then
    return "a " .. type(name) .. " key"
  end
  if name:find("[^\32-\126]") then
    return "a name with a control or non-ASCII character"
  end
  return string.format("%q", #name > 64 and name:sub(1, 64) .. "..." or name)
end

--- Checks a headers table (name -> value) of `where` ("headers" or
-- "list_connector_logs: headers"...); returns a map of lower-cased names
-- to { name, value }. With may_drop, a value of false drops the client's
-- header of that name for one call (value false in the map).
function headers.check(t, where, may_drop)
  if type(t) ~= "table" then
    invalid(where .. " must be a table of header names to values")
  end
  local map, n = {}, 0
  for name, value in pairs(t) do
    if type(name) ~= "string" or #name > LIMITS.header_name_bytes or not name:find(TOKEN) then
      invalid(where .. ": " .. shown_name(name) .. " is not a header name (1 to "
        .. LIMITS.header_name_bytes .. " of A-Z a-z 0-9 ! # $ % & ' * + - . ^ _ ` | ~)")
    end
    local lower = name:lower()
    if OWNED[lower] then
      invalid(where .. ": " .. name .. " is set by " .. OWNED[lower] .. "; it cannot be given as a header")
    end
    if map[lower] ~= nil then
      invalid(where .. ": " .. name .. " is given twice (header names ignore letter case)")
    end
    if value == false and may_drop then
      map[lower] = false
    else
      local why = bad_value(value)
      if why then
        invalid(where .. ": the value of " .. name .. " " .. why)
      end
      map[lower] = { name, value }
    end
    n = n + 1
    if n > LIMITS.headers then
      invalid(where .. ": more than " .. LIMITS.headers .. " headers")
    end
  end
  return map
end

--- The merged set of a map (headers.check's), or nil when it is empty.
-- Lines are sorted by name, so the same headers give the same bytes.
function headers.compile(map, where)
  local names = {}
  for lower, pair in pairs(map) do
    if pair then
      names[#names + 1] = lower
    end
  end
  if #names == 0 then
    return nil
  end
  if #names > LIMITS.headers then
    invalid((where or "headers") .. ": more than " .. LIMITS.headers .. " headers")
  end
  table.sort(names)
  local lines, shown = {}, {}
  for i, lower in ipairs(names) do
    local name, value = map[lower][1], map[lower][2]
    lines[i] = name .. ": " .. value .. "\r\n"
    if not headers.secret(name) then
      shown[name] = value
    end
  end
  local header_lines = table.concat(lines)
  if #header_lines > LIMITS.headers_bytes then
    invalid((where or "headers") .. ": " .. #header_lines .. " bytes of headers, more than "
      .. LIMITS.headers_bytes)
  end
  return { header_lines = header_lines, shown = shown }
end

--- The client's map with trace context (a list of { name, value }) and a
-- call's map (headers.check's, may_drop) over it: the call's win.
function headers.merge(base, trace, call, where)
  local map = {}
  for k, v in pairs(base) do
    map[k] = v
  end
  for _, pair in ipairs(trace or {}) do
    map[pair[1]] = pair
  end
  for k, v in pairs(call or {}) do
    map[k] = v
  end
  return headers.compile(map, where)
end

-- ---- W3C trace context (https://www.w3.org/TR/trace-context/) ----

-- Phases that have a request whose headers can be read (not timers).
local REQUEST_PHASES = { rewrite = true, server_rewrite = true, access = true, content = true }

local function valid_traceparent(v)
  local version, trace_id, parent_id, rest = v:match(
    "^(%x%x)%-(" .. ("[0-9a-f]"):rep(32) .. ")%-(" .. ("[0-9a-f]"):rep(16) .. ")%-[0-9a-f][0-9a-f](.*)$")
  if not version or version:find("[A-F]") or version == "ff" then
    return false
  end
  if trace_id:find("^0+$") or parent_id:find("^0+$") then
    return false
  end
  -- Version 00 has nothing more; later versions may add "-..." fields.
  return rest == "" or (version ~= "00" and rest:sub(1, 1) == "-")
end

--- Inside nginx, in a phase with a request: the request's traceparent and
-- tracestate headers as { name, value } pairs to forward, when it carries
-- a valid traceparent; else nil (timers, init, no or a malformed header).
function headers.trace()
  local ngx = rawget(_G, "ngx")
  if type(ngx) ~= "table" or type(ngx.get_phase) ~= "function"
      or not REQUEST_PHASES[ngx.get_phase()] then
    return nil
  end
  local parent = ngx.var.http_traceparent
  if type(parent) ~= "string" or bad_value(parent) or not valid_traceparent(parent) then
    return nil
  end
  local out = { { "traceparent", parent } }
  local state = ngx.var.http_tracestate
  if type(state) == "string" and not bad_value(state) then
    out[2] = { "tracestate", state }
  end
  return out
end

return headers
