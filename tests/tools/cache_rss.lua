-- The entry cache's memory bound (43-cache_spec), in a fresh interpreter.
-- Prints one line: rss_warm=KiB rss_end=KiB entries=N requests=N
-- Usage: cache_rss.lua BASE_URL NONCE IDS SIZE [stub] (SM_BUILD_DIR: the build;
-- SM_TEST_CA: the stand-in's CA, for https)
--   IDS distinct ids through a client with cache = { size = SIZE }: in
--   batches of 256 over the stand-in (connector cache-NONCE, ids r-...), or
--   with `stub` straight through supermetrics.cache with a fetch that makes
--   no request (the entry's text made here), for runs of a million ids.
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = assert(os.getenv("SM_BUILD_DIR")) .. "/?.so;" .. package.cpath
local supermetrics = require "supermetrics"
local cache = require "supermetrics.cache"

local base_url, nonce, ids, size, stub = arg[1], arg[2], tonumber(arg[3]), tonumber(arg[4]), arg[5] == "stub"
assert(base_url and nonce and ids and size, "usage: cache_rss.lua BASE_URL NONCE IDS SIZE [stub]")

local function rss_kib()
  local f = assert(io.open("/proc/self/status"))
  local s = f:read("*a")
  f:close()
  return tonumber(s:match("VmRSS:%s*(%d+)"))
end

local client = supermetrics.new { api_key = "api_test_key", base_url = base_url, cache = { size = size },
  ca_file = base_url:find("^https:") and os.getenv("SM_TEST_CA") or nil }
local connector = "cache-" .. nonce
local fetched = 0

-- About 250 bytes that differ all along (Lua 5.1 to 5.3 hash a sample of
-- a long string's bytes and intern it: texts alike but for a few bytes
-- would all meet in one bucket of the string table, as real entries don't).
local function fetch(_, _, _, _, id)
  fetched = fetched + 1
  return '{"id":"' .. id .. '","pad":"' .. string.rep(id, 20) .. '"}'
end

local function run(from, to)
  if stub then
    local view = client._cache
    for i = from, to do
      local id = "r-" .. i
      local key = cache.key(view, nil, 1, "c", id)
      assert(cache.get(view, key, nil, true, math.huge, nil, fetch, client, "get_connector_log_json", 1, "c", id)
        :find(id, 1, true))
    end
    return
  end
  local i = from
  while i <= to do
    local batch = {}
    for j = i, math.min(i + 255, to) do
      batch[#batch + 1] = "r-" .. j
    end
    local entries, errs = client:get_connector_logs(1, connector, batch, { concurrency = 16 })
    local _, first = next(errs)
    assert(first == nil, tostring(first))
    assert(#entries == #batch)
    i = i + #batch
  end
end

-- Warm up: the cache full, the allocator and the GC at their steady size;
-- both runs' ids have 8 digits (texts of one length: longer ones would
-- grow the kept entries, not leak)
-- (half the run: 40,000 ids through size 10000 are not enough).
run(10000000, 10000000 + math.max(4 * size, math.floor(ids / 2)) - 1)
collectgarbage()
collectgarbage()
local warm = rss_kib()
run(20000000, 20000000 + ids - 1)
collectgarbage()
collectgarbage()
local stats = client:cache_stats()
print(string.format("rss_warm=%d rss_end=%d entries=%d misses=%d fetched=%d", warm, rss_kib(), stats.entries,
  stats.misses, fetched))
client:close()
