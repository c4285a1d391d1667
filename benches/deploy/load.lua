-- wrk script for the deploy benchmark: uncached routes through nginx (every request
-- reaches a gunicorn), paced, and counting answers by class. A failed request is a
-- 5xx answer (or a socket error, which wrk counts itself); 4xx is an answer
-- (/products/1/reviews/ is 404 on v1, 200 on v2).
--   wrk -t1 -c4 -d300s -s load.lua https://127.0.0.5/      (SIGINT ends it early, with the report)
local paths = { "/healthz", "/version", "/products/1/reviews/", "/reports/" }
local threads = {}
local i = 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  ok, c4xx, c5xx = 0, 0, 0
end

function request()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end

-- About 1000/50 = 20 requests a second per connection at most.
function delay()
  return 50
end

function response(status, headers, body)
  if status >= 500 then
    c5xx = c5xx + 1
  elseif status >= 400 then
    c4xx = c4xx + 1
  else
    ok = ok + 1
  end
end

function done(summary, latency, requests)
  local a, b, c = 0, 0, 0
  for _, t in ipairs(threads) do
    a = a + t:get("ok"); b = b + t:get("c4xx"); c = c + t:get("c5xx")
  end
  local e = summary.errors
  io.write(string.format("LOAD requests=%d ok=%d 4xx=%d 5xx=%d connect=%d read=%d write=%d timeout=%d p99_ms=%.1f\n",
    summary.requests, a, b, c, e.connect, e.read, e.write, e.timeout, latency:percentile(99) / 1000))
end
