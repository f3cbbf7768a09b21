-- 00K order reads with the store's key (ZK_AUTH): MODE=get fetches
-- GET /00k/orders/{id} for random ids in FIRST..FIRST+N-1; MODE=list fetches
-- GET /00k/orders?QUERY (one listing page, the same every time).
local headers = { ["Authorization"] = os.getenv("ZK_AUTH") }
local mode = os.getenv("MODE") or "get"
local query = os.getenv("QUERY") or ""
local n = tonumber(os.getenv("N") or "1")
local first = tonumber(os.getenv("FIRST") or "1")

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

request = function()
  if mode == "list" then
    return wrk.format("GET", "/00k/orders?" .. query, headers)
  end
  return wrk.format("GET", "/00k/orders/" .. math.random(first, first + n - 1), headers)
end
