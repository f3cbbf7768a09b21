#!/usr/bin/env bash
# Events benchmark (issue 17), on SQLite by default (BACKEND=postgres for PostgreSQL,
# on a fresh database `entreposto_bench_events` of the local server):
#   a. durable order pushes per second (POST /api/v1/orders, every request a new
#      order: its row and its `order.pushed` event in one transaction) with one webhook
#      endpoint subscribed to every event, as a ratio of the same pushes with no
#      endpoint, in the same run: $REPEATS pairs of runs (no endpoint, then the
#      endpoint enabled), each pair's ratio and their median (goal >= 0.8). The
#      deliveries of a run drain before the next run starts. Deliveries may fall behind
#      the pushes while wrk runs; the ratio counts a run's pushes over wrk's duration
#      plus the time its last delivery took to go out after wrk stopped (pushes a
#      second that were also delivered), and the pushes' own rate is shown beside it.
#      Each run also reports
#      the CPU time per push of the server (of it, SQLite's writer thread) and of the
#      receiver, from /proc: what a delivery costs, with less noise than the ratio.
#   b. commit-to-delivery under sustained load: $RATE pushes per second (wrk with a
#      per-request delay, $RATE_CONNECTIONS connections) for $SUSTAIN, every one
#      delivered to the endpoint: p50/p99/max of arrival minus the event's time (the
#      body's `timestamp`, taken when the push was decided, so it includes the commit),
#      and the p99 and backlog per 10 s window (goal: p99 < 250 ms, and the lag of the
#      last window no worse than the first's: bounded, not growing).
# The receiver is `webhook-sink` (crates/bench-sink), answering 204 on 127.0.0.1.
# Usage: bash bench/events.sh   (DURATION=10s CONNECTIONS=64 REPEATS=3 RATE=2000
#        RATE_CONNECTIONS=16 SUSTAIN=60s BACKEND=sqlite|postgres)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
BACKEND="${BACKEND:-sqlite}"
REPEATS="${REPEATS:-3}"
RATE="${RATE:-2000}"
RATE_CONNECTIONS="${RATE_CONNECTIONS:-16}"
SUSTAIN="${SUSTAIN:-60s}"
PORT="${PORT:-18201}"
SINK_PORT="${SINK_PORT:-18202}"
OUT="$ROOT/bench/out/events-$BACKEND-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"

need_wrk
build_release
(cd "$ROOT" && cargo build --release -p entreposto-bench-sink >&2)
SINK_BIN="$ROOT/target/release/webhook-sink"
bench_database events
cat > "$OUT/entreposto.toml" <<TOML
[webhooks]
allow_private_addresses = true
TOML
export ENTREPOSTO_CONFIG="$OUT/entreposto.toml"

"$BIN" demo --orders 1000 --sellers 1 --tickets 0 --products 0 --database-url "$DB" > "$OUT/demo.json"
TOKEN=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['operator']['token'])" "$OUT/demo.json")
SELLER=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['sellers'][0]['id'])" "$OUT/demo.json")
export TOKEN SELLER BENCH_DIR="$ROOT/bench"

"$SINK_BIN" "127.0.0.1:$SINK_PORT" "$OUT/deliveries.txt" &
SINK_PID=$!
start_server "$DB" "$PORT"
trap 'stop_server; kill -TERM $SINK_PID 2>/dev/null || true' EXIT
API="http://127.0.0.1:$PORT/api/v1"
auth=(-H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json")

# The endpoint under test: created before each run with it, deleted before each run
# without (a disabled endpoint still logs its events as skipped deliveries).
HOOK=""
add_hook() {
  local hook
  hook=$(curl -sf "${auth[@]}" -X POST "$API/webhooks" -d "{\"url\": \"http://127.0.0.1:$SINK_PORT/\"}")
  HOOK=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['id'])" "$hook")
}
drop_hook() {
  [ -n "$HOOK" ] && curl -sf "${auth[@]}" -X DELETE "$API/webhooks/$HOOK" >/dev/null
  HOOK=""
}

# Waits until every delivery of the endpoint is sent: the webhooks relay has read the
# whole outbox (none of its events left to fan out), none pending, and no new one
# fanned out for a second.
if [ "$BACKEND" = postgres ]; then
  UNREAD="SELECT (SELECT count(*) FROM outbox_unstamped) + (SELECT count(*)
          FROM outbox_positions WHERE position > (SELECT position FROM outbox_sinks
                                                  WHERE sink = 'webhooks'))"
else
  UNREAD="SELECT count(*) FROM outbox_events
          WHERE seq > (SELECT position FROM outbox_sinks WHERE sink = 'webhooks')"
fi
PENDING="SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'"
drain() {
  local unread pending total last=-1
  for _ in $(seq 1 900); do
    unread=$(sql "$UNREAD")
    pending=$(sql "$PENDING")
    total=$(sql "SELECT count(*) FROM webhook_deliveries")
    [ "$unread" = 0 ] && [ "$pending" = 0 ] && [ "$total" = "$last" ] && return 0
    last=$total
    sleep 1
  done
  echo "deliveries did not drain: $unread events unread, $pending pending" >&2
}

# CPU time (clock ticks) of the server's writer thread, of the whole server, and of the
# receiver: "writer server receiver".
cpu_ticks() {
  local writer=0 t
  for t in /proc/"$SERVER_PID"/task/*; do
    [ "$(cat "$t/comm")" = sqlite-writer ] && writer=$(awk '{print $14 + $15}' "$t/stat")
  done
  echo "$writer $(awk '{print $14 + $15}' /proc/"$SERVER_PID"/stat) $(awk '{print $14 + $15}' /proc/"$SINK_PID"/stat)"
}
# cpu_per_push NAME BEFORE AFTER: microseconds of CPU per request of run NAME, of the
# hub's process (PostgreSQL's own processes not counted), of SQLite's writer thread
# within it, and of the receiver.
cpu_per_push() {
  local n
  n=$(awk '/requests in/ {print $1}' "$OUT/$1.txt")
  python3 - "$n" "$(getconf CLK_TCK)" $2 $3 <<'PY'
import sys
n, hz = int(sys.argv[1]), int(sys.argv[2])
a, b = list(map(int, sys.argv[3:6])), list(map(int, sys.argv[6:9]))
us = [(y - x) * 1e6 / hz / max(n, 1) for x, y in zip(a, b)]
writer = f", its SQLite writer {us[0]:.0f}" if us[0] else ""
print(f"hub process {us[1]:.0f}{writer}, receiver {us[2]:.0f} us/push")
PY
}

ratios=()
for i in $(seq 1 "$REPEATS"); do
  drain
  drop_hook
  c0=$(cpu_ticks)
  bare=$(run_wrk "push_bare_$i" "$API/orders" "$ROOT/bench/post_order.lua")
  c1=$(cpu_ticks)
  add_hook
  hooked=$(run_wrk "push_hooked_$i" "$API/orders" "$ROOT/bench/post_order.lua")
  stopped_us=$(date +%s%6N)
  # What was still to deliver when wrk stopped (events not yet fanned out, deliveries
  # pending): pushes that ran ahead of their deliveries.
  backlog=$(( $(sql "$UNREAD") + $(sql "$PENDING") ))
  # The deliveries of the run's pushes count too, sent after wrk stops.
  drain
  c2=$(cpu_ticks)
  # When the run's last delivery was sent: the pushes and their deliveries took wrk's
  # duration plus this catch-up, and the goal's ratio counts both (pushes a second
  # that are also delivered), not the pushes alone.
  last_us=$(sql "SELECT max(a.at) FROM webhook_attempts a
                 JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE d.endpoint_id = '$HOOK'")
  secs=$(awk '/requests in/ {sub(/s,?$/, "", $4); print $4}' "$OUT/push_hooked_$i.txt")
  read -r catchup delivered < <(python3 -c "import sys
h, s, last, stopped = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
c = max(0, (last - stopped) / 1e6)
print(f'{c:.2f} {h * s / (s + c):.2f}')" "$hooked" "$secs" "${last_us:-0}" "$stopped_us")
  r=$(echo "scale=3; $delivered / $bare" | bc)
  ahead=$(echo "scale=3; $hooked / $bare" | bc)
  ratios+=("$r")
  echo "pair $i: no endpoint $bare/s; one endpoint $hooked/s pushed, $backlog behind when wrk stopped, the last delivered ${catchup} s later: $delivered/s pushed and delivered; ratio $r (pushes alone $ahead)" | tee -a "$OUT/pairs.txt"
  echo "  CPU: no endpoint $(cpu_per_push "push_bare_$i" "$c0" "$c1"); one endpoint $(cpu_per_push "push_hooked_$i" "$c1" "$c2")" | tee -a "$OUT/pairs.txt"
done
drain

# b. Sustained load at about $RATE/s: each of $RATE_CONNECTIONS connections waits
# DELAY_MS between its requests.
start_us=$(date +%s%6N)
DELAY_MS=$(echo "scale=3; 1000 * $RATE_CONNECTIONS / $RATE" | bc) CONNECTIONS="$RATE_CONNECTIONS" DURATION="$SUSTAIN" \
  run_wrk sustained "$API/orders" "$ROOT/bench/post_order_paced.lua" > "$OUT/sustained_rate"
end_us=$(date +%s%6N)
drain
kill -TERM "$SINK_PID"; wait "$SINK_PID" || true

python3 - "$OUT/deliveries.txt" "$start_us" "$end_us" <<'PY' | tee "$OUT/latency.txt"
import sys
path, start, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = [l.split() for l in open(path)]
ids = [r[2] for r in rows]
dups = len(ids) - len(set(ids))
# Deliveries of events that happened during the sustained run.
lags = [(int(a), int(l)) for a, l, _ in rows if start <= int(a) - int(l) <= end]
def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] / 1000 if xs else float('nan')
all_lags = [l for _, l in lags]
print(f"sustained deliveries: {len(lags)}  duplicates (whole run): {dups}")
print(f"commit-to-delivery ms: p50 {pct(all_lags, .5):.1f}  p99 {pct(all_lags, .99):.1f}  max {max(all_lags)/1000 if all_lags else 0:.1f}")
window = 10_000_000
buckets = {}
for a, l in lags:
    buckets.setdefault((a - l - start) // window, []).append(l)
for k in sorted(buckets):
    print(f"  window {k*10:>3}-{k*10+10}s: {len(buckets[k])} deliveries, p99 {pct(buckets[k], .99):.1f} ms, max {max(buckets[k])/1000:.1f} ms")
PY

median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
cat <<REPORT | tee "$OUT/report.txt"
backend: $BACKEND
pushes delivered with one endpoint / pushes with none: ${ratios[*]}  median $median (goal >= 0.8)
$(grep CPU "$OUT/pairs.txt")
sustained: $(cat "$OUT/sustained_rate") pushes/s for $SUSTAIN at $RATE_CONNECTIONS connections (target $RATE/s)
$(cat "$OUT/latency.txt")
connections: $CONNECTIONS, wrk threads: $THREADS, duration: $DURATION each
REPORT
