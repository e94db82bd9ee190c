-- query-miss: GET /payment/query?order_id=... of orders never charged: cache miss, then
-- MySQL; 404 (4004004) is the correct answer. (An unimplemented route also answers 404,
-- with 4004007: check that query-hit works before trusting this figure.)
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")
setup = common.setup
response = common.response
done = common.done(404)

local base, n
function init(args)
  base = common.id_base() + 1000000000   -- the upper half of the slot: never charged
  n = 0
end

function request()
  n = n + 1
  return wrk.format("GET", "/payment/query?order_id=" .. common.id(base + n))
end
