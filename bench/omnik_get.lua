-- GET /omnik/HUB/v1/orders/customerservice/{id} for random ticket ids 1..N, or, with
-- LIST_QUERY set, one listing page (e.g. LIST_QUERY="offset=300000&limit=10").
local headers = {
  ["token"] = os.getenv("OMNIK_TOKEN"),
  ["application_id"] = os.getenv("OMNIK_APP"),
}
local n = tonumber(os.getenv("N") or "1")
local list = os.getenv("LIST_QUERY")

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

request = function()
  if list then
    return wrk.format("GET", "/omnik/HUB/v1/orders/customerservice?" .. list, headers)
  end
  return wrk.format("GET", "/omnik/HUB/v1/orders/customerservice/" .. math.random(1, n), headers)
end
