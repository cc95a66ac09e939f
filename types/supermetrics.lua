---@meta supermetrics
-- lua-supermetrics for lua-language-server (LuaCATS annotations): what
-- `require "supermetrics"` returns, its client, errors, entries and options.
-- Definitions only, never loaded by the library: add this folder to
-- `workspace.library` (docs/api.md, "Editor support"). types/supermetrics.d.tl
-- says the same for Teal; tests/spec/27-types_spec.lua checks both against
-- the code. docs/api.md has the details behind every line.

---A team id: an integer 1..2^63-1, or a string of its decimal digits
---(exact above 2^53 on Lua 5.1 and LuaJIT).
---@alias supermetrics.TeamId integer|string

---A log id: a string of 1..255 bytes (sent percent-encoded), or an integer.
---@alias supermetrics.LogId string|integer

---The codes the library itself sets. An error built from the API's envelope
---carries the envelope's `error.code` as sent, which may be another
---(`LOG_NOT_FOUND`, `PERMISSION_ERROR`, ...).
---@alias supermetrics.Code
---| "BAD_REQUEST"           # 400 without a usable envelope
---| "UNAUTHORIZED"          # 401 likewise
---| "FORBIDDEN"             # 403 likewise
---| "NOT_FOUND"             # 404 likewise
---| "CONFLICT_ERROR"        # 409 likewise
---| "UNPROCESSABLE_ENTITY"  # 422 likewise
---| "TOO_MANY_REQUESTS"     # 429 likewise (retried)
---| "INTERNAL_SERVER_ERROR" # 500 likewise (retried)
---| "BAD_GATEWAY"           # 502 likewise (retried)
---| "SERVICE_UNAVAILABLE"   # 503 likewise (retried)
---| "GATEWAY_TIMEOUT"       # 504 likewise (retried)
---| "HTTP_ERROR"            # any other 4xx/5xx without envelope, any 1xx/3xx
---| "TIMEOUT"               # the call's timeout (or connect_timeout) passed
---| "CONNECTION_ERROR"      # DNS, refused, reset, closed early, not HTTP (retried)
---| "TLS_ERROR"             # untrusted certificate, wrong host name, failed handshake
---| "RESPONSE_TOO_LARGE"    # a body over max_response_bytes
---| "INVALID_RESPONSE"      # a 2xx that is not the expected JSON, or answers another request
---| "INVALID_ARGUMENT"      # a bad argument or option, a closed client; before any traffic

---Every failure raises one of these: a table whose metatable is
---`supermetrics.Error`. `tostring(err)` and `..` give one line.
---@class supermetrics.Error
---@field code supermetrics.Code|string what to branch on
---@field message string short human text
---@field description? string longer text from the envelope
---@field status? integer HTTP status of the failed response; nil when none arrived
---@field request_id? string `meta.request_id`, else the `X-Request-Id` header
---@field retry_after? integer seconds the server asked to wait (`Retry-After`)
---@field attempts integer HTTP attempts made (0 for INVALID_ARGUMENT)
---@field rate_limit? integer `X-RateLimit-Limit`, when sent
---@field rate_limit_remaining? integer `X-RateLimit-Remaining`, when sent
---@field body? string a non-2xx reply without a usable envelope: its first 1024 bytes, credential redacted, control characters kept (sanitise before printing)
---@field cause? any only for a failing `token_provider`: what it raised
---@field argument? string INVALID_ARGUMENT only: the argument or option at fault ("team_id", "page_size")
---@field resume? supermetrics.Resume raised from `each_connector_log`'s loop only: where to go on (its `resume` option)
---@operator concat(string): string

---One log entry: a plain table. Top-level JSON nulls are absent; fields the
---API adds later are kept (nested nulls as `supermetrics.null`).
---@class supermetrics.Entry
---@field id? string the log id
---@field log_time? string an ISO 8601 date or date-time, e.g. `"2025-01-01"`
---@field status? integer the logged request's HTTP status
---@field event? string e.g. `"auth.token.refresh"`
---@field request? string method and path, e.g. `"POST /api/oauth/token_refresh"`
---@field duration_ms? integer
---@field request_id? string the logged request's id
---@field [string] any

---What `on_response` gets after every HTTP attempt.
---@class supermetrics.ResponseEvent
---@field method string `"GET"`
---@field path string the request path with its query (never a credential)
---@field attempt integer 1 for a call's first attempt, 2 for its first retry, ...
---@field status? integer nil when no response arrived
---@field duration_ms number time of this attempt
---@field request_id? string `meta.request_id` or `X-Request-Id`
---@field error_code? string the error's code when the attempt failed
---@field rate_limit? integer `X-RateLimit-Limit`, when sent
---@field rate_limit_remaining? integer `X-RateLimit-Remaining`, when sent
---@field headers? table<string, string> the extra headers sent, less those whose names look secret
---@field proxy? string the proxy's host:port, when the request went through one
---@field budget_warning? string once, after the rate budget's shared store failed: the client goes on with its process's own budget
---@field cache? "hit"|"stale"|"wait" a call the entry cache served without a request of its own (`attempt` is then 0)

---The options of `supermetrics.new`. Give at most one of `api_key`, `token`,
---`token_provider`; with none, `SUPERMETRICS_API_KEY` is the credential. An
---unknown name raises INVALID_ARGUMENT.
---@class supermetrics.Options
---@field api_key? string an API key (`api_...`)
---@field token? string an OAuth access token (`otok_...`)
---@field token_provider? fun(): string called before every attempt; returns the credential
---@field base_url? string default `"https://api.supermetrics.com"`; `http://` for loopback only
---@field timeout? number seconds for a whole call, retries and waits included (30)
---@field connect_timeout? number seconds per connection attempt (10)
---@field max_retries? integer retries after the first attempt, 0..100 (2)
---@field max_retry_wait? number seconds; the longest single wait, Retry-After included (20)
---@field max_response_bytes? integer cap on a response body, after decompression (16777216)
---@field ca_file? string PEM bundle to trust instead of the system store (not inside nginx)
---@field user_agent? string appended to the default User-Agent
---@field on_response? fun(event: supermetrics.ResponseEvent) after every HTTP attempt; what it raises is dropped
---@field nginx_pool_size? integer inside nginx: idle kept-alive connections per worker (64)
---@field nginx_idle_timeout? number inside nginx: seconds an idle pooled connection is kept (60)
---@field nginx_blocking? boolean inside nginx: block on libcurl instead (false)
---@field headers? table<string, string> extra headers sent with every request (not the library's own: Authorization, Host, User-Agent, Accept, ...)
---@field proxy? string|false `http://[user:pass@]host:port` for https:// base URLs; false: none (else https_proxy / no_proxy from the environment)
---@field trace_context? boolean inside nginx: forward the current request's W3C `traceparent` / `tracestate`
---@field budget? supermetrics.BudgetOptions|false where the key's rate budget lives: nil, in this process (per key and base URL); `{ dict = "NAME" }`; `{ redis = "redis://..." }`; false: none
---@field cache? supermetrics.CacheOptions|boolean an entry cache for `get_connector_log[_json]` and `get_connector_logs`: true (the defaults); nil or false: none

---The option `budget` of `supermetrics.new`: give `dict` or `redis`.
---@class supermetrics.BudgetOptions
---@field dict? string inside nginx: the name of a `lua_shared_dict` that every worker shares
---@field redis? string `redis://[[user]:password@]host[:port][/db]`: a Redis that every process and machine shares
---@field timeout? number redis: seconds per Redis operation, 0.001..60 (0.2), never more than the call has left

---The option `cache` of `supermetrics.new`.
---@class supermetrics.CacheOptions
---@field size? integer entries kept (per client; inside nginx per worker), 1..10000000 (1000)
---@field ttl? number seconds an entry is kept, over 0; `math.huge`: for ever (300)
---@field negative_ttl? number seconds a NOT_FOUND is kept; 0: not kept (5)
---@field stale_if_error? number seconds an expired entry is still served when the API fails with a retried kind of error (0)
---@field dict? string inside nginx: a `lua_shared_dict` every worker shares (and the lock that makes one request per missing entry)

---What `client:cache_stats()` returns.
---@class supermetrics.CacheStats
---@field hits integer calls served from the cache
---@field negative integer of the hits, those that were a kept NOT_FOUND
---@field misses integer requests the cache made (one per missing entry, however many asked)
---@field stale integer calls served an expired entry because the API failed
---@field waits integer calls that waited for another's request of the same entry
---@field entries integer entries in this client's LRU now
---@field size integer the LRU's size
---@field dict? string the shared dict's name

---What `client:rate_limit()` returns.
---@class supermetrics.RateLimit
---@field source "local"|"dict"|"redis"|"off" where it was read ("local" while a shared store fails)
---@field limit? integer `X-RateLimit-Limit` as last seen
---@field remaining? integer `X-RateLimit-Remaining` as last seen, less the requests let through since
---@field closed_until? number seconds since the epoch (UTC): the end of a window a 429 closed
---@field store_error? string why the shared store failed, while it does

---Options of `client:get_connector_log` and `client:get_connector_log_json`.
---@class supermetrics.GetOptions
---@field headers? table<string, string|false> extra request headers of this call, over the client's (`false` drops one of the client's)

---Options of `client:list_connector_logs`.
---@class supermetrics.ListOptions
---@field limit? integer 1..1000 (the server's default: 100)
---@field before? string an ISO 8601 date or date-time; entries before it
---@field headers? table<string, string|false> extra request headers of this call, over the client's (`false` drops one of the client's)

---Options of `client:each_connector_log`.
---@class supermetrics.EachOptions
---@field page_size? integer 1..1000 (100)
---@field before? string an ISO 8601 date or date-time; start before it, as the server reads it
---@field since? string an ISO 8601 date or date-time: only entries at or after it; paging stops at the first older one
---@field through? string an ISO 8601 date or date-time: only entries at or before it, whatever the server's `before` (not with `before`)
---@field resume? supermetrics.Resume|string what an error of an earlier loop carried (`err.resume`), or its JSON text: go on after its last entry
---@field on_page? fun(progress: supermetrics.PageEvent) called as each page arrives, before its entries are yielded; what it raises ends the loop
---@field slices? integer 1..64: split since..through into that many slices of time fetched at once, yielded newest first (needs since; not with before)
---@field headers? table<string, string|false> extra request headers of this call, over the client's (`false` drops one of the client's)

---What `on_page` gets as each page of `each_connector_log` arrives.
---@class supermetrics.PageEvent
---@field page integer pages received so far (going on from a resume value's count)
---@field entries integer entries yielded so far, this page's included
---@field received integer entries on this page as the server sent them
---@field oldest? string the oldest `log_time` on the pages so far, as sent
---@field before? string the `before` this page was asked with (RFC 3339); nil for the newest

---Where a loop of `each_connector_log` stopped (`err.resume`): plain data, the
---same as its JSON text (`supermetrics.format.json(err.resume)`).
---@class supermetrics.Resume
---@field version integer 1
---@field before? string the next request's `before` (RFC 3339); nil: from the newest entry
---@field edge? string the oldest `log_time` that ended a full page, as sent
---@field inclusive boolean whether the server showed its `before` to be inclusive
---@field ids table[] `{ {id, log_time}, ... }`: entries yielded that a later page may show again
---@field idless table[] `{ {log_time, n}, ... }`: how many entries without id were yielded stamped so
---@field since? string the loop's `since`, as given
---@field through? string the loop's `through`, as given
---@field entries integer entries yielded so far
---@field pages integer pages received so far

---Options of `client:follow_connector_logs`.
---@class supermetrics.FollowOptions
---@field since? string an ISO 8601 date or date-time; first the entries newer than it
---@field last? integer 0..10000: first the newest `last` entries (as `tail -n N -f`; not with `since`)
---@field interval? number seconds between polls, 0.01..3600 (2)
---@field headers? table<string, string|false> extra request headers of this call, over the client's (`false` drops one of the client's)

---Options of `client:get_connector_logs`.
---@class supermetrics.BatchOptions
---@field concurrency? integer requests in flight at once, 1..256 (16)
---@field headers? table<string, string|false> extra request headers of this call, over the client's (`false` drops one of the client's)

---A client: what `supermetrics.new` returns. Every method raises a
---`supermetrics.Error` on failure. Reuse it: it keeps its connections.
---@class supermetrics.Client
local Client = {}

---Fetches one log entry.
---@param team_id supermetrics.TeamId
---@param connector_identifier string 1..100 of `A-Z a-z 0-9 _ -`
---@param log_id supermetrics.LogId
---@param opts? supermetrics.GetOptions
---@return supermetrics.Entry entry
function Client:get_connector_log(team_id, connector_identifier, log_id, opts) end

---Fetches one log entry as the JSON text the server sent, byte for byte, for
---handlers that only pass it on: checked (one JSON object whose `id` is the
---log id asked for), never decoded.
---@param team_id supermetrics.TeamId
---@param connector_identifier string 1..100 of `A-Z a-z 0-9 _ -`
---@param log_id supermetrics.LogId
---@param opts? supermetrics.GetOptions
---@return string json
function Client:get_connector_log_json(team_id, connector_identifier, log_id, opts) end

---Fetches one page of entries, newest first.
---@param team_id supermetrics.TeamId
---@param connector_identifier string
---@param opts? supermetrics.ListOptions
---@return supermetrics.Entry[] entries possibly empty
function Client:list_connector_logs(team_id, connector_identifier, opts) end

---Every entry from `before` back, newest first, each once; pages are fetched
---as the loop needs them, and a failing page raises from the iterator.
---@param team_id supermetrics.TeamId
---@param connector_identifier string
---@param opts? supermetrics.EachOptions
---@return fun(): supermetrics.Entry? iterator for a generic `for`
function Client:each_connector_log(team_id, connector_identifier, opts) end

---Follows a log as it grows (`tail -f`): an endless iterator, oldest first.
---@param team_id supermetrics.TeamId
---@param connector_identifier string
---@param opts? supermetrics.FollowOptions
---@return fun(): supermetrics.Entry iterator for a generic `for`; runs until the loop breaks
function Client:follow_connector_logs(team_id, connector_identifier, opts) end

---Fetches many entries at once: for each i of `log_ids`, exactly one of
---`entries[i]` / `errors[i]` is set.
---@param team_id supermetrics.TeamId
---@param connector_identifier string
---@param log_ids supermetrics.LogId[]
---@param opts? supermetrics.BatchOptions
---@return table<integer, supermetrics.Entry> entries
---@return table<integer, supermetrics.Error> errors
function Client:get_connector_logs(team_id, connector_identifier, log_ids, opts) end

---What the key's rate budget knows of its window.
---@return supermetrics.RateLimit
function Client:rate_limit() end

---What the entry cache has done; nil for a client without one.
---@return supermetrics.CacheStats|nil
function Client:cache_stats() end

---Releases the connections and wipes the credential now; safe twice.
function Client:close() end

---`local client <close> = supermetrics.new {...}` (Lua 5.4): `close` at the end of the scope.
function Client:__close() end

---The base URL, never a credential.
---@return string
function Client:__tostring() end

---The module: `local supermetrics = require "supermetrics"`.
---@class supermetrics
---@field _VERSION string semver of this library, e.g. `"0.1.0"`
---@field null lightuserdata JSON null inside nested values (the same as `cjson.null`)
---@field Error table the metatable of every `supermetrics.Error` value
local supermetrics = {}

---Creates a client.
---@param options? supermetrics.Options
---@return supermetrics.Client client
function supermetrics.new(options) end

---True for this library's error values only.
---@param v any
---@return boolean
function supermetrics.is_error(v) end

return supermetrics
