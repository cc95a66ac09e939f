-- Burns CPU for a while without yielding (about 2 ms), so that a server's
-- late extra response is already waiting on a pooled connection when the
-- next call takes it. Shared by 26-desync_spec (libcurl, in busted) and the
-- test app's /desync (cosockets, inside nginx).
return function()
  local x = 0
  for i = 1, 200000 do
    x = x + i % 7
  end
  return x
end
