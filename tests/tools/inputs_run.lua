-- Runs the inputs script (tests/tools/inputs.lua) outside nginx in a child
-- process: params as JSON in arg[1], the outcome as JSON on stdout. The
-- module comes from SM_BUILD_DIR (a build of the spec's choosing); a proxy
-- may come from the environment.
package.path = "./lua/?.lua;./lua/?/init.lua;./?.lua;" .. package.path
package.cpath = assert(os.getenv("SM_BUILD_DIR"), "SM_BUILD_DIR not set") .. "/?.so;" .. package.cpath
local cjson = require "cjson"
local inputs = require "tests.tools.inputs"

io.write(cjson.encode(inputs.run(cjson.decode((assert(arg[1], "usage: inputs_run.lua PARAMS_JSON"))))))
