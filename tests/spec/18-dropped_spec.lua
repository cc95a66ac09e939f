-- A server that drops kept-alive connections: the `stale` connector answers
-- only the first request of each connection and closes the next one on it
-- unanswered, so every call after the first meets a dead pooled connection.
-- Such a drop must never become an error or a counted attempt: libcurl
-- resends on a fresh connection, and the library works around libcurl
-- 7.88's lifetime limit of five such resends per handle
-- (src/transfer.h, sm_transfer_resend_due) and a pool full of dead
-- connections.
local support = require "tests.spec.support"

for _, transport in ipairs(support.TRANSPORTS) do
  describe("a server dropping every kept-alive connection, over " .. transport.name, function()
    local client, events
    before_each(function()
      events = 0
      client = support.client({ max_retries = 0, on_response = function() events = events + 1 end }, transport)
    end)
    after_each(function() client:close() end)

    it("300 single calls in a row all succeed, one attempt each", function()
      local connections = {}
      for i = 1, 300 do
        local ok, entry = pcall(client.get_connector_log, client, 1, "stale", "s" .. i)
        assert(ok, "call " .. i .. ": " .. tostring(entry))
        assert.are.equal("s" .. i, entry.id)
        connections[entry.connection] = true
      end
      assert.are.equal(300, events)
      local n = 0
      for _ in pairs(connections) do n = n + 1 end
      assert.are.equal(300, n) -- each answered on a connection of its own
    end)

    for _, concurrency in ipairs { 1, 8, 32 } do
      it("a 300-id batch at concurrency " .. concurrency .. " has no failed item", function()
        client:get_connector_log(1, "stale", "warm") -- the pool holds a doomed connection
        events = 0
        local ids = {}
        for i = 1, 300 do ids[i] = "b" .. i end
        local entries, errors = client:get_connector_logs(1, "stale", ids, { concurrency = concurrency })
        for i = 1, 300 do
          assert(entries[i], "item " .. i .. ": " .. tostring(errors[i]))
          assert.are.equal(ids[i], entries[i].id)
        end
        assert.are.equal(300, events)
      end)
    end
  end)
end
