-- POST /api/v1/orders as post_order.lua, each connection waiting DELAY_MS between its
-- requests: a steady rate of about connections * 1000 / DELAY_MS pushes per second.
dofile(os.getenv("BENCH_DIR") .. "/post_order.lua")
local pause = tonumber(os.getenv("DELAY_MS"))

function delay()
  return pause
end
