--- Error values raised from the Lua layer: the same `supermetrics.Error`
-- type the C core builds (plain tables with that metatable).
-- @module supermetrics.errors

local core = require "supermetrics.core"

local errors = {}

--- A new error value: fields (may be nil) plus code and message.
function errors.new(code, message, fields)
  local err = fields or {}
  err.code, err.message = code, message
  err.attempts = err.attempts or 0
  return setmetatable(err, core.Error)
end

--- Raises INVALID_ARGUMENT with message msg (attempts = 0).
function errors.invalid(msg)
  error(errors.new("INVALID_ARGUMENT", msg))
end

return errors
