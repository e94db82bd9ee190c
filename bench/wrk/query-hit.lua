-- query-hit: GET /payment/query?transaction_id=... of orders charged beforehand (BENCH_IDS,
-- written by payment-bench --setup-only --write-ids): served from the Redis cache (200).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")
setup = common.setup
response = common.response
done = common.done(200)

local ids, n
function init(args)
  ids = common.read_ids()
  n = thread_id
end

function request()
  n = n + 1
  local id = ids[(n % #ids) + 1]
  return wrk.format("GET", "/payment/query?transaction_id=" .. id.tx)
end
