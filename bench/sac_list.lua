-- GET one /skyhub/sac page: the first (no PAGE_QUERY) or a deep one (PAGE_QUERY=cursor=...).
local headers = {
  ["X-User-Email"] = os.getenv("SKY_EMAIL"),
  ["X-Api-Key"] = os.getenv("SKY_KEY"),
  ["X-Accountmanager-Key"] = "bench",
}
local path = "/skyhub/sac"
local q = os.getenv("PAGE_QUERY")
if q and q ~= "" then path = path .. "?" .. q end

request = function()
  return wrk.format("GET", path, headers)
end
