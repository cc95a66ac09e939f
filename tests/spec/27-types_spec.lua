-- The type definitions for editors in types/ (lua-language-server's
-- supermetrics.lua and supermetrics/safe.lua, Teal's supermetrics.d.tl and
-- supermetrics/safe.d.tl) name every public function, option and field the
-- code has, and nothing it no longer has. The truth comes from the code as
-- it runs: the module tables, the client's and the safe client's method
-- tables, options.KNOWN and options.CALLS, entries, on_response events and
-- error values got from the stand-in, and the field and code tables of
-- docs/api.md. Neither lua-language-server nor tl is packaged for Debian,
-- so the files are read by the small parsers below, which refuse any line
-- they do not understand.
local options = require "supermetrics.options"
local safe = require "supermetrics.safe"
local supermetrics = require "supermetrics"
local support = require "tests.spec.support"
local cli = require "tests.spec.cli_support"

local LUALS, LUALS_SAFE = "types/supermetrics.lua", "types/supermetrics/safe.lua"
local TEAL, TEAL_SAFE = "types/supermetrics.d.tl", "types/supermetrics/safe.d.tl"

-- Error fields declared before the code that sets them lands (none now):
-- once the code sets one or docs/api.md lists it, it is part of the truth.
local AHEAD = {}

local function union(...)
  local s = {}
  for i = 1, select("#", ...) do
    for k in pairs((select(i, ...))) do s[k] = true end
  end
  return s
end

local function sorted(s)
  local list = {}
  for k in pairs(s) do list[#list + 1] = k end
  table.sort(list)
  return list
end

local function string_keys(t)
  local s = {}
  for k in pairs(t) do
    if type(k) == "string" then s[k] = true end
  end
  return s
end

-- declared must be truth (plus what `ahead` allows), name for name.
local function same_names(what, truth, declared, ahead)
  ahead = ahead or {}
  local missing, gone = {}, {}
  for k in pairs(truth) do
    if not declared[k] then missing[#missing + 1] = k end
  end
  for k in pairs(declared) do
    if not truth[k] and not ahead[k] then gone[#gone + 1] = k end
  end
  table.sort(missing)
  table.sort(gone)
  assert(#missing == 0, what .. " does not declare: " .. table.concat(missing, ", "))
  assert(#gone == 0, what .. " declares what the code does not have: " .. table.concat(gone, ", "))
end

-- lua-language-server's file: its classes (fields, and the functions
-- declared on the local that follows a class), aliases with their literals,
-- and which class each method's `opts` parameter is.
local function read_luals(path)
  local text = cli.read(path)
  local chunk, why = (loadstring or load)(text, "@" .. path)
  assert(chunk, why)
  local defs = { classes = {}, aliases = {} }
  local class, alias, var_class, params = nil, nil, {}, {}
  local n = 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    local where = path .. ":" .. n .. ": "
    local tag, rest = line:match("^%-%-%-@(%w+)%s*(.*)$")
    if n == 1 then
      defs.meta = assert(line:match("^%-%-%-@meta ([%w_.]+)$"), where .. "the first line must be ---@meta NAME")
    elseif tag == "class" then
      local name = assert(rest:match("^([%w_.]+)$"), where .. line)
      assert(not defs.classes[name], where .. "class " .. name .. " twice")
      class = { fields = {}, functions = {}, opts = {} }
      defs.classes[name], alias = class, nil
    elseif tag == "field" then
      local name = assert(rest:match("^([%w_]+)%??%s") or rest:match("^(%[string%])%s"), where .. line)
      assert(class, where .. "a field outside a class")
      if name ~= "[string]" then
        assert(not class.fields[name], where .. "field " .. name .. " twice")
        class.fields[name] = true
      end
    elseif tag == "alias" then
      local name = assert(rest:match("^([%w_.]+)"), where .. line)
      alias = {}
      defs.aliases[name], class = alias, nil
    elseif line:match("^%-%-%-|") then
      local literal = assert(line:match('^%-%-%-| "([%w_]+)"'), where .. line)
      assert(alias, where .. "a literal outside an alias")[literal] = true
    elseif tag == "param" then
      local name, ty = rest:match("^([%w_]+)%??%s+([%w_.|%[%]]+)")
      assert(name, where .. line)
      params[name] = ty
    elseif tag == "operator" or tag == "return" or line:match("^%-%-%-[^@|]") or line == "---" then
      class = tag == "operator" and class or nil -- doc text ends a class's fields
    elseif line:match("^local ") then
      local var = assert(line:match("^local ([%w_]+) = {}$"), where .. line)
      var_class[var] = assert(class, where .. "a local that follows no class")
      class = nil
    elseif line:match("^function ") then
      local var, name = line:match("^function ([%w_]+)[.:]([%w_]+)%(.*%) end$")
      assert(var and var_class[var], where .. line)
      var_class[var].functions[name] = true
      var_class[var].opts[name] = params.opts or false
      params, class = {}, nil
    elseif line:match("^return ") then
      defs.returns = assert(line:match("^return ([%w_]+)$"), where .. line)
      assert(var_class[defs.returns], where .. "returns no class")
    else
      assert(line == "" or (line:match("^%-%-") and not line:match("^%-%-%-")), where .. line)
      if line == "" then class = nil end
    end
  end
  return defs
end

-- Teal's file: its records (nested ones by name), with their fields,
-- metamethods, nested type names, and each field's type text; enums with
-- their strings. The parser is strict: the declarations use a subset of
-- Teal, one declaration a line, and anything else fails.
local function read_teal(path)
  local defs = { records = {}, enums = {} }
  local stack, n = {}, 0
  local function top()
    local t = stack[#stack]
    assert(t, path .. ":" .. n .. ": outside any record")
    return t
  end
  for raw in (cli.read(path) .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    local where = path .. ":" .. n .. ": "
    local line = raw:gsub("%s*%-%-.*$", ""):match("^%s*(.-)%s*$")
    local _, open = line:gsub("[({]", "")
    local _, close = line:gsub("[)}]", "")
    assert(open == close, where .. "unbalanced brackets")
    local name
    if line:match("^local record ") then
      name = assert(line:match("^local record ([%w_]+)$"), where .. line)
      assert(#stack == 0 and not defs.name, where .. "one top-level record")
      defs.name = name
      stack[1] = { fields = {}, metamethods = {}, types = {}, sig = {} }
      defs.records[name] = stack[1]
    elseif line:match("^record ") then
      name = assert(line:match("^record ([%w_]+)$"), where .. line)
      top().types[name] = true
      stack[#stack + 1] = { fields = {}, metamethods = {}, types = {}, sig = {} }
      assert(not defs.records[name], where .. "record " .. name .. " twice")
      defs.records[name] = stack[#stack]
    elseif line:match("^enum ") then
      name = assert(line:match("^enum ([%w_]+)$"), where .. line)
      top().types[name] = true
      stack[#stack + 1] = { enum = {} }
      defs.enums[name] = stack[#stack].enum
    elseif line == "end" then
      assert(table.remove(stack), where .. "end of nothing")
    elseif line:match('^"') then
      top().enum[assert(line:match('^"([%w_]+)"$'), where .. line)] = true
    elseif line:match("^type ") then
      name = assert(line:match("^type ([%w_]+) = [%w_.{}()|:?, ]+$"), where .. line)
      top().types[name] = true
    elseif line:match("^metamethod ") then
      name = assert(line:match("^metamethod (__%w+): function%(.*$"), where .. line)
      top().metamethods[name] = true
    elseif line:match("^local ") then
      assert(#stack == 0 and line:match('^local [%w_]+ = require%("[%w_.]+"%)$'), where .. line)
    elseif line:match("^return ") then
      assert(#stack == 0 and line == "return " .. tostring(defs.name), where .. line)
      defs.returns = defs.name
    elseif line ~= "" then
      local field, ty = line:match("^([%a_][%w_]*): ([%w_.{}()|:?, ]+)$")
      assert(field and not top().enum, where .. line)
      assert(not top().fields[field], where .. "field " .. field .. " twice")
      top().fields[field], top().sig[field] = true, ty
    end
  end
  assert(#stack == 0, path .. ": a record or enum is not closed")
  assert(defs.returns, path .. ": returns nothing")
  return defs
end

-- The Teal record's methods: fields and metamethods.
local function teal_methods(record)
  return union(record.fields, record.metamethods)
end

-- The option record a Teal method signature takes (nil for none).
local function teal_opts(sig)
  local ty = sig:match("[,(]%s*opts%?: ([%w_.]+)")
  return ty and ty:gsub("^%w+%.", "")
end

-- The public methods of a client: the functions its metatable's __index
-- holds, without `new` (the module's) and those named _private; the
-- metamethods (__close, __tostring) count.
local function methods_of(client)
  local s = {}
  for k, v in pairs(getmetatable(client).__index) do
    if type(k) == "string" and type(v) == "function" and k ~= "new" and (k:sub(1, 1) ~= "_" or k:sub(1, 2) == "__") then
      s[k] = true
    end
  end
  return s
end

-- The backticked names in the first column of a docs/api.md table that
-- lies between two headings.
local function doc_table(from, to)
  local api = cli.read("docs/api.md")
  local start = assert(api:find(from, 1, true), from)
  local stop = assert(api:find(to, start, true), to)
  local names = {}
  for cell in api:sub(start, stop):gmatch("\n| ([^|\n]+) |") do
    for name in cell:gmatch("`([%w_]+)`") do names[name] = true end
  end
  return names
end

describe("type definitions", function()
  local luals, luals_safe, teal, teal_safe
  local client, safe_client
  setup(function()
    luals, luals_safe = read_luals(LUALS), read_luals(LUALS_SAFE)
    teal, teal_safe = read_teal(TEAL), read_teal(TEAL_SAFE)
    client = support.client()
    safe_client = assert(safe.new { api_key = support.KEY, base_url = support.HTTP })
  end)
  teardown(function()
    if client then client:close() end
    if safe_client then safe_client:close() end
  end)

  it("are the modules they say they are", function()
    assert.are.equal("supermetrics", luals.meta)
    assert.are.equal("supermetrics.safe", luals_safe.meta)
    assert.is_truthy(luals.classes[luals.meta])
    assert.is_truthy(luals_safe.classes[luals_safe.meta])
    assert.are.equal("supermetrics", teal.name)
    assert.are.equal("safe", teal_safe.name)
  end)

  it("name every field and function of the modules", function()
    local function luals_module(defs)
      local class = defs.classes[defs.meta]
      return union(class.fields, class.functions)
    end
    -- Teal declares supermetrics.Error, the metatable, by the type of that name.
    local function teal_module(defs)
      local record = defs.records[defs.name]
      return union(record.fields, record.types.Error and { Error = true } or {})
    end
    same_names(LUALS, string_keys(supermetrics), luals_module(luals))
    same_names(LUALS_SAFE, string_keys(safe), luals_module(luals_safe))
    same_names(TEAL, string_keys(supermetrics), teal_module(teal))
    same_names(TEAL_SAFE, string_keys(safe), teal_module(teal_safe))
  end)

  it("name every method of the client and of the safe client", function()
    same_names(LUALS .. " (supermetrics.Client)", methods_of(client),
      luals.classes["supermetrics.Client"].functions)
    same_names(LUALS_SAFE .. " (supermetrics.SafeClient)", methods_of(safe_client),
      luals_safe.classes["supermetrics.SafeClient"].functions)
    same_names(TEAL .. " (Client)", methods_of(client), teal_methods(teal.records.Client))
    same_names(TEAL_SAFE .. " (SafeClient)", methods_of(safe_client), teal_methods(teal_safe.records.SafeClient))
  end)

  it("name every option of new", function()
    same_names(LUALS .. " (supermetrics.Options)", string_keys(options.KNOWN),
      luals.classes["supermetrics.Options"].fields)
    same_names(TEAL .. " (Options)", string_keys(options.KNOWN), teal.records.Options.fields)
  end)

  it("name every per-call option, on the method that takes it", function()
    local function check(what, method, declared, fields_of)
      local names = options.CALLS[method]
      if not names then
        assert(not declared, what .. ": " .. method .. " takes no options table")
        return
      end
      assert(declared, what .. ": " .. method .. " has no opts parameter")
      same_names(what .. " (" .. declared .. ", options of " .. method .. ")", names, fields_of(declared))
    end
    local function luals_fields(name) return assert(luals.classes[name], name).fields end
    local function teal_fields(name) return assert(teal.records[name], name).fields end
    local luals_client = luals.classes["supermetrics.Client"]
    local luals_safe_client = luals_safe.classes["supermetrics.SafeClient"]
    for method in pairs(union(methods_of(client), options.CALLS)) do
      check(LUALS, method, luals_client.opts[method], luals_fields)
      check(LUALS_SAFE, method, luals_safe_client.opts[method], luals_fields)
      check(TEAL, method, (teal_opts(teal.records.Client.sig[method] or "")), teal_fields)
      check(TEAL_SAFE, method, (teal_opts(teal_safe.records.SafeClient.sig[method] or "")), teal_fields)
    end
  end)

  it("name every field of an entry", function()
    local entry = client:get_connector_log(support.TEAM, "T3S70", "123")
    same_names(LUALS .. " (supermetrics.Entry)", string_keys(entry), luals.classes["supermetrics.Entry"].fields)
    same_names(TEAL .. " (Entry)", string_keys(entry), teal.records.Entry.fields)
  end)

  it("name every field of an on_response event", function()
    local events = {}
    local c = support.client { max_retries = 0, on_response = function(e) events[#events + 1] = e end }
    c:get_connector_log(1, "ratelimit", "742")
    support.fetch_error(c, "status", "429")
    c:close()
    local truth = doc_table("#### Observability", "Whatever the hook raises")
    for _, e in ipairs(events) do truth = union(truth, string_keys(e)) end
    same_names(LUALS .. " (supermetrics.ResponseEvent)", truth, luals.classes["supermetrics.ResponseEvent"].fields)
    same_names(TEAL .. " (ResponseEvent)", truth, teal.records.ResponseEvent.fields)
  end)

  it("name every field of an error, and nothing gone", function()
    local c = support.client { max_retries = 0 }
    local samples = {
      support.fetch_error(c, "status", "429"),      -- envelope, rate limits
      support.fetch_error(c, "status", "502-html"), -- no envelope
      support.catch(c.get_connector_log, c, 0, "x", "y"), -- INVALID_ARGUMENT
    }
    c:close()
    c = support.client { max_retries = 3, max_retry_wait = 2 }
    samples[#samples + 1] = support.fetch_error(c, "retry", support.nonce() .. "-1-429-30") -- retry_after
    c:close()
    c = support.client { api_key = false, token_provider = function() error("vault down") end }
    samples[#samples + 1] = support.fetch_error(c, "T3S70", "123") -- cause
    c:close()
    local truth = doc_table("\n### Errors\n", "\n#### Codes")
    for _, err in ipairs(samples) do
      assert.is_true(supermetrics.is_error(err))
      truth = union(truth, string_keys(err))
    end
    assert.is_true(truth.retry_after and truth.cause and truth.rate_limit and true)
    same_names(LUALS .. " (supermetrics.Error)", truth, luals.classes["supermetrics.Error"].fields, AHEAD)
    same_names(TEAL .. " (Error)", truth, teal.records.Error.fields, AHEAD)
    for name in pairs(AHEAD) do -- declared in both, or in neither
      assert.are.equal(luals.classes["supermetrics.Error"].fields[name], teal.records.Error.fields[name], name)
    end
  end)

  it("list the codes docs/api.md lists", function()
    local codes = {}
    for name in pairs(doc_table("\n#### Codes", "\n### Retry policy")) do
      if name:match("^[A-Z][A-Z_]+$") then codes[name] = true end
    end
    assert.is_true(#sorted(codes) >= 18)
    same_names(LUALS .. " (supermetrics.Code)", codes, luals.aliases["supermetrics.Code"])
    same_names(TEAL .. " (Code)", codes, teal.enums.Code)
  end)

  it("are installed by make install-lib and shipped by make dist", function()
    local makefile, dist = cli.read("Makefile"), cli.read("tools/dist.sh")
    for _, file in ipairs { LUALS, LUALS_SAFE, TEAL, TEAL_SAFE } do
      assert.truthy(makefile:find(file, 1, true), "Makefile does not install " .. file)
    end
    assert.truthy(dist:match("git ls%-files %-z [^\n]* types"), "tools/dist.sh does not ship types/")
  end)
end)
