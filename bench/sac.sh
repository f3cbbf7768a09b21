#!/usr/bin/env bash
# Customer-service benchmark (SkyHub SAC), on SQLite by default, with $TICKETS tickets
# from `entreposto demo` (one per order):
#   - GET /skyhub/sac/{code} (random codes) as a ratio of GET /health, same run, then
#     $REPEATS more pairs of runs and their median (one run's ratio is noisy on a VM)
#   - a deep /sac page (cursor ~$DEPTH tickets in) against the first page
#   - seller replies per second (POST /sac/{code}/chats/CUSTOMER_SELLER)
#   - p99 latency of each at $CONNECTIONS connections
# Usage: bash bench/sac.sh   (TICKETS=1000000 DEPTH=300000 DURATION=10s CONNECTIONS=64 REPEATS=9)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
TICKETS="${TICKETS:-1000000}"
DEPTH="${DEPTH:-300000}"
PORT="${PORT:-18182}"
OUT="$ROOT/bench/out/sac-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"

need_wrk
build_release
DB="$OUT/bench.db"

start=$(date +%s.%N)
"$BIN" demo --orders "$TICKETS" --tickets "$TICKETS" --sellers 1 --database-url "$DB" > "$OUT/demo.json"
demo_secs=$(echo "$(date +%s.%N) - $start" | bc)

# The seller's SkyHub headers, its ticket codes (URL-encoded), and a deep cursor.
python3 - "$OUT" "$DEPTH" <<'PY'
import base64, json, sqlite3, sys, urllib.parse
out, depth = sys.argv[1], int(sys.argv[2])
demo = json.load(open(f"{out}/demo.json"))
seller = demo["sellers"][0]
h = seller["credentials"]["skyhub"]["headers"]
open(f"{out}/env", "w").write(f'SKY_EMAIL="{h["X-User-Email"]}"\nSKY_KEY="{h["X-Api-Key"]}"\n')
db = sqlite3.connect(f"file:{out}/bench.db?mode=ro", uri=True)
codes = [r[0] for r in db.execute("SELECT code FROM tickets WHERE seller_id = ? AND closed_at IS NULL LIMIT 200000", (seller["id"],))]
open(f"{out}/codes", "w").write("\n".join(urllib.parse.quote(c) for c in codes) + "\n")
row = db.execute(
    "SELECT updated_at, id FROM tickets WHERE seller_id = ? AND message_count > 0 "
    "ORDER BY updated_at DESC, id DESC LIMIT 1 OFFSET ?", (seller["id"], depth)).fetchone()
open(f"{out}/deep", "w").write(json.dumps({"u": row[0], "i": row[1], "cred": seller["credentials"]["skyhub"]["id"]}))
PY
source "$OUT/env"
export SKY_EMAIL SKY_KEY CODES="$OUT/codes"

start_server "$DB" "$PORT"
trap stop_server EXIT
URL="http://127.0.0.1:$PORT"
# The deep cursor, signed as the server signs (crates/http/src/signed.rs): HMAC-SHA256
# keyed by the server secret (SHA-256 of the `cursor` server key the server stored when
# it started; `cursor_secret` unset here) then SHA-256 of the listing credential's id.
python3 - "$OUT" <<'PY'
import base64, hashlib, hmac, json, sqlite3, sys
out = sys.argv[1]
deep = json.load(open(f"{out}/deep"))
db = sqlite3.connect(f"file:{out}/bench.db?mode=ro", uri=True)
stored = bytes(db.execute("SELECT key FROM server_keys WHERE name = 'cursor'").fetchone()[0])
key = hashlib.sha256(stored).digest() + hashlib.sha256(deep["cred"].encode()).digest()
payload = json.dumps({"u": deep["u"], "i": deep["i"]}, separators=(",", ":")).encode()
b64 = lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")
open(f"{out}/cursor", "w").write(b64(payload) + "." + b64(hmac.new(key, payload, hashlib.sha256).digest()))
PY
# Warm-up: the pages a demo wrote are mostly back on disk by now (see bench/README.md).
DURATION="$WARMUP" run_wrk warmup "$URL/" "$ROOT/bench/sac_get.lua" >/dev/null
health=$(run_wrk health "$URL/" "$ROOT/bench/health.lua")
sac=$(run_wrk sac_code "$URL/" "$ROOT/bench/sac_get.lua")
read -r health_b sac_b ratio_b < <(batch_ratio sac_code "$URL/" "$URL/" "$ROOT/bench/sac_get.lua")
repeats=$(repeat_ratios sac_code "$URL/" "$ROOT/bench/sac_get.lua")
first=$(PAGE_QUERY="" run_wrk sac_first "$URL/" "$ROOT/bench/sac_list.lua")
deep=$(PAGE_QUERY="cursor=$(cat "$OUT/cursor")" run_wrk sac_deep "$URL/" "$ROOT/bench/sac_list.lua")
replies=$(METHOD=POST SUFFIX=/chats/CUSTOMER_SELLER \
  BODY='{"messageTo":"TO_CUSTOMER","messageType":"TEXT_MESSAGE","message":"Olá! Seu pedido sai hoje."}' \
  run_wrk replies "$URL/" "$ROOT/bench/sac_get.lua")
curl -s -H "X-User-Email: $SKY_EMAIL" -H "X-Api-Key: $SKY_KEY" -H "X-Accountmanager-Key: b" \
  "$URL/skyhub/sac?cursor=$(cat "$OUT/cursor")" | python3 -c "import json,sys; assert len(json.load(sys.stdin)['sacs']) == 50" \
  || echo "warning: the deep page did not return a full page" >&2

cat <<REPORT | tee "$OUT/report.txt"
backend:                    sqlite
tickets loaded (demo):      $TICKETS tickets (and orders) in ${demo_secs}s
GET /health:                $health req/s (p99 $(p99 health))
GET /skyhub/sac/{code}:     $sac req/s (p99 $(p99 sac_code))  ratio to /health: $(echo "scale=3; $sac / $health" | bc) (goal >= 0.5)
  client at SCHED_BATCH:     $sac_b vs /health $health_b, ratio $ratio_b
  $REPEATS more pairs:          ratios$repeats (goal >= 0.5)
GET /skyhub/sac first page: $first req/s (p99 $(p99 sac_first))
GET /skyhub/sac deep page:  $deep req/s (p99 $(p99 sac_deep))  cost ratio deep/first: $(echo "scale=3; $first / $deep" | bc) (goal <= 1.5), cursor $DEPTH tickets in
seller replies:             $replies replies/s (p99 $(p99 replies))  (goal >= 5000)
connections: $CONNECTIONS, wrk threads: $THREADS, duration: $DURATION each
REPORT
