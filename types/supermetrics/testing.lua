---@meta supermetrics.testing
-- `require "supermetrics.testing"` for lua-language-server: a scripted fake
-- Hub whose client is the real client over scripted HTTP bytes, on a fake
-- clock; record and replay. docs/testing.md; tests/spec/45-testing_spec.lua
-- checks it against the code.

---Which requests an answer is for: each field given must equal the request's.
---@class supermetrics.testing.Match
---@field op? "get"|"list"|"any"
---@field team? integer|string
---@field connector? string
---@field id? string
---@field limit? integer|string
---@field before? string
---@field query? string the whole query string

---What the matching requests get, and how often.
---@class supermetrics.testing.How
---@field status? integer
---@field code? string
---@field message? string
---@field description? string
---@field request_id? string|false
---@field envelope? boolean
---@field retry_after? number|string
---@field rate_limit? { limit: integer, remaining: integer }
---@field headers? table<string, string>
---@field problem? { title: string?, detail: string?, type: string? }
---@field html? boolean|string
---@field body? string
---@field content_type? string
---@field timeout? boolean
---@field reset? boolean
---@field close? boolean
---@field tls? boolean
---@field truncated? boolean|integer
---@field invalid_json? boolean|string
---@field other_id? string
---@field times? integer|"always"
---@field optional? boolean

---A scripted answer: `used` counts the requests it answered.
---@class supermetrics.testing.Answer
---@field name string
---@field used integer

---A request as the client wrote it, the credential redacted.
---@class supermetrics.testing.Request
---@field method string
---@field target string
---@field path string
---@field raw_query string
---@field query table<string, string>
---@field headers table<string, string>
---@field op? "get"|"list"
---@field team? string
---@field connector? string
---@field id? string

---The fake clock of a hub's clients.
---@class supermetrics.testing.Clock
---@field sleeps number[] each wait, in order
---@field slept number their sum
---@field monotonic fun(): number
---@field wall fun(): number
---@field sleep fun(seconds: number)

---A fake Hub.
---@class supermetrics.testing.Hub
---@field before "inclusive"|"exclusive"
---@field key string
---@field base_url string
---@field clock supermetrics.testing.Clock
local Hub = {}

---Adds an entry (a table, or JSON text sent as it is).
---@param team integer|string
---@param connector string
---@param entry table|string
---@return supermetrics.testing.Hub
function Hub:entry(team, connector, entry) end

---Adds each entry of list.
---@param team integer|string
---@param connector string
---@param list (table|string)[]
---@return supermetrics.testing.Hub
function Hub:entries(team, connector, list) end

---Scripts an answer.
---@param match supermetrics.testing.Match
---@param how supermetrics.testing.How|integer
---@return supermetrics.testing.Answer
function Hub:fail(match, how) end

---What the client sent, in order.
---@return supermetrics.testing.Request[]
function Hub:requests() end

---Raises, naming each, when a scripted answer went unused.
---@return true
function Hub:assert_done() end

---A real client wired to this hub, on its fake clock.
---@param options? table supermetrics.new's options
---@return supermetrics.Client
function Hub:client(options) end

---Replays a fixture file.
---@param file string
---@return supermetrics.testing.Hub
function Hub:load(file) end

---Moves the fake clock on without a wait.
---@param seconds number
function Hub:advance(seconds) end

---The module: `local testing = require "supermetrics.testing"`.
---@class supermetrics.testing
---@field START integer the fake clock's start, seconds since the epoch (2025-06-01T00:00:00Z)
---@field FORMAT string a fixture file's `format`
---@field null table JSON null in an entry given as a table
local testing = {}

---A new fake Hub.
---@param opts? { before: "inclusive"|"exclusive"?, key: string?, base_url: string? }
---@return supermetrics.testing.Hub
function testing.hub(opts) end

---A real client that records the server's answers into a fixture file, the credential redacted.
---@param file string
---@param options? table supermetrics.new's options
---@return supermetrics.Client
function testing.record(file, options) end

---A table's JSON text (objects' keys sorted).
---@param v any
---@return string
function testing.encode(v) end

---Answers HTTP requests on 127.0.0.1:port from a fixture file (`supermetrics-logs serve`); needs LuaSocket.
---@param fixtures string
---@param opts? { port: integer?, requests: integer? }
function testing.serve(fixtures, opts) end

return testing
