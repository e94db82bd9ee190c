-- refund: POST /payment/refund of 0.01 from orders charged beforehand (BENCH_IDS: 64 orders
-- of 900000.00; each request picks one at random, as wrk has no per-connection state), a
-- fresh refund_request_id per request (200).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")
setup = common.setup
response = common.response
done = common.done(200)

local ids, n, tag
function init(args)
  ids = common.read_ids()
  n = 0
  tag = string.format("w%d-%d", os.time(), thread_id)
  math.randomseed(os.time() + thread_id)
end

function request()
  n = n + 1
  local body = string.format('{"transaction_id":"%s","amount":0.01,"refund_request_id":"%s-%d"}',
    ids[math.random(#ids)].tx, tag, n)
  return wrk.format("POST", "/payment/refund", { ["Content-Type"] = "application/json" }, body)
end
