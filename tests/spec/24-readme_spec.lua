-- Every example in README.md runs, or is an excerpt of something that runs:
-- Lua blocks run against the stand-in; the make block builds and installs
-- into a scratch home; the nginx block and the handler lines are taken from
-- examples/openresty, which 08-openresty_spec starts unchanged. The
-- LuaRocks blocks run in tests/tools/rock.sh, the command-line block in
-- 23-cli_docs_spec.
local support = require "tests.spec.support"
local cli = require "tests.spec.cli_support"

local README = cli.read("README.md")

-- The README's fenced blocks: { lang =, text =, before = the text before it }.
local function blocks()
  local out, pos = {}, 1
  while true do
    local start, stop, lang, text = README:find("```(%w*)\n(.-)```", pos)
    if not start then
      return out
    end
    out[#out + 1] = { lang = lang, text = text, before = README:sub(1, start - 1) }
    pos = stop + 1
  end
end

-- The heading (## or ###) the block is under.
local function section_of(block)
  local heading
  for h in block.before:gmatch("\n###? ([^\n]+)") do heading = h end
  return heading
end

-- Lines without comments and surrounding blanks, as a set.
local function normalized(text, comment)
  local set = {}
  for line in text:gmatch("[^\n]+") do
    line = line:gsub("%s*" .. comment .. ".*$", ""):match("^%s*(.-)%s*$")
    if line ~= "" then set[line] = true end
  end
  return set
end

local function run_lua(text)
  local path = os.tmpname()
  cli.write(path, text)
  local code, out, err = support.run(table.concat({
    "env LUA_PATH='./lua/?.lua;./lua/?/init.lua;;'",
    "LUA_CPATH='" .. os.getenv("SM_BUILD_DIR") .. "/?.so;;'",
    "SUPERMETRICS_API_KEY=" .. support.KEY, "SUPERMETRICS_BASE_URL=" .. support.HTTP,
    support.LUA, path,
  }, " "))
  os.remove(path)
  return code, out, err
end

describe("README.md", function()
  local all = blocks()

  -- The front page of the manual (issue 28): under 300 lines, with install,
  -- the quick starts, the tables and the gates; the rest is in docs/.
  it("is the manual's front page: under 300 lines, the rest linked", function()
    local lines = select(2, README:gsub("\n", "\n"))
    assert.is_true(lines < 300, lines .. " lines")
    local headings = {}
    for h in ("\n" .. README):gmatch("\n###? ([^\n]+)") do headings[#headings + 1] = h end
    for _, want in ipairs { "Install", "Debian packages", "From a source rock (LuaRocks)", "With make",
      "Quick start", "Lua", "OpenResty / nginx", "Command line: `supermetrics-logs`", "API", "Errors",
      "Security", "Which gate to run" } do
      local found = false
      for _, h in ipairs(headings) do found = found or h == want end
      assert.is_true(found, "no heading " .. want)
    end
    for _, table_header in ipairs { "| method | returns |", "| option of `new` | default | meaning |",
      "| code | when | retried |", "| exit status | when |" } do
      assert.truthy(README:find(table_header, 1, true), table_header)
    end
    for _, gate in ipairs { "`make check`", "`make test`", "`make test-all`" } do
      assert.truthy(README:find("\n%- " .. gate:gsub("%p", "%%%0")), gate .. " has no line of its own")
    end
    for _, doc in ipairs { "docs/api.md", "docs/nginx.md", "docs/hardening.md", "docs/design.md",
      "tests/README.md", "SECURITY.md" } do
      assert.truthy(README:find("](" .. doc, 1, true), doc .. " is not linked")
    end
  end)

  -- Every option of new() the library accepts has a row in the README's
  -- table (and docs/api.md has its details).
  it("lists every option of new", function()
    local api = cli.read("docs/api.md")
    local at = assert(README:find("| option of `new` |", 1, true))
    local rows = README:sub(at):match("^(.-)\n\n")
    for option in api:match("| option | default | meaning |\n(.-)\n\n"):gmatch("\n| `([%w_]+)` |") do
      assert.truthy(rows:find("`" .. option .. "`", 1, true), option .. " is not in the README's table")
    end
  end)

  it("has no block this spec does not know how to check", function()
    for _, b in ipairs(all) do
      local known = b.lang == "lua" or b.lang == "nginx" or b.lang == "sh"
      assert.is_true(known, "a ```" .. b.lang .. " block")
    end
  end)

  it("Lua examples run against the stand-in", function()
    local ran = 0
    for _, b in ipairs(all) do
      if b.lang == "lua" and section_of(b) ~= "OpenResty / nginx" then
        local code, out, err = run_lua(b.text)
        assert.are.equal(0, code, b.text .. "\n" .. err)
        assert.are.equal("", err)
        assert.truthy(#out > 0)
        ran = ran + 1
        if ran == 1 then
          assert.are.equal("auth.token.refresh\t200\t253\n", out) -- what its comment says
        end
      end
    end
    assert.are.equal(2, ran)
  end)

  it("the nginx lines are those of examples/openresty, which the suite runs", function()
    local conf = normalized(cli.read("examples/openresty/nginx.conf"), "#")
    local handler = normalized(cli.read("examples/openresty/handler.lua"), "%-%-")
    local checked = 0
    for _, b in ipairs(all) do
      if section_of(b) == "OpenResty / nginx" then
        local source = b.lang == "nginx" and conf or handler
        for line in pairs(normalized(b.text, b.lang == "nginx" and "#" or "%-%-")) do
          assert.is_true(source[line] or line == "http {" or line == "}", line)
          checked = checked + 1
        end
      end
    end
    assert.is_true(checked >= 10)
  end)

  it("the make lines build and install", function()
    local home = os.tmpname()
    os.remove(home)
    assert(support.run("mkdir " .. home) == 0)
    local ran = 0
    for _, b in ipairs(all) do
      if b.lang == "sh" and b.text:find("^make") then
        for line in b.text:gmatch("[^\n]+") do
          -- as a user runs it: none of the suite's variables (LUA, the
          -- sanitizer's preload, WERROR, and make's own: under `make check
          -- LUA=luajit` MAKEFLAGS passes LUA=luajit on to this make)
          local code, out, err = support.run("unset LUA LD_PRELOAD WERROR MAKEFLAGS MFLAGS MAKELEVEL && export HOME="
            .. home .. " && "
            .. line:gsub("%s+#.*$", ""))
          assert.are.equal(0, code, line .. "\n" .. out .. err)
          ran = ran + 1
        end
      end
    end
    assert.are.equal(3, ran)
    local installed = home .. "/.local"
    for _, file in ipairs { "/lib/lua/5.4/supermetrics/core.so", "/share/lua/5.4/supermetrics/cli/args.lua",
      "/bin/supermetrics-logs", "/share/man/man1/supermetrics-logs.1",
      "/share/bash-completion/completions/supermetrics-logs" } do
      assert.truthy(io.open(installed .. file), file)
    end
    support.run("rm -rf " .. home)
  end)

  it("the other shell blocks are run elsewhere", function()
    local rock = cli.read("tests/tools/rock.sh")
    for _, b in ipairs(all) do
      if b.lang == "sh" and not b.text:find("^make") then
        local marked = b.before:match("<!%-%- rock%-install ([%w.]+):[^\n]*%-%->\n$")
        -- after make install: 42-format_spec runs them
        local loads = b.before:match("<!%-%- make%-install ([%w.]+):[^\n]*%-%->\n$")
        local is_cli = section_of(b) == "Command line: `supermetrics-logs`"
        assert.is_true(marked ~= nil or loads ~= nil or is_cli, b.text)
        if marked then
          assert.truthy(rock:find("rock-install", 1, true))
        end
        if loads then
          assert.truthy(cli.read("tests/spec/42-format_spec.lua"):find("make-install", 1, true))
        end
      end
    end
  end)
end)
