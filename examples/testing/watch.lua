-- A user's small module built on lua-supermetrics, the kind of code
-- supermetrics.testing is for (its specs: spec/watch_spec.lua, which script
-- every error it handles with the fake Hub, no network):
--
-- - watch.server_errors(client, team, connector, since): the entries with a
--   5xx status logged since `since`, for an alert; a failing page is
--   reported, never a partial list passed off as complete;
-- - watch.gateway(client, team, connector, log_id): an HTTP gateway's
--   answer for one log entry, `status, body, headers`: the entry's JSON
--   as the API sent it, or the caller's error mapped to a status of its own.
local watch = {}

--- The 5xx entries since `since` (ISO 8601), newest first: `alerts` or
-- `nil, reason, err` (reason "rate_limited", "unavailable" or "failed").
function watch.server_errors(client, team, connector, since)
  local alerts = {}
  local ok, err = pcall(function()
    for entry in client:each_connector_log(team, connector, { since = since, page_size = 100 }) do
      if type(entry.status) == "number" and entry.status >= 500 then
        alerts[#alerts + 1] = { id = entry.id, log_time = entry.log_time, status = entry.status,
          event = entry.event }
      end
    end
  end)
  if ok then
    return alerts
  end
  if type(err) ~= "table" then
    error(err, 0)
  end
  if err.code == "TOO_MANY_REQUESTS" then
    return nil, "rate_limited", err
  elseif err.code == "TIMEOUT" or err.code == "CONNECTION_ERROR" or (err.status or 0) >= 500 then
    return nil, "unavailable", err
  end
  return nil, "failed", err
end

local NOT_FOUND = { NOT_FOUND = true, LOG_NOT_FOUND = true, CONNECTOR_NOT_FOUND = true }

local function problem(status, title, err)
  local id = err and err.request_id and (',"upstream_request_id":"' .. err.request_id:gsub('[^%w_%-]', '') .. '"')
    or ""
  return status, '{"title":"' .. title .. '"' .. id .. "}", { ["Content-Type"] = "application/problem+json" }
end

--- A gateway's answer for one entry: status, body, headers.
function watch.gateway(client, team, connector, log_id)
  local ok, res = pcall(client.get_connector_log_json, client, team, connector, log_id)
  if ok then
    return 200, res, { ["Content-Type"] = "application/json" }
  end
  local err = res
  if type(err) ~= "table" then
    error(err, 0)
  end
  if err.code == "INVALID_ARGUMENT" then
    return problem(400, "bad log id", err)
  elseif NOT_FOUND[err.code] or err.status == 404 then
    return problem(404, "no such log entry", err)
  elseif err.code == "TOO_MANY_REQUESTS" then
    local status, body, headers = problem(429, "rate limited upstream", err)
    headers["Retry-After"] = tostring(math.ceil(err.retry_after or 60))
    return status, body, headers
  elseif err.code == "UNAUTHORIZED" or err.code == "FORBIDDEN" or err.code == "PERMISSION_ERROR" then
    return problem(502, "the gateway's key was refused", err)
  elseif err.code == "TIMEOUT" then
    return problem(504, "upstream timed out", err)
  end
  return problem(502, "upstream failed", err)
end

return watch
