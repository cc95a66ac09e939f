-- Contender: lua-http's http.request (Debian lua-http, runs on the 5.1 ABI)
-- with cjson. http.request opens a new connection for every request.
-- Usage: luajit luahttp.lua URL N SECONDS [CA_FILE]
-- Prints "ok REQUESTS SECONDS" (wall time of the request loop).
local cqueues = require "cqueues"
local http_request = require "http.request"
local http_tls = require "http.tls"
local x509_store = require "openssl.x509.store"
local ssl_context = require "openssl.ssl.context"
local cjson = require "cjson"

local url, n, budget, ca_file = arg[1], tonumber(arg[2]), tonumber(arg[3]), arg[4]
local ctx
if ca_file then
  ctx = http_tls.new_client_context()
  local store = x509_store.new()
  store:add(ca_file)
  ctx:setStore(store)
  ctx:setVerify(ssl_context.VERIFY_PEER)
end

local start, done = cqueues.monotime(), 0
while done < n and cqueues.monotime() - start < budget do
  local req = http_request.new_from_uri(url)
  req.headers:upsert("authorization", "Bearer api_bench_key")
  req.headers:upsert("accept", "application/json")
  if ctx then
    req.ctx = ctx
  end
  local headers, stream = req:go(10)
  if not headers or headers:get(":status") ~= "200" then
    error("request " .. done + 1 .. " failed: " .. tostring(stream))
  end
  local entry = cjson.decode(assert(stream:get_body_as_string(10)))
  if entry.id ~= "123" then
    error("request " .. done + 1 .. ": unexpected body")
  end
  done = done + 1
end
print(string.format("ok %d %.6f", done, cqueues.monotime() - start))
