-- The inputs script (spec 39): one client made from params, one kind of
-- call, its outcome and how long it took, as a plain table. The same code
-- runs outside nginx (in busted: libcurl) and inside it (the test app's
-- /inputs: cosockets), so both transports are held to the same result.
--
-- params: { base_url = URL, ca_file = PEM (outside nginx), proxy = URL,
--           timeout = s, max_retries = n, provider_sleep = s, hook_sleep = s,
--           call = "single" | "batch" | "paging", connector = C, ids = { ... } }
-- A callback that sleeps does so as callers' code would: ngx.sleep inside
-- nginx (it yields), a blocking sleep outside.
-- Returns { took = s, entry = { id = }, error = {...}, entries = {...},
--           errors = {...}, new_error = {...}, provider_calls = n, events = n }
local supermetrics = require "supermetrics"
local core = require "supermetrics.core"

local inputs = {}

local ngx = rawget(_G, "ngx")
local sleep = ngx and ngx.sleep or core.sleep

local function fields(err)
  if not supermetrics.is_error(err) then
    return { raised = tostring(err) }
  end
  return { code = err.code, message = err.message, status = err.status, attempts = err.attempts,
    argument = err.argument, request_id = err.request_id, text = tostring(err) }
end

function inputs.run(params)
  local provider_calls, events = 0, 0
  local opts = {
    base_url = params.base_url,
    ca_file = params.ca_file,
    proxy = params.proxy,
    timeout = params.timeout or 10,
    max_retries = params.max_retries or 0,
    max_retry_wait = 0.05,
  }
  if params.provider_sleep then
    opts.token_provider = function()
      provider_calls = provider_calls + 1
      sleep(params.provider_sleep)
      return "api_test_key"
    end
  else
    opts.api_key = "api_test_key"
  end
  opts.on_response = function()
    events = events + 1
    if params.hook_sleep then
      sleep(params.hook_sleep)
    end
  end
  local made, client = pcall(supermetrics.new, opts)
  if not made then
    return { new_error = fields(client) }
  end
  local out = { client = tostring(client) }
  local connector = params.connector or "T3S70"
  local ids = params.ids or { "in1" }
  local started = core.monotonic()
  local ok, res = pcall(function()
    if params.call == "batch" then
      local entries, errors = client:get_connector_logs(1, connector, ids, { concurrency = 4 })
      out.entries, out.errors = {}, {}
      for i = 1, #ids do
        out.entries[i] = entries[i] and entries[i].id or false
        out.errors[i] = errors[i] and fields(errors[i]) or false
      end
    elseif params.call == "paging" then
      local n = 0
      for _ in client:each_connector_log(1, connector, { page_size = 4 }) do
        n = n + 1
      end
      out.walked = n
    else
      local entry = client:get_connector_log(1, connector, ids[1])
      out.entry = { id = entry.id, connection_requests = entry.connection_requests }
    end
  end)
  out.took = core.monotonic() - started
  if not ok then
    out.error = fields(res)
  end
  out.provider_calls, out.events = provider_calls, events
  client:close()
  return out
end

-- GET /inputs?p=<JSON params> inside nginx (tests/openresty/nginx.conf.in):
-- the outcome as JSON.
function inputs.serve()
  local cjson = require "cjson"
  local params = cjson.decode(ngx.req.get_uri_args().p)
  local out = inputs.run(params)
  ngx.header.content_type = "application/json"
  ngx.print(cjson.encode(out))
end

return inputs
