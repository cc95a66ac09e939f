--- Internal: Error values raised from the Lua layer, built by the C core's one
-- constructor: the same `supermetrics.Error` type as every other error.
-- @module supermetrics.errors

local core = require "supermetrics.core"

local errors = {}

--- A new error value: fields (may be nil) plus code and message;
-- attempts is 0 unless fields say otherwise.
-- @function new
errors.new = core.new_error

--- Raises INVALID_ARGUMENT with message msg (attempts = 0); argument: the
-- name of the argument or option at fault (err.argument), when there is one.
function errors.invalid(msg, argument)
  error(errors.new("INVALID_ARGUMENT", msg, argument and { argument = argument } or nil))
end

return errors
