#!/usr/bin/env bash
# The storefront and the operator console in a real browser: Debian's headless Chromium,
# driven by playwright-core (tests/browser/storefront.mjs, tests/browser/console.mjs), loading
# pages through the edge Worker (`wrangler dev`) in front of the real origin (SQLite, demo
# catalog, signed thumbnails), all on free loopback ports. The console's job check runs on a
# second origin without workers (ASYNC_WORKERS=0), where a job stays queued until cancelled. Installs what is missing: the `chromium` package (apt-get), the npm packages of
# tests/browser (npm ci), the edge toolchain (scripts/edge/setup.sh). Screenshots go to
# $CARGO_TARGET_DIR/browser-artifacts/. Closes with `browser e2e: N passed, M failed` and exits
# non-zero on failure; everything it started is stopped on exit.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/vitrine-target}"
WORK="$(mktemp -d /tmp/vitrine-browser-e2e.XXXXXX)"
source "$ROOT/scripts/lib/edge.sh"
trap 'stop_all; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
ARTIFACTS="$CARGO_TARGET_DIR/browser-artifacts"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

echo "==> browser and npm packages"
if [[ ! -x "$CHROMIUM" ]]; then
    echo "installing Debian's chromium (not found at $CHROMIUM)"
    if [[ $(id -u) -ne 0 ]]; then
        echo "error: $CHROMIUM is missing; install it as root: apt-get install -y chromium" >&2
        exit 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y chromium \
        || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }
fi
"$CHROMIUM" --version 2>/dev/null | head -n 1 || true
npm_ci tests/browser
bash scripts/edge/setup.sh

echo "==> building the Worker and the origin"
bash scripts/edge/build.sh
# ORIGIN_BIN: an already built origin binary (skips building it here).
[[ -n "${ORIGIN_BIN:-}" ]] || cargo build --locked -p vitrine-origin --bin vitrine-origin

ORIGIN_PORT=$(free_port) EDGE_PORT=$(free_port) IDLE_PORT=$(free_port)
SIGNING_KEY="browser-signing-key-0123456789"
echo "==> starting the origin (:$ORIGIN_PORT) and wrangler dev (:$EDGE_PORT)"
start_origin "$ORIGIN_PORT" IMAGE_SIGNING_KEYS="$SIGNING_KEY"
start idle-origin env DATA_DIR="$WORK/idle-origin-data" DEMO_PRODUCTS=6 BIND_ADDR="127.0.0.1:$IDLE_PORT" \
    API_KEYS=edge-test-api-key ASYNC_WORKERS=0 RUST_LOG=warn LOG_LEVEL=warn \
    "${ORIGIN_BIN:-$CARGO_TARGET_DIR/debug/vitrine-origin}"
wait_http idle-origin "http://127.0.0.1:$IDLE_PORT/api/health/live" 120
start_edge edge "$EDGE_PORT" "ORIGIN_URL:http://127.0.0.1:$ORIGIN_PORT" \
    "IMAGE_SIGNING_KEYS:$SIGNING_KEY" "ORIGIN_SHARED_SECRET:browser-origin-secret-0123456789" \
    "PURGE_TOKEN:browser-purge-token-0123456789"
# The demo photos' descriptors are computed in the background after the first start; the
# photo and similar-products checks need them: wait (up to 2 minutes) until the first and the
# last demo product (DEMO_PRODUCTS=30 in edge-lib.sh) can be compared; the checks fail if not.
similar_ready() {
    curl -fsS --max-time 2 "http://127.0.0.1:$ORIGIN_PORT/api/products/$1/similar?limit=1" -o /dev/null 2>/dev/null
}
ready=0
for _ in $(seq 1 480); do
    if similar_ready 1 && similar_ready 30; then ready=1; break; fi
    sleep 0.25
done
[[ $ready == 1 ]] || echo "warning: the demo catalog's similar products were not ready after 2 minutes; the photo checks will say so" >&2

echo "==> storefront in headless Chromium (through the edge)"
mkdir -p "$ARTIFACTS"
status=0
EDGE_URL="http://127.0.0.1:$EDGE_PORT" ARTIFACTS_DIR="$ARTIFACTS" CHROMIUM="$CHROMIUM" \
    timeout 600 node tests/browser/storefront.mjs || status=$?
echo "==> operator console in headless Chromium (through the edge; job cancel on the idle origin)"
console_status=0
EDGE_URL="http://127.0.0.1:$EDGE_PORT" IDLE_ORIGIN_URL="http://127.0.0.1:$IDLE_PORT" \
    API_KEY=edge-test-api-key ARTIFACTS_DIR="$ARTIFACTS" CHROMIUM="$CHROMIUM" \
    timeout 300 node tests/browser/console.mjs || console_status=$?
if [[ $console_status -eq 124 ]]; then echo "console e2e: 0 passed, 1 failed (timed out)"; fi
[[ $status -ne 0 ]] || status=$console_status
if [[ $status -ne 0 ]]; then
    for log in edge origin idle-origin; do
        echo "--- last lines of $log.log" >&2
        tail -n 25 "$WORK/$log.log" >&2 || true
    done
    if [[ $status -eq 124 ]]; then echo "browser e2e: 0 passed, 1 failed (timed out)"; fi
fi
exit $status
