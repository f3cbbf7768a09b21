#!/usr/bin/env bash
# User-space instructions per request (valgrind's callgrind) for GET /health, a SkyHub
# SAC by code and an Omnik case, on the database of an earlier `sac.sh` run. Wall-clock
# ratios on a shared 2-core VM move by several hundredths between runs; instruction
# counts repeat to within about 1%, so this is how to tell whether a change to a read
# path made it cheaper. It does not see memory stalls or the kernel (the send path),
# which the wrk ratios do.
# Usage: bash bench/instructions.sh bench/out/sac-<time>   (BINARY=<path> N=1000)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
OUT="$(cd "${1:?usage: instructions.sh bench/out/sac-<time>}" && pwd)"
N="${N:-1000}"
PORT="${PORT:-18186}"
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }
# BINARY=<path> measures another build (say, of an earlier commit) on the same database.
if [ -n "${BINARY:-}" ]; then BIN="$BINARY"; else build_release; fi
CG="$(mktemp -d)"
ENTREPOSTO_LOG_LEVEL=warn valgrind --tool=callgrind --callgrind-out-file="$CG/cg.%p" \
  "$BIN" serve --listen "127.0.0.1:$PORT" --database-url "$OUT/bench.db" >/dev/null 2>"$CG/valgrind.log" &
VG=$!
trap 'kill $VG 2>/dev/null || true; wait $VG 2>/dev/null || true; rm -rf "$CG"' EXIT
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
for kind in health sac omnik; do
  python3 "$ROOT/bench/requests.py" "$PORT" "$kind" 300 "$OUT"     # warm up
  callgrind_control -z "$VG" >/dev/null
  python3 "$ROOT/bench/requests.py" "$PORT" "$kind" "$N" "$OUT"
  callgrind_control -d "$VG" >/dev/null
  dump=$(ls -t "$CG"/cg.*.* | head -1)
  total=$(awk '/^(summary|totals):/ {print $2; exit}' "$dump")
  rm -f "$dump"
  echo "$kind: $((total / N)) instructions/request"
done
