--- Internal: supermetrics.testing.record: a real client whose transport
-- writes what the server answered into a fixture file (for hub:load to
-- replay), every credential it knows of scrubbed out.
-- @module supermetrics.testing.record

local fake_transport = require "supermetrics.testing.transport"
local fixtures = require "supermetrics.testing.fixture"
local wire = require "supermetrics.testing.wire"

local record = {}

local encode, literal, write_file = fixtures.encode, fixtures.literal, fixtures.write
local parse_request, redact = wire.parse_request, wire.redact

-- What a real client's attempt gave, as an answer to replay: how.
local function recorded_how(route_path, body, info, err)
  if body ~= nil then
    local text
    if type(body) == "string" then
      text = body
    elseif route_path:find("/logs%?") or route_path:find("/logs$") then
      text = '{"logs":' .. (body[1] ~= nil and encode(body) or "[]") .. "}"
    else
      text = encode(body)
    end
    local how = { status = 200, body = text }
    if info and info.rate_limit then
      how.rate_limit = { limit = info.rate_limit, remaining = info.rate_limit_remaining }
    end
    return how
  end
  local code, status = err.code, err.status
  if not status or status == 0 then
    if code == "TIMEOUT" then
      return { timeout = true }
    elseif code == "TLS_ERROR" then
      return { tls = true }
    end
    return { close = true }
  end
  local how = { status = status, request_id = err.request_id, retry_after = err.retry_after }
  if err.rate_limit then
    how.rate_limit = { limit = err.rate_limit, remaining = err.rate_limit_remaining }
  end
  if status >= 200 and status < 300 then
    how.body = err.body or ""
  elseif err.body ~= nil or (err.message or ""):find("without a usable error envelope", 1, true) then
    how.envelope = false
    how.body = err.body or ""
    how.content_type = "text/plain"
  else
    how.code, how.message, how.description = code, err.message, err.description
  end
  return how
end

-- Every string in v with each secret replaced by [REDACTED].
local function scrub(v, secrets)
  if type(v) == "string" then
    for _, s in ipairs(secrets) do
      v = redact(v, s)
    end
    return v
  elseif type(v) == "table" then
    local out = {}
    for k, x in pairs(v) do
      out[scrub(k, secrets)] = scrub(x, secrets)
    end
    return out
  end
  return v
end


-- A real client (`supermetrics.new`'s options) that records what the
-- server answers into the fixture file `file` (rewritten after each
-- answer), for `hub:load` to replay. The credential never reaches the
-- file: the key or token (and each a `token_provider` gave) is replaced by
-- `[REDACTED]` wherever it appears, and no request header is written.
-- A batch's items go one after another.
function record.record(file, options)
  options = options or {}
  local secrets = {}
  local function secret(s)
    if type(s) == "string" and #s > 0 then
      for _, known in ipairs(secrets) do
        if known == s then
          return
        end
      end
      secrets[#secrets + 1] = s
    end
  end
  local opts = {}
  for k, v in pairs(options) do
    opts[k] = v
  end
  secret(opts.api_key)
  secret(opts.token)
  if not opts.api_key and not opts.token and not opts.token_provider then
    secret(os.getenv("SUPERMETRICS_API_KEY"))
  end
  if opts.token_provider then
    local provider = opts.token_provider
    opts.token_provider = function(...)
      local t = provider(...)
      secret(t)
      return t
    end
  end
  local fixture = { format = fixtures.FORMAT, answers = {} }
  local function save()
    local text = "-- A supermetrics.testing fixture (recorded; the credential redacted).\nreturn "
      .. literal(scrub(fixture, secrets)) .. "\n"
    for _, s in ipairs(secrets) do
      text = redact(text, s)
    end
    write_file(file, text)
  end
  local real = require("supermetrics.transport").pick { nginx_blocking = opts.nginx_blocking }
  local module = {
    via = real.via,
    clock = real.clock,
    open = function(handle, settings, clk)
      local inner = real.open(handle, settings, clk)
      local state = {}
      function state.attempt(_, route, ...)
        local body, info = inner:attempt(route, ...)
        local path = route:path()
        local r = parse_request("GET " .. path .. " HTTP/1.1\r\n\r\n")
        local match = { op = r.op, team = r.team, connector = r.connector, id = r.id }
        if r.op == "list" then
          match.query = r.raw_query
        end
        local err = body == nil and info or nil
        fixture.answers[#fixture.answers + 1] = { match = match, how = recorded_how(path, body, info, err) }
        save()
        return body, info
      end
      state.batch = fake_transport.open(nil, handle, clk).batch
      return state
    end,
  }
  local client = require("supermetrics.client").new(opts, { transport = module })
  save()
  return client
end

return record
