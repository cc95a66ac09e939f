---@meta supermetrics.format
-- `require "supermetrics.format"` for lua-language-server: the writers the
-- command line uses (JSON, NDJSON, CSV, tables). docs/api.md, Writing
-- entries; tests/spec/42-format_spec.lua checks it against the code.

---The options of `format.writer`.
---@class supermetrics.WriterOptions
---@field format? "json"|"ndjson"|"csv"|"table" json (default): an array, or one object with `single`
---@field fields? string[] the columns, in order (dot paths reach nested values)
---@field csv_raw? boolean CSV cells as sent: no cleaning, no formula guard
---@field header? boolean false: no CSV header row (appending to a file that has one)
---@field single? boolean JSON: one object, not an array
---@field stream? boolean a table printed row by row, not measured at the end
---@field color? boolean a table's 4xx/5xx statuses in color
---@field flush? boolean flush after every entry
---@field warn? fun(message: string) once, when a number JSON cannot hold was written as null

---What `format.writer` returns. A failed write raises `{ io = message, pipe = true|nil }`.
---@class supermetrics.Writer
---@field count integer entries written
local Writer = {}

---Writes one entry.
---@param entry supermetrics.Entry
function Writer:entry(entry) end

---Ends the output and flushes: state "ok" (default), "failed" or "interrupted".
---@param state? "ok"|"failed"|"interrupted"
function Writer:finish(state) end

---Flushes the output.
function Writer:flush() end

---The module: `local format = require "supermetrics.format"`.
---@class supermetrics.format
---@field FORMATS table<string, boolean> the formats a writer takes
---@field COLUMNS string[] CSV's columns without `fields`: the API's fields of an entry
local format = {}

---A writer of entries to `out` (a file, or anything with `write` and `flush`).
---@param out file*|table
---@param opts? supermetrics.WriterOptions
---@return supermetrics.Writer
function format.writer(out, opts) end

---Text made safe for a terminal: C0, DEL and C1 controls as spaces, bad UTF-8 as U+FFFD.
---@param text string
---@return string
function format.shown(text) end

---Whether v is a number JSON cannot hold (infinity, NaN).
---@param v any
---@return boolean
function format.nonfinite(v) end

---Any value as one line of JSON: keys sorted, strings escaped, integers exact.
---@param v any
---@return string
function format.json(v) end

---One entry as a one-line JSON object (an NDJSON line without its newline).
---@param entry supermetrics.Entry
---@param fields? string[]
---@return string
function format.entry_json(entry, fields) end

---A CSV cell's text before quoting: cleaned, a formula guarded with `'` (unless raw).
---@param v any
---@param raw? boolean
---@return string
function format.csv_text(v, raw) end

---One CSV field, quoted per RFC 4180 when it needs it.
---@param v any
---@param raw? boolean
---@return string
function format.csv_field(v, raw) end

---One CSV record, ended by CRLF.
---@param values any[] (`n` = its length when it holds nils)
---@param raw? boolean
---@return string
function format.csv_record(values, raw) end

return format
