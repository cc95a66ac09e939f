-- 10,000 calls on one client: one connection throughout, flat memory.
local support = require "tests.spec.support"

local function rss_kib()
  local f = assert(io.open("/proc/self/status"))
  local s = f:read("*a")
  f:close()
  return tonumber(s:match("VmRSS:%s*(%d+)"))
end

describe("10,000 calls on one client", function()
  it("use one connection and keep RSS flat", function()
    local c = support.client()
    for _ = 1, 3000 do -- warm up: buffers and the allocator reach their size
      c:get_connector_log(support.TEAM, "T3S70", "123")
    end
    collectgarbage()
    local before = rss_kib()
    local first = c:get_connector_log(1, "echo", "soak")
    for _ = 1, 10000 do
      c:get_connector_log(support.TEAM, "T3S70", "123")
    end
    local last = c:get_connector_log(1, "echo", "soak")
    collectgarbage()
    local growth = rss_kib() - before
    c:close()
    assert.are.equal(first.connection, last.connection)
    assert.are.equal(first.connection_requests + 10001, last.connection_requests)
    print(string.format("\n  soak: RSS growth over 10,000 calls: %d KiB", growth))
    assert.is_true(growth < 1024, "RSS grew by " .. growth .. " KiB")
  end)
end)
