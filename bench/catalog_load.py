#!/usr/bin/env python3
"""The catalog benchmark's load generator (see bench/catalog.sh).

  import PORT AUTH DIR   POSTs every DIR/import-*.json to /00k/catalog/import one after
                         another, while a reader thread GETs /00k/catalog/products/all?sku=X
                         (random SKUs of DIR/skus); waits until every job has finished
                         (polling the jobs' status extension); prints JSON: products/s
                         (from the first POST to the last job's end), the reader's
                         p50/p99 in ms and its request count, failed rows.
  stock PORT AUTH DIR N  N batch stock updates of 1,000 SKUs each (PUT
                         /00k/catalog/products/stock), one at a time; prints p50/p99 ms.
"""
import glob
import http.client
import json
import os
import random
import sys
import threading
import time

mode, port, auth, d = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
H = {"Authorization": auth, "Content-Type": "application/json;charset=UTF-8"}


def call(conn, method, path, body=None):
    conn.request(method, path, body=body, headers=H)
    res = conn.getresponse()
    data = res.read()
    return res.status, data


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else None


if mode == "import":
    files = sorted(glob.glob(os.path.join(d, "import-*.json")))
    skus = open(os.path.join(d, "skus")).read().split()
    stop = threading.Event()
    lat = []

    def reader():
        c = http.client.HTTPConnection("127.0.0.1", port)
        rng = random.Random(3)
        while not stop.is_set():
            t = time.perf_counter()
            s, _ = call(c, "GET", "/00k/catalog/products/all?sku=" + rng.choice(skus))
            lat.append((time.perf_counter() - t) * 1000)
            if s != 200:
                sys.exit(f"reader got {s}")

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    c = http.client.HTTPConnection("127.0.0.1", port)
    total = 0
    jobs = []
    start = time.perf_counter()
    for f in files:
        body = open(f, "rb").read()
        s, data = call(c, "POST", "/00k/catalog/import", body)
        if s != 202:
            sys.exit(f"{f}: {s} {data[:300]!r}")
        jobs.append(json.loads(data)["data"]["proccessId"])
    failed = 0
    for j in jobs:
        while True:
            s, data = call(c, "GET", f"/00k/catalog/products/process/{j}/status")
            st = json.loads(data)
            if st.get("state") == "finished":
                total += st["succeeded"]
                failed += st["failed"]
                break
            time.sleep(0.05)
    secs = time.perf_counter() - start
    stop.set()
    th.join()
    print(json.dumps({"products": total, "failed": failed, "seconds": round(secs, 2),
                      "products_per_s": round(total / secs), "reader_requests": len(lat),
                      "reader_p50_ms": round(pct(lat, 0.5), 2), "reader_p99_ms": round(pct(lat, 0.99), 2)}))
elif mode == "stock":
    n = int(sys.argv[5])
    skus = open(os.path.join(d, "skus")).read().split()
    rng = random.Random(5)
    c = http.client.HTTPConnection("127.0.0.1", port)
    lat = []
    for _ in range(n):
        items = [{"sku": s, "stock": [{"info": {"quantity": rng.randint(0, 900), "minimum": 1}}]}
                 for s in rng.sample(skus, min(1000, len(skus)))]
        body = json.dumps(items).encode()
        t = time.perf_counter()
        s, data = call(c, "PUT", "/00k/catalog/products/stock", body)
        lat.append((time.perf_counter() - t) * 1000)
        if s != 200:
            sys.exit(f"stock batch: {s} {data[:300]!r}")
    print(json.dumps({"batches": n, "p50_ms": round(pct(lat, 0.5), 2), "p99_ms": round(pct(lat, 0.99), 2)}))
