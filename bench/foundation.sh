#!/usr/bin/env bash
# Foundation benchmark (issue 2), on SQLite by default:
#   - `entreposto demo --orders $ORDERS` load time
#   - GET /api/v1/orders/{id} throughput as a ratio of GET /health, same server, same run
#   - POST /api/v1/orders durable writes per second (every request a new order, 201)
#   - resident memory idle and under load
# Usage: bash bench/foundation.sh   (ORDERS=1000000 DURATION=10s CONNECTIONS=64 by default;
#        DATABASE_URL=postgres://... to run it on PostgreSQL)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ORDERS="${ORDERS:-1000000}"
PORT="${PORT:-18181}"
OUT="$ROOT/bench/out/foundation-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"

need_wrk
build_release
DB="${DATABASE_URL:-$OUT/bench.db}"

start=$(date +%s.%N)
"$BIN" demo --orders "$ORDERS" --database-url "$DB" > "$OUT/demo.json"
demo_secs=$(echo "$(date +%s.%N) - $start" | bc)
TOKEN=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['operator']['token'])" "$OUT/demo.json")
SELLER=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['sellers'][0]['id'])" "$OUT/demo.json")
export TOKEN SELLER N="$ORDERS" FIRST=1

start_server "$DB" "$PORT"
trap stop_server EXIT
sleep 1
rss_idle=$(rss_mib "$SERVER_PID")

# Warm up the page cache and connection paths, then measure.
DURATION=3s run_wrk warmup "http://127.0.0.1:$PORT/api/v1/orders/1" "$ROOT/bench/get_order.lua" >/dev/null
health=$(run_wrk health "http://127.0.0.1:$PORT/health" "$ROOT/bench/health.lua")
( sleep 5; rss_mib "$SERVER_PID" > "$OUT/rss_get" ) & rss1=$!
get=$(run_wrk get_order "http://127.0.0.1:$PORT/api/v1/orders/1" "$ROOT/bench/get_order.lua")
( sleep 5; rss_mib "$SERVER_PID" > "$OUT/rss_post" ) & rss2=$!
post=$(run_wrk post_order "http://127.0.0.1:$PORT/api/v1/orders" "$ROOT/bench/post_order.lua")
wait "$rss1" "$rss2"
ratio=$(echo "scale=3; $get / $health" | bc)
read -r health_b get_b ratio_b < <(batch_ratio get_order "http://127.0.0.1:$PORT/health" \
  "http://127.0.0.1:$PORT/api/v1/orders/1" "$ROOT/bench/get_order.lua")

cat <<REPORT | tee "$OUT/report.txt"
backend:                $([[ "$DB" == postgres* ]] && echo postgres || echo sqlite)
orders loaded (demo):   $ORDERS in ${demo_secs}s
GET /health:            $health req/s (p99 $(p99 health))
GET /api/v1/orders/id:  $get req/s (p99 $(p99 get_order))  ratio to /health: $ratio (goal >= 0.5)
  client at SCHED_BATCH: $get_b vs /health $health_b, ratio $ratio_b
POST /api/v1/orders:    $post durable writes/s (p99 $(p99 post_order))  (goal >= 10000)
RSS idle:               ${rss_idle} MiB
RSS under GET load:     $(cat "$OUT/rss_get") MiB
RSS under POST load:    $(cat "$OUT/rss_post") MiB
connections: $CONNECTIONS, wrk threads: $THREADS, duration: $DURATION each
REPORT
