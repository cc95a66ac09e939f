-- The public pieces issue 32 asked for, and the docs fixes it found:
-- supermetrics.format (the command line's writers, one implementation:
-- the command line writes what it writes), supermetrics.time (the
-- library's ISO 8601 reading), their editor types; every link of every
-- Markdown file resolves; the README's lines after `make install` into
-- ~/.local load the module; the tests README's busted line runs; a key
-- missing from the environment and an empty one name the same argument.
local cjson = require "cjson"
local supermetrics = require "supermetrics"
local support = require "tests.spec.support"
local cli = require "tests.spec.cli_support"

local has_integers = math.type ~= nil

-- A file-like sink that keeps what is written; fail: the error to give.
local function sink(fail)
  local s = { text = "" }
  function s.write(_, ...)
    if fail then return nil, fail[1], fail[2] end
    s.text = s.text .. table.concat({ ... })
    return s
  end
  function s.flush() return s end
  return s
end

local function write_all(entries, opts, state)
  local format = require "supermetrics.format"
  local out = sink()
  local w = format.writer(out, opts)
  for _, e in ipairs(entries) do w:entry(e) end
  w:finish(state)
  return out.text, w
end

-- The stand-in's "odd" and "evil" entries, as the library returns them.
local ODD = {
  id = "o1", log_time = "2025-06-01T00:00:00Z", status = 200, event = 'say "hi", then go',
  request = "GET /a\nnext line", duration_ms = 1.5, meta = { step = 2, tags = { "a", "b" } },
}
local EVIL = {
  id = "=1+1", log_time = "2025-06-01T00:00:00Z", status = 200, event = "\27]0;title\7\27[2Jboom",
  request = "+x", duration_ms = -5, request_id = "-x", note = "@SUM(A1)", tab = "\tcmd", dash = "-5", cr = "\r=2",
}
local EVIL_FIELDS = { "id", "event", "request", "duration_ms", "request_id", "note", "tab", "dash", "cr" }

describe("supermetrics.format #abi", function()
  local format
  setup(function() format = require "supermetrics.format" end)

  it("CSV: RFC 4180, cleaned, formulas guarded, numbers left alone; raw as sent", function()
    assert.are.equal("id,log_time,status,event,request,duration_ms,request_id\r\n"
      .. 'o1,2025-06-01T00:00:00Z,200,"say ""hi"", then go",GET /a next line,1.5,\r\n',
      write_all({ ODD }, { format = "csv" }))
    assert.are.equal("id,event,request,duration_ms,request_id,note,tab,dash,cr\r\n"
      .. [["'=1+1", ]0;title  [2Jboom,"'+x",-5,"'-x","'@SUM(A1)","' cmd","'-5","' =2"]] .. "\r\n",
      write_all({ EVIL }, { format = "csv", fields = EVIL_FIELDS }))
    assert.are.equal("id,event,request,duration_ms,request_id,note,tab,dash,cr\r\n"
      .. "=1+1,\27]0;title\7\27[2Jboom,+x,-5,-x,@SUM(A1),\tcmd,-5,\"\r=2\"\r\n",
      write_all({ EVIL }, { format = "csv", fields = EVIL_FIELDS, csv_raw = true }))
    assert.are.equal('id,meta,meta.tags\r\no1,"{""step"":2,""tags"":[""a"",""b""]}","[""a"",""b""]"\r\n',
      write_all({ ODD }, { format = "csv", fields = { "id", "meta", "meta.tags" } }))
    -- trailing empty cells stay, an empty export is its header, no header when appending
    assert.are.equal("id,status,request_id\r\no1,200,\r\n",
      write_all({ ODD }, { format = "csv", fields = { "id", "status", "request_id" } }))
    assert.are.equal("id,status\r\n", write_all({}, { format = "csv", fields = { "id", "status" } }))
    assert.are.equal("o1,200\r\n", write_all({ ODD }, { format = "csv", fields = { "id", "status" }, header = false }))
    assert.are.equal("", write_all({}, { format = "csv", header = false }))
    assert.are.equal("'=1+1", format.csv_text("=1+1"))
    assert.are.equal("=1+1", format.csv_text("=1+1", true))
    assert.are.equal('"a,b",-5,\r\n', format.csv_record({ "a,b", -5, n = 3 }))
  end)

  it("JSON and NDJSON: stable key order, C1 escaped, integers exact, infinity as null, warned once", function()
    local warnings = {}
    local text = write_all({ { id = "c", event = "\194\155[31m", n = 1 / 0 }, { id = "d", m = -1 / 0 } },
      { format = "ndjson", warn = function(m) warnings[#warnings + 1] = m end })
    assert.are.equal('{"id":"c","event":"\\u009b[31m","n":null}\n{"id":"d","m":null}\n', text)
    assert.are.equal(1, #warnings)
    assert.are.equal('[\n  {"id":"o1"},\n  {"id":"o2"}\n]\n',
      write_all({ { id = "o1" }, { id = "o2" } }, { fields = { "id" } }))
    assert.are.equal("[]\n", write_all({}, {}))
    assert.are.equal('[\n  {"id":"o1"}\n', write_all({ { id = "o1" } }, { fields = { "id" } }, "interrupted"))
    assert.are.equal('{"id":"o1","status":200}\n', write_all({ ODD }, { single = true, fields = { "id", "status" } }))
    assert.are.equal('{"a":[1,"x",true],"b":{},"c":null}',
      format.json({ b = {}, a = { 1, "x", true }, c = supermetrics.null }))
    if has_integers then
      assert.are.equal("4611686018427387904", format.json(math.tointeger(2 ^ 62)))
    end
    local value = { version = 1, ids = { { "x1", "2025-06-01T00:00:00Z" } }, entries = 12 }
    assert.are.same(value, cjson.decode(format.json(value)))
  end)

  it("tables: aligned, cleaned, measured at the end or streamed", function()
    local text = write_all({ EVIL, ODD }, { format = "table", fields = { "id", "event" } })
    assert.are.same({ "ID    EVENT", "=1+1   ]0;title  [2Jboom", "o1    say \"hi\", then go" }, cli.lines(text))
    local streamed = write_all({ ODD }, { format = "table", stream = true, fields = { "id", "status" } })
    assert.are.same({ "ID        STATUS", "o1        200" }, cli.lines(streamed))
  end)

  it("a failed write raises { io =, pipe = }, never reports it written", function()
    local w = format.writer(sink({ "No space left on device", 28 }), { format = "ndjson" })
    local err = support.catch(w.entry, w, ODD)
    assert.are.equal("No space left on device", err.io)
    assert.is_nil(err.pipe)
    assert.truthy(tostring(err):find("cannot write: No space left on device", 1, true))
    local p = format.writer(sink({ "Broken pipe", 32 }), { format = "ndjson" })
    assert.is_true(support.catch(p.entry, p, ODD).pipe)
    assert.has_error(function() format.writer(sink(), { format = "xml" }) end)
  end)

  it("is what the command line writes: its old output module is gone", function()
    assert.is_nil(io.open("lua/supermetrics/cli/output.lua"))
    assert.truthy(cli.read("lua/supermetrics/cli.lua"):find('require "supermetrics.format"', 1, true))
    local client = support.client()
    local entries = client:list_connector_logs(1, "evil")
    client:close()
    for _, case in ipairs {
      { "--format csv", { format = "csv" } },
      { "--format csv --csv-raw", { format = "csv", csv_raw = true } },
      { "--format ndjson", { format = "ndjson" } },
      { "--format table --fields id,event,tab", { format = "table", fields = { "id", "event", "tab" } } },
    } do
      local code, out = cli.run("list 1 evil " .. case[1])
      assert.are.equal(0, code)
      assert.are.equal(write_all(entries, case[2]), out, case[1])
    end
  end)
end)

describe("supermetrics.time #abi", function()
  local time
  setup(function() time = require "supermetrics.time" end)

  it("parses what the library reads, to an instant and its precision", function()
    for text, want in pairs {
      ["2025-06-01"] = { 1748736000, "", "day" },
      ["2025-06-01T10:30Z"] = { 1748773800, "", "minute" },
      ["2025-06-01T12:30:00+02:00"] = { 1748773800, "", "second" },
      ["2025-06-01 10:30:00.250z"] = { 1748773800, "250", "fraction" },
      ["2025-06-01T10:30:00,5-0100"] = { 1748777400, "5", "fraction" },
      ["2024-12-31T23:59:60Z"] = { 1735689600, "", "second" },
      ["1969-12-31T23:59:59Z"] = { -1, "", "second" },
    } do
      local t = assert(time.parse(text), text)
      assert.are.same({ seconds = want[1], fraction = want[2], precision = want[3], text = text }, t)
      if has_integers then
        assert.are.equal("integer", math.type(t.seconds), text)
      end
    end
    for _, bad in ipairs { "2025-02-30", "2025-06-01T24:00:00Z", "yesterday", "2025-06-01T10", "", 5, nil } do
      local t, why = time.parse(bad)
      assert.is_nil(t, tostring(bad))
      assert.are.equal("string", type(why))
    end
  end)

  it("formats as RFC 3339 in UTC and compares instants, not text", function()
    assert.are.equal("2025-06-01T10:30:00.250Z", time.format("2025-06-01T12:30:00.250+02:00"))
    assert.are.equal("2025-06-01T00:00:00Z", time.format("2025-06-01"))
    assert.are.equal("2025-06-01T00:00:00.5Z", time.format({ seconds = 1748736000, fraction = "5" }))
    assert.are.equal("2025-06-01T00:00:00Z", time.format(time.parse("2025-06-01T00:00Z")))
    assert.are.equal(0, time.compare("2025-06-01", "2025-06-01T02:00:00+02:00"))
    assert.are.equal(-1, time.compare("2025-06-01T00:00:00Z", "2025-06-01T00:00:00.5Z")) -- "Z" > "." as text
    assert.are.equal(1, time.compare("2025-06-01T00:00:00.000000000000000001Z", "2025-06-01"))
    for _, f in ipairs { function() return time.format("x") end, function() return time.compare("x", "2025-06-01") end,
        function() return time.format({ seconds = 1.5 }) end } do
      local err = support.catch(f)
      assert.are.equal("INVALID_ARGUMENT", err.code)
      assert.are.equal("time", err.argument)
    end
  end)
end)

-- lua-language-server's ---@meta file and Teal's .d.tl of a module: the
-- names they declare on the module table (functions and fields).
local function declared_luals(path, class)
  local names, in_class = {}, false
  for line in cli.read(path):gmatch("[^\n]+") do
    local var, name = line:match("^function ([%w_]+)[.:]([%w_]+)%(")
    if var == class:match("[%w_]+$") then names[name] = true end
    if line:match("^%-%-%-@class ") then in_class = line == "---@class " .. class end
    local field = in_class and line:match("^%-%-%-@field ([%w_]+)")
    if field then names[field] = true end
  end
  return names
end

local function declared_teal(path)
  local names, depth = {}, 0
  for line in cli.read(path):gmatch("[^\n]+") do
    line = line:gsub("%s*%-%-.*$", "")
    if line:match("^%s*record ") or line:match("^local record ") then
      depth = depth + 1
    elseif line:match("^%s*end$") then
      depth = depth - 1
    elseif depth == 1 then
      local name = line:match("^%s*([%a_][%w_]*):")
      if name then names[name] = true end
    end
  end
  return names
end

local function keys(t)
  local s = {}
  for k in pairs(t) do s[k] = true end
  return s
end

describe("type definitions of supermetrics.time and supermetrics.format", function()
  it("name every function and field of the modules, and are installed", function()
    for _, m in ipairs { "time", "format" } do
      local module = keys(require("supermetrics." .. m))
      assert.are.same(module, declared_luals("types/supermetrics/" .. m .. ".lua", "supermetrics." .. m))
      assert.are.same(module, declared_teal("types/supermetrics/" .. m .. ".d.tl"))
      local makefile = cli.read("Makefile")
      assert.truthy(makefile:find("types/supermetrics/" .. m .. ".lua", 1, true))
      assert.truthy(makefile:find("types/supermetrics/" .. m .. ".d.tl", 1, true))
    end
    -- the writer's methods
    local w = require("supermetrics.format").writer(sink())
    local methods = keys(w)
    assert.are.same(methods, declared_luals("types/supermetrics/format.lua", "supermetrics.Writer"))
  end)
end)

-- ---- the docs ----

-- GitHub's anchor of a heading: lower case, backticks and punctuation
-- dropped, spaces as hyphens; a repeated one gets -1, -2...
local function anchors(text)
  local set, seen = {}, {}
  text = ("\n" .. text):gsub("\n```.-\n```", "\n")
  for heading in text:gmatch("\n#+%s+([^\n]+)") do
    local slug = heading:lower():gsub("[^%w%s%-_\128-\255]", ""):gsub(" ", "-")
    if seen[slug] then
      seen[slug] = seen[slug] + 1
      slug = slug .. "-" .. seen[slug]
    else
      seen[slug] = 0
    end
    set[slug] = true
  end
  return set
end

describe("the docs", function()
  after_each(support.cleanup)

  it("every relative link of every Markdown file resolves, anchors included", function()
    local _, list = support.run("git ls-files '*.md'")
    local broken, checked = {}, 0
    for _, file in ipairs(cli.lines(list)) do
      local dir = file:match("^(.*)/") or "."
      -- links in code are not links
      local text = ("\n" .. cli.read(file)):gsub("\n```.-\n```", "\n"):gsub("`[^`\n]*`", "")
      for target in text:gmatch("%]%(([^%)%s]+)%)") do
        if not target:match("^%a[%w+.-]*:") then
          checked = checked + 1
          local path, anchor = target:match("^([^#]*)#?(.*)$")
          local full = path == "" and file or (dir .. "/" .. path)
          local f = io.open(full, "rb")
          if not f then
            broken[#broken + 1] = file .. ": " .. target .. " (no such file)"
          else
            f:close()
            if anchor ~= "" and full:match("%.md$") and not anchors(cli.read(full))[anchor] then
              broken[#broken + 1] = file .. ": " .. target .. " (no such heading)"
            end
          end
        end
      end
    end
    assert.is_true(checked > 20, checked .. " links")
    assert.are.same({}, broken)
  end)

  it("the README's lines after make install into ~/.local load the module", function()
    local readme = cli.read("README.md")
    local block = readme:match("<!%-%- make%-install 5%.4:[^\n]*%-%->\n```sh\n(.-)```")
    assert.truthy(block, "no make-install block in README.md")
    local home = os.tmpname()
    os.remove(home)
    assert(support.run("mkdir " .. home) == 0)
    support.defer(function() support.run("rm -rf " .. home) end)
    -- as a user runs it: none of the suite's variables
    local code, out, err = support.run("unset LUA LD_PRELOAD WERROR MAKEFLAGS MFLAGS MAKELEVEL LUA_PATH LUA_CPATH "
      .. "LUA_PATH_5_4 LUA_CPATH_5_4 "
      .. "&& export HOME=" .. home .. " && make -s install PREFIX=\"$HOME/.local\" >/dev/null && cd " .. home
      .. " && " .. block:gsub("\n", " && "):gsub(" && $", "")
      .. " && lua5.4 -e 'io.write(package.searchpath(\"supermetrics\", package.path))'", { limit = 300 })
    assert.are.equal(0, code, out .. err)
    -- found where make install put it, not elsewhere on the default paths
    assert.are.equal(supermetrics._VERSION .. "\n" .. home .. "/.local/share/lua/5.4/supermetrics/init.lua", out)
    -- every module of the tree installed, each in its place (a folder left
    -- out of the install lists once: the cache's stores)
    local function modules(dir)
      local _, list = support.run("cd " .. dir .. " && find . -name '*.lua' -not -path './types/*' | sort")
      return list
    end
    local tree = modules("lua/supermetrics")
    assert.truthy(tree:find("./cache/memory.lua", 1, true), tree)
    assert.are.equal(tree, modules(home .. "/.local/share/lua/5.4/supermetrics"))
  end)

  it("the tests README's busted line runs a spec under the Lua named", function()
    local readme = cli.read("tests/README.md")
    local block = readme:match("<!%-%- busted%-by%-hand:[^\n]*%-%->\n```sh\n(.-)```")
    assert.truthy(block, "no busted-by-hand block in tests/README.md")
    local line = assert(block:match("\n(lua5%.4 /usr/bin/busted [^\n]+)"), block)
    local spec = "tests/tmp/by-hand-" .. support.nonce() .. "_spec.lua"
    assert(support.run("mkdir -p tests/tmp") == 0)
    cli.write(spec, 'describe("by hand", function() it("loads the module", function() '
      .. 'assert.are.equal("' .. supermetrics._VERSION .. '", require("supermetrics")._VERSION) end) end)\n')
    -- under the Lua the suite runs (luajit /usr/bin/busted likewise), its build
    line = line:gsub("tests/spec/09%-list_spec%.lua", spec):gsub("^lua5%.4", support.LUA)
    local code, out, err = support.run("env -u LD_PRELOAD " .. line, { limit = 120 })
    os.remove(spec)
    assert.are.equal(0, code, out .. err)
    assert.truthy(out:find("1 success / 0 failures / 0 errors", 1, true), out)
  end)

  it("err.argument names SUPERMETRICS_API_KEY for a key from it missing or empty alike", function()
    local script = "package.path = './lua/?.lua;./lua/?/init.lua;' .. package.path; "
      .. "package.cpath = os.getenv('SM_BUILD_DIR') .. '/?.so;' .. package.cpath; "
      .. "local ok, err = pcall(require('supermetrics').new, {}); io.write(err.code, ' ', tostring(err.argument))"
    for _, env in ipairs { "env -u SUPERMETRICS_API_KEY", "env SUPERMETRICS_API_KEY=",
        "env SUPERMETRICS_API_KEY=' '" } do
      local code, out, err = support.run(env .. " " .. support.LUA .. " -e " .. cli.quote(script))
      assert.are.equal(0, code, err)
      assert.are.equal("INVALID_ARGUMENT SUPERMETRICS_API_KEY", out, env)
    end
    local err = support.catch(supermetrics.new, { api_key = "" })
    assert.are.equal("api_key", err.argument)
  end)
end)
