#!/usr/bin/env lua5.4
-- Walk every log entry of a connector, newest first, and print one line
-- each; pages are fetched as the loop needs them.
--
--   SUPERMETRICS_API_KEY=api_... lua5.4 examples/list_logs.lua TEAM CONNECTOR [BEFORE]
--
-- SUPERMETRICS_BASE_URL / SUPERMETRICS_CA_FILE point it elsewhere, as for get_log.lua.
local supermetrics = require "supermetrics"

local team, connector, before = arg[1], arg[2], arg[3]
if not (team and connector) then
  io.stderr:write("usage: list_logs.lua TEAM CONNECTOR [BEFORE]\n")
  os.exit(2)
end

local client = supermetrics.new {
  base_url = os.getenv("SUPERMETRICS_BASE_URL"),
  ca_file = os.getenv("SUPERMETRICS_CA_FILE"),
}
local ok, err = pcall(function()
  local n = 0
  for entry in client:each_connector_log(team, connector, { before = before, page_size = 100 }) do
    n = n + 1
    print(string.format("%-12s %-22s %s %s", entry.id, entry.log_time or "-",
      tostring(entry.status or "-"), entry.event or "-"))
  end
  print(n .. " entries")
end)
client:close()
if not ok then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
