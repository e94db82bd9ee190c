-- common.lua: shared by the wrk scenario scripts in this directory (loaded with dofile
-- from the scenario script's own directory). Each scenario script sets `expected` (the
-- HTTP status a correct answer has) and defines request(); this file counts answers by
-- status per thread and prints one JSON line (prefixed "JSON ") in done(), in the shape
-- payment-bench --json uses, so scripts/bench can put both in one table.
--
-- Environment: BENCH_SCENARIO (name in the report), BENCH_IDS (file of
-- "order_id transaction_id" lines, for query-hit and refund).

local M = {}
local threads = {}
local next_id = 0

function M.setup(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

-- Unique order ids per run, kept below 2^53 (Lua numbers are doubles: above that, n + 1
-- rounds back to n): a 2e9-wide slot per second (mod 4e6 seconds, ~46 days), 1e7 ids per
-- wrk thread inside it. wrk runs last >= 1 s, so consecutive runs never share a slot.
-- Returned as a number; format it with M.id().
function M.id_base()
  return (os.time() % 4000000) * 2000000000 + thread_id * 10000000 + 1
end

function M.id(n)
  return string.format("%.0f", n)
end

function M.read_ids()
  local path = os.getenv("BENCH_IDS")
  local ids = {}
  if path then
    for line in io.lines(path) do
      local order, tx = line:match("^(%d+) (%S+)$")
      if order then table.insert(ids, { order = order, tx = tx }) end
    end
  end
  return ids
end

counts = {}

function M.response(status, headers, body)
  local k = tostring(status)
  counts[k] = (counts[k] or 0) + 1
end

function M.done(expected)
  return function(summary, latency, requests)
    local by_status = {}
    for _, t in ipairs(threads) do
      local c = t:get("counts")
      if c then
        for k, v in pairs(c) do by_status[k] = (by_status[k] or 0) + v end
      end
    end
    local ok = by_status[tostring(expected)] or 0
    local errors = {}
    local nerr, unimplemented = 0, 0
    for k, v in pairs(by_status) do
      if k ~= tostring(expected) then
        table.insert(errors, string.format('"HTTP-%s":%d', k, v))
        nerr = nerr + v
        if k == "404" or k == "501" then unimplemented = unimplemented + v end
      end
    end
    local e = summary.errors
    for _, name in ipairs({ "connect", "read", "write", "timeout" }) do
      if e[name] > 0 then
        table.insert(errors, string.format('"socket-%s":%d', name, e[name]))
        nerr = nerr + e[name]
      end
    end
    local status = "ok"
    if nerr > 0 then status = "errors" end
    if ok == 0 and nerr > 0 and unimplemented == nerr then status = "not-implemented" end
    local secs = summary.duration / 1e6
    io.write(string.format(
      'JSON {"scenario":"%s","transport":"http","status":"%s","connections":%d,"depth":1,' ..
      '"rate":0,"seconds":%.3f,"requests":%d,"ok":%d,"rps":%.1f,"ok_rps":%.1f,' ..
      '"latency_us":{"p50":%.1f,"p90":%.1f,"p99":%.1f,"p999":%.1f,"max":%.1f,"mean":%.1f},' ..
      '"errors":{%s}}\n',
      os.getenv("BENCH_SCENARIO") or "?", status, tonumber(os.getenv("BENCH_CONNECTIONS") or 0),
      secs, summary.requests, ok, summary.requests / secs, ok / secs,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9), latency.max, latency.mean, table.concat(errors, ",")))
  end
end

-- Installs the wrk callbacks of a charge scenario: POST /payment/charge with @card and a
-- unique order id per request, expecting HTTP @status on every reply.
function M.charge_scenario(card, status)
  setup = M.setup
  response = M.response
  done = M.done(status)
  local base, n
  init = function(args)
    base = M.id_base()
    n = 0
  end
  request = function()
    n = n + 1
    local body = string.format('{"amount":19.99,"order_id":%s,"user_id":7,"credit_card":' ..
      '{"credit_card_number":"%s","credit_card_cvv":123,' ..
      '"credit_card_expiration_year":2030,"credit_card_expiration_month":12}}',
      M.id(base + n), card)
    return wrk.format("POST", "/payment/charge", { ["Content-Type"] = "application/json" }, body)
  end
end

return M
