--- Internal: The libcurl transport: every call outside nginx, and inside it for
-- clients made with `nginx_blocking = true`. One attempt is one
-- `curl_easy_perform` on the client's handle; waits block the thread.
-- @module supermetrics.transport.curl

local batch = require "supermetrics.batch"
local core = require "supermetrics.core"

local monotonic, sleep = core.monotonic, core.sleep

local curl = {
  --- Waits seconds, blocking the calling thread.
  sleep = sleep,
  --- The common call can be made in one C call (handle:get_log).
  one_call = true,
}

--- One attempt: body [, info] | nil, err (see client.lua, Client:_get).
-- block: the extra header lines, or nil.
function curl.attempt(client, route, deadline, credential, made, want_info, block)
  return client._handle:perform(route, deadline - monotonic(), credential, made, want_info, block)
end

--- get_connector_logs on libcurl's multi interface (supermetrics.batch).
function curl.batch(client, team_id, connector_identifier, log_ids, concurrency, extra)
  return batch.run(client, team_id, connector_identifier, log_ids, concurrency, sleep, extra)
end

return curl
