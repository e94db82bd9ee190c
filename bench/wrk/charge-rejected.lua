-- charge-rejected: POST /payment/charge with a card failing Luhn: 400 (4004001), no I/O.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "common.lua").charge_scenario("4111111111111112", 400)
