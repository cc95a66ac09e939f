-- Every kind of failure with one recognisable credential, in a fresh
-- interpreter (tests/spec/16-secrets_spec.lua searches all it prints for the
-- credential, in every form: tests/server/hostile_text.lua's oracle).
-- Prints, for each case, every string field of the error value,
-- tostring(err) and tostring(client), and every on_response event's; then
-- "codes=..." with every code seen and "cases=N". The hostile server echoes
-- the credential in every form it has (JSON escapes, percent-encoding,
-- base64, letter case, split across lines), as errors' text and bodies and
-- as the X-Request-Id of errors and of successes.
-- Usage: secrets.lua SECRET   (SM_BUILD_DIR and the stand-in's SM_TEST_*)
package.path = "./lua/?.lua;./lua/?/init.lua;./?.lua;" .. package.path
package.cpath = assert(os.getenv("SM_BUILD_DIR")) .. "/?.so;" .. package.cpath
local supermetrics = require "supermetrics"

local secret = assert(arg[1], "usage: secrets.lua SECRET")
local http, https = os.getenv("SM_TEST_HTTP_URL"), os.getenv("SM_TEST_HTTPS_URL")
local ca = os.getenv("SM_TEST_CA")
local codes, cases = {}, 0

local function show(label, err)
  cases = cases + 1
  if not supermetrics.is_error(err) then
    print(label, "not an error value:", tostring(err))
    return
  end
  codes[err.code] = true
  local fields = {}
  for k, v in pairs(err) do
    if type(v) == "string" or type(v) == "number" then
      fields[#fields + 1] = k .. "=" .. tostring(v)
    end
  end
  table.sort(fields)
  print(label, tostring(err), table.concat(fields, " | "))
end

-- Every attempt's event, printed as the hook sees it.
local function on_response(e)
  local fields = {}
  for k, v in pairs(e) do
    if type(v) == "string" or type(v) == "number" then
      fields[#fields + 1] = k .. "=" .. tostring(v)
    end
  end
  table.sort(fields)
  print("event", table.concat(fields, " | "))
end

local function client(opts)
  local o = { token = "otok_valid_" .. secret, base_url = http, max_retry_wait = 0.01, max_retries = 1,
    on_response = on_response }
  for k, v in pairs(opts or {}) do o[k] = v end
  if o.token_provider or o.api_key then o.token = nil end
  if o.token == false then o.token = nil end
  local c = supermetrics.new(o)
  print("client", tostring(c))
  return c
end

local function call(label, c, connector, log_id, team)
  local ok, res = pcall(c.get_connector_log, c, team or 1, connector, log_id)
  if ok then
    print(label, "ok", res.id)
  else
    show(label, res)
  end
end

local function new_error(label, opts)
  local ok, err = pcall(supermetrics.new, opts)
  assert(not ok, label .. " should fail")
  show(label, err)
end

-- Credentials the library refuses, each carrying the secret.
new_error("control char", { token = "otok_" .. secret .. "\1" })
new_error("non-ascii", { api_key = "api_" .. secret .. "\195\169" })
new_error("two credentials", { api_key = "api_" .. secret, token = "otok_" .. secret })
new_error("bad base_url", { api_key = "api_" .. secret, base_url = "ftp://example.com" })
new_error("unknown option", { api_key = "api_" .. secret, time_out = 1 })

local c = client()
call("success", c, "T3S70", "1")
call("bad team", c, "T3S70", "1", 0)
call("bad connector", c, "a/b", "1")
call("bad log id", c, "T3S70", "..")
for _, status in ipairs { "400", "401", "403", "404", "409", "422", "429", "500", "502", "503", "504",
  "418", "302", "204", "502-html", "500-broken", "400-leak", "500-leak", "404-custom" } do
  call("status " .. status, c, "status", status)
end
for _, id in ipairs { "echo-credential", "echo-credential-header", "longer", "cut-headers", "gzip-corrupt",
  "bomb", "deep", "header-line-100k" } do
  call("fault " .. id, c, "fault", id)
end
-- A hostile server's echoes (tests/server/hostile_text.lua): every form, in
-- an envelope, a problem and a plain body; as a success's X-Request-Id.
local forms = {}
for name in pairs(require("tests.server.hostile_text").FORMS) do forms[#forms + 1] = name end
table.sort(forms)
for _, form in ipairs(forms) do
  for _, where in ipairs { "env", "problem", "text", "ok" } do
    call("echo " .. form .. " " .. where, c, "hostile-text", "echo-" .. form .. "-" .. where)
  end
end
call("closed early", c, "close", "x")
call("redirect", c, "redirect", "other")
call("retries exhausted", c, "retry", "s" .. os.time() .. "-5-503")
call("not an object", c, "shape", "array")
call("too large", client { max_response_bytes = 100 }, "T3S70", "1")
call("timeout", client { timeout = 0.2 }, "slow", "1000")
call("refused", client { base_url = "http://127.0.0.1:9" }, "T3S70", "1")
call("unauthorized", client { token = false, api_key = "api_" .. secret }, "T3S70", "1")
call("tls untrusted", client { base_url = https }, "T3S70", "1")
call("tls wrong host", client { base_url = os.getenv("SM_TEST_TLS_WRONG_HOST_URL"), ca_file = ca }, "T3S70", "1")
call("provider bad", client { token_provider = function() return secret .. "\n\1" end }, "T3S70", "1")
call("provider type", client { token_provider = function() return { secret } end }, "T3S70", "1")
c:close()
print("client", tostring(c))
call("closed client", c, "T3S70", "1")

local list = {}
for code in pairs(codes) do list[#list + 1] = code end
table.sort(list)
print("codes=" .. table.concat(list, ","))
print("cases=" .. cases)
