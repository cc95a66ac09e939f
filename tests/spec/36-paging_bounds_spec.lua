-- Paging that always ends (issue 26, points 1 and 11): every iterator
-- either moves back in time or ends with INVALID_RESPONSE after a bounded
-- number of requests without progress, against servers whose pages never
-- do (tests/server/hostile_pages.lua): (a) the same entries without id at
-- one log_time on every page, (b) new ids at one log_time on every page,
-- (c) new ids stamped between the edge and the bound. And catching up from
-- a point in time (follow_connector_logs' since, tail --since) yields as
-- it goes with flat memory against a log of 100,000,000 entries. Through
-- libcurl, inside nginx (tests/openresty/paging_app.lua) and the command
-- line. Each client here refuses (token_provider) after a budget of
-- requests, so an iterator that would loop forever still ends the test.
local cjson = require "cjson"
local paging = require "supermetrics.paging"
local follow = require "supermetrics.follow"
local support = require "tests.spec.support"
local cli = require "tests.spec.cli_support"

local BUDGET = 300
-- The endless log: n1 (2025-06-01T00:00:00Z) back, three per second.
local ENDLESS = "hostile-endless-3"
local SINCE = "2024-06-01T00:00:00Z" -- n94608000..n94607998 are stamped one second later

-- A client whose requests are counted, and refused past BUDGET.
local function budgeted()
  local counter = { n = 0 }
  local client = support.client { api_key = false, max_retries = 0, token_provider = function()
    counter.n = counter.n + 1
    if counter.n > BUDGET then
      error("request budget spent")
    end
    return "otok_valid_paging"
  end }
  return client, counter
end

-- The scenarios: connector (a fresh nonce where ids must be new), and what
-- the error says.
local function scenarios(mode)
  local tail = mode == "excl" and "-excl" or ""
  return {
    { name = "(a) the same entries without id at one log_time", connector = "hostile-idless" .. tail,
      says = "more than 1000 entries share the log_time 2025-06-01T00:00:00Z", at_most = 1000 },
    { name = "(b) new ids at one log_time on every page", connector = "hostile-fresh-" .. support.nonce() .. tail,
      says = "more than 1000 entries share the log_time 2025-06-01T00:00:00Z", at_most = 1000 },
    { name = "(c) new ids stamped between the edge and the bound",
      connector = "hostile-between-" .. support.nonce() .. tail, says = "do not move back in time" },
  }
end

-- Every entry at most once: by id, or by its place n among the id-less.
local function key_of(entry)
  return entry.id or ("n" .. tostring(entry.n))
end

describe("paging bounds", function()
  for _, mode in ipairs { "incl", "excl" } do
    describe("each_connector_log #abi, before " .. mode .. "usive", function()
      for _, page_size in ipairs { 1, 7, 100, 1000 } do
        for _, case in ipairs(scenarios(mode)) do
          it(case.name .. ": INVALID_RESPONSE within the bound, pages of " .. page_size, function()
            local client, requests = budgeted()
            local seen, count = {}, 0
            local err = support.catch(function()
              for entry in client:each_connector_log(1, case.connector, { page_size = page_size }) do
                assert.is_nil(seen[key_of(entry)], "yielded twice: " .. key_of(entry))
                seen[key_of(entry)] = true
                count = count + 1
                assert(count <= 20000, "still yielding after 20,000 entries")
              end
            end)
            client:close()
            assert.are.equal("INVALID_RESPONSE", err.code, tostring(err))
            assert.truthy(err.message:find(case.says, 1, true), err.message)
            -- the first page, then at most the bound without progress
            local bound = paging.no_progress_bound(page_size) + 1
            assert.is_true(requests.n <= 1 + bound, requests.n .. " requests, bound " .. bound)
            if case.at_most then
              assert.is_true(count <= case.at_most, count .. " entries of one log_time")
            end
          end)
        end
      end
    end)

    describe("follow_connector_logs #abi, before " .. mode .. "usive", function()
      for _, case in ipairs(scenarios(mode)) do
        for _, opts in ipairs { { last = 10 }, { since = "2025-05-01T00:00:00Z" } } do
          it(case.name .. ", " .. support.describe(opts) .. ": INVALID_RESPONSE, bounded", function()
            local client, requests = budgeted()
            opts.interval = 0.01
            local count = 0
            local err = support.catch(function()
              for _ in client:follow_connector_logs(1, case.connector, opts) do
                count = count + 1
                assert(count <= 20000, "still yielding after 20,000 entries")
              end
            end)
            client:close()
            assert.are.equal("INVALID_RESPONSE", err.code, tostring(err))
            assert.is_true(requests.n <= follow.MAX_NO_PROGRESS + 10, requests.n .. " requests")
            assert.is_true(count <= 1000, count .. " entries")
          end)
        end
      end
    end)
  end

  describe("catching up from since #abi", function()
    for _, connector in ipairs { ENDLESS, ENDLESS .. "-excl" } do
      it("#slow yields as it goes, oldest first, with flat memory (" .. connector .. ")", function()
        local code, out, err = support.run(table.concat({ "SM_BUILD_DIR=" .. os.getenv("SM_BUILD_DIR"),
          support.LUA, "tests/tools/catchup_rss.lua", support.HTTP, connector, SINCE, "50000", BUDGET }, " "),
          { limit = 120 })
        assert.are.equal(0, code, err)
        local v = {}
        for k, x in out:gmatch("([%w_]+)=(%S+)") do v[k] = tonumber(x) or x end
        assert.are.equal("none", v.error, out)
        assert.are.equal(50000, v.count, out)
        assert.are.equal(1, v.descending, out) -- oldest first, none skipped or repeated
        -- the first entry after a few requests, not after paging back 95
        -- million entries; then about one request per window of a page
        assert.is_true(v.first_requests <= 40, out)
        assert.is_true(v.requests <= 150, out)
        local growth = v.rss_end - v.rss_first
        if not os.getenv("SM_TEST_SANITIZER") then
          print(string.format("\n  catch-up (%s): RSS %d KiB after 2,000 entries, %+d KiB after 50,000; %d requests",
            support.LUA, v.rss_first, growth, v.requests))
          assert.is_true(growth < 3072, "RSS grew by " .. growth .. " KiB")
        end
      end)
    end

    it("starts with the entries just after since, at the same log_time precision", function()
      local client = budgeted()
      local it = client:follow_connector_logs(1, ENDLESS, { since = SINCE, interval = 0.01 })
      local first = { it(), it(), it(), it() }
      client:close()
      assert.are.same({ "n94608000", "n94607999", "n94607998", "n94607997" },
        { first[1].id, first[2].id, first[3].id, first[4].id })
      assert.are.equal("2024-06-01T00:00:01Z", first[1].log_time)
      assert.are.equal("2024-06-01T00:00:02Z", first[4].log_time)
    end)
  end)

  describe("inside nginx", function()
    if not support.APP then
      return
    end
    local function inside(query)
      return support.inside("/paging?" .. query .. "&budget=" .. BUDGET, 120)
    end

    for _, mode in ipairs { "incl", "excl" } do
      for _, case in ipairs(scenarios(mode)) do
        it(case.name .. ", before " .. mode .. "usive: each_connector_log and follow end with INVALID_RESPONSE",
          function()
          for _, page_size in ipairs { 1, 100 } do
            local got = inside("op=each&connector=" .. case.connector .. "&page_size=" .. page_size)
            assert.are.equal("INVALID_RESPONSE", got.error and got.error.code, cjson.encode(got))
            assert.truthy(got.error.message:find(case.says, 1, true), got.error.message)
            assert.is_true(got.requests <= 2 + paging.no_progress_bound(page_size), cjson.encode(got))
          end
          for _, opts in ipairs { "last=10", "since=2025-05-01T00:00:00Z" } do
            local got = inside("op=follow&connector=" .. case.connector .. "&" .. opts)
            assert.are.equal("INVALID_RESPONSE", got.error and got.error.code, cjson.encode(got))
            assert.is_true(got.requests <= follow.MAX_NO_PROGRESS + 10, cjson.encode(got))
          end
        end)
      end
    end

    it("#slow follow_connector_logs catches up from since as it goes, with flat memory", function()
      local got = inside("op=follow&connector=" .. ENDLESS .. "&since=" .. SINCE .. "&max=50000")
      assert.is_nil(got.error, cjson.encode(got))
      assert.are.equal(50000, got.count)
      assert.is_true(got.descending, cjson.encode(got))
      assert.are.equal("n94608000", got.first)
      assert.is_true(got.first_requests <= 40 and got.requests <= 150, cjson.encode(got))
      -- the worker's Lua heap and RSS after 2,000 entries and after 50,000
      assert.is_true(got.lua_kb[2] - got.lua_kb[1] < 1024, cjson.encode(got))
      assert.is_true(got.rss_kb[2] - got.rss_kb[1] < 3072, cjson.encode(got))
    end)
  end)

  describe("supermetrics-logs", function()
    for _, case in ipairs(scenarios("incl")) do
      for _, args in ipairs { "list 1 %s --all --limit 1", "tail 1 %s -n 5000", "tail 1 %s --follow",
          "tail 1 %s --since 2025-05-01 --follow" } do
        local line = args:format(case.connector)
        it(case.name .. ": " .. line .. " exits 1 saying why", function()
          local code, _, err = support.run(cli.command() .. " " .. line .. " --format ndjson >/dev/null",
            { limit = 60 })
          assert.are.equal(1, code, err)
          assert.truthy(err:find("^supermetrics%-logs: INVALID_RESPONSE: "), err)
          assert.are.equal(1, select(2, err:gsub("\n", "")), err) -- one line
        end)
      end
    end

    it("#slow tail --since prints as it catches up, with flat memory", function()
      -- The pid first, then the command line's output, line by line.
      local p = support.spawn("echo $$; " .. support.SIGNALLED .. "exec " .. cli.command() .. " tail 1 " .. ENDLESS
        .. " --since " .. SINCE .. " --format ndjson --fields id", { limit = 60 })
      local pid = assert(tonumber(p:read("*l")), "no pid")
      local function rss()
        local f = assert(io.open("/proc/" .. pid .. "/status"))
        local s = f:read("*a")
        f:close()
        return tonumber(s:match("VmRSS:%s*(%d+)"))
      end
      -- --since is "at or after": n94608003..n94608001 are stamped SINCE
      local expect, first, ok = 94608003, nil, true
      for i = 1, 50000 do
        local l = p:read("*l")
        if not l then
          ok = false
          break
        end
        if l ~= '{"id":"n' .. expect .. '"}' then
          ok = false
          break
        end
        expect = expect - 1
        if i == 2000 then first = rss() end
      end
      local last = ok and rss()
      support.run("kill " .. pid)
      p:close()
      assert.is_true(ok, "the output stopped or went out of order at n" .. expect)
      if not os.getenv("SM_TEST_SANITIZER") then
        assert.is_true(last - first < 3072, "RSS " .. first .. " KiB after 2,000 lines, " .. last .. " after 50,000")
      end
    end)
  end)
end)
