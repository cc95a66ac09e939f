-- The scenarios of watch.lua's specs: a script for the fake Hub, the call,
-- and what the module must answer. Shared by spec/watch_spec.lua (busted,
-- any Lua) and spec/in_nginx.lua (the same inside nginx), both loading
-- fixtures/hub.lua.
local watch = require "watch"

local scenarios = {}

local function add(name, script, call, want, opts)
  scenarios[#scenarios + 1] = { name = name, script = script, call = call, want = want, opts = opts }
end

local function gateway(id)
  return function(client)
    local status, body, headers = watch.gateway(client, 1, "shop", id)
    return { status = status, body = body, retry_after = headers["Retry-After"] }
  end
end

local function alerts(client)
  local list, reason, err = watch.server_errors(client, 1, "shop", "2025-05-31T23:00:00Z")
  if not list then
    return { reason = reason, code = err.code }
  end
  local ids = {}
  for i, a in ipairs(list) do
    ids[i] = a.id .. ":" .. a.status
  end
  return { alerts = table.concat(ids, ",") }
end

add("alerts: the 5xx entries, newest first", nil, alerts, { alerts = "a4:500,a2:503" })
add("alerts: a 503 page is retried", function(hub)
  hub:fail({ op = "list" }, { status = 503 })
end, alerts, { alerts = "a4:500,a2:503" })
add("alerts: rate limited beyond max_retry_wait", function(hub)
  hub:fail({ op = "list" }, { status = 429, retry_after = 3600, times = "always" })
end, alerts, { reason = "rate_limited", code = "TOO_MANY_REQUESTS" })
add("alerts: a 429 with Retry-After 3600, then the page", function(hub)
  hub:fail({ op = "list" }, { status = 429, retry_after = 3600 })
end, alerts, { alerts = "a4:500,a2:503" }, { max_retry_wait = 3600, timeout = 4000 })
add("alerts: the API down", function(hub)
  hub:fail({ op = "list" }, { status = 502, html = true, times = "always" })
end, alerts, { reason = "unavailable", code = "BAD_GATEWAY" })
add("alerts: a timeout", function(hub)
  hub:fail({ op = "list" }, { timeout = true })
end, alerts, { reason = "unavailable", code = "TIMEOUT" })
add("alerts: connections reset", function(hub)
  hub:fail({ op = "list" }, { reset = true, times = "always" })
end, alerts, { reason = "unavailable", code = "CONNECTION_ERROR" })
add("alerts: a page that is not JSON", function(hub)
  hub:fail({ op = "list" }, { invalid_json = true })
end, alerts, { reason = "failed", code = "INVALID_RESPONSE" })
add("alerts: the key refused", function(hub)
  hub:fail({ op = "list" }, { status = 401 })
end, alerts, { reason = "failed", code = "UNAUTHORIZED" })

add("gateway: the entry as sent", nil, gateway("a2"),
  { status = 200, body = '{"id":"a2","log_time":"2025-05-31T23:55:00Z","status":503,"event":"query.run"}' })
add("gateway: not found", nil, gateway("zz"), { status = 404,
  body = '{"title":"no such log entry","upstream_request_id":"req_fake_1"}' })
add("gateway: LOG_NOT_FOUND", function(hub)
  hub:fail({ id = "a1" }, { status = 404, code = "LOG_NOT_FOUND", message = "No such log.", request_id = "req_x" })
end, gateway("a1"), { status = 404, body = '{"title":"no such log entry","upstream_request_id":"req_x"}' })
add("gateway: rate limited", function(hub)
  hub:fail({ id = "a1" }, { status = 429, retry_after = 120, request_id = "req_r", times = "always" })
end, gateway("a1"), { status = 429, retry_after = "120",
  body = '{"title":"rate limited upstream","upstream_request_id":"req_r"}' })
add("gateway: a 500 once, retried", function(hub)
  hub:fail({ id = "a5" }, { status = 500 })
end, gateway("a5"), { status = 200,
  body = '{"id":"a5","log_time":"2025-05-31T23:59:30Z","status":200,"event":"query.run"}' })
add("gateway: timeout", function(hub)
  hub:fail({ id = "a1" }, { timeout = true })
end, gateway("a1"), { status = 504, body = '{"title":"upstream timed out"}' })
add("gateway: the key refused", function(hub)
  hub:fail({ id = "a1" }, { status = 403, request_id = "req_f" })
end, gateway("a1"), { status = 502, body = '{"title":"the gateway\'s key was refused","upstream_request_id":"req_f"}' })
add("gateway: another id's entry", function(hub)
  hub:fail({ id = "a1" }, { other_id = "a9", times = "always", request_id = false })
end, gateway("a1"), { status = 502, body = '{"title":"upstream failed"}' })
add("gateway: a truncated answer", function(hub)
  hub:fail({ id = "a1" }, { truncated = true, times = "always", request_id = false })
end, gateway("a1"), { status = 502, body = '{"title":"upstream failed"}' })
add("gateway: a bad id, no request", nil, gateway(""), { status = 400, body = '{"title":"bad log id"}' })

--- Runs scenario s against a fresh fake Hub loaded from fixtures; returns
-- what the call gave and the hub.
function scenarios.run(testing, fixtures, s)
  local hub = testing.hub():load(fixtures)
  if s.script then
    s.script(hub)
  end
  local client = hub:client(s.opts or { max_retry_wait = 30, timeout = 60 })
  local got = s.call(client)
  client:close()
  return got, hub
end

return scenarios
