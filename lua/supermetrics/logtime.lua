--- Internal: `log_time` values as points in time, for paging: ISO 8601 dates
-- (`2025-01-01`), minutes, seconds or fractions of a second, with `Z`, an
-- offset or no zone (taken as UTC). Strings of different precisions do not
-- compare as strings (`...00Z` sorts after `...00.5Z`), so paging compares
-- parsed values, and asks for "just after" a value at that value's own
-- precision.
--
-- What goes out as `before` is always RFC 3339 in UTC,
-- `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (the API types it `format: date-time`:
-- a bare date or a time without seconds is refused), whatever precision it
-- came in: `logtime.date_time` is the one place that writes it.
-- @module supermetrics.logtime

local logtime = {}

local floor = math.floor

-- Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
-- days_from_civil), in plain arithmetic so it is exact on every Lua.
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local function civil_from_days(z)
  z = z + 719468
  local era = floor(z / 146097)
  local doe = z - era * 146097
  local yoe = floor((doe - floor(doe / 1460) + floor(doe / 36524) - floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + floor(yoe / 4) - floor(yoe / 100))
  local mp = floor((5 * doy + 2) / 153)
  local d = doy - floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return y, m, d
end

local function days_in_month(y, m)
  local leap = (y % 4 == 0 and y % 100 ~= 0) or y % 400 == 0
  return ({ 31, leap and 29 or 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 })[m]
end

-- The sortable key of (seconds, fraction digits): fixed-width digits.
local function key_of(seconds, frac)
  return string.format("%015.0f.%s", seconds + 1e13, (frac .. ("0"):rep(18)):sub(1, 18))
end

--- Parses a log_time. Returns a value with fields `seconds` (since the
-- epoch, UTC), `frac` (the digits after the point, "" for none), `unit`
-- ("day", "minute", "second" or "fraction"), `key` (a string that sorts as
-- the instant does) and `text` (s), or nil when s is not such a timestamp.
function logtime.parse(s)
  if type(s) ~= "string" or #s > 64 then
    return nil
  end
  local y, mo, d, rest = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)(.*)$")
  if not y then
    return nil
  end
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  if mo < 1 or mo > 12 or d < 1 or d > days_in_month(y, mo) then
    return nil
  end
  local seconds = days_from_civil(y, mo, d) * 86400
  local unit, frac = "day", ""
  if rest ~= "" then
    local h, mi, tail = rest:match("^[Tt ](%d%d):(%d%d)(.*)$")
    if not h then
      return nil
    end
    h, mi = tonumber(h), tonumber(mi)
    if h > 23 or mi > 59 then
      return nil
    end
    seconds, unit = seconds + h * 3600 + mi * 60, "minute"
    local sec, after = tail:match("^:(%d%d)(.*)$")
    if sec then
      sec = tonumber(sec)
      if sec > 60 then
        return nil
      end
      seconds, unit, tail = seconds + sec, "second", after
      local digits, zone = tail:match("^[.,](%d+)(.*)$")
      if digits then
        if #digits > 18 then
          return nil
        end
        frac, unit, tail = digits, "fraction", zone
      end
    end
    -- "Z", or no zone at all (taken as UTC too), or an offset.
    if tail ~= "Z" and tail ~= "z" and tail ~= "" then
      local sign, oh, om = tail:match("^([+-])(%d%d):?(%d%d)$")
      if not sign then
        return nil
      end
      local offset = tonumber(oh) * 3600 + tonumber(om) * 60
      seconds = seconds - (sign == "+" and offset or -offset)
    end
  end
  return { seconds = seconds, frac = frac, unit = unit, key = key_of(seconds, frac), text = s }
end

local function format_utc(seconds, unit, frac)
  local days = floor(seconds / 86400)
  local y, m, d = civil_from_days(days)
  local date = string.format("%04d-%02d-%02d", y, m, d)
  if unit == "day" then
    return date
  end
  local rem = seconds - days * 86400
  local h, mi, s = floor(rem / 3600), floor(rem % 3600 / 60), rem % 60
  if unit == "minute" then
    return string.format("%sT%02d:%02dZ", date, h, mi)
  elseif unit == "second" or frac == "" then
    return string.format("%sT%02d:%02d:%02dZ", date, h, mi, s)
  end
  return string.format("%sT%02d:%02d:%02d.%sZ", date, h, mi, s, frac)
end

-- The first and the last second RFC 3339 can write (years 0000..9999).
local FIRST, LAST = days_from_civil(0, 1, 1) * 86400, days_from_civil(10000, 1, 1) * 86400 - 1

--- The RFC 3339 date-time of a parsed value, in UTC: seconds always, the
-- fraction's digits when it has any (a date is its midnight, a minute its
-- :00), or nil when its year is outside 0000..9999 (an offset may move it
-- there). What every request's `before` is.
function logtime.date_time(t)
  if t.seconds < FIRST or t.seconds > LAST then
    return nil
  end
  return format_utc(t.seconds, "fraction", t.frac)
end

--- A caller's time argument (`before`, `since`) checked and made a parsed
-- value whose `date_time` field is what goes on the wire; raises
-- INVALID_ARGUMENT (the caller's `invalid(message, argument)`) about the
-- argument `name` of `method` when s is not an ISO 8601 date or date-time
-- this module reads. nil stays nil.
function logtime.argument(s, name, method, invalid)
  if s == nil then
    return nil
  end
  local t = logtime.parse(s)
  local wire = t and logtime.date_time(t)
  if not wire then
    invalid(method .. ": " .. name .. " must be an ISO 8601 date or date-time such as "
      .. "2025-06-01T00:00:00Z, 2025-06-01T02:00:00+02:00 or 2025-06-01 (its midnight, UTC)", name)
  end
  t.date_time = wire
  return t
end

--- The smallest later value at t's own precision, as a parsed value with
-- its text in `text` (UTC; a date stays a date): the day after a date, the
-- second after a time in seconds, 0.001 s after one in milliseconds...
function logtime.successor(t)
  local seconds, frac = t.seconds, t.frac
  if t.unit == "day" then
    seconds = seconds + 86400
  elseif t.unit == "minute" then
    seconds = seconds + 60
  elseif t.unit == "second" then
    seconds = seconds + 1
  else
    -- Add one to the last digit, carrying into the seconds.
    local digits, i, carry = {}, #frac, true
    for k = 1, #frac do digits[k] = frac:byte(k) - 48 end
    while carry and i >= 1 do
      digits[i] = digits[i] + 1
      carry = digits[i] == 10
      if carry then digits[i] = 0 end
      i = i - 1
    end
    if carry then seconds = seconds + 1 end
    for k = 1, #digits do digits[k] = string.char(48 + digits[k]) end
    frac = table.concat(digits)
  end
  return {
    seconds = seconds, frac = frac, unit = t.unit, key = key_of(seconds, frac),
    text = format_utc(seconds, t.unit, frac),
  }
end

--- The parsed value of an instant given as whole seconds since the epoch
-- (UTC) and the digits of its fraction ("" for none; trailing zeros are
-- dropped): what a window's bound is made of (supermetrics.follow).
function logtime.instant(seconds, frac)
  frac = (frac or ""):gsub("0+$", "")
  local unit = frac == "" and "second" or "fraction"
  return {
    seconds = seconds, frac = frac, unit = unit, key = key_of(seconds, frac),
    text = format_utc(seconds, unit, frac),
  }
end

--- The instant 10^-18 s before t (the finest precision parse keeps), as
-- a parsed value: "after just_before(t)" means "at or after t".
function logtime.just_before(t)
  local frac = (t.frac .. ("0"):rep(18)):sub(1, 18)
  local seconds = t.seconds
  if frac == ("0"):rep(18) then
    seconds, frac = seconds - 1, ("9"):rep(18)
  else
    -- Subtract one from the last digit, borrowing leftwards (never past the
    -- first digit: frac is not all zeros).
    local digits, i = {}, 18
    for k = 1, 18 do digits[k] = frac:byte(k) - 48 end
    while digits[i] == 0 do
      digits[i], i = 9, i - 1
    end
    digits[i] = digits[i] - 1
    for k = 1, 18 do digits[k] = string.char(48 + digits[k]) end
    frac = table.concat(digits)
  end
  return {
    seconds = seconds, frac = frac, unit = "fraction", key = key_of(seconds, frac),
    text = format_utc(seconds, "fraction", frac),
  }
end

return logtime
