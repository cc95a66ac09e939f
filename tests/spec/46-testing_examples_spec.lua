-- examples/testing (issue 31): a user's module and its busted specs, which
-- script every error it handles with supermetrics.testing's fake Hub. The
-- specs run as a user runs them (busted, a child process) under the Lua of
-- this run (the quick gate: 5.4, and as #abi 5.1, 5.2, 5.3 and LuaJIT), and
-- the same scenarios run inside nginx from the same fixture file.
local support = require "tests.spec.support"

describe("examples/testing's busted specs #abi", function()
  it("pass under this Lua, fast, with no network", function()
    local t0 = support.now()
    local code, out, err = support.run(table.concat({
      "env",
      "LUA_PATH='./lua/?.lua;./lua/?/init.lua;./examples/testing/?.lua;;'",
      "LUA_CPATH='" .. os.getenv("SM_BUILD_DIR") .. "/?.so;;'",
      -- No stand-in reachable: the fake Hub needs none.
      "SUPERMETRICS_BASE_URL=http://127.0.0.1:9",
      support.LUA, "/usr/bin/busted", "-o", "TAP", "examples/testing/spec",
    }, " "))
    assert.are.equal(0, code, out .. err)
    local n = 0
    for _ in out:gmatch("\nok %d+") do
      n = n + 1
    end
    assert.is_true(n >= 20, out)
    assert.falsy(out:find("\nnot ok", 1, true), out)
    assert.is_true(support.now() - t0 < 30)
  end)
end)

describe("examples/testing's scenarios inside nginx", function()
  it("give what they give outside it, from the same fixtures", function()
    if not support.APP then
      return
    end
    local scenarios = (function()
      local saved = package.path
      package.path = "./examples/testing/?.lua;" .. package.path
      local s = require "spec.scenarios"
      package.path = saved
      return s
    end)()
    local res = support.inside("/watch_scenarios")
    assert.are.equal(#scenarios, res.count)
    for i, s in ipairs(scenarios) do
      assert.are.equal(s.name, res.results[i].name)
      assert.is_true(res.results[i].ok, s.name .. ": " .. require("cjson").encode(res.results[i].got))
      assert.are.same(s.want, res.results[i].got)
    end
  end)
end)
