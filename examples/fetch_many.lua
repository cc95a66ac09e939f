#!/usr/bin/env lua5.4
-- Fetch many log entries at once (concurrently, on one client) and report
-- each: the batch never fails as a whole, every id gets an entry or an error.
--
--   SUPERMETRICS_API_KEY=api_... lua5.4 examples/fetch_many.lua TEAM CONNECTOR LOG...
local supermetrics = require "supermetrics"

local team, connector = arg[1], arg[2]
local ids = {}
for i = 3, #arg do
  ids[#ids + 1] = arg[i]
end
if not team or #ids == 0 then
  io.stderr:write("usage: fetch_many.lua TEAM CONNECTOR LOG...\n")
  os.exit(2)
end

local client = supermetrics.new {
  base_url = os.getenv("SUPERMETRICS_BASE_URL"),
  ca_file = os.getenv("SUPERMETRICS_CA_FILE"),
}
local entries, errors = client:get_connector_logs(team, connector, ids, { concurrency = 8 })
client:close()

local failed = 0
for i, id in ipairs(ids) do
  if entries[i] then
    print(id .. ": " .. tostring(entries[i].event) .. " (HTTP " .. tostring(entries[i].status) .. ")")
  else
    failed = failed + 1
    print(id .. ": " .. errors[i].code)
  end
end
os.exit(failed == 0 and 0 or 1)
