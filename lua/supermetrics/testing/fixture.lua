--- Internal: supermetrics.testing's text formats: JSON text out (entries
-- given as tables, objects' keys sorted), and fixture files (Lua data
-- literals, no code) read and written.
-- @module supermetrics.testing.fixture

local fixture = {}

local floor, huge = math.floor, math.huge
local concat, sort = table.concat, table.sort
local format = string.format
local math_type = math.type -- nil before 5.3

-- JSON null in an entry given as a table (testing.null).
fixture.null = setmetatable({}, { __tostring = function() return "supermetrics.testing.null" end })

-- The fixture format's name, a fixture file's `format` field (testing.FORMAT).
fixture.FORMAT = "supermetrics.testing 1"

local ESCAPES = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n",
  ["\r"] = "\\r", ["\t"] = "\\t" }

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return ESCAPES[c] or format("\\u%04x", c:byte())
  end) .. '"'
end

local function json_number(n)
  if n ~= n or n == huge or n == -huge then
    error("supermetrics.testing: JSON cannot hold " .. tostring(n), 3)
  end
  if math_type then
    if math_type(n) == "integer" then
      return format("%d", n)
    end
    local s = format("%.17g", n)
    return s:find("[%.eEn]") and s or s .. ".0"
  end
  if n == floor(n) and n > -2 ^ 53 and n < 2 ^ 53 then
    return format("%d", n)
  end
  return format("%.17g", n)
end

local function encode(v, depth)
  local t = type(v)
  if t == "string" then
    return json_string(v)
  elseif t == "number" then
    return json_number(v)
  elseif t == "boolean" then
    return tostring(v)
  elseif v == fixture.null then
    return "null"
  elseif t == "table" then
    depth = (depth or 0) + 1
    if depth > 100 then
      error("supermetrics.testing: a table nested over 100 deep (a cycle?)", 3)
    end
    local parts = {}
    if v[1] ~= nil then
      for i = 1, #v do
        parts[i] = encode(v[i], depth)
      end
      return "[" .. concat(parts, ",") .. "]"
    end
    local keys = {}
    for k in pairs(v) do
      if type(k) ~= "string" then
        error("supermetrics.testing: a JSON object's keys are strings, got " .. type(k), 3)
      end
      keys[#keys + 1] = k
    end
    sort(keys)
    for i, k in ipairs(keys) do
      parts[i] = json_string(k) .. ":" .. encode(v[k], depth)
    end
    return "{" .. concat(parts, ",") .. "}"
  end
  error("supermetrics.testing: JSON cannot hold a " .. t, 3)
end

-- A Lua literal of a fixture's value (strings, numbers, booleans, tables).
local function literal(v, indent)
  local t = type(v)
  if t == "string" then
    return (format("%q", v):gsub("\r", "\\r"):gsub("\\\n", "\\n"))
  elseif t == "number" then
    return json_number(v)
  elseif t == "boolean" then
    return tostring(v)
  elseif t ~= "table" then
    error("supermetrics.testing: a fixture cannot hold a " .. t)
  end
  indent = indent or ""
  local inner = indent .. "  "
  local parts = {}
  local n = #v
  for i = 1, n do
    parts[#parts + 1] = inner .. literal(v[i], inner) .. ",\n"
  end
  local keys = {}
  for k in pairs(v) do
    if type(k) == "string" then
      keys[#keys + 1] = k
    elseif type(k) ~= "number" or k < 1 or k > n or k ~= floor(k) then
      error("supermetrics.testing: a fixture's keys are names or a list's indexes")
    end
  end
  sort(keys)
  for _, k in ipairs(keys) do
    local key = k:match("^[%a_][%w_]*$") and k or "[" .. literal(k) .. "]"
    parts[#parts + 1] = inner .. key .. " = " .. literal(v[k], inner) .. ",\n"
  end
  if #parts == 0 then
    return "{}"
  end
  return "{\n" .. concat(parts) .. indent .. "}"
end

-- A fixture file's table: data only (text, no bytecode; nothing in scope).
local function read_fixture(file)
  local f, why = io.open(file, "rb")
  if not f then
    error("supermetrics.testing: cannot read " .. tostring(file) .. ": " .. tostring(why), 3)
  end
  local text = f:read("*a")
  f:close()
  if text:byte(1) == 27 then
    error("supermetrics.testing: " .. file .. " is bytecode, not a fixture", 3)
  end
  local chunk, err
  if setfenv then -- 5.1, LuaJIT
    chunk, err = loadstring(text, "=" .. file)
    if chunk then
      setfenv(chunk, {})
    end
  else
    chunk, err = load(text, "=" .. file, "t", {})
  end
  if not chunk then
    error("supermetrics.testing: " .. file .. " is not a fixture: " .. tostring(err), 3)
  end
  local ok, t = pcall(chunk)
  if not ok or type(t) ~= "table" or t.format ~= fixture.FORMAT then
    error("supermetrics.testing: " .. file .. " is not a fixture of this format (" .. fixture.FORMAT .. ")", 3)
  end
  return t
end


-- Writes text to file atomically (a temporary file renamed over it).
local function write_file(file, text)
  local tmp = file .. ".tmp"
  local f, why = io.open(tmp, "wb")
  if not f then
    error("supermetrics.testing: cannot write " .. file .. ": " .. tostring(why), 3)
  end
  local ok, err = f:write(text)
  f:close()
  if not ok then
    os.remove(tmp)
    error("supermetrics.testing: cannot write " .. file .. ": " .. tostring(err), 3)
  end
  local renamed, rerr = os.rename(tmp, file)
  if not renamed then
    os.remove(tmp)
    error("supermetrics.testing: cannot write " .. file .. ": " .. tostring(rerr), 3)
  end
end

fixture.json_string = json_string
fixture.encode = encode
fixture.literal = literal
fixture.read = read_fixture
fixture.write = write_file

return fixture
