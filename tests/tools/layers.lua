-- The C core's floors (issue 28): every file of src/ sits on a declared
-- layer, and reads (includes) and calls only its own layer and those below.
--   lua5.4 tests/tools/layers.lua [OBJDIR...]
-- checks the #include lines of src/*.[ch] and src/cli/*.[ch]; with object
-- folders (the build's obj/ and cli/obj/), also who calls whom, from nm's
-- defined and undefined symbols. A file is a module with its header
-- (route.c and route.h are "route"; src/cli/x.c is "cli/x"). It fails on
-- a file no layer names, on an include or call into a higher layer other
-- than the one declared below (at most one), and on any circle of modules.
-- tests/tools/static.sh runs it; docs/design.md draws the same floors.

-- Lowest first. A module may include and call its own layer and the ones
-- below; a new file must be placed here.
local LAYERS = {
  { "bytes: plain C, or Lua's API with nothing of ours",
    "bounds", "codes", "compat", "buffer", "segment", "sockets", "json_scan", "credential",
    "digest", "text", "cancel" },
  { "protocol: statuses, errors, HTTP/1.1, Redis, the endpoint's settings",
    "response", "errors", "redis", "http1", "endpoint" },
  { "decoders: entries, pages, error envelopes",
    "entry", "json_entry", "json_fields", "json_page", "json_raw", "envelope" },
  { "outcome: one exchange and what it gives, whichever transport",
    "outcome", "transfer" },
  { "the handle: its lifetime, credential and pool; time",
    "client", "clock" },
  { "the methods: routes, attempts, batches, cosockets, budget, cache",
    "route", "attempt", "batch", "cosocket", "budget", "cache" },
  { "the module's faces: the handle's method table, luaopen",
    "handle", "core" },
  { "the command line's own module (supermetrics.cli_native)",
    "cli/terminal", "cli/sigint" },
}

-- The include or call from a lower layer to a higher one that is allowed,
-- "from -> to" = why; at most one, and none is needed today.
local UPWARD = {}

local MAX_UPWARD = 1

local failures = {}
local function fail(fmt, ...)
  failures[#failures + 1] = string.format(fmt, ...)
end

local layer_of = {}
for i, layer in ipairs(LAYERS) do
  for j = 2, #layer do
    assert(not layer_of[layer[j]], layer[j] .. " is in two layers")
    layer_of[layer[j]] = i
  end
end

local upward_n = 0
for _ in pairs(UPWARD) do upward_n = upward_n + 1 end
if upward_n > MAX_UPWARD then
  fail("%d upward edges declared; at most %d", upward_n, MAX_UPWARD)
end

local function lines_of(cmd)
  local p = assert(io.popen(cmd))
  local out = {}
  for line in p:lines() do out[#out + 1] = line end
  p:close()
  return out
end

-- "src/cli/sigint.c" -> "cli/sigint"
local function module_of(path)
  local rel = path:gsub("^src/", ""):gsub("^.*/obj/", "")
  local dir = rel:match("^(cli)/") and "cli/" or ""
  return dir .. rel:match("([^/]+)%.[cho]$")
end

-- edges[kind][from][to] = an example ("file:line" or a symbol)
local edges = { include = {}, call = {} }
local function edge(kind, from, to, where)
  if from == to then return end
  edges[kind][from] = edges[kind][from] or {}
  edges[kind][from][to] = edges[kind][from][to] or where
end

local files = lines_of("ls src/*.c src/*.h src/cli/*.c src/cli/*.h 2>/dev/null")
assert(#files > 0, "run from the checkout's root")
local modules = {}
for _, path in ipairs(files) do
  local from = module_of(path)
  modules[from] = true
  if not layer_of[from] then
    fail("%s: module %s is on no layer (tests/tools/layers.lua's LAYERS)", path, from)
  end
  local n = 0
  for line in io.lines(path) do
    n = n + 1
    local inc = line:match('^%s*#%s*include%s+"([^"]+)"')
    if inc then
      -- Relative to the including file's folder, as the compiler reads it.
      local dir = path:match("^(.*)/[^/]+$")
      local target = (dir .. "/" .. inc):gsub("/[^/]+/%.%./", "/")
      edge("include", from, module_of(target), path .. ":" .. n)
    end
  end
end

-- Calls: what each object uses (U) of what another defines (T, D, B, R, C).
local defined_by, uses = {}, {}
for _, dir in ipairs(arg) do
  for _, obj in ipairs(lines_of("ls " .. dir .. "/*.o 2>/dev/null")) do
    local m = (dir:find("cli/obj/?$") and "cli/" or "") .. obj:match("([^/]+)%.o$")
    -- An object whose source is gone (a stale build) says nothing.
    local lines = modules[m] and lines_of("nm " .. obj) or {}
    uses[m] = uses[m] or {}
    for _, line in ipairs(lines) do
      local kind, sym = line:match("^%s*%x*%s+(%a)%s+(%S+)$")
      if kind == "U" then
        uses[m][#uses[m] + 1] = sym
      elseif kind and kind:find("^[TDBRC]$") then
        defined_by[sym] = m
      end
    end
  end
end
for m, syms in pairs(uses) do
  for _, sym in ipairs(syms) do
    if defined_by[sym] then edge("call", m, defined_by[sym], sym) end
  end
end

local upward_seen = {}
for kind, by in pairs(edges) do
  for from, tos in pairs(by) do
    for to, where in pairs(tos) do
      local lf, lt = layer_of[from], layer_of[to]
      if lf and lt and lt > lf then
        local key = from .. " -> " .. to
        if UPWARD[key] then
          upward_seen[key] = true
        else
          fail("%s %s (%s): %s (layer %d) reaches up into %s (layer %d)", kind, key, where, from, lf, to, lt)
        end
      end
    end
  end
end
local n_up = 0
for _ in pairs(upward_seen) do n_up = n_up + 1 end

-- Circles: one depth-first walk over both kinds of edges together.
local state, stack = {}, {}
local function walk(m)
  state[m] = "open"
  stack[#stack + 1] = m
  for _, by in pairs(edges) do
    for to in pairs(by[m] or {}) do
      if state[to] == "open" then
        local circle, at = {}, nil
        for i, s in ipairs(stack) do
          if s == to then at = i end
          if at then circle[#circle + 1] = s end
        end
        circle[#circle + 1] = to
        fail("circle: %s", table.concat(circle, " -> "))
      elseif not state[to] then
        walk(to)
      end
    end
  end
  stack[#stack] = nil
  state[m] = "done"
end
local names = {}
for m in pairs(modules) do names[#names + 1] = m end
table.sort(names)
for _, m in ipairs(names) do
  if not state[m] then walk(m) end
end

local function count(by)
  local n = 0
  for _, tos in pairs(by) do for _ in pairs(tos) do n = n + 1 end end
  return n
end
if #failures > 0 then
  for _, f in ipairs(failures) do io.stderr:write("layers: ", f, "\n") end
  os.exit(1)
end
print(string.format("layers: clean (%d modules on %d layers, %d include and %d call edges, %d upward)",
  #names, #LAYERS, count(edges.include), count(edges.call), n_up))
