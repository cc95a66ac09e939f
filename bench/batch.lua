-- The batch benchmark: get_connector_logs of N ids against the test
-- stand-in's "slow" route, which adds MS milliseconds to every response, at
-- a given concurrency, next to the same ids fetched one by one.
-- Usage: batch.lua BASE_URL N MS CONCURRENCY SEQUENTIAL [CA_FILE]
-- Prints: "batch SECONDS ENTRIES ERRORS" and, when SEQUENTIAL is 1,
-- "sequential SECONDS".
local supermetrics = require "supermetrics"
local now = require("supermetrics.core").monotonic

local base, n, ms, concurrency, sequential, ca = arg[1], tonumber(arg[2]), tonumber(arg[3]),
  tonumber(arg[4]), arg[5] == "1", arg[6]
assert(base and n and ms and concurrency, "usage: batch.lua BASE_URL N MS CONCURRENCY SEQUENTIAL [CA_FILE]")

local client = supermetrics.new { api_key = "api_test_key", base_url = base, ca_file = ca, timeout = 120 }
local tag = tostring(os.time())
local ids = {}
for i = 1, n do
  ids[i] = string.format("%d-b%sx%d", ms, tag, i)
end

-- Warm the pool first, as a long-lived client would be.
client:get_connector_logs(1, "slow", { ms .. "-warm1", ms .. "-warm2" }, { concurrency = 2 })

local t0 = now()
local entries, errors = client:get_connector_logs(1, "slow", ids, { concurrency = concurrency })
local took = now() - t0
local got, failed = 0, 0
for i = 1, n do
  if entries[i] then got = got + 1 end
  if errors[i] then failed = failed + 1 end
end
print(string.format("batch %.3f %d %d", took, got, failed))

if sequential then
  t0 = now()
  for i = 1, n do
    client:get_connector_log(1, "slow", ids[i] .. "s")
  end
  print(string.format("sequential %.3f", now() - t0))
end
client:close()
