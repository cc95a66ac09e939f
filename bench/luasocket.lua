-- Contender: LuaSocket's socket.http (HTTP) / LuaSec's ssl.https (HTTPS),
-- decoding with cjson: what Lua users reach for. Neither keeps connections:
-- every request opens a new TCP connection (and, over HTTPS, a new TLS
-- handshake with certificate verification).
-- Usage: lua luasocket.lua URL N SECONDS [CA_FILE]
-- Prints "ok REQUESTS SECONDS" (wall time of the request loop).
local socket = require "socket"
local ltn12 = require "ltn12"
local cjson = require "cjson"

local url, n, budget, ca_file = arg[1], tonumber(arg[2]), tonumber(arg[3]), arg[4]
local request
if url:sub(1, 8) == "https://" then
  local https = require "ssl.https"
  request = function(t)
    t.cafile, t.verify, t.protocol = ca_file, "peer", "any"
    return https.request(t)
  end
else
  request = require("socket.http").request
end
local headers = { authorization = "Bearer api_bench_key", accept = "application/json" }

local start, done = socket.gettime(), 0
while done < n and socket.gettime() - start < budget do
  local chunks = {}
  local ok, status = request { url = url, headers = headers, sink = ltn12.sink.table(chunks) }
  if not ok or status ~= 200 then
    error("request " .. done + 1 .. " failed: " .. tostring(status))
  end
  local entry = cjson.decode(table.concat(chunks))
  if entry.id ~= "123" then
    error("request " .. done + 1 .. ": unexpected body")
  end
  done = done + 1
end
print(string.format("ok %d %.6f", done, socket.gettime() - start))
