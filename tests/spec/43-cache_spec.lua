-- budget: 400 s
-- The entry cache (issue 30): repeated reads of an entry cost no request,
-- concurrent misses of one entry make one request (in a batch, across
-- nginx's light threads and workers), NOT_FOUND is kept for negative_ttl,
-- nothing else, a stale entry is served when the API fails (within
-- stale_if_error), no entry ever answers another key's call, memory stays
-- bounded and a full shared dict fails no call. The stand-in counts what
-- reaches it (tests/server/cache.lua: connector cache-<nonce>, stats by
-- cachectl), so a hit is told from a miss by the requests it did not make.
-- The cache's clock (supermetrics.cache.clock) is moved forward to expire
-- entries without waiting. #abi (the option and libcurl parts): hits decode
-- the kept text in C.
local cjson = require "cjson"
local cache = require "supermetrics.cache"
local supermetrics = require "supermetrics"
local support = require "tests.spec.support"

-- The stand-in's counts for nonce: { total =, ids = { [id] = n } }.
local function counts(nonce, op)
  local c = support.client()
  local s = c:get_connector_log(1, "cachectl", nonce .. "." .. (op or "stats"))
  c:close()
  if not s.ids[1] and next(s.ids) == nil then
    s.ids = {}
  end
  return s
end

local real_clock = cache.clock
local skew = 0
local function advance(seconds)
  skew = skew + seconds
end

describe("entry cache", function()
  before_each(function()
    skew = 0
    cache.clock = function()
      return real_clock() + skew
    end
  end)
  after_each(function()
    cache.clock = real_clock
    support.cleanup()
  end)

  describe("the option #abi", function()
    it("is checked like every option of new", function()
      for _, bad in ipairs {
        { 1, "cache must be a table" },
        { { size = 0 }, "cache.size must be an integer from 1" },
        { { size = 1.5 }, "cache.size must be an integer from 1" },
        { { ttl = 0 }, "cache.ttl must be a number of seconds over 0" },
        { { ttl = 0 / 0 }, "cache.ttl must be a number of seconds over 0" },
        { { negative_ttl = -1 }, "cache.negative_ttl must be a number of seconds from 0" },
        { { stale_if_error = "1" }, "cache.stale_if_error must be a number of seconds from 0" },
        { { dict = "" }, "cache.dict must be the name of a lua_shared_dict" },
        { { sise = 10 }, 'cache: unknown field "sise"' },
        { { dict = "sm_cache" }, "cache.dict needs nginx" },
      } do
        local err = support.catch(support.client, { cache = bad[1] })
        assert.are.equal("INVALID_ARGUMENT", err.code, tostring(err))
        assert.are.equal("cache", err.argument)
        assert.truthy(err.message:find(bad[2], 1, true), err.message)
      end
      -- true: the defaults; false: none.
      local c = support.client { cache = true }
      assert.are.same({ hits = 0, misses = 0, stale = 0, waits = 0, negative = 0, entries = 0, size = 1000 },
        c:cache_stats())
      c:close()
      c = support.client { cache = false }
      assert.is_nil(c:cache_stats())
      c:close()
      c = support.client { cache = { ttl = math.huge, stale_if_error = math.huge, negative_ttl = 0 } }
      c:close()
    end)
  end)

  for _, transport in ipairs(support.TRANSPORTS) do
    describe("through libcurl (" .. transport.name .. ") #abi", function()
      local function client(opts)
        local o = { max_retries = 0, cache = {} }
        for k, v in pairs(opts or {}) do
          o[k] = v
        end
        return support.client(o, transport)
      end

      it("serves a repeated get from the cache: the text as it came, or a fresh table each time", function()
        local nonce = support.nonce()
        local conn = "cache-" .. nonce
        local events = {}
        local c = client { on_response = function(e) events[#events + 1] = e end }
        local first = c:get_connector_log(1, conn, "a")
        assert.are.equal(1, first.n)
        first.changed = true
        local again = c:get_connector_log(1, conn, "a")
        assert.are_not.equal(first, again)
        assert.is_nil(again.changed)
        assert.are.equal(1, again.n)
        if math.type then
          assert.are.equal("integer", math.type(again.status))
        end
        local text = c:get_connector_log_json(1, conn, "a")
        assert.are.equal("string", type(text))
        assert.are.equal(1, cjson.decode(text).n)
        assert.are.equal(text, c:get_connector_log_json(1, conn, "a"))
        -- A miss of get_connector_log_json keeps the same text.
        local b = c:get_connector_log_json(1, conn, "b")
        assert.are.equal(b, c:get_connector_log_json(1, conn, "b"))
        assert.are.equal("b", c:get_connector_log(1, conn, "b").id)
        local s = counts(nonce)
        assert.are.equal(2, s.total)
        assert.are.same({ a = 1, b = 1 }, s.ids)
        local st = c:cache_stats()
        assert.are.equal(2, st.misses)
        assert.are.equal(5, st.hits)
        assert.are.equal(2, st.entries)
        -- on_response: the two requests as ever, then one event per hit.
        local hits, requests = 0, 0
        for _, e in ipairs(events) do
          if e.cache then
            assert.are.equal("hit", e.cache)
            assert.are.equal(0, e.attempt)
            assert.are.equal(200, e.status)
            assert.truthy(e.path:find("/connectors/" .. conn .. "/logs/", 1, true), e.path)
            hits = hits + 1
          else
            assert.are.equal(1, e.attempt)
            requests = requests + 1
          end
        end
        assert.are.equal(5, hits)
        assert.are.equal(2, requests)
        c:close()
        -- A closed client serves nothing, from the cache either.
        local err = support.catch(c.get_connector_log, c, 1, conn, "a")
        assert.are.equal("INVALID_ARGUMENT", err.code)
      end)

      it("fetches 256 copies of one id in a batch with one request, and only a batch's misses", function()
        local nonce = support.nonce()
        local conn = "cache-" .. nonce
        local events = {}
        local c = client { on_response = function(e) events[#events + 1] = e.cache or "request" end }
        local ids = {}
        for i = 1, 256 do
          ids[i] = "slow50-one"
        end
        local entries, errs = c:get_connector_logs(1, conn, ids, { concurrency = 64 })
        assert.are.same({}, errs)
        assert.are.equal(256, #entries)
        for i = 2, 256 do
          assert.are.same(entries[1], entries[i])
          assert.are_not.equal(entries[1], entries[i])
        end
        assert.are.equal(1, counts(nonce).total)
        -- One request's event, and one "wait" for each copy served by it.
        local seen = {}
        for _, e in ipairs(events) do
          seen[e] = (seen[e] or 0) + 1
        end
        assert.are.same({ request = 1, wait = 255 }, seen)
        assert.are.equal(255, c:cache_stats().waits)
        -- Hits taken, misses fetched once each, bad ids failing alone.
        entries, errs = c:get_connector_logs(1, conn, { "slow50-one", "x", "x", "nf-1", "slow50-one", "", "nf-1" })
        assert.are.equal("slow50-one", entries[1].id)
        assert.are.equal("x", entries[2].id)
        assert.are.equal("x", entries[3].id)
        assert.are.equal("NOT_FOUND", errs[4].code)
        assert.are.equal("NOT_FOUND", errs[7].code)
        assert.are.equal("INVALID_ARGUMENT", errs[6].code)
        local s = counts(nonce)
        assert.are.equal(3, s.total)
        assert.are.same({ ["slow50-one"] = 1, x = 1, ["nf-1"] = 1 }, s.ids)
        -- get_connector_log then hits what the batch fetched.
        assert.are.equal("x", c:get_connector_log(1, conn, "x").id)
        assert.are.equal("NOT_FOUND", support.catch(c.get_connector_log, c, 1, conn, "nf-1").code)
        assert.are.equal(3, counts(nonce).total)
        c:close()
      end)

      it("keeps NOT_FOUND for negative_ttl: one request per negative_ttl, the same error each time", function()
        local nonce = support.nonce()
        local conn = "cache-" .. nonce
        local c = client { cache = { negative_ttl = 5 } }
        local first = support.catch(c.get_connector_log, c, 1, conn, "nf-a")
        assert.are.equal("NOT_FOUND", first.code)
        assert.are.equal(1, first.attempts)
        for _, method in ipairs { "get_connector_log", "get_connector_log_json" } do
          local again = support.catch(c[method], c, 1, conn, "nf-a")
          assert.is_true(supermetrics.is_error(again))
          assert.are_not.equal(first, again)
          for _, field in ipairs { "code", "message", "status", "request_id" } do
            assert.are.equal(first[field], again[field], field)
          end
          assert.are.equal(0, again.attempts)
        end
        assert.are.equal(1, counts(nonce).total)
        advance(5.1)
        support.catch(c.get_connector_log, c, 1, conn, "nf-a")
        support.catch(c.get_connector_log, c, 1, conn, "nf-a")
        assert.are.equal(2, counts(nonce).total)
        assert.are.equal(3, c:cache_stats().negative)
        -- negative_ttl = 0: NOT_FOUND not kept.
        local c0 = client { cache = { negative_ttl = 0 } }
        support.catch(c0.get_connector_log, c0, 1, conn, "nf-b")
        support.catch(c0.get_connector_log, c0, 1, conn, "nf-b")
        assert.are.equal(2, counts(nonce).ids["nf-b"])
        c:close()
        c0:close()
      end)

      it("never keeps a 500 (or any other error)", function()
        local nonce = support.nonce()
        local conn = "cache-" .. nonce
        local c = client()
        for _ = 1, 3 do
          assert.are.equal("INTERNAL_SERVER_ERROR", support.catch(c.get_connector_log, c, 1, conn, "e500-a").code)
          assert.are.equal("INVALID_ARGUMENT", support.catch(c.get_connector_log, c, 1, conn, "").code)
        end
        local bad = client { api_key = "wrong_key" }
        for _ = 1, 2 do
          assert.are.equal("UNAUTHORIZED", support.catch(bad.get_connector_log, bad, 1, conn, "a").code)
        end
        local s = counts(nonce)
        assert.are.equal(3, s.ids["e500-a"])
        assert.are.equal(5, s.total)
        assert.are.equal(0, c:cache_stats().entries)
        c:close()
        bad:close()
      end)

      it("serves a stale entry within stale_if_error when the API fails, and not after", function()
        for _, how in ipairs { "down", "drop" } do
          local nonce = support.nonce()
          local conn = "cache-" .. nonce
          local c = client { cache = { ttl = 10, stale_if_error = 5 } }
          local first = c:get_connector_log(1, conn, "a")
          counts(nonce, how)
          advance(11) -- expired, within stale_if_error
          local stale = c:get_connector_log(1, conn, "a")
          assert.are.same(first, stale)
          assert.are.equal(1, cjson.decode(c:get_connector_log_json(1, conn, "a")).n)
          -- Asked each time, served stale (a dropped connection is tried
          -- again on a fresh one: a kept-alive one may have been closed).
          local total = counts(nonce).total
          assert.is_true(how == "down" and total == 3 or how == "drop" and total >= 3, total)
          assert.are.equal(2, c:cache_stats().stale)
          advance(5) -- past stale_if_error
          local err = support.catch(c.get_connector_log, c, 1, conn, "a")
          assert.are.equal(how == "down" and "SERVICE_UNAVAILABLE" or "CONNECTION_ERROR", err.code, tostring(err))
          -- Back up: fetched and kept again.
          counts(nonce, "up")
          local fresh = c:get_connector_log(1, conn, "a")
          assert.is_true(fresh.n > 1)
          assert.are.equal(fresh.n, c:get_connector_log(1, conn, "a").n)
          c:close()
        end
        -- Without stale_if_error an expired entry is not served.
        local nonce = support.nonce()
        local conn = "cache-" .. nonce
        local c = client { cache = { ttl = 10 } }
        c:get_connector_log(1, conn, "a")
        counts(nonce, "down")
        advance(11)
        assert.are.equal("SERVICE_UNAVAILABLE", support.catch(c.get_connector_log, c, 1, conn, "a").code)
        c:close()
      end)

      it("never serves one key's entry to another team, connector, id or key", function()
        local nonce = support.nonce()
        local conn, conn2 = "cache-" .. nonce, "cache-" .. nonce .. "x"
        local keys = { "otok_valid_" .. nonce .. "_1", "otok_valid_" .. nonce .. "_2" }
        local turn = 0
        -- One client whose token_provider alternates between two keys.
        local c = client { api_key = false, token_provider = function()
          return keys[turn % 2 + 1]
        end }
        local seen = {}
        for round = 1, 2 do
          for _, q in ipairs {
            { 1, conn, "a" }, { "1", conn, "a" }, { 2, conn, "a" }, { 1, conn2, "a" }, { 1, conn, "a " },
            { 1, conn, "1" }, { 1, conn, 1 }, { 12, conn, "3" }, { 1, conn, "23" },
          } do
            for k = 0, 1 do
              turn = k
              local e = c:get_connector_log(q[1], q[2], q[3])
              assert.are.equal(tostring(q[1]), e.team)
              assert.are.equal(q[2], e.connector)
              assert.are.equal(tostring(q[3]), e.id)
              local who = e.key .. "|" .. e.team .. "|" .. e.connector .. "|" .. e.id .. "|" .. type(q[3])
                .. "|" .. type(q[1])
              if round == 1 then
                assert.is_nil(seen[who], who .. " served twice")
                seen[who] = e.key
              else
                assert.are.equal(seen[who], e.key)
              end
            end
          end
        end
        -- Each distinct (key, team, connector, id) asked once; round 2 all hits.
        assert.are.equal(18, counts(nonce).total + counts(nonce .. "x").total)
        assert.are.equal(18, c:cache_stats().hits)
        c:close()
      end)

      -- Over the stand-in, and (http) straight through the cache without
      -- requests: 200,000 ids under every Lua (a key leaked per id would
      -- show as 6 MB), and a million under Lua 5.4 and LuaJIT (the ABIs of
      -- plain scripts and nginx) left to make test-all (#slow: about 20 s
      -- of Lua per interpreter).
      local rss_runs = { { 20000, 1000, "", "20,000 distinct ids" } }
      if transport.name == "http" then
        rss_runs[2] = { 200000, 2000, " stub", "200,000 ids without requests" }
        if _VERSION == "Lua 5.4" or type(jit) == "table" then
          rss_runs[3] = { 1000000, 10000, " stub", "a million ids without requests #slow" }
        end
      end
      for _, run in ipairs(rss_runs) do
        it("stays within size entries, RSS flat over " .. run[4], function()
          local nonce = support.nonce()
          local code, out, err = support.run(table.concat({ "SM_BUILD_DIR=" .. os.getenv("SM_BUILD_DIR"),
            support.LUA, "tests/tools/cache_rss.lua", transport.base_url, nonce, run[1], run[2] }, " ") .. run[3],
            { limit = run[1] > 200000 and 300 or 200 })
          assert.are.equal(0, code, err)
          local v = {}
          for k, n in out:gmatch("([%w_]+)=(%d+)") do
            v[k] = tonumber(n)
          end
          assert.are.equal(run[2], v.entries, out)
          local growth = v.rss_end - v.rss_warm
          print(string.format("\n  cache (%s, %s): %d ids through size %d: RSS %d KiB warm, %+d KiB after",
            support.LUA, transport.name, run[1], run[2], v.rss_warm, growth))
          -- Kept past the LRU, one entry's text per id would be 4 MB over the
          -- 20,000 ids and a key per id 6 MB over 200,000 (30 MB over the
          -- million); what the allocator and TLS move meanwhile stays well
          -- under these bounds.
          if not os.getenv("SM_TEST_SANITIZER") then
            local bound = run[3] == "" and 2048 or 1024
            assert.is_true(growth < bound, "RSS grew by " .. growth .. " KiB (bound " .. bound .. ")")
          end
        end)
      end
    end)
  end

  describe("the command line", function()
    it("fetch asks for a repeated id once", function()
      local cli = require "tests.spec.cli_support"
      local nonce = support.nonce()
      local code, out, err = cli.run("fetch 1 cache-" .. nonce .. " a b a nf-1 a b nf-1 --format ndjson")
      assert.are.equal(66, code, err)
      assert.are.same({ "a", "b", "a", "a", "b" }, cli.ids(out))
      assert.are.equal(2, select(2, err:gsub("nf%-1: ", "")), err)
      assert.are.same({ a = 1, b = 1, ["nf-1"] = 1 }, counts(nonce).ids)
    end)
  end)

  describe("inside nginx", function()
    local APP4 = support.APP and os.getenv("SM_TEST_APP4_URL")

    local function get(base, path)
      local code, out, err = support.run("curl -sS --max-time 60 '" .. base .. path .. "'")
      assert.are.equal(0, code, err)
      return out
    end

    it("serves hits from the worker's LRU and the shared dict, as text or table", function()
      if not support.APP then
        return
      end
      local nonce = support.nonce()
      for _, dict in ipairs { "sm_cache", "none" } do
        for _, mode in ipairs { "json", "table" } do
          for _ = 1, 3 do
            local e = cjson.decode(get(support.APP, "/cache?nonce=" .. nonce .. "&id=" .. dict .. "&mode=" .. mode
              .. "&dict=" .. dict))
            assert.are.equal(dict, e.id)
            assert.are.equal(1, e.n)
          end
        end
      end
      assert.are.same({ sm_cache = 1, none = 1 }, counts(nonce).ids)
    end)

    it("makes one request for many concurrent gets of one id in a worker", function()
      if not support.APP then
        return
      end
      local nonce = support.nonce()
      for _, dict in ipairs { "sm_cache", "none" } do
        local a = cjson.decode(get(support.APP, "/cache?nonce=" .. nonce .. "&id=slow200-" .. dict
          .. "&callers=64&n=4&dict=" .. dict))
        assert.are.equal(256, a.ok, a.first_error)
        assert.is_true(a.stats.waits >= 63, cjson.encode(a.stats))
      end
      assert.are.same({ ["slow200-sm_cache"] = 1, ["slow200-none"] = 1 }, counts(nonce).ids)
    end)

    it("across the workers: wrk -c 100 on one entry sends exactly one request upstream", function()
      if not APP4 then
        return
      end
      local nonce = support.nonce()
      local code, out, err = support.run("wrk -t 2 -c 100 -d 3s '" .. APP4 .. "/cache?nonce=" .. nonce
        .. "&id=slow300-hot'", { limit = 30 })
      assert.are.equal(0, code, err)
      local requests = tonumber(out:match("(%d+) requests in"))
      assert.is_true(requests and requests >= 1000, out)
      assert.is_nil(out:find("Non%-2xx"), out)
      assert.are.same({ ["slow300-hot"] = 1 }, counts(nonce).ids)
      local pids = cjson.decode(get(APP4, "/cache_pids?nonce=" .. nonce)).pids
      assert.is_true(pids >= 2, "one worker served it all")
      print(string.format("\n  cache inside nginx: %d gets of one entry by wrk -c 100 over %d workers, "
        .. "1 request upstream", requests, pids))
    end)

    it("fails no call when the shared dict is full (it evicts)", function()
      if not support.APP then
        return
      end
      local nonce = support.nonce()
      -- 64 KiB of dict, 400 entries of 2 KB: most are evicted, none fails.
      local a = cjson.decode(get(support.APP, "/cache?nonce=" .. nonce .. "&id=big2000&distinct=1&callers=8&n=50"
        .. "&dict=sm_cache_small&size=10"))
      assert.are.equal(400, a.ok, a.first_error)
      assert.are.equal(0, a.failed)
      assert.is_true(a.dict_keys < 400, "the dict kept " .. a.dict_keys)
      assert.are.equal(400, counts(nonce).total)
    end)
  end)
end)
