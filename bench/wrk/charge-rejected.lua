-- charge-rejected: POST /payment/charge with a card failing Luhn: 400 (4004001), no I/O.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")
setup = common.setup
response = common.response
done = common.done(400)

local base, n
function init(args)
  base = common.id_base()
  n = 0
end

function request()
  n = n + 1
  local body = string.format('{"amount":19.99,"order_id":%s,"user_id":7,"credit_card":' ..
    '{"credit_card_number":"4111111111111112","credit_card_cvv":123,' ..
    '"credit_card_expiration_year":2030,"credit_card_expiration_month":12}}', common.id(base + n))
  return wrk.format("POST", "/payment/charge", { ["Content-Type"] = "application/json" }, body)
end
