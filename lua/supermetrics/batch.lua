--- Internal: get_connector_logs outside nginx: one event loop over the client's batch
-- slots (libcurl's multi interface, see src/batch.c). Each item lives like a
-- single call: its own deadline from its first attempt, the same retry
-- policy, the token_provider before and on_response after every attempt.
-- @module supermetrics.batch

local attempt = require "supermetrics.attempt"
local core = require "supermetrics.core"
local invalid = require("supermetrics.errors").invalid

local monotonic, log_route = core.monotonic, core.log_route
local is_error = core.is_error

local batch = {}

-- Longest single wait for activity: bounds how late a retry may start.
local MAX_POLL = 0.5

local function run(client, team_id, connector_identifier, log_ids, concurrency, sleep, extra)
  local handle, provider, hook = client._handle, client._provider, client._on_response
  local entries, errors = {}, {}
  local items = {}   -- i -> { route =, made =, deadline =, started = }
  local fresh = {}   -- indices never tried, in order
  local waiting = {} -- indices whose retry waits until items[i].ready_at

  for i = 1, #log_ids do
    local ok, route = pcall(log_route, team_id, connector_identifier, log_ids[i])
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
  local slots = handle:batch_open(math.min(concurrency, #fresh))
  local next_fresh, running = 1, 0

  local function failed(i, err)
    local item = items[i]
    if hook and err.attempts > item.made then
      attempt.report(hook, item.route, err.attempts, item.started, false, err, extra, client._proxy)
    end
    item.made = err.attempts
    local now = monotonic()
    local delay = attempt.retry_delay(err, item.made, client._max_retries, client._max_retry_wait,
      item.deadline - now)
    if delay then
      item.ready_at = now + delay
      waiting[#waiting + 1] = i
    else
      errors[i] = err
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
    item.deadline = item.deadline or now + client._timeout
    local credential
    if provider then
      local ok, got = pcall(attempt.credential, provider, item.made)
      if not ok then
        errors[i] = got
        return
      end
      credential = got
    end
    item.started = now
    local started, err = handle:batch_add(i, item.route, item.deadline - now, credential, item.made,
      hook ~= nil, extra and extra.block)
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
        if r.body then
          local item = items[i]
          if hook then
            attempt.report(hook, item.route, r.info.attempts, item.started, true, r.info, extra,
              client._proxy)
          end
          entries[i] = r.body
        else
          failed(i, r.err)
        end
      end
    end
  end
end

local WEAK_VALUES = { __mode = "v" }

--- Runs the batch; returns entries, errors (exactly one set per index).
-- sleep(seconds) waits when nothing is in flight but a retry is pending;
-- extra: the extra headers of every request (client.lua's merged set), or nil.
--
-- The slots are the client's, so one batch runs on a client at a time. An
-- on_response hook or token_provider that yields (a coroutine) can leave a
-- batch suspended with transfers in flight: another batch on the client
-- then gets INVALID_ARGUMENT, and the first carries on when resumed (its
-- deadlines hold: libcurl times its transfers out meanwhile). If that
-- coroutine was dropped instead, its batch is garbage: a full collection
-- notices, and the slots it held come back.
function batch.run(client, team_id, connector_identifier, log_ids, concurrency, sleep, extra)
  local owner = client._batch_owner
  if not owner then
    owner = setmetatable({}, WEAK_VALUES)
    client._batch_owner = owner
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
  client._handle:batch_reset()
  local ok, entries, errs = pcall(run, client, team_id, connector_identifier, log_ids, concurrency, sleep,
    extra)
  if owner.running == running then
    owner.running = nil
  end
  if not ok then
    error(entries, 0)
  end
  return entries, errs
end

return batch
