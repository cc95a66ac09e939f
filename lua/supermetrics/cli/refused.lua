--- Internal: What the command line says when the library refuses, before any
-- request, a value the user typed: by the argument at fault (the error's
-- `argument` field), in the command line's own words and with the names a
-- user typed (TEAM, --limit), never the library's (team_id, page_size).
-- @module supermetrics.cli.refused

local core = require "supermetrics.core"
local options = require "supermetrics.options"

local LIMITS = core.LIMITS
local INTERVAL = options.CALLS.follow_connector_logs.interval

-- Seconds as the command line's durations write them ("10ms", "3600s").
local function duration(seconds)
  if seconds < 1 then
    return string.format("%.15gms", seconds * 1000)
  end
  return string.format("%.15gs", seconds)
end

local LIMIT = "--limit must be an integer from 1 to " .. LIMITS.page_size

-- argument -> the line to print. The ids' rules are the API's (src/segment.h).
local SAYS = {
  team_id = "TEAM must be an integer from 1 to 9223372036854775807",
  connector_identifier = "CONNECTOR must be 1 to 100 characters from A-Z a-z 0-9 _ -",
  log_id = 'LOG must be 1 to 255 bytes long, and not "." or ".."',
  limit = LIMIT,
  page_size = LIMIT,
  before = "--until must be an ISO 8601 time",
  since = "--since must be an ISO 8601 time",
  interval = "--interval must be a duration from " .. duration(INTERVAL.min) .. " to "
    .. duration(INTERVAL.max),
  concurrency = "--concurrency must be an integer from 1 to " .. LIMITS.concurrency,
  timeout = "--timeout must be a duration from " .. duration(LIMITS.min_timeout) .. " to "
    .. duration(LIMITS.max_timeout),
  max_retries = "--retries must be an integer from 0 to " .. options.MAX_RETRIES,
  base_url = "--base-url must be an https:// URL (http:// only for this machine) without "
    .. "user information, query or fragment",
  ca_file = "--ca-file must name a readable file of PEM certificates",
  budget = "SUPERMETRICS_BUDGET_REDIS must be a redis://[:password@]host:port[/db] URL",
}

local refused = {}

-- Whether err is the library refusing a value before any request.
local function is_refusal(err)
  return err.code == "INVALID_ARGUMENT" and (err.attempts or 0) == 0
end

--- The command line's line for err, or nil when err is not a refusal. A
-- refusal the command line has no words for (a proxy from https_proxy...)
-- is the library's message, which names what the user set.
function refused.says(err)
  if is_refusal(err) then
    return SAYS[err.argument] or err.message
  end
end

--- For a refused API key (from source: "--key-file F", "SUPERMETRICS_API_KEY"),
-- the line to print; else nil. The credential's rules: src/credential.c.
function refused.key(err, source)
  if is_refusal(err) and err.argument == "api_key" then
    return "the API key from " .. source .. " must be 1 to 16384 printable ASCII characters"
  end
end

return refused
