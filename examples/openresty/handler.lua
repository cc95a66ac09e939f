-- GET /logs/TEAM/CONNECTOR/LOG: the log entry as JSON, or the library's
-- error as JSON with the upstream status (502 when there was no response).
local cjson = require "cjson"
local supermetrics = require "supermetrics"

local handler = {}

-- One client per worker, created on first use: it keeps warm connections
-- in each of the pool's threads. The key comes from SUPERMETRICS_API_KEY;
-- SUPERMETRICS_BASE_URL and SUPERMETRICS_CA_FILE, when set, point it
-- elsewhere (the tests use a local stand-in).
local client

function handler.get_log()
  client = client or supermetrics.new {
    timeout = 10,
    base_url = os.getenv("SUPERMETRICS_BASE_URL"),
    ca_file = os.getenv("SUPERMETRICS_CA_FILE"),
  }
  local ok, res = pcall(client.get_connector_log, client,
    ngx.var.team, ngx.var.connector, ngx.unescape_uri(ngx.var.log_id))
  ngx.header.content_type = "application/json"
  if ok then
    return ngx.print(cjson.encode(res))
  end
  if not supermetrics.is_error(res) then
    error(res) -- not ours: a bug to see in the error log
  end
  ngx.status = (res.status and res.status >= 400) and res.status or 502
  ngx.print(cjson.encode {
    error = { code = res.code, message = res.message, request_id = res.request_id },
  })
end

return handler
