-- wrk script for bench/programme_bench.py (load generated in C, so that the client takes
-- little of the 2 CPUs the server needs):
--   wrk -t2 -c50 -d15s -s bench/programme_wrk.lua URL -- MODE KEY MEMBERS PREFIX RUN
-- MODE "write": each connection alternates an earn (a new sale of 123.45) and a redemption of
--   1-20 points on a random member, every write with a unique Idempotency-Key (RUN-thread-n).
-- MODE "read": GET .../balance and GET .../statement alternately on a random member.
-- Members are PREFIX..i for i in 0..MEMBERS-1. `done` prints one JSON line: requests, seconds,
-- latency percentiles in microseconds, socket errors and the count of each HTTP status.
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  mode, key, members, prefix, run = args[1], args[2], tonumber(args[3]), args[4], args[5]
  math.randomseed(id * 7919 + 17)
  n = 0
  codes = {}
end

function request()
  n = n + 1
  local path = "/api/v1/members/" .. prefix .. math.random(0, members - 1)
  if mode == "read" then
    local kind = (n % 2 == 1) and "/balance" or "/statement"
    return wrk.format("GET", path .. kind, {["Authorization"] = "Bearer " .. key})
  end
  local idem = run .. "-" .. id .. "-" .. n
  local headers = {["Authorization"] = "Bearer " .. key,
                   ["Content-Type"] = "application/json",
                   ["Idempotency-Key"] = idem}
  if n % 2 == 1 then
    return wrk.format("POST", path .. "/earn", headers,
                      '{"transaction_id":"' .. idem .. '","amount":"123.45"}')
  end
  return wrk.format("POST", path .. "/redeem", headers,
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
