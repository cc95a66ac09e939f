--- The command line's entry filters (`--status`, `--event`, `--since`,
-- `--until`), applied to entries as they stream past.
-- @module supermetrics.cli.filter
-- @local

local logtime = require "supermetrics.logtime"

local filter = {}

local function usage(msg)
  error({ usage = msg }, 0)
end

-- Whether match(item) holds for any of items.
local function any(items, match)
  for _, item in ipairs(items) do
    if match(item) then
      return true
    end
  end
  return false
end

-- One --status item: "404", "5xx", "400-499" -> low, high.
local function status_range(item)
  local class = item:match("^([1-5])[xX][xX]$")
  if class then
    return tonumber(class) * 100, tonumber(class) * 100 + 99
  end
  local low, high = item:match("^(%d%d%d)%-(%d%d%d)$")
  if not low then
    low = item:match("^(%d%d%d)$")
    high = low
  end
  low, high = tonumber(low), tonumber(high)
  if not low or low < 100 or high > 599 or low > high then
    usage("--status takes statuses such as 404, 5xx or 400-499 (several: 404,5xx), not "
      .. string.format("%q", item))
  end
  return low, high
end

--- The status test for the --status values (each may list several items
-- separated by commas), or nil when none were given.
function filter.status(values)
  local ranges = {}
  for _, value in ipairs(values) do
    for item in (value .. ","):gmatch("([^,]*),") do
      local low, high = status_range(item)
      ranges[#ranges + 1] = { low, high }
    end
  end
  if #ranges == 0 then
    return nil
  end
  return function(entry)
    local status = tonumber(entry.status)
    return status ~= nil and any(ranges, function(r) return status >= r[1] and status <= r[2] end)
  end
end

-- A shell glob (* ? [abc] [a-z] [!x]) as an anchored Lua pattern.
local function glob_pattern(glob)
  local out, i = { "^" }, 1
  while i <= #glob do
    local c = glob:sub(i, i)
    if c == "*" then
      out[#out + 1] = ".*"
    elseif c == "?" then
      out[#out + 1] = "."
    elseif c == "[" and glob:find("]", i + 2, true) then
      local close = glob:find("]", i + 2, true)
      local set = glob:sub(i + 1, close - 1)
      local negate = set:sub(1, 1) == "!"
      if negate then set = set:sub(2) end
      out[#out + 1] = "[" .. (negate and "^" or "") .. set:gsub("[%%^]", "%%%0") .. "]"
      i = close
    else
      out[#out + 1] = c:gsub("%W", "%%%0")
    end
    i = i + 1
  end
  out[#out + 1] = "$"
  return table.concat(out)
end

--- The event test for the --event globs (any may match), or nil.
function filter.event(globs)
  if #globs == 0 then
    return nil
  end
  local patterns = {}
  for i, glob in ipairs(globs) do
    patterns[i] = glob_pattern(glob)
  end
  return function(entry)
    local event = entry.event
    return type(event) == "string" and any(patterns, function(p) return event:find(p) ~= nil end)
  end
end

--- Where an entry stands against the time bounds (parsed log times, either
-- may be nil): "in", "newer" (after until), "older" (before since) or
-- "unknown" (no usable log_time: never shown when a bound is set).
function filter.when(entry, since, until_)
  if not since and not until_ then
    return "in"
  end
  local t = logtime.parse(entry.log_time)
  if not t then
    return "unknown"
  elseif since and t.key < since.key then
    return "older"
  elseif until_ and t.key > until_.key then
    return "newer"
  end
  return "in"
end

--- One test from the parsed options: true for an entry to print. Without
-- the time bounds when the library keeps to them (list --all: since and
-- through of each_connector_log).
function filter.new(o)
  local tests = {}
  tests[#tests + 1] = filter.status(o.status)
  tests[#tests + 1] = filter.event(o.event)
  if (o.since or o.until_) and not (o.command == "list" and o.all) then
    tests[#tests + 1] = function(entry)
      return filter.when(entry, o.since, o.until_) == "in"
    end
  end
  return function(entry)
    return not any(tests, function(test) return not test(entry) end)
  end
end

return filter
