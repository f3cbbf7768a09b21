#!/usr/bin/env bash
# Orders benchmark (00K), on SQLite by default (BACKEND=postgres for PostgreSQL, on a
# fresh database `entreposto_bench_orders` of the local server), with $ORDERS orders of
# one store from `entreposto demo` (a sixth of them paid and taken by no ERP: the
# demo's `approved` orders start in payment/paid with no ERP mark):
#   a. the ERP work queue's page (GET /00k/orders?status=accepted_payment&erp_sent=false,
#      page 0): pages per second times 30, as a ratio of single-order reads per second
#      (GET /00k/orders/{id}, random ids) measured in the same run (goal >= 1.0: a
#      listed order costs no more than a fetched one), then $REPEATS more pairs of runs
#      and their median
#   b. page $DEEP_PAGE against page 1 of the same filter, at $LATENCY_CONNECTIONS
#      connections: mean and p50 latency of each, and their ratio (goal <= 2x)
#   c. status moves (PUT /00k/orders/{id}/status, payment/paid -> pickandpack/separated),
#      each on another paid order, committed before the answer: moves per second on
#      SQLite (goal >= 5000/s); run last, as it empties the queue it walks
# Usage: bash bench/orders.sh   (ORDERS=1000000 DEEP_PAGE=1000 DURATION=10s
#        CONNECTIONS=64 LATENCY_CONNECTIONS=4 REPEATS=5 BACKEND=sqlite|postgres)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ORDERS="${ORDERS:-1000000}"
DEEP_PAGE="${DEEP_PAGE:-1000}"
LATENCY_CONNECTIONS="${LATENCY_CONNECTIONS:-4}"
REPEATS="${REPEATS:-5}"
BACKEND="${BACKEND:-sqlite}"
PORT="${PORT:-18191}"
OUT="$ROOT/bench/out/orders-$BACKEND-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"

need_wrk
build_release
bench_database orders

start=$(date +%s.%N)
"$BIN" demo --orders "$ORDERS" --sellers 1 --tickets 0 --products 0 --database-url "$DB" > "$OUT/demo.json"
demo_secs=$(echo "$(date +%s.%N) - $start" | bc)
if [ "$BACKEND" = postgres ]; then
  # This machine's PostgreSQL runs with autovacuum off: without a vacuum after the bulk
  # load, no page is all-visible and every index-only scan (a count, a deep page)
  # reads the heap too (2 s to count the queue instead of 70 ms). A server with
  # autovacuum on does this itself shortly after a load.
  psql -h 127.0.0.1 -U postgres -d entreposto_bench_orders -qc "VACUUM ANALYZE orders"
fi
ZK_AUTH=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['sellers'][0]['credentials']['zerok']['headers']['Authorization'])" "$OUT/demo.json")
IFS='|' read -r FIRST LAST < <(sql "SELECT min(id), max(id) FROM orders")
N=$((LAST - FIRST + 1))
# The queue's orders, oldest id first, for the moves.
# (`NOT erp_sent` reads on both: a BOOLEAN in PostgreSQL, 0 or 1 in SQLite.)
sql "SELECT id FROM orders WHERE state = 'paid' AND NOT erp_sent ORDER BY id" > "$OUT/paid_ids"
queued=$(wc -l < "$OUT/paid_ids")
export ZK_AUTH FIRST N IDS="$OUT/paid_ids" THREADS

start_server "$DB" "$PORT"
trap stop_server EXIT
URL="http://127.0.0.1:$PORT/"
QUEUE="status=accepted_payment&erp_sent=false"
LUA="$ROOT/bench/zerok_orders.lua"
total=$(curl -s -H "Authorization: $ZK_AUTH" "${URL}00k/orders?$QUEUE" | python3 -c "import json,sys; b=json.load(sys.stdin); assert len(b['items']) == 30, b; print(b['total'])")

# Warm-up with both reads (a fresh server's first runs are slower: see bench/README.md).
DURATION="$WARMUP" MODE=get run_wrk warmup_get "$URL" "$LUA" >/dev/null
DURATION=10s MODE=list QUERY="$QUEUE" run_wrk warmup_list "$URL" "$LUA" >/dev/null

# a. A page of the queue against single reads.
get=$(MODE=get run_wrk get "$URL" "$LUA")
list=$(MODE=list QUERY="$QUEUE&page=0" run_wrk list "$URL" "$LUA")
ratio=$(echo "scale=3; $list * 30 / $get" | bc)
ratios=()
for i in $(seq 1 "$REPEATS"); do
  g=$(DURATION="$REPEAT_DURATION" MODE=get run_wrk "get_r$i" "$URL" "$LUA")
  l=$(DURATION="$REPEAT_DURATION" MODE=list QUERY="$QUEUE&page=0" run_wrk "list_r$i" "$URL" "$LUA")
  ratios+=("$(echo "scale=3; $l * 30 / $g" | bc)")
done
repeats=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{r[NR]=$1; all=all " " $1} END {
  m = (NR % 2) ? r[(NR+1)/2] : (r[NR/2] + r[NR/2+1]) / 2; printf "%s; median %.3f", all, m}')

# b. A deep page against page 1, latency at few connections.
# Mean latency of a saved wrk run, in milliseconds.
mean_ms() {
  awk '$1 == "Latency" && !seen {v=$2; seen=1} END {
    if (v ~ /us$/) {sub(/us$/, "", v); v /= 1000} else if (v ~ /ms$/) {sub(/ms$/, "", v)}
    else if (v ~ /s$/) {sub(/s$/, "", v); v *= 1000}
    printf "%.3f", v}' "$OUT/$1.txt"
}
p50() { awk '$1 == "50%" {print $2}' "$OUT/$1.txt"; }
deep_total=$((DEEP_PAGE * 30 + 30))
[ "$total" -ge "$deep_total" ] || echo "warning: the queue has $total orders; page $DEEP_PAGE is past its end" >&2
page1=$(CONNECTIONS="$LATENCY_CONNECTIONS" MODE=list QUERY="$QUEUE&page=1" run_wrk page1 "$URL" "$LUA")
deep=$(CONNECTIONS="$LATENCY_CONNECTIONS" MODE=list QUERY="$QUEUE&page=$DEEP_PAGE" run_wrk deep "$URL" "$LUA")
curl -s -H "Authorization: $ZK_AUTH" "${URL}00k/orders?$QUEUE&page=$DEEP_PAGE" \
  | python3 -c "import json,sys; assert len(json.load(sys.stdin)['items']) == 30" \
  || echo "warning: page $DEEP_PAGE did not return a full page" >&2
latency_ratio=$(echo "scale=3; $(mean_ms deep) / $(mean_ms page1)" | bc)

# c. Durable status moves, each on another paid order.
moves_req=$(run_wrk moves "$URL" "$ROOT/bench/zerok_moves.lua")
failed=$(awk '/Non-2xx/ {print $NF}' "$OUT/moves.txt")
requests=$(awk '/requests in/ {print $1}' "$OUT/moves.txt")
secs=$(awk '/requests in/ {v=$4; sub(/,$/, "", v); if (v ~ /ms$/) {sub(/ms$/, "", v); v /= 1000} else {sub(/s$/, "", v)}; print v}' "$OUT/moves.txt")
moved=$((requests - ${failed:-0}))
moves=$(echo "scale=0; $moved / $secs" | bc)
[ "$moved" -lt "$queued" ] || echo "warning: every queued order was moved; the run outlasted the queue" >&2
after=$(curl -s -H "Authorization: $ZK_AUTH" "${URL}00k/orders?$QUEUE" | python3 -c "import json,sys; print(json.load(sys.stdin)['total'])")
rss=$(rss_mib "$SERVER_PID")

cat <<REPORT | tee "$OUT/report.txt"
backend:                      $BACKEND
orders loaded (demo):         $N orders of one store in ${demo_secs}s; the queue ($QUEUE): $total
GET /00k/orders/{id}:         $get req/s (p99 $(p99 get))
GET /00k/orders?$QUEUE:
  page 0:                     $list pages/s (p99 $(p99 list)) = $(echo "$list * 30" | bc) orders/s
  ratio (pages x 30 / gets):  $ratio (goal >= 1.0)
  $REPEATS more pairs:             ratios$repeats (goal >= 1.0)
page $DEEP_PAGE vs page 1 ($LATENCY_CONNECTIONS connections):
  page 1:                     $page1 req/s, mean $(mean_ms page1) ms, p50 $(p50 page1), p99 $(p99 page1)
  page $DEEP_PAGE:                  $deep req/s, mean $(mean_ms deep) ms, p50 $(p50 deep), p99 $(p99 deep)
  latency ratio deep/first:   $latency_ratio (goal <= 2)
PUT /00k/orders/{id}/status:  $moves moves/s ($moved orders paid -> separated; $moves_req req/s with $((${failed:-0})) refused; p99 $(p99 moves)) (goal >= 5000 on SQLite)
  queue after the moves:      $after
server RSS after:             $rss MiB
connections: $CONNECTIONS, wrk threads: $THREADS, duration: $DURATION each
REPORT
