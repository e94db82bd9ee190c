-- charge-ok: POST /payment/charge with a valid card and a unique order id per request (200).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "common.lua").charge_scenario("4111111111111111", 200)
