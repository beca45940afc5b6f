#!/usr/bin/env bash
# schemathesis (property-based API testing, PyPI) against the real origin binary and its own
# OpenAPI document (GET /api/openapi.json, assembled in origin/src/openapi.rs).
#
#   scripts/ci/schemathesis.sh            # part of scripts/test.sh
#
# 1. creates (or reuses) the Python venv of scripts/tools/python-requirements.txt (every package
#    pinned with its hash; scripts/lib/tools.sh keys the venv by the lock's hash);
# 2. builds vitrine-origin (debug) and starts it on a free loopback port: SQLite in a temporary
#    DATA_DIR, 30 demo products, a test API key, rate limiting off (so the generated requests
#    reach the handlers instead of a 429);
# 3. runs `schemathesis run` on every operation with the checks not_a_server_error,
#    status_code_conformance, content_type_conformance and response_schema_conformance, the
#    API key on every request, and a bounded number of examples per operation;
# 4. stops the origin (trap on EXIT), prints `schemathesis: N operations, M failures` and exits
#    non-zero when schemathesis found anything.
#
# Knobs: SCHEMATHESIS_MAX_EXAMPLES (default 100), SCHEMATHESIS_SEED (default fixed, so a run is
# reproducible; set another to explore), SCHEMATHESIS_MAX_TIME (seconds; when set, fuzzing
# keeps generating until that budget is spent: a longer, deeper run).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/vitrine-target}"
MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-100}"
SEED="${SCHEMATHESIS_SEED:-20261128}"
# --max-time makes fuzzing repeat until the budget is spent, so it is off unless asked for.
EXTRA=()
[ -z "${SCHEMATHESIS_MAX_TIME:-}" ] || EXTRA+=(--max-time "$SCHEMATHESIS_MAX_TIME")
API_KEY="schemathesis-test-key-0123"
BIN="$CARGO_TARGET_DIR/debug/vitrine-origin"

log() { printf '%s\n' "$*" >&2; }

source "$ROOT/scripts/lib/common.sh"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/vitrine-schemathesis.XXXXXX")"
ORIGIN_PID=""

finish() {
    local rc=$?
    stop_pid "$ORIGIN_PID"
    if [ "$rc" -ne 0 ] && [ -s "$TMP/origin.log" ]; then
        log "--- origin log: errors (first 40) ---"
        grep -E '"level":"ERROR"|ERROR' "$TMP/origin.log" | head -n 40 >&2 || true
    fi
    rm -rf "$TMP"
    exit "$rc"
}
trap finish EXIT

# -- the venv --------------------------------------------------------------------------------
source "$ROOT/scripts/lib/tools.sh"
VENV="$(python_venv python)"

# -- the origin ------------------------------------------------------------------------------
# The build folder may be shared with other clones, whose builds relink the same path: copy the
# binary away right after building it.
cargo build -p vitrine-origin --locked >&2
cp "$BIN" "$TMP/vitrine-origin"
PORT="$(free_port)"
BASE="http://127.0.0.1:$PORT"
mkdir -p "$TMP/data"
env -u REDIS_URL BIND_ADDR="127.0.0.1:$PORT" \
    DATA_DIR="$TMP/data" \
    SEARCH_INDEX_DIR="$TMP/data/search_index" \
    IMAGE_CACHE_DIR="$TMP/data/image_cache" \
    SEED_DEMO=true DEMO_PRODUCTS=30 \
    API_KEYS="$API_KEY" \
    RATE_LIMIT_ENABLED=false \
    ENVIRONMENT=test LOG_LEVEL=warn STRUCTURED_LOGGING=true \
    "$TMP/vitrine-origin" serve >"$TMP/origin.log" 2>&1 &
ORIGIN_PID=$!
for _ in $(seq 1 600); do
    curl -fsS "$BASE/api/health/ready" >/dev/null 2>&1 && break
    kill -0 "$ORIGIN_PID" 2>/dev/null || { log "the origin exited:"; tail -n 30 "$TMP/origin.log" >&2; exit 1; }
    sleep 0.2
done
curl -fsS "$BASE/api/health/ready" >/dev/null || { log "the origin is not ready after 120 s"; exit 1; }

# The demo photos are described by a background worker: wait until every demo product has
# its descriptor, so `similar` answers from the index instead of a (documented, transient)
# 503 "not indexed yet", which the not_a_server_error check would count.
ids="$(curl -fsS "$BASE/api/products?limit=100" | python3 -c 'import json, sys; print(" ".join(str(p["id"]) for p in json.load(sys.stdin)["products"] if p.get("image_id")))')"
[ -n "$ids" ] || { log "the demo catalog is empty"; exit 1; }
for id in $ids; do
    for _ in $(seq 1 600); do
        code="$(curl -s -o /dev/null -w '%{http_code}' "$BASE/api/products/$id/similar?limit=1")"
        [ "$code" != 503 ] && break
        sleep 0.2
    done
done

# -- schemathesis ----------------------------------------------------------------------------
set +e
PYTHONPATH="$ROOT/scripts/ci${PYTHONPATH:+:$PYTHONPATH}" SCHEMATHESIS_HOOKS=schemathesis_hooks \
"$VENV/bin/schemathesis" run "$BASE/api/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --header "Authorization: Bearer $API_KEY" \
    --max-examples "$MAX_EXAMPLES" \
    --seed "$SEED" \
    "${EXTRA[@]}" \
    --phases examples,coverage,fuzzing \
    --workers 2 \
    --request-timeout 30 \
    --suppress-health-check all \
    --no-color \
    --report junit --report-junit-path "$TMP/junit.xml" \
    2>&1 | tee "$TMP/schemathesis.log"
rc=${PIPESTATUS[0]}
set -e

# One summary line from the JUnit report: a test case per operation, failures and errors.
python3 - "$TMP/junit.xml" "$rc" <<'EOF'
import sys, xml.etree.ElementTree as ET
path, rc = sys.argv[1], int(sys.argv[2])
try:
    root = ET.parse(path).getroot()
except (OSError, ET.ParseError):
    root = None
if root is None:
    print(f"schemathesis: 0 operations, 1 failures (no report; exit code {rc})")
    sys.exit(0)
cases = root.findall(".//testcase")
failed = [c for c in cases if c.find("failure") is not None or c.find("error") is not None]
# A run that could not start (schema not loaded, …) has no failed case but a non-zero exit.
count = len(failed) if (len(failed) or rc == 0) else 1
print(f"schemathesis: {len(cases)} operations, {count} failures")
for c in failed:
    print(f"  failed: {c.get('name')}")
EOF
if grep -Eq '"status":5[0-9][0-9]' "$TMP/origin.log"; then
    log "the origin logged 5xx responses:"
    grep -E '"status":5[0-9][0-9]' "$TMP/origin.log" | head -n 20 >&2
fi
exit "$rc"
