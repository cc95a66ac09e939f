--- Internal: supermetrics.testing.serve: a hub's answers over HTTP/1.1 on
-- 127.0.0.1 (LuaSocket), one connection at a time.
-- @module supermetrics.testing.serve

local serve = {}

local huge = math.huge
local concat = table.concat

-- A socket in the place of an exchange: what the script plays is written
-- to it (a failure: the connection closed, after `hold` seconds for a
-- timeout).
local function socket_exchange(conn, hold, sleep)
  local x = { closed = false }
  function x.feed(_, bytes)
    conn:send(bytes)
    return true
  end
  function x.eof()
    x.closed = true
  end
  function x.fail(_, kind)
    if kind == "timeout" then
      sleep(hold)
    end
    x.closed = true
  end
  return x
end

-- Answers requests on 127.0.0.1 from hub (testing.serve's, which checked
-- for LuaSocket: socket) until opts.requests were served; the count.
function serve.run(hub, socket, opts)
  local server = assert(socket.bind("127.0.0.1", opts.port or 0))
  local _, port = server:getsockname()
  if opts.ready then
    opts.ready(tonumber(port))
  end
  local served, limit = 0, opts.requests or huge
  while served < limit do
    local conn = server:accept()
    if conn then
      conn:settimeout(30)
      while served < limit do
        local lines = {}
        local line, err = conn:receive("*l")
        while line and line ~= "" do
          lines[#lines + 1] = line
          line, err = conn:receive("*l")
        end
        if err or #lines == 0 then
          break
        end
        served = served + 1
        local head = concat(lines, "\r\n") .. "\r\n\r\n"
        local x = socket_exchange(conn, opts.hold or 5, socket.sleep)
        hub:_serve(head, x, 0)
        if x.closed or head:lower():find("\r\nconnection:%s*close") then
          break
        end
      end
      conn:close()
    end
  end
  server:close()
  return served
end

return serve
