-- Runs the gateway script (tests/tools/gateway.lua) outside nginx: params
-- as JSON in arg[1], the outcome as JSON on stdout. The stand-in's URLs and
-- CA come from SM_TEST_*; a proxy may come from the environment.
package.path = "./lua/?.lua;./lua/?/init.lua;./?.lua;" .. package.path
package.cpath = assert(os.getenv("SM_BUILD_DIR"), "SM_BUILD_DIR not set") .. "/?.so;" .. package.cpath
local cjson = require "cjson"
local gateway = require "tests.tools.gateway"

local params = cjson.decode((assert(arg[1], "usage: gateway_run.lua PARAMS_JSON")))
io.write(cjson.encode(gateway.run(params, {
  http = os.getenv("SM_TEST_HTTP_URL"),
  https = os.getenv("SM_TEST_HTTPS_LOCALHOST_URL"),
  ca = os.getenv("SM_TEST_CA"),
})))
