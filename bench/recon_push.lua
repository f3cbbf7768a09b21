-- POST /koncili/externalapi/order: order number i (1..$ORDERS, split over wrk's
-- threads) of channel B2W, INVOICED, one item, one payment in one installment, values
-- derived from i exactly as bench/recon_gen.py derives the statement's releases. Each
-- thread pushes exactly its share, then only asks for /health and stops: wrk itself
-- runs until its duration, so bench/recon.sh waits for the orders to be in and stops it.
local token = os.getenv("KONCILI_TOKEN")
local orders = tonumber(os.getenv("ORDERS"))
local nthreads = tonumber(os.getenv("THREADS"))
local headers = { ["gumgaToken"] = token, ["Content-Type"] = "application/json" }
local template = [[{"orderCode":"%s","orderId":"%s","orderDate":"2026-09-30T10:00:00.000-0300","orderStatus":"INVOICED","hubName":"bench","accountName":"bench_account","channelName":"B2W","totalFreightValue":%s,"invoiceNumber":"%d","invoiceDate":"2026-10-01T12:00:00.000-0300","totalNetValue":%s,"customer":{"name":"Cliente %d","documentNumber":"52998224725"},"items":[{"idInMarketplace":"%d","code":"SKU-%d","quantity":%d,"unitValue":%s,"freightValue":%s,"sendDate":"2026-10-02T09:00:00.000-0300"}],"payments":[{"method":"CREDIT_CARD","date":"2026-09-30T10:05:00.000-0300","value":%s,"installmentQuantity":1}]}]]
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

local function money(cents)
  return string.format("%d.%02d", math.floor(cents / 100), cents % 100)
end

function init(args)
  n = 0
  quota = math.floor(orders / nthreads)
  if tid <= orders % nthreads then quota = quota + 1 end
end

request = function()
  if n >= quota then
    return wrk.format("GET", "/health")
  end
  n = n + 1
  local i = tid + nthreads * (n - 1)
  local unit = (50 + i % 500) * 100 + i % 100
  local qty = 1 + i % 2
  local freight = (10 + i % 15) * 100
  local total = unit * qty + freight
  local code = string.format("RC%09d", i)
  local body = string.format(template, code, code, money(freight), i, money(total), i, i, i,
    qty, money(unit), money(freight), money(total))
  return wrk.format("POST", "/koncili/externalapi/order", headers, body)
end

response = function(status, headers, body)
  if n >= quota then wrk.thread:stop() end
end
