-- Entries decoded in C (src/json_entry.c) come back exactly as lua-cjson
-- plus the contract's shaping gave them: the same keys, values, strings'
-- bytes and number subtypes, for the flat entries the fast decoder takes
-- and for those it leaves to lua-cjson (nested values, exponents, long
-- numbers, -0, control characters, many members), over both transports.
-- The bodies are tests/server/bodies.lua's (the stand-in's `decoder`).
local cjson = require "cjson.safe"
local supermetrics = require "supermetrics"
local support = require "tests.spec.support"

local BODIES = dofile("tests/server/bodies.lua")
local has_integers = math.type ~= nil

-- The oracle: lua-cjson with the module's settings, then the contract's
-- shaping (top-level nulls absent; integral status and duration_ms as
-- integers).
local json = cjson.new()
json.decode_invalid_numbers(false)
json.decode_max_depth(128)
local function oracle(body)
  local t = assert(json.decode(body))
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
  describe("the entry decoder over " .. transport.name, function()
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
