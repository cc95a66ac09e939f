-- A hostile server's text (issue 26, points 6, 7, 8 and 10), through
-- libcurl (HTTP and HTTPS), inside nginx (cosockets) and through the
-- command line: what a person is shown obeys one rule (no C0, DEL or C1
-- control, no ill-formed UTF-8: src/text.h), JSON output escapes C1, the
-- credential is redacted from every field of every response in every form
-- a server can echo it in (JSON escapes, percent-encoding, HTML references,
-- base64 at any alignment, letter case, split across lines), a success's
-- X-Request-Id included, and numbers JSON cannot hold never make the
-- command line fail. The stand-in's side is tests/server/hostile_text.lua.
local cjson = require "cjson"
local core = require "supermetrics.core"
local support = require "tests.spec.support"
local cli = require "tests.spec.cli_support"
local hostile = require "tests.server.hostile_text"

-- '/', '+', '=', '?' and '>' for every escape, and base64 with '+', '/' and
-- padding at some alignments.
local TOKEN = "otok_valid_Zq8/Se+Cr3t=Ky~x?>"
-- Only request-id characters ([A-Za-z0-9._:-]): it can come back as an id.
local ID_TOKEN = "otok_valid_Rq1dSeCrEt-77.x:9"

local leak, shown_ok = hostile.leak, hostile.shown_ok

-- Every string an error value holds, tostring(err) included (inside
-- nginx: every field the app sent back, its tostring and concatenation).
local function texts_of(err)
  local out = {}
  for k, v in pairs(err) do
    if type(v) == "string" then out[k] = v end
  end
  out.tostring = err.tostring or tostring(err)
  return out
end

local function assert_no_leak(fields, token, what)
  for k, v in pairs(fields) do
    local l = leak(v, token)
    assert.is_nil(l, l and (what .. ": " .. k .. " " .. l))
  end
end

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

-- ---- the three ways in ----

-- Each gives call(token, log_id) -> entry, err, events and list(token,
-- connector) -> page, err, events; events: each on_response event's
-- request_id (false when none).
local function curl_way(transport)
  local clients = {}
  local function client_of(token)
    if not clients[token] then
      local events = {}
      clients[token] = {
        events = events,
        client = support.client({ api_key = false, token = token, max_retries = 0,
          on_response = function(e) events[#events + 1] = { request_id = e.request_id or false } end }, transport),
      }
    end
    local c = clients[token]
    for i = #c.events, 1, -1 do c.events[i] = nil end
    return c
  end
  local way = { name = "libcurl " .. transport.name }
  function way.call(token, log_id)
    local c = client_of(token)
    local ok, res = pcall(c.client.get_connector_log, c.client, 1, "hostile-text", log_id)
    return ok and res or nil, not ok and res or nil, c.events
  end
  function way.list(token, connector)
    local c = client_of(token)
    local ok, res = pcall(c.client.list_connector_logs, c.client, 1, connector)
    return ok and res or nil, not ok and res or nil, c.events
  end
  function way.close()
    for token, c in pairs(clients) do
      c.client:close()
      clients[token] = nil
    end
  end
  return way
end

local function nginx_way()
  local way = { name = "nginx (cosockets)" }
  local function ask(query)
    local out = support.inside("/hostile?" .. query)
    assert(not out.raised, out.raised)
    return out.entry or out.page, out.error, out.events or {}
  end
  function way.call(token, log_id)
    return ask("token=" .. urlencode(token) .. "&connector=hostile-text&id=" .. urlencode(log_id))
  end
  function way.list(token, connector)
    return ask("list=1&token=" .. urlencode(token) .. "&connector=" .. urlencode(connector))
  end
  function way.close() end
  return way
end

local WAYS = { curl_way(support.TRANSPORTS[1]), curl_way(support.TRANSPORTS[2]) }
if support.APP then
  WAYS[#WAYS + 1] = nginx_way()
end

-- Sorted, so that every run goes the same way.
local FORMS = {}
for name in pairs(hostile.FORMS) do FORMS[#FORMS + 1] = name end
table.sort(FORMS)

describe("#hostile text shown to a person (issue 26, 6)", function()
  it("is one rule, the C core's, for the library and the command line", function()
    assert.are.equal(core.shown, require("supermetrics.cli.output").one_line)
  end)

  it("C0, DEL and C1 controls become spaces, ill-formed UTF-8 U+FFFD", function()
    local R = "\239\191\189"
    local cases = {
      { "plain é € 😀 text", "plain é € 😀 text" },
      { "a\27[2Jb\7c\0d\127e\t\r\n", "a [2Jb c d e   " },
      { "csi\194\155osc\194\157nel\194\133x\194\159y\194\160z", "csi osc nel x y\194\160z" },
      { "raw\155csi\128\159", "raw" .. R .. "csi" .. R .. R },
      { "cut\226\130", "cut" .. R },
      { "bad\255\254", "bad" .. R .. R },
      { "overlong\192\175\224\128\175", "overlong" .. R .. R .. R .. R .. R },
      { "surrogate\237\160\128", "surrogate" .. R .. R .. R },
      { "past\244\144\128\128", "past" .. R .. R .. R .. R },
      { "maximal\224\160A", "maximal" .. R .. "A" },
      { hostile.C1, hostile.C1_SHOWN },
    }
    for _, c in ipairs(cases) do
      assert.are.equal(c[2], core.shown(c[1]))
      assert.are.equal(c[2], core.shown(c[2])) -- applied twice: the same
    end
  end)

  it("JSON text escapes C0, DEL and C1, and writes ill-formed bytes as \\ufffd", function()
    assert.are.equal(hostile.C1_JSON, core.json_string(hostile.C1))
    assert.are.equal('"q\\"b\\\\s/n\\nt\\tr\\rb\\bf\\f\\u0000\\u001f"', core.json_string('q"b\\s/n\nt\tr\rb\bf\f\0\31'))
  end)

  it("holds for any bytes: shown text is clean and stable, JSON text decodes to what the rule shows", function()
    math.randomseed(26)
    local pieces = { "\194\155", "\194\133", "\155", "\27", "\127", "\0", "\255", "\224\160", "\237\160\128",
      "\240\159\152\128", "\195\169", "a", " ", '"', "\\", "/", "\n", "\192", "\244\144" }
    for _ = 1, 3000 do
      local t = {}
      for k = 1, math.random(0, 12) do
        t[k] = math.random(4) == 1 and string.char(math.random(0, 255)) or pieces[math.random(#pieces)]
      end
      local s = table.concat(t)
      local shown = core.shown(s)
      local ok, at = shown_ok(shown)
      assert(ok, string.format("%q shown as %q: bad at %s", s, shown, tostring(at)))
      assert.are.equal(shown, core.shown(shown))
      local json = core.json_string(s)
      assert.is_nil(json:find("[%z\1-\31\127]") or json:find("\194[\128-\159]"), json)
      assert.are.equal(shown, core.shown(cjson.decode(json)))
    end
  end)

  for _, way in ipairs(WAYS) do
    describe("through " .. way.name, function()
      teardown(function() way.close() end)

      for _, where in ipairs { "env", "problem", "gateway" } do
        it("an error's message and description, and tostring(err) (" .. where .. ")", function()
          local _, err = way.call(TOKEN, "c1-" .. where)
          assert.truthy(err, "no error")
          assert.are.equal(hostile.C1_SHOWN, err.message)
          if where ~= "gateway" then
            assert.are.equal(hostile.C1_SHOWN, err.description)
          end
          local text = err.tostring or tostring(err)
          assert.truthy(text:find(hostile.C1_SHOWN, 1, true), text)
          assert.is_true((shown_ok(text)))
        end)
      end

      it("err.body keeps the bytes for programs; what prints the error shows none of them", function()
        local _, err = way.call(TOKEN, "c1-text")
        assert.are.equal(hostile.C1, err.body)
        local text = err.tostring or tostring(err)
        assert.is_true((shown_ok(text)), text)
      end)
    end)
  end
end)

describe("#hostile the credential, in every form a server echoes it (issue 26, 7 and 10)", function()
  for _, way in ipairs(WAYS) do
    describe("through " .. way.name, function()
      teardown(function() way.close() end)

      it("is not in on_response's request_id after a success whose X-Request-Id echoes it", function()
        for _, form in ipairs { "plain", "upper", "lower", "swap", "cut", "b64url", "bearer64url" } do
          local entry, err, events = way.call(ID_TOKEN, "echo-" .. form .. "-ok")
          assert.is_nil(err and tostring(err.tostring or err))
          assert.are.equal("echo-" .. form .. "-ok", entry.id)
          assert.are.equal(1, #events)
          assert.is_nil(leak(events[1].request_id or nil, ID_TOKEN), form)
        end
        -- An id that does not show it comes through.
        local _, _, events = way.call(ID_TOKEN, "c1-entry")
        assert.are.equal(1, #events)
        assert.are.equal("req_c1_entry", events[1].request_id)
      end)

      it("is not in a page's event either", function()
        local page, err, events = way.list(ID_TOKEN, "hostile-text-echo")
        assert.is_nil(err and tostring(err.tostring or err))
        assert.are.equal(1, #page)
        assert.are.equal(1, #events)
        assert.is_false(events[1].request_id)
      end)

      for _, where in ipairs { "env", "problem", "text" } do
        it("is redacted from every field of an error (" .. where .. ")", function()
          for _, form in ipairs(FORMS) do
            local _, err, events = way.call(TOKEN, "echo-" .. form .. "-" .. where)
            assert.truthy(err, form)
            local fields = texts_of(err)
            assert_no_leak(fields, TOKEN, form .. "-" .. where)
            for _, e in ipairs(events) do
              assert.is_nil(leak(e.request_id or nil, TOKEN))
            end
            -- The echo was there, and was found.
            local said = (err.body or "") .. (err.message or "") .. (err.description or "")
            assert.truthy(said:find("[REDACTED]", 1, true), form .. "-" .. where .. ": " .. said)
          end
        end)
      end
    end)
  end

  it("an echo is found wherever the cap of err.body falls, and only what holds it is replaced", function()
    for _, form in ipairs(FORMS) do
      local f = hostile.form(form, TOKEN, false)
      local text = "before " .. f .. " after"
      local red = core.redact(text, TOKEN)
      assert.is_nil(leak(red, TOKEN), form)
      assert.truthy(red:find("[REDACTED]", 1, true), form)
      assert.truthy(red:find(" after$"), red)
      -- No echo: nothing changes (not even a cut-short 7 characters).
      local other = "before " .. TOKEN:sub(1, 7) .. " " .. hostile.base64("something else") .. " after"
      assert.are.equal(other, core.redact(other, TOKEN))
    end
  end)

  it("finds echoes in random text, and costs linear time on hostile text", function()
    math.randomseed(10)
    local fillers = { "a", " ", "\r\n", "%", "\\", "&#", "=", "+", "/", "o", "otok_v", "\194\133", "Zq8", "\\u00" }
    for _ = 1, 400 do
      local t = {}
      for k = 1, math.random(0, 8) do t[k] = fillers[math.random(#fillers)] end
      local form = FORMS[math.random(#FORMS)]
      t[#t + 1] = hostile.form(form, TOKEN, math.random(2) == 1)
      for _ = 1, math.random(0, 8) do t[#t + 1] = fillers[math.random(#fillers)] end
      local text = table.concat(t)
      local red = core.redact(text, TOKEN)
      assert.is_nil(leak(red, TOKEN), form .. ": " .. string.format("%q", text))
    end
    -- Near misses over a megabyte each: starts that go a long way and fail.
    local near = {
      ("otok_va\r\n" .. (" "):rep(50)):rep(20000),
      ("\\\\\\\\\\\\\\\\"):rep(150000),
      ("%25"):rep(400000),
      ("o\r\nt\r\no\r\nk\r\n_\r\nv\r\na\r\nX"):rep(40000),
      (hostile.b64_core(TOKEN, 0):sub(1, 9) .. "!"):rep(100000),
    }
    for i, text in ipairs(near) do
      local started = support.now()
      local red = core.redact(text, TOKEN)
      local took = support.now() - started
      assert.are.equal(text, red)
      assert.is_true(took < 2, "near miss " .. i .. " took " .. took .. " s")
    end
  end)
end)

-- ---- the command line ----

local function key_env(token)
  return "SUPERMETRICS_API_KEY=" .. support.quote(token)
end

describe("#hostile supermetrics-logs shows server text by the one rule (issue 26, 6)", function()
  it("tables and CSV cells", function()
    for _, format in ipairs { "table", "csv" } do
      local code, out, err = cli.run("list 1 hostile-text-c1 --format " .. format, key_env(TOKEN))
      assert.are.equal(0, code, err)
      local shown = out:gsub("[\r\n]", "")
      assert.is_true((shown_ok(shown)), out)
      local _, count = out:gsub((hostile.C1_SHOWN:gsub("%p", "%%%0")), "")
      assert.are.equal(2, count, out) -- event and request
    end
  end)

  it("JSON and NDJSON escape C1 (\\u009b) and ill-formed bytes (\\ufffd)", function()
    for _, format in ipairs { "json", "ndjson" } do
      local code, out = cli.run("get 1 hostile-text c1-entry --format " .. format, key_env(TOKEN))
      assert.are.equal(0, code)
      assert.truthy(out:find(hostile.C1_JSON, 1, true), out)
      assert.is_true((shown_ok((out:gsub("\n", "")))), out)
      local entry = cjson.decode(out)
      assert.are.equal(hostile.C1_SHOWN, core.shown(entry.event))
    end
  end)

  it("error lines on stderr, for get and for each failed id of fetch", function()
    local code, out, err = cli.run("get 1 hostile-text c1-env", key_env(TOKEN))
    assert.are.equal(1, code)
    assert.are.equal("", out)
    assert.are.equal("supermetrics-logs: BAD_REQUEST (HTTP 400): " .. hostile.C1_SHOWN .. " [request_id req_c1]\n",
      err)
    code, out, err = cli.run("fetch 1 hostile-text c1-problem c1-gateway --retries 0", key_env(TOKEN))
    assert.are.equal("[]\n", out)
    assert.are.equal(69, code)
    for _, line in ipairs(cli.lines(err)) do
      assert.is_true((shown_ok(line)), line)
      assert.truthy(line:find(hostile.C1_SHOWN, 1, true), line)
    end
  end)
end)

describe("#hostile supermetrics-logs --verbose never shows the key (issue 26, 7)", function()
  it("after a success whose X-Request-Id echoes it, on get, list and fetch", function()
    for _, args in ipairs { "get 1 hostile-text echo-plain-ok", "list 1 hostile-text-echo",
        "fetch 1 hostile-text echo-upper-ok echo-b64url-ok" } do
      local code, out, err = cli.run(args .. " --verbose", key_env(ID_TOKEN))
      assert.are.equal(0, code, err)
      assert.truthy(err:find("-> 200", 1, true), err)
      assert.is_nil(leak(err, ID_TOKEN), args)
      assert.is_nil(leak(out, ID_TOKEN), args)
    end
  end)

  it("after an error that echoes it in any form", function()
    for _, form in ipairs { "plain", "jslash", "pct", "b64align2", "split", "html" } do
      local code, out, err = cli.run("get 1 hostile-text echo-" .. form .. "-problem --verbose", key_env(TOKEN))
      assert.are.equal(1, code)
      assert.is_nil(leak(err, TOKEN), form)
      assert.is_nil(leak(out, TOKEN), form)
    end
    -- As the error's request id (X-Request-Id and meta.request_id).
    for _, form in ipairs { "plain", "upper", "b64url", "bearer64url" } do
      local code, _, err = cli.run("get 1 hostile-text echo-" .. form .. "-env --verbose", key_env(ID_TOKEN))
      assert.are.equal(1, code)
      assert.truthy(err:find("[REDACTED]", 1, true), err)
      assert.is_nil(leak(err, ID_TOKEN), form)
    end
  end)
end)

describe("#hostile #abi supermetrics-logs and numbers JSON cannot hold (issue 26, 8)", function()
  it("writes them as null in every format, with one warning, and succeeds", function()
    local want = {
      json = '{"id":"inf","log_time":"2025-06-01T00:00:00Z","status":null,"event":"x.inf","duration_ms":null,'
        .. '"meta":{"ok":1,"x":null}}\n',
      ndjson = '{"id":"inf","log_time":"2025-06-01T00:00:00Z","status":null,"event":"x.inf","duration_ms":null,'
        .. '"meta":{"ok":1,"x":null}}\n',
      csv = "id,log_time,status,event,request,duration_ms,request_id\r\ninf,2025-06-01T00:00:00Z,,x.inf,,,\r\n",
      table = "ID   LOG_TIME              STATUS  DURATION_MS  EVENT  REQUEST\n"
        .. "inf  2025-06-01T00:00:00Z  -       -            x.inf  -\n",
    }
    for format, expected in pairs(want) do
      local code, out, err = cli.run("get 1 hostile-text inf --format " .. format)
      assert.are.equal(0, code, err)
      assert.are.equal(expected, out)
      assert.are.equal("supermetrics-logs: warning: a number JSON cannot hold (infinity or NaN: a server's 1e400) "
        .. "was written as null\n", err)
    end
  end)

  it("in lists and streams too, with --fields and --quiet", function()
    local code, out, err = cli.run("list 1 hostile-text-inf --all --format ndjson --fields id,status,meta.x --quiet")
    assert.are.equal(0, code, err)
    assert.are.equal('{"id":"inf","status":null,"meta.x":null}\n', out)
    assert.are.equal("", err)
    code, out = cli.run("list 1 hostile-text-inf --format table --status 5xx")
    assert.are.equal(0, code)
    assert.are.equal(1, #cli.lines(out)) -- the header: an infinite status is in no class
  end)
end)

describe("#hostile supermetrics-logs and an unexpected failure (issue 26, 8)", function()
  it("is one line on stderr and exit status 1, never a traceback", function()
    local cmd = cli.command():gsub("LUA_CPATH='[^']*'", "LUA_CPATH='/nonexistent/?.so'")
    local code, out, err = support.run(cmd .. " get 1 T3S70 1")
    assert.are.equal(1, code)
    assert.are.equal("", out)
    assert.are.equal(1, #cli.lines(err), err)
    assert.truthy(err:find("^supermetrics%-logs: cannot load lua%-supermetrics: .*supermetrics%.core"), err)
  end)

  it("inside the command line: one line, the key redacted, status 1", function()
    local main = require("supermetrics.cli").main
    local said = {}
    local stderr = { write = function(_, ...) for _, s in ipairs { ... } do said[#said + 1] = s end return true end }
    local function failing(e)
      return { write = function() error(e, 0) end, flush = function() return true end }
    end
    for _, e in ipairs { "boom in the output\n\27[2J " .. TOKEN, { oops = true }, 42 } do
      said = {}
      local status = main({ "get", "1", "T3S70", "1" }, {
        env = function(name)
          return ({ SUPERMETRICS_API_KEY = TOKEN, SUPERMETRICS_BASE_URL = support.HTTP })[name]
        end,
        stdout = failing(e), stderr = stderr, stdout_tty = false, stderr_tty = false,
      })
      local text = table.concat(said)
      assert.are.equal(1, status)
      assert.are.equal(1, #cli.lines(text), text)
      assert.truthy(text:find("^supermetrics%-logs: unexpected failure: "), text)
      assert.is_true((shown_ok((text:gsub("\n$", "")))), text)
      assert.is_nil(leak(text, TOKEN), text)
    end
  end)
end)
