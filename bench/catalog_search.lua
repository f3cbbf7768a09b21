-- GET /00k/catalog/products/all?name=TERM for random terms (one per line of TERMS),
-- with the seller's 00K key in ZK_AUTH.
local terms = {}
local headers = { ["Authorization"] = os.getenv("ZK_AUTH") }

function init(args)
  for line in io.lines(os.getenv("TERMS")) do
    terms[#terms + 1] = line
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

request = function()
  local t = terms[math.random(1, #terms)]
  return wrk.format("GET", "/00k/catalog/products/all?name=" .. t, headers)
end
