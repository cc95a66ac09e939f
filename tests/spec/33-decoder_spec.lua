-- Entries decoded in C (src/json_entry.c) come back exactly as lua-cjson
-- plus the contract's shaping gave them: the same keys, values, strings'
-- bytes and number subtypes, for the flat entries the fast decoder takes
-- and for those it leaves to lua-cjson (nested values, exponents, long
-- numbers, -0, control characters, many members), over both transports.
-- The bodies are tests/server/bodies.lua's (the stand-in's `decoder`).
-- Pages of list_connector_logs (src/json_page.c) the same way, through
-- libcurl and inside nginx: the array lua-cjson, the page check and the
-- page's shaping gave, or the same error in the same words; the pages are
-- tests/server/pages.lua's (the stand-in's `pages-<name>` list connector).
local cjson = require "cjson.safe"
local supermetrics = require "supermetrics"
local support = require "tests.spec.support"

local BODIES = dofile("tests/server/bodies.lua")
local PAGES = dofile("tests/server/pages.lua")
local has_integers = math.type ~= nil

-- The oracle: lua-cjson with the module's settings, then the contract's
-- shaping (top-level nulls absent; integral status and duration_ms as
-- integers).
local json = cjson.new()
json.decode_invalid_numbers(false)
json.decode_max_depth(128)
local function shape(t)
  for k, v in pairs(t) do
    if v == json.null then
      t[k] = nil
    end
  end
  if has_integers then
    for _, k in ipairs { "status", "duration_ms" } do
      t[k] = math.tointeger(t[k]) or t[k]
    end
  end
  return t
end
local function oracle(body)
  return shape(assert(json.decode(body)))
end

-- A page's: its "logs", each entry shaped.
local function oracle_page(body)
  local out = {}
  for i, entry in ipairs(assert(json.decode(body)).logs) do
    out[i] = shape(entry)
  end
  return out
end

-- a and b are the same, numbers by subtype and sign of zero too.
local function same(a, b, path)
  assert.are.equal(type(a), type(b), path)
  if type(a) == "table" then
    for k, v in pairs(a) do
      same(v, b[k], path .. "." .. tostring(k))
    end
    for k in pairs(b) do
      assert(a[k] ~= nil, path .. "." .. tostring(k) .. " is extra")
    end
  elseif type(a) == "number" then
    if has_integers then
      assert.are.equal(math.type(a), math.type(b), path .. ": subtype")
    end
    assert.are.equal(a, b, path)
    assert.are.equal(1 / a, 1 / b, path .. ": sign of zero")
  else
    assert.are.equal(a, b, path)
  end
end

local TAKEN = { "flat", "nulls", "escapes", "numbers", "precise", "spaced", "bignumbers", "nested", "control", "wide",
  "escapedid", "77" }

for _, transport in ipairs(support.TRANSPORTS) do
  describe("the entry decoder over " .. transport.name .. " #abi", function()
    local client
    before_each(function() client = support.client({}, transport) end)
    after_each(function() client:close() end)

    local function get(name)
      return client:get_connector_log(support.TEAM, "decoder", name)
    end

    for _, name in ipairs(TAKEN) do
      it("gives " .. name .. " as cjson and shaping would", function()
        same(oracle(BODIES[name]), get(name), name)
      end)
    end

    it("gives a flat entry's values, integers where the contract says", function()
      local e = get("flat")
      assert.are.same({
        id = "flat", log_time = "2025-01-01", status = 200, event = "auth.token.refresh",
        request = "POST /api/oauth/token_refresh", duration_ms = 253,
        request_id = "8dc24bc2-8a17-4188-a509-217cb8799929", ok = true, no = false,
        ratio = 0.25, neg = -7, count = 42, zero = 0, tiny = 0.000001,
      }, e)
      if has_integers then
        assert.are.equal("integer", math.type(e.status))
        assert.are.equal("integer", math.type(e.duration_ms))
        -- Debian's lua-cjson 2.1.0 gives other numbers as floats.
        assert.are.equal(math.type(json.decode("[42]")[1]), math.type(e.count))
        assert.are.equal("float", math.type(e.ratio))
      end
    end)

    it("drops top-level nulls; of duplicate keys the last wins", function()
      assert.are.same({ id = "nulls", c = "y", d = 2 }, get("nulls"))
    end)

    it("decodes escapes and UTF-16 pairs as cjson does, in keys too", function()
      local e = get("escapes")
      assert.are.equal("escapes", e.id)
      assert.are.equal('q"b\\s/n\nt\tr\rb\bf\f', e.s)
      assert.are.equal("\195\169\226\130\172\240\159\152\128A", e.u)
      assert.are.equal("a\0b", e.nul)
      assert.are.equal(201, e.status)
      if has_integers then
        assert.are.equal("integer", math.type(e.status))
      end
    end)

    it("turns integral floats of status and duration_ms into integers", function()
      local e = get("numbers")
      assert.are.equal(200, e.status)
      assert.are.equal(253, e.duration_ms)
      if has_integers then
        assert.are.equal("integer", math.type(e.status))
        assert.are.equal("integer", math.type(e.duration_ms))
      end
      assert.are.equal(0.1, e.frac)
      assert.are.equal(-12.75, e.money)
      assert.are.equal(1e-22, e.small)
      e = get("precise")
      assert.are.equal(123456789012345, e.long)
      assert.are.equal(0.333333333333333, e.third)
      assert.are.equal(-98765.4321098765, e.neg)
    end)

    it("leaves exponents, long numbers and -0 to cjson", function()
      local e = get("bignumbers")
      assert.are.equal(200, e.status)
      assert.are.equal(15, e.duration_ms)
      assert.are.equal(1000, e.exp)
      assert.are.equal(math.huge, e.huge)
      assert.are.equal(12345678901234567890, e.long)
      assert.are.equal(-math.huge, 1 / e.negzero)
      assert.are.equal(-math.huge, 1 / e.negzerof)
      if has_integers then
        assert.are.equal("integer", math.type(e.status))
        assert.are.equal("float", math.type(e.long))
      end
    end)

    it("keeps nested values and their nulls (supermetrics.null)", function()
      local e = get("nested")
      assert.are.equal(supermetrics.null, e.meta.a)
      assert.are.same({ 1, supermetrics.null, 3 }, e.meta.list)
      assert.is_nil(e.x)
      assert.are.equal(200, e.status)
      if has_integers then
        assert.are.equal("integer", math.type(e.status))
      end
    end)

    it("takes what cjson takes past the fast decoder (a raw tab, 71 members)", function()
      assert.are.equal("a\tb", get("control").s)
      local e = get("wide")
      assert.are.equal(70, e.f70)
      local n = 0
      for _ in pairs(e) do
        n = n + 1
      end
      assert.are.equal(71, n)
    end)

    it("refuses what cjson refuses: a lone surrogate, text after the object", function()
      for _, name in ipairs { "lone", "trailing" } do
        local err = support.fetch_error(client, "decoder", name)
        assert.are.equal("INVALID_RESPONSE", err.code, name)
        assert.are.equal(1, err.attempts, name)
      end
    end)

    it("checks the id as sent: escaped, or a number", function()
      assert.are.equal("escapedid", get("escapedid").id)
      assert.are.equal(77, get("77").id)
    end)
  end)
end

-- Pages the fast page decoder takes, and pages it leaves to lua-cjson.
local PAGES_TAKEN = { "flat", "empty", "extra", "dup", "escapes", "thousand", "nested", "bignumbers", "escapedkey",
  "logsitem", "control" }

-- Pages refused, with the words of the refusal (a page past its limit
-- is an answer out of step: asked again on a fresh connection).
local OUT_OF_STEP = ": its answers are out of step with the requests, on a fresh connection too"
local PAGES_REFUSED = {
  { "thousand", 999, "the server answered a request for at most 999 entries with 1000" .. OUT_OF_STEP },
  { "thousandone", nil, "the server answered a request for at most 1000 entries with 1001" .. OUT_OF_STEP },
  { "flat", 3, "the server answered a request for at most 3 entries with 4" .. OUT_OF_STEP },
  { "lone", nil, "the response body is not a JSON object" },
  { "dupbad", nil, '"logs" is not an array' },
  -- An object is no array, not even an empty one (lua-cjson decodes both
  -- to an empty table): the text tells.
  { "emptyobject", nil, '"logs" is not an array' },
  { "nullitem", nil, '"logs" item 2 is not an object' },
}

for _, transport in ipairs(support.TRANSPORTS) do
  describe("the page decoder over " .. transport.name .. " #abi", function()
    local client
    before_each(function() client = support.client({}, transport) end)
    after_each(function() client:close() end)

    local function list(name, limit)
      return client:list_connector_logs(support.TEAM, "pages-" .. name, { limit = limit })
    end

    for _, name in ipairs(PAGES_TAKEN) do
      it("gives " .. name .. " as cjson, the page check and shaping would", function()
        local got = list(name, 1000)
        assert.are.equal(#oracle_page(PAGES[name]), #got)
        same(oracle_page(PAGES[name]), got, name)
        assert.is_nil(getmetatable(got))
      end)
    end

    it("gives a page's entries exactly, integers where the contract says", function()
      local page = list("flat")
      assert.are.same({
        { id = "f1", log_time = "2025-01-01", status = 200, event = "auth.token.refresh",
          request = "POST /api/oauth/token_refresh", duration_ms = 253,
          request_id = "8dc24bc2-8a17-4188-a509-217cb8799929", ok = true, no = false, ratio = 0.25, count = 42,
          tiny = 0.000001 },
        { id = "f2", status = 404, duration_ms = -7, neg = -12.75 },
        { id = "f3" },
        {},
      }, page)
      if has_integers then
        assert.are.equal("integer", math.type(page[1].status))
        assert.are.equal("integer", math.type(page[2].status))
        assert.are.equal("integer", math.type(page[2].duration_ms))
        assert.are.equal(math.type(json.decode("[42]")[1]), math.type(page[1].count))
        assert.are.equal("float", math.type(page[2].neg))
      end
    end)

    it("leaves other members out; of duplicate keys the last wins", function()
      assert.are.same({ { id = "x1", status = 200 } }, list("extra"))
      assert.are.same({ { id = "d1", b = "y" }, { id = "d2" } }, list("dup"))
    end)

    it("decodes escapes and UTF-16 pairs as cjson does, in keys too", function()
      local e = list("escapes")[1]
      assert.are.equal("s1", e.id)
      assert.are.equal('q"b\\s/n\nt\tr\rb\bf\f', e.s)
      assert.are.equal("\195\169\226\130\172\240\159\152\128A", e.u)
      assert.are.equal("a\0b", e.nul)
      assert.are.equal(201, e.status)
    end)

    it("gives an empty page as an empty plain array", function()
      local page = list("empty")
      assert.is_nil(next(page))
      assert.is_nil(getmetatable(page))
    end)

    it("gives the API's largest page, 1000 entries in order", function()
      local page = list("thousand", 1000)
      assert.are.equal(1000, #page)
      for i = 1, 1000 do
        assert.are.equal("e" .. i, page[i].id)
      end
      assert.are.equal(1000, #list("thousand"))
    end)

    for _, case in ipairs(PAGES_REFUSED) do
      it("refuses " .. case[1] .. (case[2] and " for limit " .. case[2] or "") .. " in the same words", function()
        local err = support.catch(list, case[1], case[2])
        assert.are.equal("INVALID_RESPONSE", err.code)
        assert.are.equal(case[3], err.message)
        assert.are.equal(200, err.status)
        assert.are.equal(1, err.attempts)
      end)
    end
  end)
end

if not support.APP then
  return
end

-- Inside nginx numbers are LuaJIT's (no integers) and lua-cjson is
-- OpenResty's: the app compares with that cjson's page (its `oracle`),
-- both typed so that JSON carries them exactly (tests/openresty/app.lua).
for _, https in ipairs { false, true } do for _, plain in ipairs { false, true } do
  local over = (https and "&https=1" or "") .. (plain and "&plain=1" or "")
  describe("the page decoder inside nginx (cosockets, " .. (https and "https" or "http")
    .. (plain and ", no hook" or ", a hook") .. ")", function()
    local function list(name, limit)
      return support.inside("/call?list=1&connector=pages-" .. name .. (limit and "&limit=" .. limit or "") .. over)
    end

    it("gives every page as cjson, the page check and shaping would", function()
      for _, name in ipairs(PAGES_TAKEN) do
        local out = list(name, 1000)
        assert(out.page, name .. ": " .. tostring(out.error and out.error.message))
        assert.are.same(out.oracle, out.page, name)
        assert.are.equal(#oracle_page(PAGES[name]), #out.page, name)
      end
    end)

    it("gives a page's entries exactly", function()
      assert.are.same({
        { id = "s:f1", log_time = "s:2025-01-01", status = "n:200", event = "s:auth.token.refresh",
          request = "s:POST /api/oauth/token_refresh", duration_ms = "n:253",
          request_id = "s:8dc24bc2-8a17-4188-a509-217cb8799929", ok = true, no = false, ratio = "n:0.25",
          count = "n:42", tiny = "n:9.9999999999999995e-07" },
        { id = "s:f2", status = "n:404", duration_ms = "n:-7", neg = "n:-12.75" },
        { id = "s:f3" },
        {},
      }, list("flat").page)
      assert.are.same({ { id = "s:d1", b = "s:y" }, { id = "s:d2" } }, list("dup").page)
    end)

    it("refuses in the same words as outside nginx", function()
      for _, case in ipairs(PAGES_REFUSED) do
        local out = list(case[1], case[2])
        assert.are.equal("INVALID_RESPONSE", out.error and out.error.code, case[1])
        assert.are.equal(case[3], out.error.message, case[1])
        assert.are.equal(1, out.error.attempts, case[1])
      end
    end)
  end)
end end
