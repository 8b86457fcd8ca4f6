-- wrk script for bench/programme_bench.py: sustained earn + redeem over HTTP.
--   wrk -t2 -c50 -d15s -s bench/programme_load.lua URL -- KEY MEMBERS RUN_ID
-- Each connection alternates an earn (a new sale of 123.45) and a redemption of 1-20 points on
-- a random member, every write with a unique Idempotency-Key. `done` prints one JSON line:
-- requests, seconds, latency percentiles (microseconds), socket errors and status counts.
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  key, members, run = args[1], tonumber(args[2]), args[3]
  math.randomseed(id * 7919 + 17)
  n = 0
  codes = {}
end

function request()
  n = n + 1
  local member = "m" .. math.random(0, members - 1)
  local idem = run .. "-" .. id .. "-" .. n
  local headers = {["Authorization"] = "Bearer " .. key,
                   ["Content-Type"] = "application/json",
                   ["Idempotency-Key"] = idem}
  if n % 2 == 1 then
    return wrk.format("POST", "/api/v1/members/" .. member .. "/earn", headers,
                      '{"transaction_id":"' .. idem .. '","amount":"123.45"}')
  end
  return wrk.format("POST", "/api/v1/members/" .. member .. "/redeem", headers,
                    '{"points":' .. math.random(1, 20) .. '}')
end

function response(status, headers, body)
  codes[status] = (codes[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("codes")) do
      total[status] = (total[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(total) do
    table.insert(parts, string.format('"%d": %d', status, count))
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d, ' ..
    '"status": %d}, "statuses": {%s}}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency.max, e.connect, e.read, e.write,
    e.timeout, e.status, table.concat(parts, ", ")))
end
