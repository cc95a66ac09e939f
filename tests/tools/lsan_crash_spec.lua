-- A spec file for 32-bounds_spec.lua that ends as LeakSanitizer's crashing
-- tracer ends a run: its message on stderr, exit 1, no busted summary. Only
-- the first run does (SM_TEST_LSAN_STATE: a file that does not exist yet),
-- or every run with SM_TEST_LSAN_ALWAYS=1; otherwise its one test passes.
describe("a spec file whose leak checker crashes", function()
  it("passes when the checker does not crash", function()
    local state = assert(os.getenv("SM_TEST_LSAN_STATE"))
    local seen = io.open(state)
    if seen then
      seen:close()
    end
    if not seen or os.getenv("SM_TEST_LSAN_ALWAYS") == "1" then
      assert(io.open(state, "w")):close()
      io.stderr:write("Tracer caught signal 11: addr=0x0 pc=0x0 sp=0x0\n",
        "==1==LeakSanitizer has encountered a fatal error.\n")
      os.exit(1)
    end
  end)
end)
