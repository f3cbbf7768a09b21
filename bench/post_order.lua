-- POST /api/v1/orders with a fresh marketplaceOrderId each time: every request is a
-- new durable write (201).
local token = os.getenv("TOKEN")
local seller = os.getenv("SELLER")
local headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
local template = [[{"seller":"%s","channel":"Lojas Americanas","marketplaceOrderId":"%s","siteId":"LASA","warehouse":"98","placedAt":"2023-06-06T21:41:57-03:00","customer":{"name":"João da Silva","document":"52998224725","documentType":"CPF","email":"joao@example.com","phones":[{"type":"mobile","ddi":"55","ddd":"11","number":"912345678"}]},"shippingAddress":{"zipcode":"01310100","address":"Av. Paulista","number":"1000","complement":"ap 12","neighborhood":"Bela Vista","city":"São Paulo","state":"SP","country":"BR"},"items":[{"sku":"99jjs8","name":"Produto","quantity":1,"unitPrice":499.99}],"freight":15.00,"payments":[{"method":"credit_card","installments":3,"value":514.99}]}]]
local threads = {}
local counter = 0

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  prefix = "BENCH-" .. os.time() .. "-" .. tid .. "-"
end

request = function()
  counter = counter + 1
  return wrk.format("POST", "/api/v1/orders", headers, string.format(template, seller, prefix .. counter))
end
