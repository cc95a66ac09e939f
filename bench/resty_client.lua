-- Optional contender: lua-resty-http inside nginx (cosockets, keep-alive
-- through the connection pool), decoding with cjson. bench/resty.sh runs it
-- in a one-process nginx; the loop runs in a timer, writes
-- "ok REQUESTS SECONDS" (or "error ...") to BENCH_OUT and ends the process.
local http = require "resty.http"
local cjson = require "cjson"

local client = {}

local function finish(line)
  local f = assert(io.open(os.getenv("BENCH_OUT"), "w"))
  f:write(line, "\n")
  f:close()
  os.exit(0)
end

local function run(premature)
  if premature then
    return
  end
  local url, n, budget = os.getenv("BENCH_URL"), tonumber(os.getenv("BENCH_N")), tonumber(os.getenv("BENCH_SECONDS"))
  local params = {
    headers = { ["Authorization"] = "Bearer api_bench_key", ["Accept"] = "application/json" },
    keepalive_timeout = 60000,
    -- The bench certificate names IP:127.0.0.1 and DNS:localhost; nginx's
    -- cosocket check matches host names only, so verify against localhost.
    ssl_server_name = url:find("^https://") and "localhost" or nil,
  }
  ngx.update_time()
  local start, done = ngx.now(), 0
  while done < n do
    local res, err = http.new():request_uri(url, params)
    if not res or res.status ~= 200 then
      return finish("error request " .. done + 1 .. ": " .. tostring(err or res.status))
    end
    if cjson.decode(res.body).id ~= "123" then
      return finish("error request " .. done + 1 .. ": unexpected body")
    end
    done = done + 1
    if done % 64 == 0 then
      ngx.update_time()
      if ngx.now() - start >= budget then
        break
      end
    end
  end
  ngx.update_time()
  finish(string.format("ok %d %.6f", done, ngx.now() - start))
end

function client.start()
  assert(ngx.timer.at(0, function(premature)
    local ok, err = pcall(run, premature)
    if not ok then
      finish("error " .. tostring(err))
    end
  end))
end

return client
