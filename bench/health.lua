-- GET /health through the same Lua request path the other scripts use, so the
-- reference pays the same load-generator cost as the endpoint it is compared with.
request = function()
  return wrk.format("GET", "/health")
end
