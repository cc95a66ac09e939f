--- Internal: Which proxy a client's https:// requests go through, decided once
-- when the client is made, the same way for both transports and as libcurl
-- would decide it: the `proxy` option (false: none), else `https_proxy`,
-- `HTTPS_PROXY`, `all_proxy`, `ALL_PROXY`; none when `no_proxy` /
-- `NO_PROXY` names the host. http:// (loopback only) never goes through a
-- proxy. The URL itself is checked in C (`handle:set_proxy`): its
-- credentials are percent-decoded there and refused when a byte is a control
-- character or NUL (libcurl 7.88 would then go around the proxy).
-- @module supermetrics.proxy

local proxy = {}

local ENV_PROXY = { "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY" }
local ENV_NO_PROXY = { "no_proxy", "NO_PROXY" }

local function first_env(names, getenv)
  for _, name in ipairs(names) do
    local v = getenv(name)
    if v and v ~= "" then
      return v, name
    end
  end
end

local function ipv4(s)
  local a, b, c, d = s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then
    return nil
  end
  local n = 0
  for _, part in ipairs { a, b, c, d } do
    part = tonumber(part)
    if part > 255 then
      return nil
    end
    n = n * 256 + part
  end
  return n
end

local function in_cidr(host, net, bits)
  local h, n = ipv4(host), ipv4(net)
  bits = tonumber(bits)
  if not h or not n or bits > 32 then
    return false
  end
  local size = 2 ^ (32 - bits)
  return math.floor(h / size) == math.floor(n / size)
end

--- True when the no_proxy list names host (libcurl 7.88's rules): "*"
-- alone is every host; entries are separated by commas or blanks; a name
-- matches itself and its subdomains (a leading dot is ignored); an address
-- matches itself, an IPv4 one also a CIDR range (127.0.0.0/8).
function proxy.bypass(host, no_proxy)
  if not no_proxy or no_proxy == "" then
    return false
  end
  if no_proxy:match("^%s*%*%s*$") then
    return true
  end
  host = host:lower():gsub("^%[(.*)%]$", "%1")
  local address = ipv4(host) or host:find(":", 1, true)
  if not address then
    host = host:gsub("%.$", "")
  end
  for token in no_proxy:lower():gmatch("[^,%s]+") do
    if address then
      token = token:gsub("^%[(.*)%]$", "%1")
      local net, bits = token:match("^(.-)/(%d+)$")
      if (net and in_cidr(host, net, bits)) or token == host then
        return true
      end
    else
      token = token:gsub("^%.", ""):gsub("%.$", "")
      if token ~= "" and (host == token
          or (#host > #token and host:sub(-#token - 1) == "." .. token)) then
        return true
      end
    end
  end
  return false
end

--- The proxy URL for a client of base_url's host, and where it came from
-- ("proxy" or the variable's name); nil when it goes direct. option: the
-- proxy option (nil: the environment's; false: none).
function proxy.pick(option, is_https, host, getenv)
  getenv = getenv or os.getenv
  if not is_https or option == false then
    return nil
  end
  local url, source = option, "proxy"
  if url == nil then
    url, source = first_env(ENV_PROXY, getenv)
  end
  if not url or proxy.bypass(host, first_env(ENV_NO_PROXY, getenv)) then
    return nil
  end
  return url, source
end

--- Applies the pick to a new handle (before its first use). A proxy
-- option is checked even when no request will use it (an http:// base_url,
-- or no_proxy naming the host): a bad one is INVALID_ARGUMENT wherever the
-- client is made, not only where it would go through the proxy.
function proxy.apply(handle, option)
  local is_https, host = handle:endpoint()
  local url, source = proxy.pick(option, is_https, host)
  if url then
    handle:set_proxy(url, source)
    return handle:proxy()
  elseif type(option) == "string" then
    handle:set_proxy(option, "proxy", true)
  end
end

return proxy
