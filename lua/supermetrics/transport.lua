--- Internal: The transport interface: how a client's requests reach the API.
-- Picked once in `new` (as pgmoon's socket.lua picks its socket): inside
-- nginx, nginx's cosockets (supermetrics.transport.cosocket), unless the
-- client asks for nginx_blocking; everywhere else libcurl
-- (supermetrics.transport.curl). client.lua talks to the interface below
-- only and never asks which transport it has.
--
-- A transport module provides:
--
-- - `via`: what the default User-Agent names after the Lua version
--   ("libcurl/8.5.0", "nginx");
-- - `clock`: the real clock of its clients (supermetrics.clock): how they
--   wait between attempts and polls;
-- - `open(handle, settings, clock) -> state`: the transport's own state for
--   one client (spare readers, the TLS session, the batch in progress...),
--   from the client's handle (`core.new_client`), its checked options
--   (supermetrics.options) and the clock its deadlines are read on (the
--   module's, or a test's); raises INVALID_ARGUMENT for an option it
--   cannot honour.
--
-- The state provides:
--
-- - `state:attempt(route, deadline, credential, made, want_info, header_lines)`:
--   one HTTP attempt: `body [, info]` or `nil, err` (the error value, its
--   `attempts` counting this attempt if it reached the network);
--   header_lines: the extra header lines, or nil. info comes with want_info, and with
--   any response that carried X-RateLimit headers (the rate budget learns
--   from it: supermetrics.budget);
-- - `state:batch(b)`: get_connector_logs, returning entries, errors; b is
--   `{ team_id =, connector_identifier =, log_ids =, concurrency =, extra =,
--   policy =, fetch = function(log_id) }` (fetch: one ordinary call with
--   its retries; policy: see supermetrics.policy);
-- - optionally `state:get_log(team_id, connector_identifier, log_id, timeout,
--   deadline, raw)`: the first attempt of the common call without a route
--   (libcurl: one C call, handle:get_log; cosockets: handle:log_request):
--   `entry [, info]` (raw: the body's text, as get_connector_log_json
--   returns it; info: as for attempt, when the response carried rate
--   limits) or `nil, err, route`, used when nothing has to run around it;
--   deadline is the call's, timeout the seconds left of it now.
-- @module supermetrics.transport

local cosocket = require "supermetrics.transport.cosocket"
local curl = require "supermetrics.transport.curl"

local transport = {}

--- The transport module for a client with these settings.
function transport.pick(settings)
  if cosocket.available() then
    -- nginx_blocking: libcurl, its calls from request handlers named once
    -- in nginx's error log.
    return settings.nginx_blocking and cosocket.blocking(curl) or cosocket
  end
  return curl
end

return transport
