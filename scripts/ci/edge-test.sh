#!/usr/bin/env bash
# End-to-end tests of the edge Worker through `wrangler dev`: builds the Worker, the origin and
# the test fixtures; starts the real origin (SQLite, demo catalog), the stub origin
# (tests/edge/stub-origin.mjs) and two `wrangler dev` instances (one in front of each) on free
# loopback ports; runs tests/edge/e2e.mjs; stops everything. Closes with
# `edge e2e: N passed, M failed` and exits non-zero on failure. Needs scripts/edge/setup.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/vitrine-target}"
WORK="$(mktemp -d /tmp/vitrine-edge-e2e.XXXXXX)"
source "$ROOT/scripts/lib/edge.sh"
trap 'stop_all; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

require_toolchain
echo "==> building the Worker, the origin and the fixture program"
bash scripts/edge/build.sh
# ORIGIN_BIN: an already built origin binary (skips building it here).
[[ -n "${ORIGIN_BIN:-}" ]] || cargo build --locked -p vitrine-origin --bin vitrine-origin
cargo build --locked -p vitrine-edge --example native_thumb
mkdir -p "$WORK/fixtures"
"$CARGO_TARGET_DIR/debug/examples/native_thumb" fixtures "$WORK/fixtures"

ORIGIN_PORT=$(free_port) STUB_PORT=$(free_port) REAL_PORT=$(free_port) EDGE_STUB_PORT=$(free_port)
PURGE_TOKEN="e2e-purge-token-0123456789"
SIGNING_KEY="e2e-signing-key-0123456789"
ORIGIN_SECRET="e2e-origin-secret-0123456789"
COMMON_VARS=("IMAGE_SIGNING_KEYS:$SIGNING_KEY" "PURGE_TOKEN:$PURGE_TOKEN" "ORIGIN_SHARED_SECRET:$ORIGIN_SECRET")

echo "==> starting the origin, the stub origin and two wrangler dev instances"
start_origin "$ORIGIN_PORT"
start_stub "$STUB_PORT"
start_edge edge-real "$REAL_PORT" "ORIGIN_URL:http://127.0.0.1:$ORIGIN_PORT" \
    "RATE_LIMIT_SEARCH:5:5/m" "${COMMON_VARS[@]}"
start_edge edge-stub "$EDGE_STUB_PORT" "ORIGIN_URL:http://127.0.0.1:$STUB_PORT" \
    "ORIGIN_TIMEOUT_MS:1000" "${COMMON_VARS[@]}"

echo "==> end-to-end tests"
status=0
EDGE_REAL="http://127.0.0.1:$REAL_PORT" EDGE_STUB="http://127.0.0.1:$EDGE_STUB_PORT" \
STUB="http://127.0.0.1:$STUB_PORT" ORIGIN="http://127.0.0.1:$ORIGIN_PORT" \
PURGE_TOKEN="$PURGE_TOKEN" SIGNING_KEY="$SIGNING_KEY" ORIGIN_SECRET="$ORIGIN_SECRET" \
    timeout 300 node "$ROOT/tests/edge/e2e.mjs" || status=$?
if [[ $status -ne 0 ]]; then
    for log in edge-stub edge-real stub origin; do
        echo "--- last lines of $log.log" >&2
        tail -n 25 "$WORK/$log.log" >&2 || true
    done
    if [[ $status -eq 124 ]]; then echo "edge e2e: 0 passed, 1 failed (timed out)"; fi
fi
exit $status
