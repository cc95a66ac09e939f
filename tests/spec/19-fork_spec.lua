-- fork() with a warm client (libcurl transport): after the fork both
-- processes hold the same kept-alive sockets. Neither may ever read or
-- write a connection the other uses: the child starts with fresh
-- connections and drops the inherited ones without sending anything on
-- them (no TLS close_notify into the parent's stream). The `echo` connector
-- tells which server connection answered each request.
local support = require "tests.spec.support"

local forker = support.fork_module()

-- Runs f in a forked child; f returns a list of problems. Returns the
-- child's pid; its exit status is the number of problems (101: f raised).
local function in_child(f)
  local pid = forker.fork()
  if pid == 0 then
    local ok, problems = pcall(f)
    if not ok then
      io.stderr:write("child raised: ", tostring(problems), "\n")
    elseif #problems > 0 then
      io.stderr:write("child: ", table.concat(problems, "; "), "\n")
    end
    io.stderr:flush()
    forker.exit(ok and math.min(#problems, 100) or 101)
  end
  return pid
end

local function set_of(entries)
  local set = {}
  for _, e in pairs(entries) do set[e.connection] = true end
  return set
end

for _, transport in ipairs(support.TRANSPORTS) do
  describe("fork with a warm client over " .. transport.name .. " #abi", function()
    local client
    before_each(function() client = support.client({ max_retries = 0 }, transport) end)
    after_each(function() client:close() end)

    it("single calls: each side gets its own entries, the parent keeps its connection", function()
      local warm = client:get_connector_log(1, "echo", "warm").connection
      local pid = in_child(function()
        local problems = {}
        for i = 1, 200 do
          local e = client:get_connector_log(1, "echo", "child-" .. i)
          if e.id ~= "child-" .. i then problems[#problems + 1] = "child-" .. i .. " got " .. e.id end
          if e.connection == warm then problems[#problems + 1] = "child used the parent's connection" end
        end
        return problems
      end)
      for i = 1, 200 do
        local e = client:get_connector_log(1, "echo", "parent-" .. i)
        assert.are.equal("parent-" .. i, e.id)
        assert.are.equal(warm, e.connection)
      end
      assert.are.equal(0, forker.wait(pid))
    end)

    it("batches: each side gets its own entries on its own connections", function()
      local ids = {}
      for i = 1, 16 do ids[i] = "warm-" .. i end
      local parent_connections = set_of((client:get_connector_logs(1, "echo", ids, { concurrency = 8 })))
      local pid = in_child(function()
        local problems, child_ids = {}, {}
        for i = 1, 100 do child_ids[i] = "child-" .. i end
        local entries, errors = client:get_connector_logs(1, "echo", child_ids, { concurrency = 8 })
        for i = 1, 100 do
          local e = entries[i]
          if not e then
            problems[#problems + 1] = tostring(errors[i])
          elseif e.id ~= child_ids[i] then
            problems[#problems + 1] = child_ids[i] .. " got " .. e.id
          elseif parent_connections[e.connection] then
            problems[#problems + 1] = "child used a parent's connection"
          end
        end
        return problems
      end)
      local parent_ids = {}
      for i = 1, 100 do parent_ids[i] = "parent-" .. i end
      local entries, errors = client:get_connector_logs(1, "echo", parent_ids, { concurrency = 8 })
      for i = 1, 100 do
        assert(entries[i], tostring(errors[i]))
        assert.are.equal(parent_ids[i], entries[i].id)
      end
      assert.are.equal(0, forker.wait(pid))
    end)

    it("a child that closes the client sends nothing on the parent's connection", function()
      local warm = client:get_connector_log(1, "echo", "warm").connection
      local pid = in_child(function()
        client:close()
        collectgarbage()
        return {}
      end)
      assert.are.equal(0, forker.wait(pid))
      -- A close_notify or a request from the child would have ended the
      -- parent's connection (or answered it with the child's reply).
      for i = 1, 5 do
        local e = client:get_connector_log(1, "echo", "after-" .. i)
        assert.are.equal("after-" .. i, e.id)
        assert.are.equal(warm, e.connection)
      end
    end)
  end)
end
