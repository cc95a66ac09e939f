-- Error values: built from the API's envelope when there is a usable one,
-- else from the status or the transport failure. No retries here
-- (max_retries = 0): the retry spec covers those.
local supermetrics = require "supermetrics"
local support = require "tests.spec.support"

local CANONICAL = {
  [400] = "BAD_REQUEST", [401] = "UNAUTHORIZED", [403] = "FORBIDDEN", [404] = "NOT_FOUND",
  [409] = "CONFLICT_ERROR", [422] = "UNPROCESSABLE_ENTITY", [429] = "TOO_MANY_REQUESTS",
  [500] = "INTERNAL_SERVER_ERROR", [502] = "BAD_GATEWAY", [503] = "SERVICE_UNAVAILABLE",
  [504] = "GATEWAY_TIMEOUT",
}

local client
before_each(function() client = support.client { max_retries = 0 } end)
after_each(function() client:close() end)

local function status_error(log_id)
  return support.fetch_error(client, "status", log_id)
end

describe("errors from the envelope #abi", function()
  for status, code in pairs(CANONICAL) do
    it("HTTP " .. status .. " gives " .. code .. " with every envelope field", function()
      local err = status_error(tostring(status))
      assert.are.equal(supermetrics.Error, getmetatable(err))
      assert.are.equal(code, err.code)
      assert.are.equal(status, err.status)
      assert.are.equal("Status " .. status .. " from the stand-in.", err.message)
      assert.are.equal("Longer text for " .. status .. ".", err.description)
      assert.are.equal("req_status_" .. status, err.request_id)
      assert.are.equal(1, err.attempts)
    end)
  end

  it("keeps a domain code as sent (LOG_NOT_FOUND)", function()
    local err = status_error("404-custom")
    assert.are.equal("LOG_NOT_FOUND", err.code)
    assert.are.equal("No such log.", err.message)
    assert.are.equal("req_custom_404", err.request_id)
  end)

  it("takes request_id from X-Request-Id when meta has none", function()
    local err = status_error("404-nometa")
    assert.are.equal("NOT_FOUND", err.code)
    assert.are.equal("req_header_404", err.request_id)
  end)

  it("ignores an envelope whose code is not SCREAMING_SNAKE_CASE", function()
    local err = status_error("404-badcode")
    assert.are.equal("NOT_FOUND", err.code)
    assert.are.equal(404, err.status)
  end)

  it("an unknown status with an envelope keeps the envelope's code", function()
    assert.are.equal("HTTP_418", status_error("418").code)
  end)
end)

describe("errors without a usable envelope #abi", function()
  for status, code in pairs(CANONICAL) do
    for _, body in ipairs { "html", "empty", "broken" } do
      it("HTTP " .. status .. " with a " .. body .. " body gives " .. code, function()
        local err = status_error(status .. "-" .. body)
        assert.are.equal(code, err.code)
        assert.are.equal(status, err.status)
        assert.are.equal("string", type(err.message))
        assert.is_nil(err.description)
      end)
    end
  end

  it("any other 4xx/5xx gives HTTP_ERROR", function()
    local err = status_error("418-html")
    assert.are.equal("HTTP_ERROR", err.code)
    assert.are.equal(418, err.status)
  end)

  it("takes request_id from X-Request-Id on an HTML error", function()
    assert.are.equal("req_html_502", status_error("502-html").request_id)
  end)

  for _, status in ipairs { 302, 304 } do
    it("HTTP " .. status .. " gives HTTP_ERROR with the status", function()
      local err = status_error(tostring(status))
      assert.are.equal("HTTP_ERROR", err.code)
      assert.are.equal(status, err.status)
    end)
  end
end)

describe("errors from a body that is not the envelope but says why #abi", function()
  local DETAIL = "Your request is not valid and no HTTP validation response was found in the spec, "
    .. "so Prism is generating this error for you."

  it("an RFC 9457 problem (Prism's) gives title as message, detail and validation errors as description", function()
    local err = status_error("422-problem")
    assert.are.equal("UNPROCESSABLE_ENTITY", err.code)
    assert.are.equal(422, err.status)
    assert.are.equal("Invalid request", err.message)
    assert.are.equal(DETAIL .. ' (query.before: must match format "date-time"; '
      .. "path.log_id.0: must NOT have more than 255 characters)", err.description)
    assert.are.equal("req_problem_422", err.request_id)
    assert.are.equal("supermetrics: UNPROCESSABLE_ENTITY (HTTP 422): Invalid request [request_id req_problem_422]",
      tostring(err))
  end)

  it("the code stays by status, whatever the problem's type says", function()
    assert.are.equal("BAD_REQUEST", status_error("400-problem").code)
    assert.are.equal("HTTP_ERROR", status_error("418-problem").code)
  end)

  it("a problem with only a title or only a detail gives it as message", function()
    local title = status_error("400-problemtitle")
    assert.are.equal("Title only", title.message)
    assert.is_nil(title.description)
    local detail = status_error("400-problemdetail")
    assert.are.equal("Detail only", detail.message)
    assert.is_nil(detail.description)
  end)

  it("a gateway's {\"message\": ...} gives message", function()
    local err = status_error("502-gatewaymsg")
    assert.are.equal("BAD_GATEWAY", err.code)
    assert.are.equal("Endpoint request timed out", err.message)
    assert.is_nil(err.description)
    assert.are.equal('{"message":"Endpoint request timed out"}', err.body)
  end)

  it("caps message at 255 bytes and description at 2048, control characters as spaces", function()
    local err = status_error("400-problemlong")
    assert.are.equal(255, #err.message)
    assert.are.equal("Line one line two and  ]0;title  [2J", err.message:sub(1, 36))
    assert.is_nil(err.message:find("%c"))
    -- "D  " then two-byte characters: cut before one that would not fit
    assert.are.equal(2047, #err.description)
    assert.are.equal("D  " .. ("\195\169"):rep(1022), err.description)
    assert.is_nil(tostring(err):find("[\r\n\27]"))
    assert.are.equal(1024, #err.body)
  end)

  it("redacts the credential a problem quotes, in message, description and body", function()
    local c = support.client { max_retries = 0, api_key = false, token = "otok_valid_S3cr3tV4lue" }
    local err = support.fetch_error(c, "status", "401-problemleak")
    c:close()
    assert.are.equal("UNAUTHORIZED", err.code)
    assert.are.equal("Bad token [REDACTED]", err.message)
    assert.are.equal("You sent [REDACTED].", err.description)
    assert.truthy(err.body:find('"title":"Bad token [REDACTED]"', 1, true), err.body)
    for _, text in ipairs { tostring(err), err.body } do
      assert.is_nil(text:lower():find("s3cr3t", 1, true))
    end
  end)
end)

describe("the body of an error without a usable envelope #abi", function()
  it("is what the server sent (HTML, broken JSON)", function()
    assert.are.equal("<html><body><h1>502 Bad Gateway</h1></body></html>", status_error("502-html").body)
    assert.are.equal('{"error": {"code": ', status_error("404-broken").body)
  end)

  it("is absent for an empty body, and for a usable envelope", function()
    assert.is_nil(status_error("503-empty").body)
    assert.is_nil(status_error("404").body)
    assert.is_nil(status_error("404-custom").body)
  end)

  it("is the first 1024 bytes, the credential redacted even where the cap cuts it", function()
    local c = support.client { max_retries = 0, api_key = false, token = "otok_valid_S3cr3tV4lue" }
    local err = support.fetch_error(c, "status", "400-edgeleak")
    c:close()
    assert.are.equal(1024, #err.body)
    assert.are.equal(("x"):rep(1015) .. "[REDACTED" , err.body)
    assert.are.equal("HTTP 400 Bad Request without a usable error envelope", err.message)
  end)

  it("keeps the envelope path's fields as they were", function()
    local err = status_error("404-badcode")
    assert.are.equal("HTTP 404 Not Found without a usable error envelope", err.message)
    assert.truthy(err.body:find('"not screaming"', 1, true))
  end)
end)

describe("a 2xx that is not a JSON object #abi", function()
  for _, shape in ipairs { "array", "string", "number", "null", "notjson", "empty" } do
    it("(" .. shape .. ") gives INVALID_RESPONSE", function()
      local err = support.fetch_error(client, "shape", shape)
      assert.are.equal("INVALID_RESPONSE", err.code)
      assert.are.equal(200, err.status)
    end)
  end

  it("(204 No Content) gives INVALID_RESPONSE", function()
    local err = status_error("204")
    assert.are.equal("INVALID_RESPONSE", err.code)
    assert.are.equal(204, err.status)
  end)
end)

describe("transport failures", function()
  it("connection closed before a response gives CONNECTION_ERROR", function()
    local err = support.fetch_error(client, "close", "x")
    assert.are.equal("CONNECTION_ERROR", err.code)
    assert.is_nil(err.status)
    assert.are.equal(1, err.attempts)
  end)

  it("a refused connection gives CONNECTION_ERROR", function()
    local c = supermetrics.new { api_key = support.KEY, base_url = "http://127.0.0.1:9", max_retries = 0 }
    assert.are.equal("CONNECTION_ERROR", support.fetch_error(c, "T3S70", "1").code)
    c:close()
  end)

  it("a slow response past the deadline gives TIMEOUT, on time", function()
    local c = support.client { timeout = 0.3 }
    local t0 = support.now()
    local err = support.fetch_error(c, "slow", "3000")
    local took = support.now() - t0
    c:close()
    assert.are.equal("TIMEOUT", err.code)
    assert.are.equal(1, err.attempts)
    assert.is_true(took >= 0.29 and took < 1.5, "took " .. took)
  end)

  it("a connect that hangs gives TIMEOUT after connect_timeout", function()
    support.with_blackhole(function(url)
      local c = support.client { base_url = url, connect_timeout = 0.3, timeout = 10, max_retries = 2 }
      local t0 = support.now()
      local err = support.fetch_error(c, "T3S70", "1")
      local took = support.now() - t0
      c:close()
      assert.are.equal("TIMEOUT", err.code)
      assert.are.equal(1, err.attempts)
      assert.is_true(took >= 0.29 and took < 2, "took " .. took)
    end)
  end)

  it("a connect that hangs gives TIMEOUT at the call's deadline when that comes first", function()
    support.with_blackhole(function(url)
      local c = support.client { base_url = url, connect_timeout = 10, timeout = 0.3 }
      local t0 = support.now()
      local err = support.fetch_error(c, "T3S70", "1")
      local took = support.now() - t0
      c:close()
      assert.are.equal("TIMEOUT", err.code)
      assert.is_true(took >= 0.29 and took < 2, "took " .. took)
    end)
  end)

  it("a slow response within the deadline succeeds", function()
    assert.are.equal("150", client:get_connector_log(1, "slow", "150").id)
  end)

  it("a body over max_response_bytes gives RESPONSE_TOO_LARGE (with Content-Length)", function()
    local c = support.client { max_retries = 0, max_response_bytes = 10000 }
    assert.are.equal(10000 - 10, #c:get_connector_log(1, "big", "10000").pad)
    local err = support.fetch_error(c, "big", "10001")
    assert.are.equal("RESPONSE_TOO_LARGE", err.code)
    c:close()
  end)

  it("a body over max_response_bytes gives RESPONSE_TOO_LARGE (chunked, no length)", function()
    local c = support.client { max_retries = 0, max_response_bytes = 10000 }
    assert.are.equal(10000 - 10, #c:get_connector_log(1, "big", "10000-chunked").pad)
    local err = support.fetch_error(c, "big", "200000-chunked")
    assert.are.equal("RESPONSE_TOO_LARGE", err.code)
    assert.are.equal(200, err.status)
    c:close()
  end)

  it("the client keeps working after a failed call", function()
    support.fetch_error(client, "close", "x")
    support.fetch_error(client, "big", "20000000")
    assert.are.same(support.SEED, client:get_connector_log(support.TEAM, "T3S70", "123"))
  end)
end)

describe("a server that quotes the credential back", function()
  it("has it replaced by [REDACTED] in message, description and tostring", function()
    local c = support.client { max_retries = 0, api_key = false, token = "otok_valid_S3cr3tV4lue" }
    local err = support.fetch_error(c, "status", "400-leak")
    c:close()
    assert.are.equal("BAD_REQUEST", err.code)
    assert.are.equal("Bad token [REDACTED].", err.message)
    assert.are.equal("You sent [REDACTED] twice: [REDACTED]", err.description)
    assert.is_nil(tostring(err):find("S3cr3t", 1, true))
  end)

  it("also when it is quoted lower-cased, upper-cased or cut short", function()
    local c = support.client { max_retries = 0, api_key = false, token = "otok_valid_S3cr3tV4lue" }
    local err = support.fetch_error(c, "status", "400-leakmangled")
    c:close()
    assert.are.equal("Bad token [REDACTED].", err.message)
    assert.are.equal("Starts [REDACTED]..., upper [REDACTED]", err.description)
    assert.is_nil(err.request_id) -- "otok_valid_S" would be an id that shows it
    assert.is_nil(tostring(err):lower():find("s3cr3t", 1, true))
    assert.is_nil(tostring(err):lower():find("otok_val", 1, true))
  end)

  it("also for a credential from the token_provider", function()
    local c = support.client { max_retries = 0, api_key = false,
      token_provider = function() return "otok_valid_Pr0v1ded" end }
    local err = support.fetch_error(c, "status", "500-leak")
    c:close()
    assert.are.equal("Bad token [REDACTED].", err.message)
  end)
end)

describe("error values #abi", function()
  it("concatenate as their one line, on either side of ..", function()
    local err = status_error("404")
    assert.are.equal("failed: " .. tostring(err), "failed: " .. err)
    assert.are.equal(tostring(err) .. "!", err .. "!")
    assert.are.equal("1: " .. tostring(err), 1 .. ": " .. err)
    assert.has_error(function() return {} .. err end)
  end)

  it("print as one line with code, status, message and request id", function()
    local err = status_error("404")
    assert.are.equal("supermetrics: NOT_FOUND (HTTP 404): Status 404 from the stand-in. "
      .. "[request_id req_status_404]", tostring(err))
  end)

  it("print without status or request id when there was no response", function()
    local err = support.fetch_error(client, "close", "x")
    assert.truthy(tostring(err):find("^supermetrics: CONNECTION_ERROR: %S"))
    assert.is_nil(tostring(err):find("HTTP", 1, true))
  end)

  it("are recognised by is_error, and nothing else is", function()
    assert.is_true(supermetrics.is_error(status_error("500")))
    for _, v in ipairs { "x", 1, {}, { code = "NOT_FOUND" }, setmetatable({}, {}), true } do
      assert.is_false(supermetrics.is_error(v))
    end
    assert.is_false(supermetrics.is_error(nil))
  end)
end)
