-- wrk script of bench/nginx_inside.sh: at the end, one parseable line
--   wrk_report requests=N seconds=S rps=R p50_ms=X p99_ms=Y non2xx=A socket_errors=B
-- non2xx is wrk's count of responses with a status of 400 and up (the front
-- answers 200, or 502 when a call fails); socket_errors adds up connect,
-- read, write and timeout errors.
--
-- With WRK_STOP_AFTER=N (the memory run: a number of requests, not a
-- duration; run it with one thread) the thread counts responses and, at N,
-- prints the line itself (requests and non2xx only) and ends wrk: wrk's own
-- thread:stop() would still leave its main thread asleep for the whole -d.
-- Only then is response() defined: wrk hands every response to Lua when it
-- exists, which costs.

local stop_after = tonumber(os.getenv("WRK_STOP_AFTER") or "")
if stop_after then
  local seen, bad, started = 0, 0, os.time()
  function response(status)
    seen = seen + 1
    if status < 200 or status > 299 then
      bad = bad + 1
    end
    if seen >= stop_after then
      local seconds = math.max(os.time() - started, 1)
      io.write(string.format(
        "wrk_report requests=%d seconds=%d rps=%.1f p50_ms=- p99_ms=- non2xx=%d socket_errors=-\n",
        seen, seconds, seen / seconds, bad))
      io.flush()
      os.exit(0)
    end
  end
end

function done(summary, latency)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "wrk_report requests=%d seconds=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f non2xx=%d socket_errors=%d\n",
    summary.requests, seconds, summary.requests / seconds, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, e.status, e.connect + e.read + e.write + e.timeout))
end
