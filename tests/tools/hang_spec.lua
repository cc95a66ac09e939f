-- A spec file that never ends, for 32-bounds_spec.lua: the suite's runner
-- (tests/lib/busted.sh) must kill it at its budget and fail it by name. Its
-- test waits on a child that spins and ignores SIGINT and SIGTERM (pid in
-- SM_TEST_HANG_PID_FILE), so that the kill must reach past busted too.
describe("a spec file that hangs", function()
  it("never ends", function()
    local pid_file = assert(os.getenv("SM_TEST_HANG_PID_FILE"))
    os.execute("sh -c 'echo $$ > " .. pid_file .. "; trap \"\" INT TERM; while :; do :; done'")
  end)
end)
