-- The supermetrics-logs command line, end to end against the stand-in, as
-- a user runs it: commands, formats, fields, filters, messages, the key,
-- exit statuses and output that cannot be written. tail, following and
-- Ctrl-C are in 22-cli_tail_spec.lua.
local cjson = require "cjson"
local support = require "tests.spec.support"
local cli = require "tests.spec.cli_support"

local run, lines, ids = cli.run, cli.lines, cli.ids


-- The request lines --verbose wrote.
local function requests(err)
  local n = 0
  for _ in err:gmatch("supermetrics%-logs: GET ") do n = n + 1 end
  return n
end

describe("supermetrics-logs", function()
  after_each(support.cleanup) -- terminals a failed test left open

  describe("commands", function()
    it("get prints the entry as JSON", function()
      local code, out, err = run("get 936506 T3S70 123")
      assert.are.equal(0, code, err)
      assert.are.same(support.SEED, cjson.decode(out))
      assert.are.equal("", err)
    end)

    it("list prints a JSON array of one page", function()
      local code, out = run("list 1 paged-10-1 --limit 4")
      assert.are.equal(0, code)
      local entries = cjson.decode(out)
      assert.are.equal(4, #entries)
      assert.are.equal("e4", entries[4].id)
    end)

    it("list --all --format ndjson streams every entry, one per line", function()
      local code, out, err = run("list 1 paged-250-3 --all --limit 40 --format ndjson")
      assert.are.equal(0, code)
      local got = lines(out)
      assert.are.equal(250, #got)
      assert.are.equal("e250", cjson.decode(got[250]).id)
      assert.are.equal("", err) -- no progress line when stderr is not a terminal
    end)

    it("list --until (and its old name --before) is passed on", function()
      for _, flag in ipairs { "--until", "--before" } do
        local _, out = run("list 1 paged-12-3 " .. flag .. " 2025-05-31T23:59:00Z --format ndjson")
        assert.are.equal("e4", ids(out)[1])
      end
    end)

    -- --until is "at or before" whatever the server's before: asked for
    -- just after it (41-export_spec), what is newer left out.
    it("list --until goes out as an RFC 3339 date-time in UTC, whatever form it was typed in", function()
      for typed, sent in pairs { ["2025-06-01"] = "2025-06-01T00:00:01Z",
          ["2025-06-01T10:30"] = "2025-06-01T10:30:01Z", ["2025-06-01T12:30:00.5+02:00"] = "2025-06-01T10:30:00.6Z" } do
        local code, out, err = run("list 1 echo --until " .. typed)
        assert.are.equal(0, code, err)
        assert.are.equal(sent, cjson.decode(out)[1].before)
      end
      local code, _, err = run("list 1 echo --until 2025-06-01T10")
      assert.are.equal(64, code)
      assert.truthy(err:find("--until", 1, true), err)
    end)

    it("fetch gets many ids; a failed one goes to stderr and sets the exit status", function()
      local code, out, err = run("fetch 1 T3S70 a b . c --format ndjson")
      assert.are.equal(64, code)
      assert.are.same({ "a", "b", "c" }, ids(out))
      assert.are.equal('.: LOG must be 1 to 255 bytes long, and not "." or ".."\n', err)
    end)

    it("takes ids starting with '-' after --", function()
      local code, out = run("get 1 echo -- -5x")
      assert.are.equal(0, code)
      assert.are.equal("-5x", cjson.decode(out).id)
    end)

    it("prints help and version", function()
      local code, out = run("--help")
      assert.are.equal(0, code)
      for _, word in ipairs { "Exit status", "tail TEAM CONNECTOR", "--status", "--fields", "csv" } do
        assert.truthy(out:find(word, 1, true), word)
      end
      local _, version = run("--version")
      assert.truthy(version:find(require("supermetrics")._VERSION, 1, true))
    end)
  end)

  describe("formats and fields #abi", function()
    it("prints an aligned table", function()
      local code, out = run("list 1 paged-3-1 --format table")
      assert.are.equal(0, code)
      local t = lines(out)
      assert.are.equal(4, #t)
      assert.truthy(t[1]:find("^ID%s+LOG_TIME%s+STATUS%s+DURATION_MS%s+EVENT%s+REQUEST$"))
      -- columns line up: LOG_TIME starts at the same place on every line
      local col = t[1]:find("LOG_TIME", 1, true)
      for i = 2, 4 do
        assert.are.equal(col, t[i]:find("2025", 1, true))
      end
    end)

    it("streams a table with --all instead of measuring every row first", function()
      -- head takes two lines and leaves: a streamed table has its first
      -- rows out after the first pages; a measured one only after all 500.
      local code, out, made, err = cli.into_head("list 1 paged-5000-1 --all --limit 10 --format table", 2)
      assert.are.equal(0, code)
      local t = lines(out)
      assert.truthy(t[1]:find("^ID%s+LOG_TIME"))
      assert.truthy(t[2]:find("^e1%s+2025"))
      assert.is_true(made >= 1 and made < 100, made .. " requests")
      assert.is_nil(err:find("cannot write", 1, true))
    end)

    it("writes CSV per RFC 4180: header, CRLF, quoting, nested values as JSON", function()
      local code, out = run("list 1 odd --format csv")
      assert.are.equal(0, code)
      assert.are.equal("id,log_time,status,event,request,duration_ms,request_id\r\n"
        .. 'o1,2025-06-01T00:00:00Z,200,"say ""hi"", then go",GET /a next line,1.5,\r\n', out)
      local _, raw = run("list 1 odd --format csv --csv-raw")
      assert.are.equal("id,log_time,status,event,request,duration_ms,request_id\r\n"
        .. 'o1,2025-06-01T00:00:00Z,200,"say ""hi"", then go","GET /a\nnext line",1.5,\r\n', raw)
      local _, nested = run("list 1 odd --format csv --fields id,meta,meta.tags")
      assert.are.equal('id,meta,meta.tags\r\no1,"{""step"":2,""tags"":[""a"",""b""]}","[""a"",""b""]"\r\n', nested)
      local _, empty = run("list 1 paged-0-1 --format csv --fields id,status")
      assert.are.equal("id,status\r\n", empty)
    end)

    describe("server text a terminal or a spreadsheet must not obey", function()
      local FIELDS = "--fields id,event,request,duration_ms,request_id,note,tab,dash,cr"

      it("CSV: escape sequences as spaces, formula-looking text guarded with ' and quotes", function()
        local code, out, err = run("list 1 evil --format csv " .. FIELDS)
        assert.are.equal(0, code, err)
        assert.are.equal("id,event,request,duration_ms,request_id,note,tab,dash,cr\r\n"
          .. [["'=1+1", ]0;title  [2Jboom,"'+x",-5,"'-x","'@SUM(A1)","' cmd","'-5","' =2"]] .. "\r\n", out)
        assert.is_nil(out:find("\27", 1, true))
        assert.is_nil(out:find("\7", 1, true))
      end)

      it("CSV with --csv-raw: every cell as sent", function()
        local code, out = run("list 1 evil --format csv --csv-raw " .. FIELDS)
        assert.are.equal(0, code)
        assert.are.equal("id,event,request,duration_ms,request_id,note,tab,dash,cr\r\n"
          .. "=1+1,\27]0;title\7\27[2Jboom,+x,-5,-x,@SUM(A1),\tcmd,-5,\"\r=2\"\r\n", out)
      end)

      it("tables: control characters as spaces", function()
        local _, out = run("list 1 evil --format table --fields id,event")
        assert.are.same({ "ID    EVENT", "=1+1   ]0;title  [2Jboom" }, lines(out))
      end)

      it("--csv-raw goes with --format csv only", function()
        local code, _, err = run("list 1 evil --csv-raw")
        assert.are.equal(64, code)
        assert.truthy(err:find("--csv-raw goes with --format csv", 1, true), err)
      end)
    end)

    it("--fields picks and orders the columns in every format", function()
      local fields = "--fields status,id,meta.step,missing"
      local _, json = run("list 1 odd " .. fields)
      assert.are.equal('[\n  {"status":200,"id":"o1","meta.step":2,"missing":null}\n]\n', json)
      local _, ndjson = run("list 1 odd --format ndjson " .. fields)
      assert.are.equal('{"status":200,"id":"o1","meta.step":2,"missing":null}\n', ndjson)
      local _, get = run("get 1 T3S70 7 --fields id,status")
      assert.are.equal('{"id":"7","status":200}\n', get)
      local _, csv = run("list 1 odd --format csv " .. fields)
      assert.are.equal("status,id,meta.step,missing\r\n200,o1,2,\r\n", csv)
      local _, tbl = run("list 1 odd --format table " .. fields)
      assert.are.same({ "STATUS  ID  META.STEP  MISSING", "200     o1  2          -" }, lines(tbl))
      local code, _, err = run("list 1 odd --fields id,,status")
      assert.are.equal(64, code)
      assert.truthy(err:find("--fields", 1, true))
    end)

    it("colors 4xx and 5xx statuses in a table on a terminal, unless NO_COLOR or --no-color", function()
      local screens = {}
      for i, variant in ipairs { "", "--no-color", "NO_COLOR=1" } do
        local term = cli.terminal()
        local env = variant:find("=") and ("SUPERMETRICS_API_KEY=" .. support.KEY .. " " .. variant) or nil
        term.run(cli.command(env) .. " list 1 mixed --format table --fields id,status "
          .. (variant:find("=") and "" or variant))
        term.finished()
        screens[i] = term.screen(true)
        term.close()
      end
      assert.truthy(screens[1]:find("m6  \27%[31m503"), screens[1])
      assert.truthy(screens[1]:find("m3  \27%[33m404"), screens[1])
      assert.truthy(screens[1]:find("m2  200"), screens[1])
      for i = 2, 3 do
        assert.is_nil(screens[i]:find("\27[3", 1, true), screens[i])
        assert.truthy(screens[i]:find("m6  503", 1, true), screens[i])
      end
      -- and never into a file or pipe
      local _, out = run("list 1 mixed --format table")
      assert.is_nil(out:find("\27", 1, true))
    end)
  end)

  describe("filters", function()
    local cases = {
      { "--status 5xx", { "m6", "m5" } },
      { "--status 404", { "m3" } },
      { "--status 400-499", { "m4", "m3" } },
      { "--status 404,5xx", { "m6", "m5", "m3" } },
      { "--status 200 --status 429", { "m4", "m2", "m1" } },
      { "--event 'query.*'", { "m6", "m5", "m4", "m2" } },
      { "--event '*.f?il'", { "m6", "m5" } },
      { "--event 'auth.[lt]*' --status 2xx", { "m1" } },
      { "--since 2025-06-01T00:05:00Z", { "m6", "m5" } },
      { "--until 2025-06-01T00:01:00Z", { "m1" } },
      { "--since 2025-06-01T00:02:00Z --until 2025-06-01T00:04:00Z --status 4xx", { "m4", "m3" } },
    }
    for _, case in ipairs(cases) do
      it("list " .. case[1], function()
        local code, out, err = run("list 1 mixed --format ndjson " .. case[1])
        assert.are.equal(0, code, err)
        assert.are.same(case[2], ids(out))
      end)
    end

    it("fetch filters too; get does not take filters", function()
      local _, out = run("fetch 1 T3S70 a b --status 5xx --format ndjson")
      assert.are.equal("", out)
      local _, all = run("fetch 1 T3S70 a b --status 200 --format ndjson")
      assert.are.same({ "a", "b" }, ids(all))
      local code, _, err = run("get 1 T3S70 a --status 200")
      assert.are.equal(64, code)
      assert.truthy(err:find("--status does not go with get", 1, true))
    end)

    it("list --all --since stops paging once entries are older than the bound", function()
      -- paged-250-1: e1 at 2025-06-01T00:00:00Z, then one a minute earlier each
      local code, out, err = run("list 1 paged-250-1 --all --limit 10 --format ndjson --verbose "
        .. "--since 2025-05-31T23:35:00Z --until 2025-05-31T23:55:00Z")
      assert.are.equal(0, code, err)
      local got = ids(out)
      assert.are.equal(21, #got)
      assert.are.equal("e6", got[1])
      assert.are.equal("e26", got[21])
      assert.are.equal(3, requests(err)) -- not 25: the third page reached past --since
    end)

    it("refuses bad filters as usage errors", function()
      for _, bad in ipairs { "--status 7xx", "--status 40", "--status 500-400", "--status ''",
        "--since yesterday", "--until 5", "--since 10x" } do
        local code, out, err = run("list 1 mixed " .. bad)
        assert.are.equal(64, code, bad)
        assert.are.equal("", out)
        assert.truthy(err:find("^supermetrics%-logs: %-%-%a+"), err)
      end
    end)
  end)

  describe("durations #abi", function()
    it("takes --timeout as 30s, 5m, 1m30s or plain seconds", function()
      local quick = 0 -- the longest a run that waits for nothing took (ASan, a loaded machine)
      for _, value in ipairs { "30s", "5m", "1m30s", "2", "0.5m", "1500ms" } do
        local t0 = support.now()
        local code, _, err = run("get 1 T3S70 1 --timeout " .. value)
        quick = math.max(quick, support.now() - t0)
        assert.are.equal(0, code, value .. ": " .. err)
      end
      local started = support.now()
      local code, _, err = run("get 1 slow 4000-" .. support.nonce() .. " --timeout 500ms")
      assert.are.equal(69, code)
      assert.truthy(err:find("TIMEOUT", 1, true), err)
      local took = support.now() - started
      assert.is_true(took < 2.5 + quick, "took " .. took .. " s (a quick run " .. quick .. " s)")
      for _, bad in ipairs { "5x", "m", "-1s", "1h-", "" } do
        local bad_code, _, bad_err = run("get 1 T3S70 1 --timeout '" .. bad .. "'")
        assert.are.equal(64, bad_code, bad)
        assert.truthy(bad_err:find("--timeout", 1, true), bad_err)
      end
    end)
  end)

  describe("stderr", function()
    it("--verbose shows each request: method, path, status, attempt, time, request id; never the key", function()
      local nonce = support.nonce()
      local code, _, err = run("get 1 retry " .. nonce .. "-1-503-0 --verbose")
      assert.are.equal(0, code, err)
      local l = lines(err)
      assert.are.equal(2, #l, err)
      assert.truthy(l[1]:find("^supermetrics%-logs: GET /v1/teams/1/connector_builder/connectors/retry/logs/"
        .. nonce .. "%-1%-503%-0 %-> 503 SERVICE_UNAVAILABLE, attempt 1, %d+ ms, request id req_retry_503_1$"), l[1])
      assert.truthy(l[2]:find("%-> 200, attempt 2, %d+ ms, request id req_%x+$"), l[2])
      assert.is_nil(err:find(support.KEY, 1, true))
    end)

    it("--quiet leaves only errors on stderr", function()
      local path = cli.key_file("644")
      local _, _, loud = run("--key-file " .. path .. " get 1 T3S70 1", "SUPERMETRICS_X=1")
      local code, _, err = run("--quiet --key-file " .. path .. " get 1 T3S70 1", "SUPERMETRICS_X=1")
      local fail_code, _, fail_err = run("-q --key-file " .. path .. " get 1 status 404", "SUPERMETRICS_X=1")
      os.remove(path)
      assert.truthy(loud:find("warning", 1, true))
      assert.are.equal(0, code)
      assert.are.equal("", err)
      assert.are.equal(66, fail_code)
      assert.truthy(fail_err:find("NOT_FOUND", 1, true))
    end)

    it("shows a progress line when stderr is a terminal (tmux), not with --quiet", function()
      for _, quiet in ipairs { false, true } do
        local out_file = os.tmpname()
        local term = cli.terminal(100)
        term.run(cli.command() .. " list 1 paged-250-1 --all --limit 50 --format ndjson "
          .. (quiet and "--quiet " or "") .. "> " .. out_file)
        term.finished()
        local screen = term.screen()
        term.close()
        local written = cli.read(out_file)
        os.remove(out_file)
        assert.are.equal(not quiet, screen:find("supermetrics-logs: 250 entries in 6 pages", 1, true) ~= nil, screen)
        assert.are.equal(250, #lines(written))
        assert.is_nil(written:find("supermetrics-logs:", 1, true))
      end
    end)
  end)

  describe("exit status", function()
    for _, case in ipairs {
      { "get 1 status 404", 66 }, { "get 1 status 409-custom", 66 }, { "get 1 status 401", 65 },
      { "get 1 status 403", 65 }, { "get 1 status 503 --retries 0", 69 }, { "get 1 status 429 --retries 0", 75 },
      { "get 1 close x --retries 0", 69 }, { "get 1 shape array", 1 }, { "get 0 T3S70 1", 64 },
      { "get 1 T3S70", 64 }, { "frobnicate 1 2 3", 64 }, { "get 1 T3S70 1 --format xml", 64 },
      { "get 1 T3S70 1 --all", 64 }, { "--timeout", 64 }, { "tail 1 C --interval 1", 64 },
    } do
      it(case[2] .. " for: " .. case[1], function()
        local code, out, err = run(case[1])
        assert.are.equal(case[2], code, err)
        assert.are.equal("", out)
        assert.are.equal(1, select(2, err:gsub("supermetrics%-logs: ", "")), err)
      end)
    end

    it("a full disk is an error (74), one line, not a success", function()
      local code, _, err = support.run(cli.command() .. " list 1 paged-3000-1 --all --format ndjson > /dev/full")
      assert.are.equal(74, code)
      assert.are.equal("supermetrics-logs: cannot write the output: No space left on device\n", err)
      -- also when the output fits in one buffer and only the last flush fails
      local small, _, small_err = support.run(cli.command() .. " get 1 T3S70 1 > /dev/full")
      assert.are.equal(74, small)
      assert.truthy(small_err:find("cannot write", 1, true))
    end)

    it("a reader that leaves (| head) ends it quietly, with SIGPIPE default or ignored", function()
      for _, prefix in ipairs { "", "trap '' PIPE; " } do
        local code, out, err = support.run(prefix .. cli.command()
          .. " list 1 paged-3000-1 --all --format ndjson | head -1")
        assert.are.equal(0, code)
        assert.are.equal(1, #lines(out))
        assert.are.equal("", err)
      end
    end)
  end)

  describe("the key", function()
    it("is never taken from the command line", function()
      for _, flag in ipairs { "--api-key api_test_key", "--key=api_test_key", "--token otok_x" } do
        local code, _, err = run(flag .. " get 1 T3S70 1")
        assert.are.equal(64, code)
        assert.truthy(err:find("never taken from the command line", 1, true))
        assert.is_nil(err:find("api_test_key", 1, true))
      end
    end)

    it("comes from --key-file FILE, or standard input with --key-file -", function()
      local path = cli.key_file("600")
      local code, out, err = run("--key-file " .. path .. " get 936506 T3S70 123", "SUPERMETRICS_X=1")
      os.remove(path)
      assert.are.equal(0, code)
      assert.are.same(support.SEED, cjson.decode(out))
      assert.are.equal("", err) -- mode 600: no warning
      local stdin_code, stdin_out = support.run("echo " .. support.KEY .. " | " .. cli.command("SUPERMETRICS_X=1")
        .. " --key-file - get 936506 T3S70 123")
      assert.are.equal(0, stdin_code)
      assert.are.same(support.SEED, cjson.decode(stdin_out))
    end)

    it("says what is wrong with a key file, apart from usage errors", function()
      local dir = os.tmpname()
      os.remove(dir)
      assert(support.run("mkdir " .. dir) == 0)
      local empty = os.tmpname()
      assert(support.run("chmod 600 " .. empty) == 0)
      local cases = {
        { "--key-file " .. dir, 74, "is a directory" },
        { "--key-file " .. dir .. "/missing", 74, "No such file or directory" },
        { "--key-file " .. empty, 65, "the API key from --key-file " .. empty .. " is empty" },
      }
      for _, case in ipairs(cases) do
        local code, _, err = run(case[1] .. " get 1 T3S70 1", "SUPERMETRICS_X=1")
        assert.are.equal(case[2], code, err)
        assert.truthy(err:find(case[3], 1, true), err)
        assert.is_nil(err:find("Try supermetrics-logs --help", 1, true))
      end
      local code, _, err = support.run("echo -n | " .. cli.command("SUPERMETRICS_X=1") .. " --key-file - get 1 T3S70 1")
      assert.are.equal(65, code)
      assert.truthy(err:find("standard input", 1, true), err)
      os.remove(dir)
      os.remove(empty)
    end)

    it("warns when a key file can be read by other users", function()
      local path = cli.key_file("640")
      local code, _, err = run("--key-file " .. path .. " get 1 T3S70 1", "SUPERMETRICS_X=1")
      os.remove(path)
      assert.are.equal(0, code)
      assert.truthy(err:find("warning: " .. path .. " can be read by other users (mode 640); chmod 600", 1, true), err)
    end)

    it("names SUPERMETRICS_API_KEY and --key-file when there is none (65, not a usage error)", function()
      local code, _, err = run("get 1 T3S70 1", "SUPERMETRICS_X=1")
      assert.are.equal(65, code)
      assert.truthy(err:find("SUPERMETRICS_API_KEY", 1, true))
      assert.truthy(err:find("--key-file", 1, true))
      local bad, _, bad_err = run("get 1 T3S70 1", "SUPERMETRICS_API_KEY=$(printf 'a\\001b')")
      assert.are.equal(65, bad)
      assert.truthy(bad_err:find("the API key from SUPERMETRICS_API_KEY must be 1 to 16384 printable ASCII", 1, true),
        bad_err)
    end)
  end)

  it("speaks in its own words: no library names in what a user reads", function()
    local library_words = { "token_provider", "max_retries", "get_connector_logs", "team_id", "log_id",
      "connector_identifier", "base_url", "ca_file", "api_key", "page_size", "INVALID_ARGUMENT", "traceback" }
    for _, case in ipairs {
      "get 0 T3S70 1", "get 1 '' 1", "get 1 T3S70 ..", "--retries 1000 get 1 T3S70 1", "--timeout 0 get 1 T3S70 1",
      "--concurrency 0 fetch 1 T3S70 1", "list 1 T3S70 --limit 5000", "--base-url http://example.com get 1 T3S70 1",
      "--base-url https://a.example/x?y get 1 T3S70 1", "--ca-file /nonexistent get 1 T3S70 1",
      "list 1 T3S70 --status 9", "tail 1 T3S70 --follow --interval 0",
    } do
      local code, _, err = run(case)
      assert.are.equal(64, code, case .. ": " .. err)
      for _, word in ipairs(library_words) do
        assert.is_nil(err:find(word, 1, true), case .. " says " .. word .. ": " .. err)
      end
    end
  end)
end)
