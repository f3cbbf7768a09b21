-- PUT /00k/orders/{id}/status moving paid orders to pickandpack/separated, each
-- request a different order: the ids of IDS (one a line) are dealt out to wrk's
-- threads in turn (thread t of T takes lines t, t+T, ...), and each thread walks its
-- share once. Past its share a thread asks for order 0, which does not exist (a 400
-- counted as non-2xx), so no request ever repeats a move.
local headers = { ["Authorization"] = os.getenv("ZK_AUTH"), ["Content-Type"] = "application/json" }
local body = '{"status":"pickandpack","substatus":"separated"}'
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  local nthreads = tonumber(os.getenv("THREADS") or "2")
  mine = {}
  local i = 0
  for line in io.lines(os.getenv("IDS")) do
    if i % nthreads == tid - 1 then
      mine[#mine + 1] = line
    end
    i = i + 1
  end
  next_one = 1
end

request = function()
  local id = mine[next_one] or "0"
  next_one = next_one + 1
  return wrk.format("PUT", "/00k/orders/" .. id .. "/status", headers, body)
end
