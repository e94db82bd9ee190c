-- refund: POST /payment/refund of 0.01 from orders charged beforehand (BENCH_IDS; one order
-- per wrk thread), a fresh refund_request_id per request (200).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")
setup = common.setup
response = common.response
done = common.done(200)

local ids, n, tag, tx
function init(args)
  ids = common.read_ids()
  n = 0
  tag = string.format("w%d-%d", os.time(), thread_id)
  tx = ids[(thread_id % #ids) + 1].tx
end

function request()
  n = n + 1
  local body = string.format('{"transaction_id":"%s","amount":0.01,"refund_request_id":"%s-%d"}',
    tx, tag, n)
  return wrk.format("POST", "/payment/refund", { ["Content-Type"] = "application/json" }, body)
end
