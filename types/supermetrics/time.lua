---@meta supermetrics.time
-- `require "supermetrics.time"` for lua-language-server: ISO 8601 times as
-- the library reads them (log_time, before, since, through). docs/api.md,
-- Times; tests/spec/42-format_spec.lua checks it against the code.

---A time as `parse` reads it: a plain table.
---@class supermetrics.Instant
---@field seconds integer whole seconds since 1970-01-01T00:00:00Z (UTC)
---@field fraction string the digits after the point as written, `""` for none
---@field precision "day"|"minute"|"second"|"fraction" what the text gave
---@field text? string the text it was read from

---The module: `local time = require "supermetrics.time"`.
---@class supermetrics.time
local time = {}

---Reads an ISO 8601 date or date-time: `nil, why` for anything else.
---@param s string
---@return supermetrics.Instant|nil instant
---@return string? why
function time.parse(s) end

---The RFC 3339 date-time in UTC, as every `before` is sent.
---@param t string|supermetrics.Instant
---@return string
function time.format(t) end

---Compares two times as instants: -1 (a earlier), 0 (the same instant) or 1 (a later).
---@param a string|supermetrics.Instant
---@param b string|supermetrics.Instant
---@return integer
function time.compare(a, b) end

return time
