-- The gateway script (spec 28): one client made from params, one call and a
-- two-id batch to the stand-in's echo connector, the outcome as a plain
-- table. The same code runs outside nginx (tests/tools/gateway_run.lua, in
-- a child process whose environment may name a proxy, or in busted) and
-- inside it (the OpenResty test app's /gateway), so both transports are
-- held to the same result.
--
-- params: { https = bool, base_url = URL (else base's), proxy = URL|false, headers = {...},
--           call_headers = {...}, trace_context = bool, id = "...",
--           batch = bool, max_retries = n }
-- base:   { http = URL, https = URL, ca = PEM path or nil (inside nginx) }
-- Returns { client = tostring(client), entry = ..., error = {...},
--           events = {...}, batch = { entries, errors } }
local supermetrics = require "supermetrics"

local gateway = {}

local function fields(err)
  if not supermetrics.is_error(err) then
    return { raised = tostring(err) }
  end
  return { code = err.code, message = err.message, status = err.status, attempts = err.attempts,
    text = tostring(err) }
end

function gateway.run(params, base)
  local events = {}
  local opts = {
    api_key = "api_test_key",
    base_url = params.base_url or (params.https and base.https or base.http),
    ca_file = params.https and base.ca or nil,
    headers = params.headers,
    proxy = params.proxy,
    trace_context = params.trace_context,
    max_retries = params.max_retries or 0,
    max_retry_wait = 0.05,
    timeout = 10,
    on_response = function(e)
      events[#events + 1] = e
    end,
  }
  local made, client = pcall(supermetrics.new, opts)
  if not made then
    return { new_error = fields(client) }
  end
  local out = { client = tostring(client), events = events }
  local call_opts = params.call_headers and { headers = params.call_headers } or nil
  local ok, res = pcall(client.get_connector_log, client, 1, "echo", params.id or "gw", call_opts)
  if ok then
    out.entry = res
  else
    out.error = fields(res)
  end
  if params.batch then
    local id = params.id or "gw"
    local entries, errors = client:get_connector_logs(1, "echo", { id .. "-b1", id .. "-b2" }, call_opts)
    out.batch = { entries = entries, errors = {} }
    for i, err in pairs(errors) do
      out.batch.errors[i] = fields(err)
    end
  end
  client:close()
  return out
end

return gateway
