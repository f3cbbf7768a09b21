#!/usr/bin/env bash
# Reconciliation benchmark (Koncili), on SQLite by default (BACKEND=postgres for
# PostgreSQL, on a fresh database `entreposto_bench_recon` of the local server):
#   1. $ORDERS orders pushed through POST /koncili/externalapi/order (bench/recon_push.lua,
#      channel B2W at its preset terms): SALE, COMISSION and SHIP lines expected for each
#   2. a statement of $ROWS release rows (bench/recon_gen.py, CSV) for those orders
#   3. the reference: `entreposto recon load --dry-run` of the statement (parse and
#      validate every row, write nothing): its time
#   4. `entreposto recon load`: load and match, time (goal < 10 s on SQLite) as a ratio
#      of the reference, peak RSS and anonymous RSS (goal < 256 MiB: streamed, not
#      held), counts per situation
#   5. the same load again (nothing changes): its time
# Usage: bash bench/recon.sh   (ORDERS=500000 ROWS=1000000 BACKEND=sqlite|postgres)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ORDERS="${ORDERS:-500000}"
ROWS="${ROWS:-1000000}"
BACKEND="${BACKEND:-sqlite}"
PORT="${PORT:-18193}"
OUT="$ROOT/bench/out/recon-$BACKEND-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"

need_wrk
build_release
bench_database recon

"$BIN" demo --sellers 1 --orders 0 --tickets 0 --products 0 --database-url "$DB" > "$OUT/demo.json"
seller() { python3 -c "import json,sys; print(json.load(open('$OUT/demo.json'))['sellers'][0]$1)"; }
SELLER=$(seller "['id']")
KONCILI_TOKEN=$(seller "['credentials']['koncili']['headers']['gumgaToken']")
export KONCILI_TOKEN ORDERS THREADS

python3 "$ROOT/bench/recon_gen.py" "$ROWS" > "$OUT/statement.csv"
size=$(du -m "$OUT/statement.csv" | cut -f1)

start_server "$DB" "$PORT"
trap stop_server EXIT
count_orders() { sql "SELECT count(*) FROM settlement_orders"; }
start=$(date +%s.%N)
# wrk runs until its duration whatever its threads do: wait for the orders, then stop it.
wrk -t"$THREADS" -c"$CONNECTIONS" -d3600s -s "$ROOT/bench/recon_push.lua" "http://127.0.0.1:$PORT/" > "$OUT/push.txt" &
WRK_PID=$!
# (A request wrk builds and never sends, on a reconnect, costs an order: so also stop
# once the count has not moved for three seconds.)
last=-1 still=0
while n=$(count_orders) && [ "$n" -lt "$ORDERS" ] && [ "$still" -lt 6 ]; do
  if [ "$n" = "$last" ]; then still=$((still + 1)); else still=0; last=$n; fi
  sleep 0.5
done
push_secs=$(echo "$(date +%s.%N) - $start - $still * 0.5" | bc)
kill "$WRK_PID"; wait "$WRK_PID" 2>/dev/null || true
pushed=$(count_orders)
stop_server
trap - EXIT

# timed NAME ARGS...: runs the CLI, the summary on $OUT/NAME.json; on $OUT/NAME.time its
# seconds, peak RSS and peak anonymous RSS (KiB, sampled every 50 ms). Anonymous memory
# is what the process holds; VmRSS also counts the pages of the SQLite file it maps
# (they belong to the page cache, shared, dropped at will), which grow with the database.
timed() {
  local name="$1"; shift
  local start; start=$(date +%s.%N)
  "$BIN" "$@" > "$OUT/$name.json" &
  local pid=$! rss=0 anon=0 r a
  while kill -0 "$pid" 2>/dev/null; do
    read -r r a < <(awk '/VmRSS/ {r=$2} /RssAnon/ {a=$2} END {print r+0, a+0}' "/proc/$pid/status" 2>/dev/null || echo "0 0")
    [ "${r:-0}" -gt "$rss" ] && rss=$r
    [ "${a:-0}" -gt "$anon" ] && anon=$a
    sleep 0.05
  done
  wait "$pid"
  echo "$(echo "$(date +%s.%N) - $start" | bc) $rss $anon" > "$OUT/$name.time"
}
load=(recon load "$OUT/statement.csv" --seller "$SELLER" --channel B2W --database-url "$DB")
timed dry "${load[@]}" --dry-run
timed load "${load[@]}"
timed again "${load[@]}"
read -r dry_secs dry_kib dry_anon < "$OUT/dry.time"
read -r load_secs load_kib load_anon < "$OUT/load.time"
read -r again_secs again_kib again_anon < "$OUT/again.time"
counts=$(python3 -c "
import json,sys
s = json.load(open(sys.argv[1]))
print(json.dumps({k: s[k] for k in s if k not in ('refusedRows',)}))" "$OUT/load.json")
unchanged=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1])).get('unchanged'))" "$OUT/again.json")

cat <<REPORT | tee "$OUT/report.txt"
backend:                $BACKEND
orders pushed:          $pushed of $ORDERS through POST /koncili/externalapi/order in ${push_secs}s ($(echo "scale=0; $pushed / $push_secs" | bc)/s)
statement:              $ROWS rows, ${size} MiB CSV
reference (dry run):    ${dry_secs}s, peak RSS $((dry_kib / 1024)) MiB (anonymous $((dry_anon / 1024)) MiB)
load and match:         ${load_secs}s (goal < 10 s on SQLite), ratio to the reference $(echo "scale=2; $load_secs / $dry_secs" | bc), peak RSS $((load_kib / 1024)) MiB, anonymous $((load_anon / 1024)) MiB (goal < 256 MiB)
  summary:              $counts
second load:            ${again_secs}s, unchanged: $unchanged, peak RSS $((again_kib / 1024)) MiB (anonymous $((again_anon / 1024)) MiB)
REPORT
