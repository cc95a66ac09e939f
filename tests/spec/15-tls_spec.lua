-- TLS: every certificate problem is TLS_ERROR (never retried), and TLS 1.2
-- is the floor. The stand-in serves the bad certificates on other loopback
-- addresses of its HTTPS port (tests/server/nginx.conf.in, start.sh).
local support = require "tests.spec.support"

local function env(name)
  return assert(os.getenv(name), name .. " not set: restart the stand-in")
end

local function tls_error(base_url)
  local c = support.client { base_url = base_url, ca_file = support.CA, max_retries = 2 }
  local err = support.fetch_error(c, "T3S70", "1")
  c:close()
  return err
end

describe("TLS", function()
  local BAD = {
    { "SM_TEST_TLS_WRONG_HOST_URL", "a certificate for another host name" },
    { "SM_TEST_TLS_EXPIRED_URL", "an expired certificate" },
    { "SM_TEST_TLS_UNKNOWN_CA_URL", "a certificate from an unknown CA" },
    { "SM_TEST_TLS_OLD_URL", "a server that only speaks TLS 1.0 and 1.1" },
  }
  for _, case in ipairs(BAD) do
    it(case[2] .. " gives TLS_ERROR, not retried", function()
      local err = tls_error(env(case[1]))
      assert.are.equal("TLS_ERROR", err.code)
      assert.are.equal(1, err.attempts)
      assert.is_nil(err.status)
    end)
  end

  it("a TLS 1.2-only server is accepted (the floor itself works)", function()
    local c = support.client { base_url = env("SM_TEST_TLS_12_URL"), ca_file = support.CA }
    assert.are.equal("12", c:get_connector_log(1, "T3S70", "12").id)
    c:close()
  end)

  it("the old-TLS server does speak TLS 1.1 (so the refusal is about the version)", function()
    local host, port = env("SM_TEST_TLS_OLD_URL"):match("^https://([%d.]+):(%d+)$")
    local code, out = support.run("echo | env -u LD_PRELOAD openssl s_client -connect " .. host .. ":" .. port
      .. " -tls1_1 -cipher DEFAULT:@SECLEVEL=0 -CAfile " .. support.CA)
    assert.are.equal(0, code)
    assert.truthy(out:find("Protocol%s*:%s*TLSv1%.1"))
  end)

  it("the floor is the library's own: it holds when OpenSSL's defaults allow TLS 1.0", function()
    local conf = "OPENSSL_CONF=tests/tools/openssl-permissive.cnf"
    local url = env("SM_TEST_TLS_OLD_URL")
    -- Control: with that configuration the curl command line gets through.
    local code, out = support.run("env -u LD_PRELOAD " .. conf .. " curl -sS -o /dev/null -w '%{http_code}' --cacert "
      .. support.CA .. " " .. url .. "/v1/teams/1/connector_builder/connectors/stats/logs/get")
    assert.are.equal(0, code)
    assert.are.equal("200", out)
    code, out = support.run(table.concat({ conf, "SM_BUILD_DIR=" .. os.getenv("SM_BUILD_DIR"),
      support.LUA, "tests/tools/fetch.lua", url, support.CA }, " "))
    assert.are.equal(0, code)
    assert.are.equal("error TLS_ERROR\n", out)
  end)
end)
