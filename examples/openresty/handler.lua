-- GET /logs/TEAM/CONNECTOR/LOG_ID: the log entry as JSON, or the library's
-- error as JSON: 400 for a bad id, the Hub API's own 4xx (404 for a missing
-- entry), 502 when the API failed or could not be reached.
local cjson = require "cjson"
local supermetrics = require "supermetrics.safe"

local handler = {}

-- One client per worker, made on first use; connections stay in nginx's
-- pool between requests. The key comes from SUPERMETRICS_API_KEY;
-- SUPERMETRICS_BASE_URL, when set, points it elsewhere (the tests use a
-- local stand-in).
local client

local function reply(status, body)
  ngx.status = status
  ngx.header.content_type = "application/json"
  ngx.print(cjson.encode(body))
end

local function fail(err)
  -- tostring(err) is one line with the code, message and request id.
  ngx.log(ngx.ERR, "supermetrics: ", tostring(err))
  local status = 502
  if err.code == "INVALID_ARGUMENT" then
    status = 400
  elseif err.status and err.status >= 400 and err.status < 500 then
    status = err.status
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
      return fail(err)
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
