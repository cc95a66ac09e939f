-- A short tour of every code path for valgrind (tests/tools/memcheck.sh): success
-- over HTTP and HTTPS, each error kind, retries, token_provider, close, GC.
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = assert(os.getenv("SM_BUILD_DIR")) .. "/?.so;" .. package.cpath
local supermetrics = require "supermetrics"

local function client(opts)
  local o = { api_key = "api_test_key", base_url = os.getenv("SM_TEST_HTTP_URL"), max_retry_wait = 0.01 }
  for k, v in pairs(opts or {}) do o[k] = v end
  if o.token_provider then o.api_key = nil end
  return supermetrics.new(o)
end

local function expect_error(c, connector, log_id, code)
  local ok, err = pcall(c.get_connector_log, c, 1, connector, log_id)
  assert(not ok and err.code == code, tostring(err))
end

local http = client()
assert(http:get_connector_log(936506, "T3S70", "123").duration_ms == 253)
for i = 1, 20 do http:get_connector_log(936506, "echo", "a/b " .. i) end
expect_error(http, "status", "404", "NOT_FOUND")
expect_error(http, "status", "502-html", "BAD_GATEWAY")
expect_error(http, "status", "500-broken", "INTERNAL_SERVER_ERROR")
expect_error(http, "shape", "array", "INVALID_RESPONSE")
expect_error(http, "close", "x", "CONNECTION_ERROR")
expect_error(http, "raw", "short", "CONNECTION_ERROR")
expect_error(http, "big", "20000000-chunked", "RESPONSE_TOO_LARGE")
assert(http:get_connector_log(1, "shape", "extra").flag == true)
-- The fast entry decoder and its fallbacks; the pass-through text.
for _, name in ipairs { "flat", "nulls", "escapes", "numbers", "bignumbers", "nested", "wide" } do
  assert(http:get_connector_log(1, "decoder", name))
end
expect_error(http, "decoder", "lone", "INVALID_RESPONSE")
assert(http:get_connector_log_json(936506, "T3S70", "123"):sub(1, 1) == "{")
assert(http:get_connector_log_json(1, "decoder", "escapedid"))
assert(not pcall(http.get_connector_log_json, http, 1, "wrongid", "x"))
assert(not pcall(http.get_connector_log_json, http, 1, "shape", "array"))
local ok = pcall(http.get_connector_log, http, 0, "x", "y")
assert(not ok)
http:close()
http:close()

-- Lists, paging, batches (multi interface, own headers per slot with a
-- token_provider), safe, on_response.
local events = 0
local paged = client { on_response = function() events = events + 1 end }
assert(#paged:list_connector_logs(1, "paged-30-1", { limit = 10 }) == 10)
local count = 0
for _ in paged:each_connector_log(1, "paged-45-4", { page_size = 10 }) do count = count + 1 end
assert(count == 45 and events > 0)
-- The fast page decoder, its fallbacks and its refusals (pages.lua).
for _, name in ipairs { "flat", "extra", "dup", "escapes", "thousand", "nested", "escapedkey" } do
  assert(paged:list_connector_logs(1, "pages-" .. name, { limit = 1000 }))
end
for _, name in ipairs { "thousandone", "lone", "dupbad", "nullitem" } do
  local listed, err = pcall(paged.list_connector_logs, paged, 1, "pages-" .. name)
  assert(not listed and err.code == "INVALID_RESPONSE", tostring(err))
end
local ids = { ".", "big" }
for i = 1, 12 do ids[#ids + 1] = "id" .. i end
local entries, errs = paged:get_connector_logs(1, "T3S70", ids, { concurrency = 4 })
assert(errs[1].code == "INVALID_ARGUMENT" and entries[14].id == "id12")
local _, statuses = paged:get_connector_logs(1, "status", { "404", "503", "502-html" }, { concurrency = 3 })
assert(statuses[1].code == "NOT_FOUND" and statuses[2].attempts == 3)
paged:close()
local k = 0
local provided_batch = client { token_provider = function() k = k + 1; return "otok_valid_" .. k end }
local got = provided_batch:get_connector_logs(1, "T3S70", { "a", "b", "c" }, { concurrency = 2 })
assert(got[3].id == "c")
local safe = require "supermetrics.safe"
local sc = assert(safe.new { api_key = "api_test_key", base_url = os.getenv("SM_TEST_HTTP_URL") })
local none, serr = sc:get_connector_log(1, "status", "404")
assert(none == nil and serr.code == "NOT_FOUND")
sc:close()

-- These clients are never closed: the garbage collector releases them.
do
  local https = client { base_url = os.getenv("SM_TEST_HTTPS_URL"), ca_file = os.getenv("SM_TEST_CA") }
  for _ = 1, 5 do https:get_connector_log(936506, "T3S70", "123") end
  local n = 0
  local provided = client { token_provider = function() n = n + 1; return "otok_valid_" .. n end }
  expect_error(provided, "status", "503", "SERVICE_UNAVAILABLE")
  local untrusted = client { base_url = os.getenv("SM_TEST_HTTPS_URL"), max_retries = 0 }
  expect_error(untrusted, "T3S70", "1", "TLS_ERROR")
  local slow = client { timeout = 0.2 }
  expect_error(slow, "slow", "2000", "TIMEOUT")
  local refused = pcall(supermetrics.new, { api_key = "x", base_url = "http://example.com" })
  assert(not refused)
  -- a batch left open with slots in place
  local open_batch = client {}
  open_batch:get_connector_logs(1, "T3S70", { "x", "y" })
end

-- Hardening: the fault scenarios' code paths (tests/server/fault.lua): cut
-- and malformed transfers, decoding, the decoded-size cap, huge headers,
-- odd JSON, a credential echoed back, a retry storm, a deadline hit while
-- headers drip, and the TLS servers that must be refused.
do
  local f = client { max_retries = 0 }
  for id, code in pairs {
    longer = "CONNECTION_ERROR", ["cut-headers"] = "CONNECTION_ERROR", ["cut-chunked"] = "CONNECTION_ERROR",
    ["chunk-overflow"] = "CONNECTION_ERROR", ["header-line-100k"] = "CONNECTION_ERROR",
    ["headers-1m"] = "CONNECTION_ERROR", ["gzip-corrupt"] = "INVALID_RESPONSE", deep = "INVALID_RESPONSE",
    nan = "INVALID_RESPONSE", ["deep-404"] = "NOT_FOUND", ["utf8-404"] = "NOT_FOUND", ["dup-404"] = "NOT_FOUND",
    ["gzip-404"] = "NOT_FOUND", ["echo-credential"] = "BAD_REQUEST", ["echo-credential-header"] = "BAD_GATEWAY",
  } do
    expect_error(f, "fault", id, code)
  end
  for _, id in ipairs { "gzip", "headers-100k", "utf8", "deep-ok", "numbers", "int-overflow", "dup" } do
    assert(f:get_connector_log(1, "fault", id).id)
  end
  local capped = client { max_retries = 0, max_response_bytes = 100000 }
  expect_error(capped, "fault", "bomb", "RESPONSE_TOO_LARGE")
  local storm = client { max_retries = 3 }
  expect_error(storm, "fault", "storm-memcheck" .. os.time(), "TOO_MANY_REQUESTS")
  local drip = client { timeout = 0.5 }
  expect_error(drip, "fault", "drip-headers", "TIMEOUT")
  local ca = os.getenv("SM_TEST_CA")
  for _, name in ipairs { "SM_TEST_TLS_WRONG_HOST_URL", "SM_TEST_TLS_EXPIRED_URL", "SM_TEST_TLS_OLD_URL" } do
    expect_error(client { base_url = os.getenv(name), ca_file = ca, max_retries = 0 }, "T3S70", "1", "TLS_ERROR")
  end
  f:close()
end
collectgarbage()
print("memcheck tour done")
