--- ISO 8601 times as the library reads them: `log_time` values, and the
-- `before`, `since` and `through` options. A date (`2025-06-01`, its
-- midnight), minutes, seconds or a fraction of up to 18 digits, with `Z`,
-- an offset or no zone (UTC); a space or a lower-case `t` / `z`, a comma
-- before the fraction. Compared as instants, never as strings
-- (`...00Z` is later than `...00.5Z` as text, earlier as time), and written
-- as RFC 3339 in UTC, the one form the API takes. docs/api.md, Times.
-- @module supermetrics.time

local errors = require "supermetrics.errors"
local logtime = require "supermetrics.logtime"

local time = {}

-- The internal value of a public instant or a string; nil, why when it is
-- neither.
local function internal(v)
  if type(v) == "string" then
    local t = logtime.parse(v)
    if not t then
      return nil, "not an ISO 8601 date or date-time: " .. string.format("%q", #v > 64 and v:sub(1, 64) .. "..." or v)
    end
    return t
  elseif type(v) == "table" then
    local seconds, fraction = v.seconds, v.fraction or ""
    if type(seconds) ~= "number" or seconds ~= math.floor(seconds) or type(fraction) ~= "string"
        or not fraction:match("^%d*$") or #fraction > 18 then
      return nil, "not an instant: a table needs whole seconds and the digits of its fraction"
    end
    local unit = v.precision
    if unit ~= "day" and unit ~= "minute" and unit ~= "second" then
      unit = fraction == "" and "second" or "fraction"
    end
    return { seconds = seconds, frac = fraction, unit = unit, key = logtime.key_of(seconds, fraction),
      text = type(v.text) == "string" and v.text or nil }
  end
  return nil, "not a time: a " .. type(v)
end

local function checked(v, name)
  local t, why = internal(v)
  if not t then
    errors.invalid("supermetrics.time." .. name .. ": " .. why, "time")
  end
  return t
end

--- Reads an ISO 8601 date or date-time as the library does.
-- @string s the text, e.g. `"2025-06-01T12:30:00.250+02:00"` or `"2025-06-01"`
-- @return an instant, a plain table: `seconds` (whole seconds since
-- 1970-01-01T00:00:00Z, UTC), `fraction` (the digits after the point as
-- written, `""` for none), `precision` (`"day"`, `"minute"`, `"second"` or
-- `"fraction"`: what the text gave) and `text` (s); or nil and why
function time.parse(s)
  if type(s) ~= "string" then
    return nil, "not a string: a " .. type(s)
  end
  local t, why = internal(s)
  if not t then
    return nil, why
  end
  return { seconds = t.seconds, fraction = t.frac, precision = t.unit, text = s }
end

--- The RFC 3339 date-time in UTC of a time, as every request's `before`
-- is written: `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, seconds always, the
-- fraction's digits as given (a date is its midnight).
-- @param t a string (read as `parse` does) or an instant
-- @treturn string
-- @raise INVALID_ARGUMENT (argument `"time"`) for something else, or a
-- year outside 0000..9999
function time.format(t)
  local text = logtime.date_time(checked(t, "format"))
  if not text then
    errors.invalid("supermetrics.time.format: the year is outside 0000..9999", "time")
  end
  return text
end

--- Compares two times as instants.
-- @param a a string or an instant
-- @param b a string or an instant
-- @treturn integer -1 when a is earlier, 0 when they are the same instant
-- (`2025-06-01` and `2025-06-01T02:00:00+02:00`), 1 when a is later
-- @raise INVALID_ARGUMENT (argument `"time"`) for something that is not a time
function time.compare(a, b)
  local x, y = checked(a, "compare").key, checked(b, "compare").key
  if x < y then
    return -1
  elseif x > y then
    return 1
  end
  return 0
end

return time
