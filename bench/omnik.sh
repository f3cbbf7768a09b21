#!/usr/bin/env bash
# Omnik customer-service benchmark, on SQLite, with $TICKETS tickets from `entreposto demo`:
#   - GET /omnik/HUB/v1/orders/customerservice/{id} (random ids; joins order, customer and
#     comments) as a ratio of GET /health in the same run, then $REPEATS more pairs of
#     runs and their median (one run's ratio is noisy on a VM)
#   - the paginated list: first page vs a deep offset ($DEPTH)
# Usage: bash bench/omnik.sh   (TICKETS=1000000 DEPTH=300000 DURATION=10s CONNECTIONS=64 REPEATS=9)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
TICKETS="${TICKETS:-1000000}"
DEPTH="${DEPTH:-300000}"
PORT="${PORT:-18184}"
OUT="$ROOT/bench/out/omnik-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"

need_wrk
build_release
DB="${DB:-$OUT/bench.db}"
if [ ! -f "$DB" ]; then
  "$BIN" demo --orders "$TICKETS" --tickets "$TICKETS" --sellers 1 --database-url "$DB" > "$OUT/demo.json"
else
  cp "$(dirname "$DB")/demo.json" "$OUT/demo.json"
fi
eval "$(python3 - "$OUT/demo.json" <<'PY'
import json, sys
h = json.load(open(sys.argv[1]))["sellers"][0]["credentials"]["omnik"]["headers"]
print(f'export OMNIK_TOKEN="{h["token"]}" OMNIK_APP="{h["application_id"]}"')
PY
)"
export N="$TICKETS"

start_server "$DB" "$PORT"
trap stop_server EXIT
URL="http://127.0.0.1:$PORT"
# Warm-up: the pages a demo wrote are mostly back on disk by now (see bench/README.md).
DURATION="$WARMUP" run_wrk warmup "$URL/" "$ROOT/bench/omnik_get.lua" >/dev/null
health=$(run_wrk health "$URL/" "$ROOT/bench/health.lua")
one=$(run_wrk omnik_one "$URL/" "$ROOT/bench/omnik_get.lua")
read -r health_b one_b ratio_b < <(batch_ratio omnik_one "$URL/" "$URL/" "$ROOT/bench/omnik_get.lua")
repeats=$(repeat_ratios omnik_one "$URL/" "$ROOT/bench/omnik_get.lua")
first=$(LIST_QUERY="offset=0&limit=10" run_wrk omnik_first "$URL/" "$ROOT/bench/omnik_get.lua")
deep=$(LIST_QUERY="offset=$DEPTH&limit=10" run_wrk omnik_deep "$URL/" "$ROOT/bench/omnik_get.lua")

cat <<REPORT | tee "$OUT/report.txt"
backend:                       sqlite, $TICKETS tickets
GET /health:                   $health req/s (p99 $(p99 health))
GET customerservice/{id}:      $one req/s (p99 $(p99 omnik_one))  ratio to /health: $(echo "scale=3; $one / $health" | bc) (goal >= 0.4)
  client at SCHED_BATCH:       $one_b vs /health $health_b, ratio $ratio_b
  $REPEATS more pairs:            ratios$repeats (goal >= 0.4)
list, first page (limit 10):   $first req/s (p99 $(p99 omnik_first))
list, offset $DEPTH:           $deep req/s (p99 $(p99 omnik_deep))  cost ratio deep/first: $(echo "scale=3; $first / $deep" | bc)
connections: $CONNECTIONS, wrk threads: $THREADS, duration: $DURATION each
REPORT
