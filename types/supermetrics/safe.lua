---@meta supermetrics.safe
-- `require "supermetrics.safe"` for lua-language-server: the same interface
-- as `supermetrics`, but calls return `nil, err` instead of raising. The
-- classes it names are in ../supermetrics.lua.

---What the safe iterators return: each entry, or `false, err` once (a failing
---page, bad arguments), then nil.
---@alias supermetrics.SafeIterator fun(): supermetrics.Entry|false|nil, supermetrics.Error?

---A client of `supermetrics.safe`: the same methods, returning `nil, err`
---(iterators: `false, err` once, then the end) instead of raising.
---@class supermetrics.SafeClient
local SafeClient = {}

---@param team_id supermetrics.TeamId
---@param connector_identifier string
---@param log_id supermetrics.LogId
---@param opts? supermetrics.GetOptions
---@return supermetrics.Entry? entry
---@return supermetrics.Error? err
function SafeClient:get_connector_log(team_id, connector_identifier, log_id, opts) end

---@param team_id supermetrics.TeamId
---@param connector_identifier string
---@param log_id supermetrics.LogId
---@param opts? supermetrics.GetOptions
---@return string? json
---@return supermetrics.Error? err
function SafeClient:get_connector_log_json(team_id, connector_identifier, log_id, opts) end

---@param team_id supermetrics.TeamId
---@param connector_identifier string
---@param opts? supermetrics.ListOptions
---@return supermetrics.Entry[]? entries
---@return supermetrics.Error? err
function SafeClient:list_connector_logs(team_id, connector_identifier, opts) end

---A failing page (or bad arguments) comes out of the loop as `false, err`
---once; bad arguments are also the second value returned here.
---@param team_id supermetrics.TeamId
---@param connector_identifier string
---@param opts? supermetrics.EachOptions
---@return supermetrics.SafeIterator iterator
---@return supermetrics.Error? err
function SafeClient:each_connector_log(team_id, connector_identifier, opts) end

---@param team_id supermetrics.TeamId
---@param connector_identifier string
---@param opts? supermetrics.FollowOptions
---@return supermetrics.SafeIterator iterator
---@return supermetrics.Error? err
function SafeClient:follow_connector_logs(team_id, connector_identifier, opts) end

---`entries, errors` as for `supermetrics.Client`, or `nil, err` for a bad call.
---@param team_id supermetrics.TeamId
---@param connector_identifier string
---@param log_ids supermetrics.LogId[]
---@param opts? supermetrics.BatchOptions
---@return table<integer, supermetrics.Entry>|nil entries
---@return table<integer, supermetrics.Error>|supermetrics.Error|nil errors per item, or the call's error
function SafeClient:get_connector_logs(team_id, connector_identifier, log_ids, opts) end

---What the key's rate budget knows, or `nil, err` (a closed client).
---@return supermetrics.RateLimit|nil
---@return supermetrics.Error? err
function SafeClient:rate_limit() end

---Releases the client now; safe twice.
function SafeClient:close() end

function SafeClient:__close() end

---@return string
function SafeClient:__tostring() end

---The module: `local safe = require "supermetrics.safe"`.
---@class supermetrics.safe
---@field _VERSION string
---@field null lightuserdata
---@field Error table the metatable of every `supermetrics.Error` value
local safe = {}

---Creates a client, or returns `nil, err`.
---@param options? supermetrics.Options
---@return supermetrics.SafeClient? client
---@return supermetrics.Error? err
function safe.new(options) end

---@param v any
---@return boolean
function safe.is_error(v) end

return safe
