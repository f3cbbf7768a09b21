#!/usr/bin/env bash
# Reconciliation benchmark (Koncili), on SQLite by default (BACKEND=postgres for
# PostgreSQL, on a fresh database `entreposto_bench_recon` of the local server):
#   1. $ORDERS orders pushed through POST /koncili/externalapi/order (bench/recon_push.lua,
#      channel B2W at its preset terms): SALE, COMISSION and SHIP lines expected for each
#   2. a statement of $ROWS release rows (bench/recon_gen.py, CSV) for those orders
#   3. the reference: `entreposto recon load --dry-run` of the statement (parse and
#      validate every row, write nothing): its time
#   4. `entreposto recon load`: load and match, time (goal < 10 s on SQLite) as a ratio
#      of the reference, peak RSS (goal < 256 MiB: streamed, not held), counts per
#      situation
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
if [ "$BACKEND" = postgres ]; then
  psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS entreposto_bench_recon" \
    -c "CREATE DATABASE entreposto_bench_recon"
  DB="postgres://postgres@127.0.0.1:5432/entreposto_bench_recon"
else
  DB="$OUT/bench.db"
fi

"$BIN" demo --sellers 1 --orders 0 --tickets 0 --products 0 --database-url "$DB" > "$OUT/demo.json"
seller() { python3 -c "import json,sys; print(json.load(open('$OUT/demo.json'))['sellers'][0]$1)"; }
SELLER=$(seller "['id']")
KONCILI_TOKEN=$(seller "['credentials']['koncili']['headers']['gumgaToken']")
export KONCILI_TOKEN ORDERS THREADS

python3 "$ROOT/bench/recon_gen.py" "$ROWS" > "$OUT/statement.csv"
size=$(du -m "$OUT/statement.csv" | cut -f1)

start_server "$DB" "$PORT"
trap stop_server EXIT
start=$(date +%s.%N)
DURATION=3600s run_wrk push "http://127.0.0.1:$PORT/" "$ROOT/bench/recon_push.lua" > /dev/null
push_secs=$(echo "$(date +%s.%N) - $start" | bc)
pushed=$(awk '/requests in/ {print $1}' "$OUT/push.txt")
stop_server
trap - EXIT

# timed NAME ARGS...: runs the CLI under /usr/bin/time; the summary on $OUT/NAME.json,
# seconds and peak RSS (KiB) on $OUT/NAME.time.
timed() {
  local name="$1"; shift
  /usr/bin/time -f "%e %M" -o "$OUT/$name.time" "$BIN" "$@" > "$OUT/$name.json"
}
load=(recon load "$OUT/statement.csv" --seller "$SELLER" --channel B2W --database-url "$DB")
timed dry "${load[@]}" --dry-run
timed load "${load[@]}"
timed again "${load[@]}"
read -r dry_secs dry_kib < "$OUT/dry.time"
read -r load_secs load_kib < "$OUT/load.time"
read -r again_secs again_kib < "$OUT/again.time"
counts=$(python3 -c "
import json,sys
s = json.load(open(sys.argv[1]))
print(json.dumps({k: s[k] for k in s if k not in ('refusedRows',)}))" "$OUT/load.json")
unchanged=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1])).get('unchanged'))" "$OUT/again.json")

cat <<REPORT | tee "$OUT/report.txt"
backend:                $BACKEND
orders pushed:          $pushed of $ORDERS through POST /koncili/externalapi/order in ${push_secs}s ($(echo "scale=0; $pushed / $push_secs" | bc)/s)
statement:              $ROWS rows, ${size} MiB CSV
reference (dry run):    ${dry_secs}s, peak RSS $((dry_kib / 1024)) MiB
load and match:         ${load_secs}s (goal < 10 s on SQLite), ratio to the reference $(echo "scale=2; $load_secs / $dry_secs" | bc), peak RSS $((load_kib / 1024)) MiB (goal < 256 MiB)
  summary:              $counts
second load:            ${again_secs}s, unchanged: $unchanged, peak RSS $((again_kib / 1024)) MiB
REPORT
