#!/usr/bin/env bash
# schemathesis against every OpenAPI document the server serves: no 5xx, and every
# response (status, content type, body) as its document says.
#
# Builds the debug binary, fills a fresh SQLite file in a temporary directory with
# `entreposto demo` (data, and credentials for every dialect), serves it on a free
# port of 127.0.0.1 (the only host fuzzed), and runs schemathesis on each document
# with a bounded number of examples per operation and a time budget. A document with
# no operation is fetched and loaded, not fuzzed. Exits non-zero on any failure.
#
# Usage: .ci/schemathesis.sh   (SCHEMATHESIS_EXAMPLES, SCHEMATHESIS_SECONDS and
# SCHEMATHESIS_SEED override the bounds; KEEP=1 keeps the temporary directory)
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION="4.32.5"
EXAMPLES="${SCHEMATHESIS_EXAMPLES:-50}"
SECONDS_PER_DOCUMENT="${SCHEMATHESIS_SECONDS:-360}"
SEED="${SCHEMATHESIS_SEED:-20261201}"
# No 5xx; status, content type, headers and body as documented; 405 with `Allow` for
# a method a path does not serve; 401 without the credentials the document requires.
CHECKS=not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance
CHECKS+=,response_headers_conformance,unsupported_method,allow_header_conformance
CHECKS+=,ignored_auth,missing_required_header

# Run as `python3 -m schemathesis.cli`, so the one interpreter that installs it runs it
# (whatever is on PATH).
installed() {
  python3 -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null
}
if [ "$(installed)" != "$SCHEMATHESIS_VERSION" ]; then
  python3 -m pip --version >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq python3-pip; }
  python3 -m pip install --quiet "schemathesis==$SCHEMATHESIS_VERSION" \
    || python3 -m pip install --quiet --break-system-packages "schemathesis==$SCHEMATHESIS_VERSION"
fi
[ "$(installed)" = "$SCHEMATHESIS_VERSION" ] || { echo "schemathesis $SCHEMATHESIS_VERSION is not installed" >&2; exit 1; }

cargo build --quiet --bin entreposto
BIN="$PWD/target/debug/entreposto"

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [ "${KEEP:-}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

DB="$WORK/entreposto.db"
"$BIN" --database-url "$DB" demo --orders 300 --tickets 200 >"$WORK/demo.json"

# Free ports: bind port 0, read it, release it. The shared listener, and SkyHub at
# the root of a listener of its own.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
PORT="$(free_port)"
OWN_PORT="$(free_port)"
BASE="http://127.0.0.1:$PORT"
OWN="http://127.0.0.1:$OWN_PORT"
cat >"$WORK/entreposto.toml" <<EOF
listen = "127.0.0.1:$PORT"
database_url = "$DB"

[dialects.skyhub]
listen = "127.0.0.1:$OWN_PORT"
EOF
"$BIN" --config "$WORK/entreposto.toml" serve >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
  curl -fsS "$BASE/health" >/dev/null 2>&1 && curl -fsS "$OWN/health" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/serve.log" >&2; exit 1; }
  sleep 0.1
done
curl -fsS "$BASE/health" >/dev/null
curl -fsS "$OWN/health" >/dev/null

# The headers a client of `dialect` sends, as `entreposto demo` printed them (a
# seller's credentials, the operator's token for the native API), one per line.
headers() {
  python3 - "$WORK/demo.json" "$1" <<'EOF'
import json, sys
demo = json.load(open(sys.argv[1]))
dialect = sys.argv[2]
if dialect == "native":
    headers = {"Authorization": "Bearer " + demo["operator"]["token"]}
else:
    headers = demo["sellers"][0]["credentials"][dialect]["headers"]
for name, value in headers.items():
    print(f"{name}: {value}")
EOF
}

failed=0
run() {
  local dialect="$1" url="$2"
  local args=()
  while IFS= read -r h; do args+=(-H "$h"); done < <(headers "$dialect")
  local operations
  operations="$(curl -fsS "$url" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["paths"]))')"
  if [ "$operations" = 0 ]; then
    echo "== $dialect: $url lists no operation yet; loaded, nothing to fuzz"
    return
  fi
  echo "== $dialect: $url"
  # `--max-time` would make fuzzing repeat until the budget is spent; the examples
  # bound the run, and `timeout` only stops one that hangs (00K's 22 operations took
  # 127 s on a slow 2-core host, past the 120 s this allowed before). One worker: with more,
  # hypothesis's lambda-source parsing races on Python 3.11 ("AST constructor
  # recursion depth mismatch") and the run errors out.
  # Run from the temporary directory: schemathesis keeps a cache in its working one.
  if ! (cd "$WORK" && timeout "$SECONDS_PER_DOCUMENT" python3 -m schemathesis.cli run "$url" "${args[@]}" \
    --checks "$CHECKS" \
    --max-examples "$EXAMPLES" --seed "$SEED" --request-timeout 10 --workers 1); then
    echo "!! schemathesis found failures in $url" >&2
    failed=1
  fi
}

run skyhub "$BASE/skyhub/openapi.json"
run skyhub "$OWN/openapi.json"
run omnik "$BASE/omnik/HUB/openapi.json"
run zerok "$BASE/00k/openapi.json"
run koncili "$BASE/koncili/externalapi/openapi.json"
run native "$BASE/api/v1/openapi.json"

if grep -q "handler panicked\|internal failure" "$WORK/serve.log"; then
  echo "!! the server logged internal errors:" >&2
  grep "handler panicked\|internal failure" "$WORK/serve.log" | head -20 >&2
  failed=1
fi
exit "$failed"
