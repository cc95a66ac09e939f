-- What a hostile server's 2xx and error bodies come to (issue 26): a page is
-- an object whose "logs" is an array of objects (point 2); a body is one JSON
-- object followed by whitespace only, a NUL included (3); an entry's id is
-- compared as the text the server sent, never through a double (4); an
-- object with two "id" members answers nothing (5); and what decoding a body
-- of any shape takes stays a small multiple of max_response_bytes, with
-- nothing decoded once the text is refused (11). The bodies are
-- tests/server/hostile_decode.lua's (the stand-in's hostile-decode-<name>
-- connector), flat ones (built by the C decoders) and ones lua-cjson decodes
-- (nested values, a raw control character) alike; each case runs through
-- libcurl over HTTP and HTTPS, and inside nginx (cosockets) with and without
-- an on_response hook. Under Lua 5.1 and LuaJIT too (#abi): ids are
-- compared without doubles there as well.
local support = require "tests.spec.support"

local HOSTILE = dofile("tests/server/hostile_decode.lua")

local function connector(name)
  return "hostile-decode-" .. name
end

local NOT_OBJECT = "the response body is not a JSON object"
local DUP_ID = 'the entry has more than one "id" member (names must be unique)'
local OUT_OF_STEP = ": its answers are out of step with the requests, on a fresh connection too"

local function wrong_id(asked, got)
  return 'the server answered the request for log id "' .. asked .. '" with the entry of log id "' .. got .. '"'
    .. OUT_OF_STEP
end

-- Each case: a call ("get": get_connector_log, "json": get_connector_log_json,
-- "list": list_connector_logs), a body's name, the log id asked for, and
-- what comes: an error's code and message, or check(result) for a success.
local function refused(message, code)
  return { code = code or "INVALID_RESPONSE", message = message }
end

local CASES = {
  -- Point 2: pages that are not {"logs": [objects]}.
  { "list", "logs-object", nil, refused '"logs" is not an array' },
  { "list", "logs-object-item", nil, refused '"logs" is not an array' },
  { "list", "logs-last-object", nil, refused '"logs" is not an array' },
  { "list", "logs-arrays", nil, refused '"logs" item 1 is not an object' },
  { "list", "logs-missing", nil, refused 'the response has no "logs" array' },
  { "list", "logs-null", nil, refused 'the response has no "logs" array' },
  { "list", "logs-string", nil, refused 'the response has no "logs" array' },
  { "list", "item-number", nil, refused '"logs" item 2 is not an object' },
  { "list", "item-string", nil, refused '"logs" item 2 is not an object' },
  { "list", "item-null", nil, refused '"logs" item 2 is not an object' },
  { "list", "item-true", nil, refused '"logs" item 2 is not an object' },
  { "list", "item-array-nested", nil, refused '"logs" item 2 is not an object' },
  { "list", "item-array-control", nil, refused '"logs" item 2 is not an object' },
  { "list", "page-flat", nil, { ids = { "a", "b" } } },
  { "list", "page-nested", nil, { ids = { "a", "b" } } },
  { "list", "page-empty", nil, { ids = {} } },
  -- Point 3: bytes after the JSON value, in both forms and both decoders.
  { "get", "trail-nul", "123", refused(NOT_OBJECT) },
  { "json", "trail-nul", "123", refused(NOT_OBJECT) },
  { "get", "trail-nul-nested", "123", refused(NOT_OBJECT) },
  { "json", "trail-nul-nested", "123", refused(NOT_OBJECT) },
  { "get", "trail-nul-control", "123", refused(NOT_OBJECT) },
  { "get", "trail-nul-only", "123", refused(NOT_OBJECT) },
  { "json", "trail-nul-only", "123", refused(NOT_OBJECT) },
  { "get", "trail-nul-space", "123", refused(NOT_OBJECT) },
  { "json", "trail-nul-space", "123", refused(NOT_OBJECT) },
  { "get", "trail-text", "123", refused(NOT_OBJECT) },
  { "json", "trail-text", "123", refused(NOT_OBJECT) },
  { "get", "trail-object", "123", refused(NOT_OBJECT) },
  { "json", "trail-object", "123", refused(NOT_OBJECT) },
  { "get", "trail-object-nested", "123", refused(NOT_OBJECT) },
  { "list", "page-trail-nul", nil, refused(NOT_OBJECT) },
  { "list", "page-trail-nul-nested", nil, refused(NOT_OBJECT) },
  { "list", "page-trail-text", nil, refused(NOT_OBJECT) },
  -- An error body with bytes after the envelope is no usable envelope.
  { "get", "err-trail-nul", "123", refused("HTTP 404 Not Found without a usable error envelope", "NOT_FOUND") },
  { "get", "spaced", "123", { id = "123" } },
  { "json", "spaced", "123", { text = true } },
  -- Point 4: ids as the text sent, never through a double.
  { "get", "bigid", "9007199254740992", refused(wrong_id("9007199254740992", "9007199254740993")) },
  { "json", "bigid", "9007199254740992", refused(wrong_id("9007199254740992", "9007199254740993")) },
  -- The entry holds what lua-cjson makes of the number: a double, 2^53.
  { "get", "bigid", "9007199254740993", { id = 2 ^ 53 } },
  { "json", "bigid", "9007199254740993", { text = true } },
  { "get", "bigid-nested", "9007199254740992", refused(wrong_id("9007199254740992", "9007199254740993")) },
  { "json", "bigid-nested", "9007199254740992", refused(wrong_id("9007199254740992", "9007199254740993")) },
  { "get", "bigid-nested", "9007199254740993", { id = 2 ^ 53 } },
  { "get", "bigid-control", "9007199254740992", refused(wrong_id("9007199254740992", "9007199254740993")) },
  { "get", "bigid-control", "9007199254740993", { id = 2 ^ 53 } },
  { "get", "bigid-string", "9007199254740992", refused(wrong_id("9007199254740992", "9007199254740993")) },
  { "get", "bigid-string", "9007199254740993", { id = "9007199254740993" } },
  { "get", "hugeid", "123456789012345678901234567891",
    refused(wrong_id("123456789012345678901234567891", "123456789012345678901234567890")) },
  { "json", "hugeid", "123456789012345678901234567890", { text = true } },
  { "get", "id-int", "100", { id = 100 } },
  { "get", "id-int", 100, { id = 100 } },
  { "get", "id-fraction", "100", refused(wrong_id("100", "100.0")) },
  { "json", "id-fraction", "100", refused(wrong_id("100", "100.0")) },
  { "get", "id-exponent", "100", refused(wrong_id("100", "1e2")) },
  { "json", "id-exponent", "100", refused(wrong_id("100", "1e2")) },
  { "get", "id-exponent-nested", "100", refused(wrong_id("100", "1e2")) },
  { "get", "id-negative", "-5", { id = -5 } },
  -- Point 5: two "id" members answer nothing; of other names the last wins.
  { "get", "dupid", "123", refused(DUP_ID) },
  { "json", "dupid", "123", refused(DUP_ID) },
  { "get", "dupid", "999", refused(DUP_ID) },
  { "json", "dupid", "999", refused(DUP_ID) },
  { "get", "dupid-same", "123", refused(DUP_ID) },
  { "json", "dupid-same", "123", refused(DUP_ID) },
  { "get", "dupid-escaped", "123", refused(DUP_ID) },
  { "json", "dupid-escaped", "123", refused(DUP_ID) },
  { "get", "dupid-nested", "123", refused(DUP_ID) },
  { "json", "dupid-nested", "123", refused(DUP_ID) },
  { "get", "dupid-null", "123", refused(DUP_ID) },
  { "get", "dupid-number", "123", refused(DUP_ID) },
  { "get", "dup-other", "123", { id = "123", status = 200, event = "b" } },
  { "json", "dup-other", "123", { text = true } },
  { "get", "dup-other-nested", "123", { id = "123", status = 200 } },
  { "list", "item-dupid", nil, refused '"logs" item 2 has more than one "id" member (names must be unique)' },
  { "list", "item-dupid-nested", nil, refused '"logs" item 1 has more than one "id" member (names must be unique)' },
  { "list", "item-dupid-escaped", nil, refused '"logs" item 1 has more than one "id" member (names must be unique)' },
  { "list", "item-dup-other", nil, { ids = { "a" } } },
}

-- What a case's result must be. got: the entry (get), the text (json) or
-- the page (list), from a transport that gives values as they are (inside
-- nginx numbers and strings come typed, "n:"/"s:", tests/openresty/app.lua).
local function check_success(case, got, typed)
  local name, want = case[2], case[4]
  local function value(v)
    if typed and type(v) == "number" then
      return "n:" .. string.format("%.17g", v)
    elseif typed and type(v) == "string" then
      return "s:" .. v
    end
    return v
  end
  if want.text then
    assert.are.equal(HOSTILE.text(name), got, name)
  elseif want.ids then
    assert.are.equal(#want.ids, #got, name)
    for i, id in ipairs(want.ids) do
      assert.are.equal(value(id), got[i].id, name)
    end
  else
    for k, v in pairs(want) do
      assert.are.equal(value(v), got[k], name .. ": " .. k)
    end
  end
end

local function describe_case(case)
  return case[1] .. " " .. case[2] .. (case[3] and " for " .. support.describe(case[3]) or "")
end

for _, transport in ipairs(support.TRANSPORTS) do
  describe("#abi hostile bodies over libcurl, " .. transport.name, function()
    local client
    before_each(function() client = support.client({ max_retries = 0 }, transport) end)
    after_each(function() client:close() end)

    local function call(case)
      local method = ({ get = client.get_connector_log, json = client.get_connector_log_json,
        list = client.list_connector_logs })[case[1]]
      if case[1] == "list" then
        return pcall(method, client, support.TEAM, connector(case[2]))
      end
      return pcall(method, client, support.TEAM, connector(case[2]), case[3])
    end

    for _, case in ipairs(CASES) do
      it(describe_case(case), function()
        local ok, res = call(case)
        if case[4].code then
          assert(not ok, "expected " .. case[4].code .. ", got a success")
          assert.are.equal(case[4].code, res.code, tostring(res))
          assert.are.equal(case[4].message, res.message)
          assert.are.equal(1, res.attempts)
        else
          assert(ok, tostring(res))
          check_success(case, res, false)
        end
      end)
    end

    it("returns the nested values of a page lua-cjson decodes, item by item", function()
      local page = client:list_connector_logs(support.TEAM, connector("page-nested"))
      assert.are.same({ 1, require("supermetrics").null }, page[1].meta.x)
      assert.are.equal(201, page[2].status)
      if math.type then
        assert.are.equal("integer", math.type(page[2].status))
      end
    end)
  end)
end

-- Point 11: about 16 MB of every shape, each in a fresh interpreter whose
-- peak RSS (VmHWM) must stay under 10 x max_response_bytes (16 MiB, the
-- default): 160 MiB; inside nginx, the worker's peak during the call over
-- its RSS before it (a worker's RSS holds what earlier calls left). Before,
-- a page of five million {} took 573 MB to be refused, an error body of
-- empty arrays 518 MB to read its code.
local MAX = 16 * 1024 * 1024
local BIG = {
  { "list", "big-page-items", "INVALID_RESPONSE", "the server answered a request for at most 1000 entries with" },
  { "list", "big-page-arrays", "RESPONSE_TOO_LARGE", "the response body would take more than 67108864 bytes once "
    .. "decoded (4 times max_response_bytes, at least 64 MiB)" },
  { "list", "big-page-nested", "RESPONSE_TOO_LARGE" },
  { "list", "big-page-strings" },
  { "list", "big-err-arrays", "LOG_NOT_FOUND", "No such entry." },
  { "get", "big-err-arrays", "LOG_NOT_FOUND", "No such entry." },
  { "get", "big-err-top", "NOT_FOUND", "HTTP 404 Not Found without a usable error envelope" },
  { "get", "big-err-members", "LOG_NOT_FOUND", "No such entry." },
  { "get", "big-entry-arrays", "RESPONSE_TOO_LARGE" },
  { "json", "big-entry-arrays" },
  { "get", "big-entry-objects", "RESPONSE_TOO_LARGE" },
  { "get", "big-entry-numbers", "RESPONSE_TOO_LARGE" },
  { "get", "big-entry-strings", "RESPONSE_TOO_LARGE" },
  { "get", "big-entry-members", "RESPONSE_TOO_LARGE" },
  { "json", "big-entry-members" },
  { "get", "big-entry-string" },
  { "json", "big-entry-string" },
  { "get", "big-entry-deep", "INVALID_RESPONSE", NOT_OBJECT },
  { "get", "big-entry-spaces" },
}

-- Child: one call, then "ok" or the error's code and message, and VmHWM.
local CHILD = [[
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = assert(os.getenv("SM_BUILD_DIR")) .. "/?.so;" .. package.cpath
local supermetrics = require "supermetrics"
local call, name, base_url = os.getenv("SM_CALL"), os.getenv("SM_NAME"), os.getenv("SM_TEST_HTTP_URL")
local client = supermetrics.new { api_key = "api_test_key", base_url = base_url, max_retries = 0 }
local method = ({ get = client.get_connector_log, json = client.get_connector_log_json,
  list = client.list_connector_logs })[call]
local ok, res = pcall(method, client, 1, "hostile-decode-" .. name, call ~= "list" and "123" or nil)
local f = assert(io.open("/proc/self/status"))
local peak = f:read("*a"):match("VmHWM:%s*(%d+)")
f:close()
print(ok and "ok" or (tostring(res.code) .. "\t" .. tostring(res.message)))
print(peak)
]]

local sanitizer = os.getenv("SM_TEST_SANITIZER")

local function check_big(case, ok_or_code, message, peak_kib, where)
  if case[3] then
    assert.are.equal(case[3], ok_or_code, case[2] .. ": " .. tostring(message))
    if case[4] then
      assert.are.equal(case[4], message:sub(1, #case[4]))
    end
  else
    assert.are.equal("ok", ok_or_code, case[2] .. ": " .. tostring(message))
  end
  -- Under AddressSanitizer RSS holds its shadow memory and quarantine.
  if sanitizer then
    return
  end
  assert(peak_kib, "no peak RSS")
  print(string.format("\n  %s %s: %s, peak RSS %d KiB", case[1], case[2], where, peak_kib))
  assert(peak_kib * 1024 < 10 * MAX, string.format("%s %s: %s peak RSS %d KiB, over 10 x max_response_bytes",
    case[1], case[2], where, peak_kib))
end

describe("#abi memory bounded by what was received (libcurl, a fresh interpreter each)", function()
  for _, case in ipairs(BIG) do
    it(case[1] .. " " .. case[2] .. ": " .. (case[3] or "ok") .. ", peak RSS under 160 MiB", function()
      local code, out, err = support.run(table.concat({ "SM_BUILD_DIR=" .. os.getenv("SM_BUILD_DIR"),
        "SM_CALL=" .. case[1], "SM_NAME=" .. case[2], support.LUA, "-e", support.quote(CHILD) }, " "), { limit = 60 })
      assert.are.equal(0, code, err)
      local result, peak = out:match("^(.-)\n(%d+)\n$")
      local first, message = result:match("^([^\t]+)\t?(.*)$")
      check_big(case, first, message, tonumber(peak), "standalone")
    end)
  end
end)

if not support.APP then
  return
end

-- Inside nginx: /call of the test app; numbers and strings come typed.
-- Over HTTP with an on_response hook (the retry loop's path) and over
-- HTTPS without (the first attempt in one transport call).
for _, https in ipairs { false, true } do
  local plain = https
  local over = (https and "&https=1" or "") .. (plain and "&plain=1" or "") .. "&max_retries=0"
  describe("hostile bodies inside nginx (cosockets, " .. (https and "https" or "http")
    .. (plain and ", no hook" or ", a hook") .. ")", function()
    it("give the same results as over libcurl", function()
      for _, case in ipairs(CASES) do
        local path = "/call?connector=" .. connector(case[2]) .. over
          .. (case[1] == "list" and "&list=1" or "&id=" .. tostring(case[3]))
          .. (case[1] == "json" and "&json=1" or "")
        local out = support.inside(path)
        local what = describe_case(case)
        if case[4].code then
          assert(out.error, what .. ": expected " .. case[4].code)
          assert.are.equal(case[4].code, out.error.code, what)
          assert.are.equal(case[4].message, out.error.message, what)
          assert.are.equal(1, out.error.attempts, what)
        elseif case[1] == "json" then
          assert(out.json, what .. ": " .. tostring(out.error and out.error.message))
          check_success(case, out.json, false)
        elseif case[1] == "list" then
          assert(out.page, what .. ": " .. tostring(out.error and out.error.message))
          check_success(case, out.page, true)
        else
          assert(out.entry, what .. ": " .. tostring(out.error and out.error.message))
          -- The app answers the entry with cjson, which writes 14
          -- significant digits: 2^53 does not come back.
          if case[4].id ~= 2 ^ 53 then
            check_success(case, out.entry, false)
          end
        end
      end
    end)
  end)
end

describe("memory bounded by what was received, inside nginx (the worker's peak RSS)", function()
  for _, case in ipairs(BIG) do
    it(case[1] .. " " .. case[2] .. ": " .. (case[3] or "ok") .. ", the call's peak RSS under 160 MiB", function()
      local out = support.inside("/call?rss=1&max_retries=0&connector=" .. connector(case[2])
        .. (case[1] == "list" and "&list=1" or "&id=123") .. (case[1] == "json" and "&json=1" or ""))
      assert(out.rss, "no RSS reading")
      local where = string.format("inside nginx (worker RSS %d KiB before, %d KiB peak)", out.rss.before,
        out.rss.peak)
      if out.ok then
        check_big(case, "ok", nil, out.rss.peak - out.rss.before, where)
      else
        check_big(case, out.error.code, out.error.message, out.rss.peak - out.rss.before, where)
      end
    end)
  end
end)
