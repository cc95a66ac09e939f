-- luacheck configuration, for the luacheck run of tests/run.sh (lua tests examples bench bin).
std = "max"
max_line_length = 120
files["tests/spec"] = { std = "+busted" }
files["tests/tools/hang_spec.lua"] = { std = "+busted" }
files["tests/server"] = { std = "ngx_lua" }
files["tests/openresty"] = { std = "ngx_lua" }
files["examples/openresty"] = { std = "ngx_lua" }
files["bench/resty_client.lua"] = { std = "ngx_lua" }
files["bench/inside_app.lua"] = { std = "ngx_lua" }
files["bench/budget_app.lua"] = { std = "ngx_lua" }
-- wrk's script API: the wrk table, and the callbacks wrk looks up.
files["bench/wrk_report.lua"] = { read_globals = { "wrk" }, globals = { "response", "done" } }
exclude_files = { "tests/tmp", "bench/tmp" }
