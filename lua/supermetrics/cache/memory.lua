--- Internal: The entry cache's LRU in this process (outside nginx; inside
-- it, Debian's lua-resty-lrucache takes its place): at most `size` items,
-- the least recently used one dropped for a new one. The same three
-- methods as resty.lrucache's (`get`, `set`, `delete`, `count`), without
-- its expiry: supermetrics.cache keeps the times in the items.
-- @module supermetrics.cache.memory

local memory = {}

local LRU = {}
LRU.__index = LRU

--- An empty LRU of at most size items.
function memory.new(size)
  -- head: the most recently used node; nodes are { k, v, prev, next }.
  return setmetatable({ size = size, n = 0, map = {}, head = nil, tail = nil }, LRU)
end

local function unlink(self, node)
  local prev, nxt = node.prev, node.next
  if prev then
    prev.next = nxt
  else
    self.head = nxt
  end
  if nxt then
    nxt.prev = prev
  else
    self.tail = prev
  end
  node.prev, node.next = nil, nil
end

local function push_front(self, node)
  local head = self.head
  node.next = head
  if head then
    head.prev = node
  else
    self.tail = node
  end
  self.head = node
end

--- The value of key (now the most recently used), or nil.
function LRU:get(key)
  local node = self.map[key]
  if not node then
    return nil
  end
  if node ~= self.head then
    unlink(self, node)
    push_front(self, node)
  end
  return node.v
end

--- Keeps value under key, dropping the least recently used item when full.
function LRU:set(key, value)
  local map = self.map
  local node = map[key]
  if node then
    node.v = value
    if node ~= self.head then
      unlink(self, node)
      push_front(self, node)
    end
    return
  end
  if self.n >= self.size then
    local old = self.tail
    unlink(self, old)
    map[old.k] = nil
    self.n = self.n - 1
  end
  node = { k = key, v = value }
  map[key] = node
  push_front(self, node)
  self.n = self.n + 1
end

--- Drops key's item, if any.
function LRU:delete(key)
  local node = self.map[key]
  if node then
    unlink(self, node)
    self.map[key] = nil
    self.n = self.n - 1
  end
end

--- How many items it holds.
function LRU:count()
  return self.n
end

return memory
