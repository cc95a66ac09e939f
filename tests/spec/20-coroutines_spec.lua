-- Batches (libcurl transport) when the on_response hook or the
-- token_provider yields: a batch suspended in one coroutine, another
-- batch on the same client, a coroutine dropped mid-batch. Each either
-- works or fails with a structured error; nothing hangs, deadlines hold,
-- slots come back.
local core = require "supermetrics.core"
local support = require "tests.spec.support"

local function ids(prefix, n)
  local out = {}
  for i = 1, n do out[i] = prefix .. i end
  return out
end

local function in_coroutine()
  local co, main = coroutine.running()
  return co ~= nil and not main
end

-- A client whose hook yields once, on the first event of a batch.
local function yielding_client(opts)
  local state = { yield_next = true }
  local o = { max_retries = 0, on_response = function()
    if state.yield_next and in_coroutine() then
      state.yield_next = false
      coroutine.yield("suspended")
    end
  end }
  for k, v in pairs(opts or {}) do o[k] = v end
  return support.client(o), state
end

local HAS_YIELDABLE_PCALL = _VERSION ~= "Lua 5.1" or type(jit) == "table"

describe("a batch suspended by its on_response hook #abi", function()
  if not HAS_YIELDABLE_PCALL then
    -- Lua 5.1 cannot yield across pcall: the hook's yield is an error that
    -- the library drops, and the batch simply runs to its end.
    it("cannot be suspended on PUC Lua 5.1; the batch completes", function()
      local client = yielding_client()
      local co = coroutine.create(function()
        return client:get_connector_logs(1, "echo", ids("a", 20), { concurrency = 4 })
      end)
      local ok, entries = coroutine.resume(co)
      assert.is_true(ok)
      assert.are.equal(20, #entries)
      client:close()
    end)
    return
  end

  it("makes another batch on the client fail with INVALID_ARGUMENT, and completes when resumed", function()
    local client = yielding_client()
    local co = coroutine.create(function()
      return client:get_connector_logs(1, "echo", ids("a", 20), { concurrency = 4 })
    end)
    local ok, what = coroutine.resume(co)
    assert.is_true(ok)
    assert.are.equal("suspended", what)
    local err = support.catch(client.get_connector_logs, client, 1, "echo", ids("b", 5))
    assert.are.equal("INVALID_ARGUMENT", err.code)
    assert.truthy(err.message:find("another batch is in progress", 1, true), err.message)
    -- single calls still work meanwhile
    assert.are.equal("single", client:get_connector_log(1, "echo", "single").id)
    local t0 = support.now()
    local entries, errors
    ok, entries, errors = coroutine.resume(co)
    assert.is_true(ok, tostring(entries))
    assert.are.equal("dead", coroutine.status(co))
    assert.is_true(support.now() - t0 < 5)
    for i = 1, 20 do
      assert(entries[i], tostring(errors[i]))
      assert.are.equal("a" .. i, entries[i].id)
    end
    -- and the client takes batches again
    assert.are.equal(5, #client:get_connector_logs(1, "echo", ids("c", 5)))
    client:close()
  end)

  it("gives the slots back when its coroutine is dropped", function()
    local client = yielding_client()
    local co = coroutine.create(function()
      return client:get_connector_logs(1, "echo", ids("a", 20), { concurrency = 4 })
    end)
    assert.are.equal("suspended", select(2, coroutine.resume(co)))
    co = nil -- luacheck: ignore (dropped on purpose)
    local entries, errors = client:get_connector_logs(1, "echo", ids("b", 40), { concurrency = 8 })
    for i = 1, 40 do
      assert(entries[i], tostring(errors[i]))
      assert.are.equal("b" .. i, entries[i].id)
    end
    client:close()
  end)

  it("keeps its deadline: resumed after it passed, it ends at once with TIMEOUT for what was in flight", function()
    local client = yielding_client { timeout = 0.5 }
    local co = coroutine.create(function()
      return client:get_connector_logs(1, "slow", { "100-x1", "3000-x2", "3000-x3", "3000-x4" }, { concurrency = 4 })
    end)
    assert.are.equal("suspended", select(2, coroutine.resume(co)))
    core.sleep(0.6) -- let the batch's deadline pass while it is suspended
    local t0 = support.now()
    local ok, entries, errors = coroutine.resume(co)
    local took = support.now() - t0
    assert.is_true(ok, tostring(entries))
    assert.is_true(took < 1, "resumed batch took " .. took .. " s")
    -- The first item's hook is the one that yielded: it returned after the
    -- deadline, so that item is TIMEOUT too (the hook's, its answer unused).
    assert.is_nil(entries[1])
    assert.are.equal("TIMEOUT", errors[1].code)
    assert.matches("on_response", errors[1].message, 1, true)
    for i = 2, 4 do
      assert.is_nil(entries[i])
      assert.are.equal("TIMEOUT", errors[i].code)
    end
    client:close()
  end)
end)

describe("a batch whose token_provider yields #abi", function()
  if not HAS_YIELDABLE_PCALL then
    return
  end
  it("blocks another batch the same way, and completes when resumed", function()
    local yielded = false
    local client = support.client { max_retries = 0, api_key = false, token_provider = function()
      if not yielded and in_coroutine() then
        yielded = true
        coroutine.yield("suspended")
      end
      return "otok_valid_x"
    end }
    local co = coroutine.create(function()
      return client:get_connector_logs(1, "echo", ids("a", 10), { concurrency = 2 })
    end)
    assert.are.equal("suspended", select(2, coroutine.resume(co)))
    assert.are.equal("INVALID_ARGUMENT", support.catch(client.get_connector_logs, client, 1, "echo", { "x" }).code)
    local ok, entries = coroutine.resume(co)
    assert.is_true(ok, tostring(entries))
    assert.are.equal(10, #entries)
    client:close()
  end)
end)
