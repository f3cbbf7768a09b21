# Shared helpers for the benchmark scripts: build, start/stop the server, run wrk,
# read resident memory. Source it; it expects `set -euo pipefail` in the caller.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/target/release/entreposto"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
# The read benchmarks: a warm-up with the endpoint measured, then $REPEATS more pairs of
# runs of $REPEAT_DURATION each (see repeat_ratios and bench/README.md).
WARMUP="${WARMUP:-30s}"
REPEATS="${REPEATS:-9}"
REPEAT_DURATION="${REPEAT_DURATION:-6s}"

need_wrk() {
  command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
}

build_release() {
  (cd "$ROOT" && cargo build --release -p entreposto >&2)
}

# The benchmarks drive one credential at tens of thousands of requests a second: far
# over the default rate limit (1000/s a credential). A limit no run reaches keeps the
# in-memory limiter on the measured path; PostgreSQL's shared buckets (one statement
# a request, see README "Rate limits") are left out, as one node is measured.
export ENTREPOSTO_RATE_LIMITS__DEFAULT="${ENTREPOSTO_RATE_LIMITS__DEFAULT:-1000000/s}"
export ENTREPOSTO_RATE_LIMITS__SHARED="${ENTREPOSTO_RATE_LIMITS__SHARED:-false}"

# bench_database NAME: a fresh database for the run on $BACKEND (PostgreSQL:
# `entreposto_bench_NAME` on the local server; SQLite: $OUT/bench.db), as DB, and
# `sql QUERY` printing its rows as `a|b` lines (SQLite's read-only, beside the server).
bench_database() {
  if [ "${BACKEND:-sqlite}" = postgres ]; then
    BENCH_PG_DB="entreposto_bench_$1"
    psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $BENCH_PG_DB" \
      -c "CREATE DATABASE $BENCH_PG_DB"
    DB="postgres://postgres@127.0.0.1:5432/$BENCH_PG_DB"
    sql() { psql -h 127.0.0.1 -U postgres -d "$BENCH_PG_DB" -Atc "$1"; }
  else
    DB="$OUT/bench.db"
    sql() { python3 -c "import sqlite3,sys; [print('|'.join(map(str, r))) for r in sqlite3.connect(f'file:{sys.argv[1]}?mode=ro', uri=True).execute(sys.argv[2])]" "$DB" "$1"; }
  fi
}

# start_server DB PORT: runs `entreposto serve` in the background, sets SERVER_PID.
start_server() {
  local db="$1" port="$2"
  ENTREPOSTO_LOG_LEVEL=warn "$BIN" serve --listen "127.0.0.1:$port" --database-url "$db" &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null && return 0
    sleep 0.1
  done
  echo "server did not start" >&2
  return 1
}

stop_server() {
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
}

# Resident memory in MiB, and in brackets the anonymous part: file pages of the
# memory-mapped database count in VmRSS once per mapping (each SQLite connection maps
# the file), though the kernel shares them and can drop them at any time.
rss_mib() {
  awk '/VmRSS/ {r=$2} /RssAnon/ {a=$2} END {printf "%.1f (anonymous %.1f)", r/1024, a/1024}' "/proc/$1/status"
}

# run_wrk NAME URL [LUA]: prints requests/s; saves wrk's full output to $OUT/NAME.txt.
run_wrk() {
  local name="$1" url="$2" lua="${3:-}"
  local args=(-t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency)
  [ -n "$lua" ] && args+=(-s "$lua")
  # WRK_SCHED=batch runs the client under SCHED_BATCH (see README: a co-located
  # client woken per response otherwise preempts the server it is measuring).
  local wrap=()
  [ "${WRK_SCHED:-}" = batch ] && wrap=(chrt --batch 0)
  "${wrap[@]}" wrk "${args[@]}" "$url" > "$OUT/$name.txt"
  if grep -q "Non-2xx" "$OUT/$name.txt"; then
    echo "warning: $name had non-2xx responses: $(grep Non-2xx "$OUT/$name.txt")" >&2
  fi
  awk '/Requests\/sec/ {print $2}' "$OUT/$name.txt"
}

# p99 latency of a saved wrk run.
p99() {
  awk '$1 == "99%" {print $2}' "$OUT/$1.txt"
}


# batch_ratio NAME REF_URL URL LUA: the /health reference and an endpoint again, with
# the client at SCHED_BATCH; prints "health endpoint ratio".
batch_ratio() {
  local name="$1" ref_url="$2" url="$3" lua="$4" h e
  h=$(WRK_SCHED=batch run_wrk "health_batch" "$ref_url" "$ROOT/bench/health.lua")
  e=$(WRK_SCHED=batch run_wrk "${name}_batch" "$url" "$lua")
  echo "$h $e $(echo "scale=3; $e / $h" | bc)"
}

# repeat_ratios NAME URL LUA: $REPEATS more pairs of runs (/health, then the endpoint,
# $REPEAT_DURATION each, default scheduler) on the same server; prints each pair's
# ratio and their median. One run's ratio moves by several hundredths on a shared VM,
# so the median of the pairs is the reading the goals are judged on.
repeat_ratios() {
  local name="$1" url="$2" lua="$3" h e ratios=()
  for i in $(seq 1 "$REPEATS"); do
    h=$(DURATION="$REPEAT_DURATION" run_wrk "health_r$i" "$url" "$ROOT/bench/health.lua")
    e=$(DURATION="$REPEAT_DURATION" run_wrk "${name}_r$i" "$url" "$lua")
    ratios+=("$(echo "scale=3; $e / $h" | bc)")
  done
  printf '%s\n' "${ratios[@]}" | sort -n | awk '{r[NR]=$1; all=all " " $1} END {
    m = (NR % 2) ? r[(NR+1)/2] : (r[NR/2] + r[NR/2+1]) / 2; printf "%s; median %.3f\n", all, m}'
}
