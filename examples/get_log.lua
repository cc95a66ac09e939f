#!/usr/bin/env lua5.4
-- (Any Lua from 5.1 on, LuaJIT included, with the matching module build.)
-- Fetch one Codeless Connector log entry and print it as JSON.
--
--   SUPERMETRICS_API_KEY=api_... lua5.4 examples/get_log.lua TEAM CONNECTOR LOG
--
-- SUPERMETRICS_BASE_URL, when set, replaces https://api.supermetrics.com
-- (make demo points it at the local stand-in). On failure the error's one
-- line goes to stderr and the exit status is 1 (2 for bad usage).
local supermetrics = require "supermetrics"
local cjson = require "cjson"

local team, connector, log_id = arg[1], arg[2], arg[3]
if not (team and connector and log_id) or arg[4] then
  io.stderr:write("usage: get_log.lua TEAM CONNECTOR LOG\n")
  os.exit(2)
end

local ok, result = pcall(function()
  local client = supermetrics.new {
    -- api_key omitted: SUPERMETRICS_API_KEY is used.
    base_url = os.getenv("SUPERMETRICS_BASE_URL"),
    ca_file = os.getenv("SUPERMETRICS_CA_FILE"),
  }
  -- Runs on every Lua from 5.1 on; with 5.4 only, `local client <close>`
  -- would close it on error too (the garbage collector does it here).
  local entry = client:get_connector_log(team, connector, log_id)
  client:close()
  return entry
end)

if not ok then
  io.stderr:write(tostring(result), "\n")
  os.exit(1)
end

-- The seed's field order first, then any others by name; cjson writes Lua
-- integers as integers ("status": 200, not 200.0).
local ORDER = { "id", "log_time", "status", "event", "request", "duration_ms", "request_id" }
local keys, seen = {}, {}
for _, k in ipairs(ORDER) do
  if result[k] ~= nil then keys[#keys + 1], seen[k] = k, true end
end
local rest = {}
for k in pairs(result) do
  if not seen[k] then rest[#rest + 1] = tostring(k) end
end
table.sort(rest)
for _, k in ipairs(rest) do keys[#keys + 1] = k end

-- Debian's lua-cjson escapes every "/" as "\/"; both are valid JSON, and
-- every "/" it writes is escaped, so this only undoes that.
local function json(v)
  return (cjson.encode(v):gsub("\\/", "/"))
end

local lines = {}
for i, k in ipairs(keys) do
  lines[i] = "  " .. json(k) .. ": " .. json(result[k])
end
print("{\n" .. table.concat(lines, ",\n") .. "\n}")
