-- Contract: every request the library sends validates against the API's
-- OpenAPI document. Stoplight Prism mocks the API from it in --errors mode
-- (tests/contract/, started by tests/lib/servers.sh): a request that breaks
-- the document gets a 4xx, and Prism logs the violation. Each spec requires
-- no violation in Prism's log and answers decoded as the document's
-- examples say. The second Prism serves tests/contract/paging.yaml: the list
-- route stamped at every log_time precision, for paging's follow-up
-- requests. Routes go through libcurl here, through cosockets inside nginx
-- (the OpenResty test app's /contract), and through the command line.
local cjson = require "cjson"
local core = require "supermetrics.core"
local supermetrics = require "supermetrics"
local support = require "tests.spec.support"
local cli = require "tests.spec.cli_support"

local PRISM = os.getenv("SM_TEST_PRISM_URL")
local PAGING = os.getenv("SM_TEST_PRISM_PAGING_URL")

if not PRISM or not PAGING then
  describe("the API's OpenAPI document #contract", function()
    local why = os.getenv("SM_TEST_PRISM_SKIP")
    if why then
      io.stderr:write("skipped: contract specs against Prism: ", why, "\n")
      pending("skipped: " .. why)
    else
      it("is served by Prism", function()
        error("SM_TEST_PRISM_URL / SM_TEST_PRISM_PAGING_URL are not set: Prism did not start "
          .. "(tests/lib/servers.sh, sm_start_prism; its log in tests/tmp/prism/)")
      end)
    end
  end)
  return
end

local LOG = {
  [PRISM] = assert(os.getenv("SM_TEST_PRISM_LOG")),
  [PAGING] = assert(os.getenv("SM_TEST_PRISM_PAGING_LOG")),
}
local TEAM, CONNECTOR = 936506, "T3S70"
local has_integers = math.type ~= nil

-- The document's examples, as the library decodes them.
local GET_EXAMPLE = {
  id = "123", log_time = "2025-01-01T00:00:00Z", status = 200, event = "auth.token.refresh",
  request = "POST /api/oauth/token_refresh", duration_ms = 253,
  request_id = "8dc24bc2-8a17-4188-a509-217cb8799929",
}
local LIST_EXAMPLE = {}
for k, v in pairs(GET_EXAMPLE) do LIST_EXAMPLE[k] = v end
LIST_EXAMPLE.id = "123-foo"

local function client(url, opts)
  local o = { api_key = support.KEY, base_url = url, max_retries = 0 }
  for k, v in pairs(opts or {}) do o[k] = v end
  return supermetrics.new(o)
end

local function read_from(path, offset)
  local f = assert(io.open(path, "rb"))
  f:seek("set", offset)
  local s = f:read("*a")
  f:close()
  return s
end

local function size(path)
  local f = assert(io.open(path, "rb"))
  local n = f:seek("end")
  f:close()
  return n
end

-- Runs f(), then returns what Prism logged about the requests f made: the
-- lines of its violations (none is the contract). The end of f's requests
-- in the log is a marker request with a nonce, waited for by polling the
-- log (Prism writes it before it answers; bounded at 10 s).
local function violations(url, f)
  local log = LOG[url]
  local from = size(log)
  f()
  local nonce = support.nonce()
  local c = client(url)
  -- Only the request matters: the official document's mock answers every
  -- id with its example (id 123), which the library refuses as an answer
  -- out of step.
  pcall(c.get_connector_log, c, 1, "mark", nonce)
  c:close()
  local text
  local deadline = support.now() + 10
  repeat
    text = read_from(log, from)
    local at = text:find(nonce, 1, true)
    if at then
      text = text:sub(1, at + #nonce)
      break
    end
    core.sleep(0.02)
  until support.now() > deadline
  assert(text:find(nonce, 1, true), "the marker request never reached Prism's log " .. log)
  local found = {}
  for line in text:gmatch("[^\n]+") do
    if line:find("Violation", 1, true) or line:find("\226\156\150", 1, true) then
      found[#found + 1] = line
    end
  end
  return found
end

local function assert_valid(url, f)
  local found = violations(url, f)
  assert(#found == 0, "Prism found requests that break the document:\n" .. table.concat(found, "\n"))
end

-- decoded: true when got came from JSON decoded here (an answer of the
-- OpenResty app), whose numbers are floats on Lua 5.3+.
local function same_entry(want, got, decoded)
  assert.are.same(want, got)
  if has_integers and not decoded then
    assert.are.equal("integer", math.type(got.status))
    assert.are.equal("integer", math.type(got.duration_ms))
  end
end

-- The paths (with query) of every request a client made, by on_response.
local function recording(url)
  local paths = {}
  local c = client(url, { on_response = function(event) paths[#paths + 1] = event.path end })
  return c, paths
end

-- A before on the wire must be an RFC 3339 date-time in UTC.
local function befores(paths)
  local out = {}
  for _, p in ipairs(paths) do
    local b = p:match("[?&]before=([^&]*)")
    if b then
      out[#out + 1] = (b:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
    end
  end
  return out
end
local DATE_TIME = "^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.?%d*Z$"

local PRECISIONS = {
  -- connector in paging.yaml, ids of its example, the follow-up before
  { "dates", { "d2", "d1" }, "2025-01-02T00:00:00Z" },
  { "minutes", { "m2", "m1" }, "2025-01-01T10:02:00Z" },
  { "offset", { "o2", "o1" }, "2025-01-01T10:02:00Z" },
  { "seconds", { "s2", "s1" }, "2025-01-01T10:01:03Z" },
  { "millis", { "f2", "f1" }, "2025-01-01T10:01:02.124Z" },
}

local USER_BEFORES = {
  "2025-06-01T00:00:00Z", "2025-06-01", "2025-06-01T10:00Z", "2025-06-01T12:00:00+02:00",
  "2025-06-01T10:00:00.250Z",
}

describe("the API's OpenAPI document (Prism) #contract", function()
  describe("libcurl transport", function()
    local c
    before_each(function() c = client(PRISM) end)
    after_each(function() c:close() end)

    it("get_connector_log: the document's example", function()
      assert_valid(PRISM, function()
        same_entry(GET_EXAMPLE, c:get_connector_log(TEAM, CONNECTOR, "123"))
        -- Another id's path validates too; a mock answers every id with
        -- the example (id 123), which the library takes for an answer out
        -- of step: an error, never that entry.
        local err = support.catch(c.get_connector_log, c, "936506", CONNECTOR, "a/b c")
        assert.are.equal("INVALID_RESPONSE", err.code)
        assert.truthy(err.message:find("out of step", 1, true))
      end)
    end)

    it("list_connector_logs with no options, limit, and before in every accepted form", function()
      assert_valid(PRISM, function()
        same_entry(LIST_EXAMPLE, c:list_connector_logs(TEAM, CONNECTOR)[1])
        same_entry(LIST_EXAMPLE, c:list_connector_logs(TEAM, CONNECTOR, { limit = 1 })[1])
        same_entry(LIST_EXAMPLE, c:list_connector_logs(TEAM, CONNECTOR, { limit = 1000 })[1])
        for _, before in ipairs(USER_BEFORES) do
          local page = c:list_connector_logs(TEAM, CONNECTOR, { limit = 10, before = before })
          assert.are.equal(1, #page)
          same_entry(LIST_EXAMPLE, page[1])
        end
      end)
    end)

    it("each_connector_log, its follow-up pages included", function()
      local rc, paths = recording(PRISM)
      assert_valid(PRISM, function()
        for _, before in ipairs { false, "2025-06-01" } do
          local got = {}
          for entry in rc:each_connector_log(TEAM, CONNECTOR, { page_size = 1, before = before or nil }) do
            got[#got + 1] = entry
          end
          assert.are.equal(1, #got)
          same_entry(LIST_EXAMPLE, got[1])
        end
      end)
      rc:close()
      -- a full page of one: the next asked for just after its log_time
      assert.are.same({ "2025-01-01T00:00:01Z", "2025-01-01T00:00:01Z", "2025-06-01T00:00:00Z",
        "2025-01-01T00:00:01Z", "2025-01-01T00:00:01Z" }, befores(paths))
    end)

    it("follow_connector_logs' first poll", function()
      assert_valid(PRISM, function()
        for _, since in ipairs { "2024-12-31", "2024-12-31T23:59Z", "2025-01-01T01:00:00+02:00" } do
          local it = c:follow_connector_logs(TEAM, CONNECTOR, { since = since, interval = 0.01 })
          same_entry(LIST_EXAMPLE, it())
        end
      end)
    end)

    it("get_connector_logs: a batch", function()
      assert_valid(PRISM, function()
        -- The example's id as a string and as an integer; another id (its
        -- path validates) gets the example, which is not its entry.
        local ids = { "123", 123, "123", "x/y" }
        local entries, errors = c:get_connector_logs(TEAM, CONNECTOR, ids, { concurrency = 3 })
        for i = 1, 3 do
          assert.is_nil(errors[i], errors[i] and tostring(errors[i]))
          same_entry(GET_EXAMPLE, entries[i])
        end
        assert.is_nil(entries[4])
        assert.are.equal("INVALID_RESPONSE", errors[4].code)
      end)
    end)
  end)

  describe("paging at every log_time precision (paging.yaml)", function()
    for _, case in ipairs(PRECISIONS) do
      local connector, ids, next_before = case[1], case[2], case[3]
      it(connector .. ": every follow-up before is a date-time", function()
        local c, paths = recording(PAGING)
        assert_valid(PAGING, function()
          local got = {}
          for entry in c:each_connector_log(TEAM, connector, { page_size = 2 }) do got[#got + 1] = entry.id end
          assert.are.same(ids, got)
          -- also from a before of the same precision as the entries
          got = {}
          for entry in c:each_connector_log(TEAM, connector, { page_size = 2, before = next_before }) do
            got[#got + 1] = entry.id
          end
          assert.are.same(ids, got)
        end)
        c:close()
        local sent = befores(paths)
        assert.is_true(#sent >= 2, "no follow-up page was asked for")
        assert.are.equal(next_before, sent[1])
        for _, b in ipairs(sent) do
          assert.truthy(b:match(DATE_TIME), b)
        end
      end)
    end

    it("the CLI's list --all and tail at every precision", function()
      assert_valid(PAGING, function()
        for _, case in ipairs(PRECISIONS) do
          local code, out, err = support.run("timeout -k 5 60 " .. cli.command() .. " --base-url " .. PAGING
            .. " list " .. TEAM .. " " .. case[1] .. " --all --limit 2 --format ndjson")
          assert.are.equal(0, code, err)
          assert.are.same(case[2], cli.ids(out))
        end
      end)
    end)
  end)

  describe("the command line", function()
    local function run(args)
      return support.run("timeout -k 5 60 " .. cli.command() .. " --base-url " .. PRISM .. " " .. args)
    end

    it("get, list, list --all, tail", function()
      assert_valid(PRISM, function()
        local code, out, err = run("get " .. TEAM .. " " .. CONNECTOR .. " 123")
        assert.are.equal(0, code, err)
        assert.are.same(GET_EXAMPLE, cjson.decode(out))
        for _, args in ipairs {
          "list 936506 T3S70 --format ndjson", "list 936506 T3S70 --limit 5 --until 2025-06-01 --format ndjson",
          "list 936506 T3S70 --until 2025-06-01T12:00+02:00 --format ndjson",
          "list 936506 T3S70 --all --limit 1 --format ndjson",
          "list 936506 T3S70 --all --until 2025-06-01T10:00Z --format ndjson",
          "tail 936506 T3S70 --format ndjson", "tail 936506 T3S70 -n 1 --format ndjson",
          "tail 936506 T3S70 --since 2024-12-31 --format ndjson",
          "fetch 936506 T3S70 123 123 --format ndjson",
        } do
          code, out, err = run(args)
          assert.are.equal(0, code, args .. ": " .. err)
          local got = cli.ids(out)
          assert.is_true(#got >= 1, args)
          assert.truthy(got[1] == "123-foo" or got[1] == "123", args)
        end
      end)
    end)
  end)

  describe("keep-alive #slow", function()
    -- Prism (node) closes a connection idle for 5 s: a client that waits
    -- longer between two calls must not see it (and not by a retry).
    it("a call after more than 5 s idle on the same client succeeds at its first attempt", function()
      local attempts = 0
      local c = client(PRISM, { on_response = function(event) attempts = attempts + event.attempt end })
      local inside = os.getenv("SM_TEST_OPENRESTY") == "1" and os.getenv("SM_TEST_APP_URL")
      local function call_inside()
        if not inside then return end
        local code, out, err = support.run("timeout -k 5 30 curl -s '" .. inside .. "/contract?op=get&connector="
          .. CONNECTOR .. "&id=123&base_url=" .. PRISM .. "'")
        assert(code == 0, err)
        local answer = cjson.decode(out)
        assert(answer.result, out)
        same_entry(GET_EXAMPLE, answer.result, true)
      end
      assert_valid(PRISM, function()
        same_entry(GET_EXAMPLE, c:get_connector_log(TEAM, CONNECTOR, "123"))
        call_inside()
        core.sleep(6) -- the point of the test: longer than Prism's keep-alive
        same_entry(GET_EXAMPLE, c:get_connector_log(TEAM, CONNECTOR, "123"))
        same_entry(LIST_EXAMPLE, c:list_connector_logs(TEAM, CONNECTOR, { before = "2025-06-01" })[1])
        call_inside()
      end)
      c:close()
      assert.are.equal(3, attempts)
    end)
  end)

  if os.getenv("SM_TEST_OPENRESTY") == "1" then
    describe("cosocket transport (inside nginx)", function()
      local APP = assert(os.getenv("SM_TEST_APP_URL"))
      local function url_encode(s)
        return (tostring(s):gsub("[^%w%-_.~]", function(ch) return string.format("%%%02X", ch:byte()) end))
      end
      local function inside(url, args)
        local q = { "base_url=" .. url_encode(url) }
        for k, v in pairs(args) do q[#q + 1] = k .. "=" .. url_encode(v) end
        local code, out, err = support.run("timeout -k 5 60 curl -s '" .. APP .. "/contract?"
          .. table.concat(q, "&") .. "'")
        assert(code == 0, "curl failed: " .. tostring(err))
        local answer = cjson.decode(out)
        assert(answer.result ~= nil, "inside nginx: " .. out)
        return answer.result
      end

      it("get, list (limit, before), each, follow's first poll, batch", function()
        assert_valid(PRISM, function()
          same_entry(GET_EXAMPLE, inside(PRISM, { op = "get", connector = CONNECTOR, id = "123" }), true)
          same_entry(LIST_EXAMPLE, inside(PRISM, { op = "list", connector = CONNECTOR })[1], true)
          for _, before in ipairs(USER_BEFORES) do
            local page = inside(PRISM, { op = "list", connector = CONNECTOR, limit = 7, before = before })
            same_entry(LIST_EXAMPLE, page[1], true)
          end
          local all = inside(PRISM, { op = "each", connector = CONNECTOR, page_size = 1 })
          assert.are.equal(1, #all)
          same_entry(LIST_EXAMPLE, all[1], true)
          local first = inside(PRISM, { op = "follow", connector = CONNECTOR, before = "2024-12-31" })
          same_entry(LIST_EXAMPLE, first[1], true)
          local batch = inside(PRISM, { op = "batch", connector = CONNECTOR, id = "123,123,123" })
          assert.are.same({}, batch.errors)
          for i = 1, 3 do same_entry(GET_EXAMPLE, batch.entries[i], true) end
        end)
      end)

      for _, case in ipairs(PRECISIONS) do
        it("each_connector_log at " .. case[1] .. " precision", function()
          assert_valid(PAGING, function()
            local got = {}
            for i, entry in ipairs(inside(PAGING, { op = "each", connector = case[1], page_size = 2 })) do
              got[i] = entry.id
            end
            assert.are.same(case[2], got)
          end)
        end)
      end
    end)
  end
end)
