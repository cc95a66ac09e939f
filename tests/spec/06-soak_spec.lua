-- 10,000 calls on one client (tests/tools/soak.lua, in a fresh interpreter): one
-- connection throughout, flat memory.
local support = require "tests.spec.support"

describe("10,000 calls on one client #abi", function()
  it("use one connection and keep RSS flat", function()
    local code, out, err = support.run(table.concat({ "SM_BUILD_DIR=" .. os.getenv("SM_BUILD_DIR"),
      support.LUA, "tests/tools/soak.lua", support.HTTP, "10000" }, " "))
    assert.are.equal(0, code, err)
    local v = {}
    for k, n in out:gmatch("([%w_]+)=(%d+)") do v[k] = tonumber(n) end
    assert.are.equal(v.first_conn, v.last_conn)
    assert.are.equal(v.first_req + 10001, v.last_req)
    local growth = v.rss_end - v.rss_warm
    -- Under AddressSanitizer RSS measures its shadow memory and quarantine,
    -- not ours; LeakSanitizer checks the child for leaks at its exit instead.
    if os.getenv("SM_TEST_SANITIZER") then
      print(string.format("\n  soak (%s): RSS after 10,000 calls: %+d KiB (ASan's shadow memory and quarantine; "
        .. "not a leak check: LeakSanitizer's is)", support.LUA, growth))
    else
      print(string.format("\n  soak (%s): RSS %d KiB after warm-up, %+d KiB after 10,000 calls (at most +256)",
        support.LUA, v.rss_warm, growth))
      assert.is_true(growth < 256, "RSS grew by " .. growth .. " KiB")
    end
  end)
end)
