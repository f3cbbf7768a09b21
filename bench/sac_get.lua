-- GET /skyhub/sac/{code} for random codes of the seller (read from CODES file).
local codes = {}
local headers = {
  ["X-User-Email"] = os.getenv("SKY_EMAIL"),
  ["X-Api-Key"] = os.getenv("SKY_KEY"),
  ["X-Accountmanager-Key"] = "bench",
}
local suffix = os.getenv("SUFFIX") or ""
local method = os.getenv("METHOD") or "GET"
local body = os.getenv("BODY")

function init(args)
  for line in io.lines(os.getenv("CODES")) do
    codes[#codes + 1] = line
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
  if body then headers["Content-Type"] = "application/json" end
end

request = function()
  local code = codes[math.random(1, #codes)]
  return wrk.format(method, "/skyhub/sac/" .. code .. suffix, headers, body)
end
