-- The scenarios of watch_spec.lua inside nginx, from the same fixtures:
-- a content handler that runs each and answers a JSON list of
-- { name, ok, got, want }. For a location such as
--
--   location = /watch_scenarios {
--       content_by_lua_block { require("spec.in_nginx").run("examples/testing/fixtures/hub.lua") }
--   }
--
-- with examples/testing/?.lua and the library on lua_package_path.
local in_nginx = {}

local ngx = rawget(_G, "ngx")

local function json(v)
  return require("supermetrics.testing").encode(v)
end

local function same(a, b)
  if type(a) ~= "table" or type(b) ~= "table" then
    return a == b
  end
  for k, v in pairs(a) do
    if not same(v, b[k]) then
      return false
    end
  end
  for k in pairs(b) do
    if a[k] == nil then
      return false
    end
  end
  return true
end

function in_nginx.run(fixtures)
  local testing = require "supermetrics.testing"
  local scenarios = require "spec.scenarios"
  local out = {}
  for i, s in ipairs(scenarios) do
    local ok, got, hub = pcall(scenarios.run, testing, fixtures, s)
    local done = ok and pcall(hub.assert_done, hub)
    out[i] = { name = s.name, ok = ok and done and same(got, s.want) or false, got = ok and got or tostring(got) }
  end
  ngx.header.content_type = "application/json"
  ngx.print(json({ count = #out, results = out, subsystem = ngx.config.subsystem }))
end

return in_nginx
