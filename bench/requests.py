#!/usr/bin/env python3
"""Sends N keep-alive GETs of one kind to a server, one at a time, for
instructions.sh: health, sac (random SkyHub codes of the run's seller) or omnik
(random Omnik case ids). The random sequence is seeded, so two builds on one database
serve the same requests.

Usage: requests.py PORT KIND N OUT_DIR   (OUT_DIR: a bench/out/sac-* directory)"""
import http.client
import json
import os
import random
import sys

port, kind, n, out = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
creds = json.load(open(os.path.join(out, "demo.json")))["sellers"][0]["credentials"]
codes = open(os.path.join(out, "codes")).read().split()
tickets = int(os.environ.get("TICKETS", "1000000"))
rng = random.Random(42)
conn = http.client.HTTPConnection("127.0.0.1", port)
for _ in range(n):
    if kind == "health":
        path, headers = "/health", {}
    elif kind == "sac":
        path = "/skyhub/sac/" + rng.choice(codes)
        headers = dict(creds["skyhub"]["headers"], **{"X-Accountmanager-Key": "bench"})
    elif kind == "omnik":
        path = "/omnik/HUB/v1/orders/customerservice/%d" % rng.randint(1, tickets)
        headers = creds["omnik"]["headers"]
    else:
        sys.exit(f"unknown kind {kind}")
    conn.request("GET", path, headers=headers)
    res = conn.getresponse()
    body = res.read()
    if res.status != 200:
        sys.exit(f"{path}: {res.status} {body[:200]!r}")
