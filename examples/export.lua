-- Every entry of a connector since a date, to CSV; after a failure, run it
-- again to finish the same file (FILE.resume says where it stopped).
-- Usage: lua export.lua TEAM CONNECTOR SINCE FILE.csv
local supermetrics = require "supermetrics"
local format = require "supermetrics.format"

local team, connector, since, path = ...
if not path then
  io.stderr:write("usage: export.lua TEAM CONNECTOR SINCE FILE.csv\n")
  os.exit(2)
end
local saved = io.open(path .. ".resume", "rb")
local resume = saved and saved:read("*a")
if saved then saved:close() end

local client = supermetrics.new { base_url = os.getenv("SUPERMETRICS_BASE_URL"),
  ca_file = os.getenv("SUPERMETRICS_CA_FILE") }
local out = assert(io.open(path, resume and "ab" or "wb"))
local csv = format.writer(out, { format = "csv", header = out:seek("end") == 0 })
local ok, err = pcall(function()
  for entry in client:each_connector_log(team, connector, { since = since, resume = resume, page_size = 1000 }) do
    csv:entry(entry)
  end
end)
csv:finish(ok and "ok" or "failed")
assert(out:close())
client:close()
if ok then
  os.remove(path .. ".resume")
elseif supermetrics.is_error(err) and err.resume then
  local state = assert(io.open(path .. ".resume", "wb"))
  assert(state:write(format.json(err.resume)))
  assert(state:close())
  io.stderr:write(tostring(err), "\nrun it again to go on\n")
  os.exit(1)
else
  error(err, 0)
end
