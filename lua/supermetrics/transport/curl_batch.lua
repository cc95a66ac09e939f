--- Internal: get_connector_logs on the libcurl transport: one event loop over
-- the client's batch slots (libcurl's multi interface, see src/batch.c).
-- Each item lives like a single call: its own deadline from its first
-- attempt, the same retry decision (supermetrics.policy), the
-- token_provider before and on_response after every attempt.
-- @module supermetrics.transport.curl_batch

local Policy = require "supermetrics.policy"
local budget = require "supermetrics.budget"
local core = require "supermetrics.core"
local invalid = require("supermetrics.errors").invalid

local log_route = core.log_route
local is_error = core.is_error

local curl_batch = {}

-- Longest single wait for activity: bounds how late a retry may start.
local MAX_POLL = 0.5

local function run(handle, b)
  local policy, extra, log_ids = b.policy, b.extra, b.log_ids
  local monotonic, sleep = policy.monotonic, policy.sleep
  local provider, hook = policy.provider, policy.hook
  local entries, errors = {}, {}
  local items = {}   -- i -> { route =, made =, deadline =, started = }
  local fresh = {}   -- indices never tried, in order
  local waiting = {} -- indices whose retry waits until items[i].ready_at

  for i = 1, #log_ids do
    local ok, route = pcall(log_route, b.team_id, b.connector_identifier, log_ids[i], b.raw) -- CACHE: raw
    if ok then
      items[i] = { route = route, made = 0 }
      fresh[#fresh + 1] = i
    elseif is_error(route) then
      errors[i] = route -- a bad id fails its own item only
    else
      error(route, 0)
    end
  end
  if #fresh == 0 then
    return entries, errors
  end
  local slots = handle:batch_open(math.min(b.concurrency, #fresh))
  local next_fresh, running = 1, 0

  local function failed(i, err)
    local item = items[i]
    local delay, final = Policy.failed(policy, item.route, err, item.made, item.started, extra, item.deadline)
    item.made = err.attempts
    if delay then
      item.ready_at = monotonic() + delay
      waiting[#waiting + 1] = i
    else
      errors[i] = final
    end
  end

  -- The next item that may start now: a due retry first, else a fresh one.
  local function take(now)
    for w = 1, #waiting do
      local i = waiting[w]
      if items[i].ready_at <= now then
        table.remove(waiting, w)
        return i
      end
    end
    if next_fresh <= #fresh then
      next_fresh = next_fresh + 1
      return fresh[next_fresh - 1]
    end
  end

  local function start(i, now)
    local item = items[i]
    item.deadline = item.deadline or now + policy.timeout
    local credential
    if provider then
      -- Past the deadline when it returns: TIMEOUT (supermetrics.policy).
      local ok, got = pcall(Policy.credential, provider, item.made, item.deadline, monotonic)
      if not ok then
        errors[i] = got
        return
      end
      credential = got
      now = monotonic() -- the provider took time: the transfer gets what is left
    end
    -- BUDGET: before an attempt (a wait is scheduled, not slept)
    local ticket, wait, refused, since = budget.check(policy.budget, credential, item.deadline, item.made,
      item.busy_since)
    if refused then
      errors[i] = refused
      return
    elseif wait then
      item.ready_at, item.busy_since = now + wait, since
      waiting[#waiting + 1] = i
      return
    end
    item.ticket, item.credential = ticket, credential
    item.started = now
    local started, err = handle:batch_add(item.route, item.deadline - now, credential, item.made,
      hook ~= nil, extra and extra.header_lines or nil, i)
    if started then
      running = running + 1
    else
      failed(i, err)
    end
  end

  while true do
    local now = monotonic()
    while running < slots do
      local i = take(now)
      if not i then
        break
      end
      start(i, now)
    end
    if running == 0 and #waiting == 0 and next_fresh > #fresh then
      return entries, errors
    end
    local wait = MAX_POLL
    for _, i in ipairs(waiting) do
      wait = math.min(wait, items[i].ready_at - now)
    end
    if wait < 0 then
      wait = 0
    end
    if running == 0 then
      sleep(wait)
    else
      local finished = handle:batch_poll(wait)
      for _, r in ipairs(finished) do
        running = running - 1
        local i = r.id
        local item = items[i]
        if item.ticket or r.info or r.err then -- BUDGET: after a response
          budget.after(policy.budget, item.credential, item.ticket, r.info or r.err, item.deadline)
        end
        if r.body then
          local late = Policy.succeeded(policy, items[i].route, r.info, items[i].started, extra,
            items[i].deadline)
          if late then
            errors[i] = late
          else
            entries[i] = r.body
          end
        else
          failed(i, r.err)
        end
      end
    end
  end
end

local WEAK_VALUES = { __mode = "v" }

--- Runs the batch b (supermetrics.transport's `state:batch`) on the curl
-- transport's state; returns entries, errors (exactly one set per index).
-- The client's clock (b.policy's monotonic and sleep) times the items; it
-- waits when nothing is in flight but a retry is pending.
--
-- The slots are the client's, so one batch runs on a client at a time. An
-- on_response hook or token_provider that yields (a coroutine) can leave a
-- batch suspended with transfers in flight: another batch on the client
-- then gets INVALID_ARGUMENT, and the first carries on when resumed (its
-- deadlines hold: libcurl times its transfers out meanwhile). If that
-- coroutine was dropped instead, its batch is garbage: a full collection
-- notices, and the slots it held come back.
function curl_batch.run(state, b)
  local owner = state.batch_owner
  if not owner then
    owner = setmetatable({}, WEAK_VALUES)
    state.batch_owner = owner
  end
  if owner.running then
    collectgarbage()
    if owner.running then
      invalid("get_connector_logs: another batch is in progress on this client (suspended in "
        .. "a coroutine by its on_response hook or token_provider); use one client per concurrent batch")
    end
  end
  local running = {} -- alive while this batch is, in whatever coroutine
  owner.running = running
  state.handle:batch_reset()
  local ok, entries, errs = pcall(run, state.handle, b)
  if owner.running == running then
    owner.running = nil
  end
  if not ok then
    error(entries, 0)
  end
  return entries, errs
end

return curl_batch
