--- Internal: Time for the Lua layer. A clock is a table
-- `{ monotonic = function() -> seconds, sleep = function(seconds),
-- wall = function() -> seconds since the epoch }`: `monotonic` is what
-- every deadline is measured on, `sleep` every wait between attempts,
-- retries of a batch, polls of a follow and the rate budget's waits,
-- `wall` the time the rate budget's windows end at. A client
-- reads time only through the clock it was made with, so that a test can
-- hand it one whose waits take no time (Client.new's internal second
-- argument: `{ clock = ... }`; `supermetrics.new` never passes one).
--
-- A transport module names the real clock of its clients (its `clock`
-- field): `clock.blocking` for libcurl, `clock.nginx` for cosockets. Waits
-- that bound real I/O (a name lookup raced against a timer inside nginx,
-- libcurl's own timeouts, a shared budget store's connection) stay real
-- whatever the clock: they are part of a request, not a pause between two.
--
-- Not faked yet: the wall clock C reads for a Retry-After HTTP-date, and
-- nginx's cached ngx.now().
-- @module supermetrics.clock

local core = require "supermetrics.core"

local ngx = rawget(_G, "ngx")

local clock = {}

--- The real clock outside nginx, and for nginx_blocking clients: waits
-- block the calling thread (core.sleep, which Ctrl-C in the command line
-- cuts short with an "interrupted" error).
clock.blocking = { monotonic = core.monotonic, sleep = core.sleep, wall = core.wall_clock }

--- The real clock of cosocket clients (inside nginx only): waits yield
-- to nginx (ngx.sleep), which serves the worker's other requests
-- meanwhile.
clock.nginx = { monotonic = core.monotonic, sleep = ngx and ngx.sleep, wall = core.wall_clock }

--- A clock whose waits take no time, over base (default clock.blocking):
-- now (monotonic and wall) is base's now plus every second slept so far,
-- so real time spent (I/O against a real server) still counts towards a
-- deadline while a wait only moves the clock on. Records each wait:
-- `fake.sleeps` (in order) and `fake.slept` (their sum).
function clock.fake(base)
  base = base or clock.blocking
  local real, real_wall = base.monotonic, base.wall
  local fake = { sleeps = {}, slept = 0 }
  function fake.monotonic()
    return real() + fake.slept
  end
  function fake.wall()
    return real_wall() + fake.slept
  end
  function fake.sleep(seconds)
    if type(seconds) ~= "number" or seconds ~= seconds then
      error("sleep: seconds must be a number, got " .. tostring(seconds), 2)
    end
    fake.sleeps[#fake.sleeps + 1] = seconds
    if seconds > 0 then
      fake.slept = fake.slept + seconds
    end
  end
  return fake
end

return clock
