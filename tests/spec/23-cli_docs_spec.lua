-- What documents the command line agrees with it: the man page and the
-- bash completion know every option --help shows, and every example in the
-- README's command-line section (under Quick start) runs against the stand-in.
local support = require "tests.spec.support"
local cli = require "tests.spec.cli_support"

local MAN = "share/man/man1/supermetrics-logs.1"
local COMPLETION = "share/bash-completion/completions/supermetrics-logs"

-- The long options and commands --help names.
local function help_words()
  local _, help = cli.run("--help")
  local words = {}
  for option in help:gmatch("%-%-[%a][%w-]*") do words[option] = true end
  for _, command in ipairs { "get", "list", "fetch", "tail" } do words[command] = true end
  return words
end

-- What the completion function offers for the words typed so far (the
-- last one is the word being completed; "''" for an empty one).
local function complete(...)
  local words = { "supermetrics-logs", ... }
  local script = "source " .. COMPLETION .. "; COMP_WORDS=(" .. table.concat(words, " ") .. "); "
    .. "COMP_CWORD=" .. (#words - 1) .. "; _supermetrics_logs; printf '%s\\n' \"${COMPREPLY[@]}\""
  local code, out, err = support.run("env -u LD_PRELOAD bash -c " .. cli.quote(script))
  assert.are.equal(0, code, err)
  return cli.lines(out)
end

describe("the man page", function()
  it("renders without warnings and names every option and command of --help", function()
    -- not under the sanitizer run's preloaded runtime: groff has leaks of its own
    local code, _, err = support.run("env -u LD_PRELOAD groff -man -Tutf8 -ww -z " .. MAN)
    assert.are.equal(0, code, err)
    assert.are.equal("", err)
    -- the page's text with groff's escapes undone
    local man = cli.read(MAN):gsub("\\%-", "-"):gsub("\\f[BIRP]", "")
    local help = help_words()
    for word in pairs(help) do
      assert.truthy(man:find(word, 1, true), word .. " is not in the man page")
    end
    -- and the other way: no option the page names is missing from --help
    for option in man:gmatch("%-%-[%a][%w-]*") do
      assert.is_true(help[option], option .. " is in the man page, not in --help")
    end
  end)

  it("says what --help says about --since and --until", function()
    local _, text = cli.run("--help")
    local man = cli.read(MAN):gsub("\\%-", "-"):gsub("\\f[BIRP]", "")
    assert.truthy(text:find("at or after / at or before", 1, true))
    assert.truthy(man:find("at or after, at or before", 1, true))
    -- the README in brief, docs/api.md's command line in full
    for _, doc in ipairs { "README.md", "docs/api.md" } do
      assert.truthy(cli.read(doc):gsub("%s+", " "):find("at or after / at or before", 1, true), doc)
    end
  end)
end)

describe("bash completion", function()
  it("offers every command and option of --help, and the formats", function()
    local offered = {}
    for _, w in ipairs(complete("''")) do offered[w] = true end
    for _, w in ipairs(complete("list", "1", "C", "--")) do offered[w] = true end
    local help = help_words()
    for word in pairs(help) do
      assert.is_true(offered[word], word .. " is not offered")
    end
    for word in pairs(offered) do
      assert.is_true(not word:find("^%-%-") or help[word], word .. " is offered, not in --help")
    end
    assert.are.same({ "json", "ndjson", "table", "csv" }, complete("get", "--format", "''"))
    assert.are.same({ "list" }, complete("li"))
    assert.are.same({}, complete("get", "1", "''")) -- ids: nothing to offer
  end)
end)

describe("the README's command-line examples", function()
  it("all run against the stand-in", function()
    local readme = cli.read("README.md")
    local section = readme:match("\n### Command line: `supermetrics%-logs`\n(.-)\n##")
    local block = assert(section:match("```sh\n(.-)```"))
    local home = os.tmpname()
    os.remove(home)
    assert(support.run("mkdir -p " .. home .. "/.config/supermetrics") == 0)
    cli.write(home .. "/.config/supermetrics/key", support.KEY .. "\n")
    assert(support.run("chmod 600 " .. home .. "/.config/supermetrics/key") == 0)
    local ran = 0
    for line in block:gmatch("[^\n]+") do
      local command = line:gsub("%s+#[^']*$", "")
      local args = assert(command:match("^supermetrics%-logs (.*)$"), line)
      local follow = args:find("--follow", 1, true)
      -- --follow runs until Ctrl-C: the example gets one, after 2 s (and
      -- SIGKILL 5 s later if that did not end it).
      local code, out, err = support.run("cd " .. home .. " && export HOME=" .. home .. " && "
        .. (follow and (support.SIGNALLED .. "timeout --preserve-status -k 5 -s INT 2 ") or "")
        .. cli.command() .. " " .. args)
      assert.are.equal(0, code, line .. ": " .. err)
      if not args:find("--verbose", 1, true) then
        assert.are.equal("", err, line)
      end
      if not args:find("--since 10m", 1, true) and not args:find(">", 1, true) then
        assert.truthy(#out > 0, line)
      end
      ran = ran + 1
    end
    assert.are.equal(7, ran)
    assert.truthy(#cli.read(home .. "/logs.csv") > 0)
    assert.truthy(#cli.read(home .. "/auth.ndjson") > 0)
    support.run("rm -rf " .. home)
  end)
end)
