#!/usr/bin/env lua5.4
-- The same fetch as get_log.lua with supermetrics.safe (nil, err instead of
-- errors), an on_response hook that logs each attempt to stderr, and
-- branching on the error code.
--
--   SUPERMETRICS_API_KEY=api_... lua5.4 examples/safe_get.lua TEAM CONNECTOR LOG
local safe = require "supermetrics.safe"

local client, err = safe.new {
  base_url = os.getenv("SUPERMETRICS_BASE_URL"),
  ca_file = os.getenv("SUPERMETRICS_CA_FILE"),
  on_response = function(e)
    io.stderr:write(string.format("attempt %d: %s %s -> %s in %.1f ms%s\n", e.attempt, e.method,
      e.path, tostring(e.status or "no response"), e.duration_ms,
      e.error_code and (" (" .. e.error_code .. ")") or ""))
  end,
}
if not client then
  io.stderr:write(tostring(err), "\n")
  os.exit(2)
end

local entry
entry, err = client:get_connector_log(arg[1], arg[2], arg[3])
client:close()
if entry then
  print(entry.id, entry.event, entry.status, entry.duration_ms)
elseif err.code == "NOT_FOUND" or err.code == "LOG_NOT_FOUND" then
  print("no such log entry")
elseif err.code == "TOO_MANY_REQUESTS" then
  print("rate limited; retry after " .. tostring(err.retry_after) .. " s")
  os.exit(1)
else
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
