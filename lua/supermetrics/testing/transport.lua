--- Internal: The fake Hub's transport (supermetrics.testing): the
-- transport interface (supermetrics.transport) over the same C exchange
-- API the cosocket transport drives, with a script where the socket would
-- be. The request bytes come from `handle:request` (what the library
-- really writes), the scripted answer goes in as HTTP/1.1 response bytes
-- through `exchange:feed` / `exchange:eof`, a timeout, reset or TLS
-- failure through `exchange:fail`, and the outcome comes from
-- `handle:outcome`: the same reader, decoders, checks and error values as
-- production. No socket, no port, no ngx: the same in plain Lua and inside
-- nginx.
--
-- A batch (get_connector_logs) runs its items one after another, each an
-- ordinary call with its retries.
-- @module supermetrics.testing.transport

local core = require "supermetrics.core"

local fake = {}

local State = {}
State.__index = State

-- The scripted answer to the request bytes head, fed into x. left: the
-- seconds the call has left.
local function answer(self, x, head, left)
  if left <= 0 then
    x:fail("timeout", "the call's deadline passed before the request was sent")
  else
    self.hub:_serve(head, x, left)
  end
end

--- The state of one client of hub.
function fake.open(hub, handle, clk)
  return setmetatable({ hub = hub, handle = handle, monotonic = clk.monotonic, x = nil }, State)
end

--- One attempt: body [, info] | nil, err.
function State:attempt(route, deadline, credential, made, want_info, header_lines)
  local handle = self.handle
  local x = self.x or handle:exchange()
  self.x = nil
  local left = deadline - self.monotonic()
  local head, err = handle:request(route, left, credential, made, want_info, header_lines, x)
  local body, info = nil, err
  if head then
    answer(self, x, head, left)
    local _, again -- outcome: body, info [, route [, again]]
    body, info, _, again = handle:outcome(x)
    if again then
      -- As the cosocket transport: the answer was another request's, and
      -- handle:outcome readied x for the one resend of the same bytes "on a
      -- fresh connection", uncounted (another scripted answer).
      answer(self, x, head, deadline - self.monotonic())
      body, info = handle:outcome(x)
    end
  end
  self.x = x
  return body, info
end

--- get_connector_logs: the items one after another (b.fetch: one
-- ordinary call with its retries).
function State.batch(_, b)
  local entries, errs = {}, {}
  for i, log_id in ipairs(b.log_ids) do
    local ok, res = pcall(b.fetch, log_id)
    if ok then
      entries[i] = res
    elseif getmetatable(res) == core.Error then
      errs[i] = res
    else
      error(res, 0)
    end
  end
  return entries, errs
end

--- The transport module of hub's clients (Client.new's internal
-- `{ transport = }`).
function fake.module(hub)
  return {
    via = "supermetrics.testing",
    clock = hub.clock,
    open = function(handle, _, clk)
      return fake.open(hub, handle, clk)
    end,
  }
end

return fake
