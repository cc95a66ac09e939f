--- lua-supermetrics: fast, safe access to the Supermetrics Hub API.
-- The module users require. A thin layer over the C core
-- (`supermetrics.core`); the README lists the whole interface.
-- @module supermetrics

local core = require "supermetrics.core"
local Client = require "supermetrics.client"

local supermetrics = {
  --- Semantic version of this library.
  _VERSION = Client.VERSION,
  --- JSON null inside nested values (the same light userdata as `cjson.null`).
  null = core.null,
  --- Metatable of every error value this library raises.
  Error = core.Error,
  --- True for error values raised by this library, false for anything else.
  is_error = core.is_error,
  --- Creates a client; the options are in the README's table and docs/api.md.
  -- (Client.new's internal second argument never comes from here.)
  new = function(opts)
    return Client.new(opts)
  end,
}

return supermetrics
