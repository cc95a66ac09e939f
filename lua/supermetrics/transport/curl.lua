--- Internal: The libcurl transport: every call outside nginx, and inside it for
-- clients made with `nginx_blocking = true`. One attempt is one
-- `curl_easy_perform` on the client's handle; waits block the thread
-- (its real clock: supermetrics.clock's blocking one).
-- The interface is supermetrics.transport's.
-- @module supermetrics.transport.curl

local clock = require "supermetrics.clock"
local core = require "supermetrics.core"
local curl_batch = require "supermetrics.transport.curl_batch"

local curl = {
  via = "libcurl/" .. core.curl_version,
  clock = clock.blocking,
}

-- One client's state: its handle, its clock's monotonic reading, and
-- (curl_batch) the batch in progress.
local State = {}
State.__index = State

--- The state of a client: nothing to check, nothing to set up.
function curl.open(handle, _, clk)
  return setmetatable({ handle = handle, monotonic = clk.monotonic, sleep = clk.sleep }, State)
end

--- One attempt: body [, info] | nil, err.
function State:attempt(route, deadline, credential, made, want_info, header_lines)
  return self.handle:perform(route, deadline - self.monotonic(), credential, made, want_info, header_lines)
end

--- The common call's first attempt in one C call.
function State:get_log(team_id, connector_identifier, log_id, timeout, _, raw)
  return self.handle:get_log(team_id, connector_identifier, log_id, timeout, raw)
end

--- Page requests may go out at once on the batch slots (each_connector_log's
-- slices: supermetrics.slices).
function State.page_slots()
  return true
end

--- get_connector_logs on libcurl's multi interface (curl_batch).
function State:batch(b)
  return curl_batch.run(self, b)
end

return curl
