-- GET /logs/TEAM/CONNECTOR/LOG_ID: the log entry as JSON, or the library's
-- error as JSON with the status a gateway answers (gateway_status below):
-- 400 for the caller's bad ids, 404 for a missing entry, 500 when this
-- server is misconfigured (no key), 502 when the API refused our key or
-- failed, 503 (with Retry-After) when it is rate limited or unavailable,
-- 504 when it did not answer in time. The cause goes to the error log.
local cjson = require "cjson"
local supermetrics = require "supermetrics.safe"

local handler = {}

-- One client per worker, made on first use; connections stay in nginx's
-- pool between requests. The key comes from SUPERMETRICS_API_KEY;
-- SUPERMETRICS_BASE_URL, when set, points it elsewhere (the tests use a
-- local stand-in).
local client

-- JSON without "\/": OpenResty's cjson can be told so; Debian's lua-cjson
-- 2.1.0 always escapes "/", and since it writes a backslash as "\\", "\/"
-- in its output is always an escaped slash. An instance of our own leaves
-- the worker's shared cjson settings alone.
local json = cjson.new()
local encode = json.encode
if json.encode_escape_forward_slash then
  json.encode_escape_forward_slash(false)
else
  encode = function(value)
    return (json.encode(value):gsub("\\/", "/"))
  end
end

local function reply(status, body)
  ngx.status = status
  ngx.header.content_type = "application/json"
  ngx.print(encode(body))
end

local function is_not_found(err)
  return err.code == "NOT_FOUND" or (err.code or ""):find("_NOT_FOUND$") or err.status == 404
end

-- The status for an error, the log level, and for what is this server's
-- own fault the cause (logged; the caller gets the status and a generic
-- error, not the library's code: it is not theirs to fix).
-- `ours`: the error came from our own setup (making the client).
local function gateway_status(err, ours)
  local code, status = err.code, err.status
  if ours then
    return 500, ngx.ERR, "this server's configuration (SUPERMETRICS_API_KEY set, and in nginx's env?)"
  elseif code == "INVALID_ARGUMENT" or status == 400 or status == 422 then
    return 400, ngx.INFO -- the caller's ids
  elseif is_not_found(err) then
    return 404, ngx.INFO
  elseif code == "UNAUTHORIZED" or code == "FORBIDDEN" or code == "PERMISSION_ERROR"
      or status == 401 or status == 403 then
    return 502, ngx.ERR, "the API refused this server's key"
  elseif code == "TOO_MANY_REQUESTS" or status == 429 or status == 503 then
    return 503, ngx.WARN
  elseif code == "TIMEOUT" then
    return 504, ngx.ERR
  end
  return 502, ngx.ERR -- the API failed or could not be reached
end

local function fail(err, ours)
  local status, level, cause = gateway_status(err, ours)
  -- tostring(err) is one line: "supermetrics: CODE (HTTP n): message [request_id ...]".
  ngx.log(level, tostring(err), cause and " -- " .. cause or "")
  if status == 503 and err.retry_after then
    ngx.header["Retry-After"] = math.ceil(err.retry_after)
  end
  if cause then
    return reply(status, { error = { code = status == 500 and "INTERNAL_ERROR" or "BAD_GATEWAY",
      message = "see the server's error log", request_id = err.request_id } })
  end
  reply(status, { error = { code = err.code, message = err.message, request_id = err.request_id } })
end

function handler.get_log()
  -- The raw request line, so a log id is percent-decoded exactly once
  -- (nginx's $uri is decoded already: /logs/1/C/a%2541 must ask for "a%41").
  local team, connector, log_id = ngx.var.request_uri:match("^/logs/([^/?]+)/([^/?]+)/([^/?]+)")
  if not team then
    return reply(400, { error = { code = "INVALID_ARGUMENT", message = "use /logs/TEAM/CONNECTOR/LOG_ID" } })
  end
  local err
  if not client then
    client, err = supermetrics.new { timeout = 10, base_url = os.getenv("SUPERMETRICS_BASE_URL") }
    if not client then
      return fail(err, true)
    end
  end
  local entry
  entry, err = client:get_connector_log(team, connector, ngx.unescape_uri(log_id))
  if not entry then
    return fail(err)
  end
  reply(200, entry)
end

return handler
