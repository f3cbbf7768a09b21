-- GET /api/v1/orders/{id} for random ids in 1..N with the operator's token.
local token = os.getenv("TOKEN")
local n = tonumber(os.getenv("N"))
local first = tonumber(os.getenv("FIRST") or "1")
local headers = { ["Authorization"] = "Bearer " .. token }

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

request = function()
  return wrk.format("GET", "/api/v1/orders/" .. math.random(first, first + n - 1), headers)
end
