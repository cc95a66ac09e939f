--- Internal: Error values raised from the Lua layer, built by the C core's one
-- constructor: the same `supermetrics.Error` type as every other error.
-- @module supermetrics.errors

local core = require "supermetrics.core"

local errors = {}

--- A new error value: fields (may be nil) plus code and message;
-- attempts is 0 unless fields say otherwise.
-- @function new
errors.new = core.new_error

--- Raises INVALID_ARGUMENT with message msg (attempts = 0).
function errors.invalid(msg)
  error(errors.new("INVALID_ARGUMENT", msg))
end

return errors
