-- One call in a fresh interpreter, for specs that need a process of its own
-- (an environment such as OPENSSL_CONF that libcurl reads once at start).
-- Usage: fetch.lua BASE_URL [CA_FILE]   (SM_BUILD_DIR: the module build)
-- Prints "ok <id>" or "error <CODE>"; exits 0 either way.
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = assert(os.getenv("SM_BUILD_DIR")) .. "/?.so;" .. package.cpath
local supermetrics = require "supermetrics"

local client = supermetrics.new {
  api_key = "api_test_key", base_url = assert(arg[1]), ca_file = arg[2], max_retries = 0, timeout = 10,
}
local ok, res = pcall(client.get_connector_log, client, 1, "T3S70", "tls")
client:close()
print(ok and ("ok " .. res.id) or ("error " .. tostring(res.code)))
