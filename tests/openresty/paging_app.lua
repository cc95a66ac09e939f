-- GET /paging?op=each|follow&connector=C[&page_size=N][&since=S][&last=N]
--   [&max=N][&budget=N][&https=1]
-- The iterators inside nginx against the stand-in's paging scenarios
-- (36-paging_bounds_spec): each_connector_log (op=each, pages of
-- page_size) or follow_connector_logs (op=follow, since= or last=),
-- taken for at most max entries (default 5000) on a client whose
-- token_provider refuses after budget requests (default 300), so that an
-- iterator that never ends still gives this request an answer. Answers
-- { count =, requests =, first_requests = (requests before the first
-- entry), first =, last = (ids), descending = (every id n<i> one below
-- the one before), lua_kb = { at 2000 entries, at the end }, rss_kb = {
-- the same, of this worker }, error = { code =, message = } }.
local cjson = require "cjson"
local supermetrics = require "supermetrics"

local M = {}

local function rss_kb()
  local f = io.open("/proc/self/status")
  if not f then
    return nil
  end
  local s = f:read("*a")
  f:close()
  return tonumber(s:match("VmRSS:%s*(%d+)"))
end

function M.run(hub)
  local a = ngx.req.get_uri_args()
  local budget, requests = tonumber(a.budget) or 300, 0
  local client = supermetrics.new {
    base_url = a.https and hub.https or hub.http, max_retries = 0,
    token_provider = function()
      requests = requests + 1
      if requests > budget then
        error("request budget of " .. budget .. " spent")
      end
      return "otok_valid_paging"
    end,
  }
  local max = tonumber(a.max) or 5000
  local out = { count = 0, descending = true, lua_kb = {}, rss_kb = {} }
  local ok, err = pcall(function()
    local it
    if a.op == "follow" then
      it = client:follow_connector_logs(1, a.connector, { since = a.since, last = tonumber(a.last),
        interval = 0.01 })
    else
      it = client:each_connector_log(1, a.connector, { page_size = tonumber(a.page_size) })
    end
    local previous
    for entry in it do
      out.count = out.count + 1
      if out.count == 1 then
        out.first, out.first_requests = entry.id, requests
      end
      local n = tonumber(tostring(entry.id):match("^n(%d+)$"))
      if out.count > 1 and (not n or not previous or n ~= previous - 1) then
        out.descending = false
      end
      previous, out.last = n, entry.id
      if out.count == 2000 then
        collectgarbage()
        out.lua_kb[1], out.rss_kb[1] = collectgarbage("count"), rss_kb()
      end
      if out.count >= max then
        break
      end
    end
  end)
  collectgarbage()
  out.lua_kb[2], out.rss_kb[2] = collectgarbage("count"), rss_kb()
  out.requests = requests
  if not ok then
    out.error = type(err) == "table" and { code = err.code, message = err.message } or { raised = tostring(err) }
  end
  client:close()
  ngx.header.content_type = "application/json"
  ngx.print(cjson.encode(out))
end

return M
