#!/usr/bin/env bash
# The whole test suite: `scripts/test.sh` (CI runs exactly this through .ci/run).
#
# 1. makes sure the services the tests talk to are running: PostgreSQL and Redis are
#    started where installed but stopped; where missing, it says what to install; the S3
#    server is installed (scripts/object-store.sh, once) and each test starts its own;
# 2. checks formatting and lints (cargo fmt, clippy -D warnings), the origin's layout
#    (scripts/ci/check-layout.py: no import cycles, no oversized module), and that the pure
#    core builds for wasm32 (the edge's target);
# 3. runs every Rust test: unit tests, the origin's integration tests against SQLite and
#    the real Postgres, and the end-to-end tests that run the real binary;
# 4. runs schemathesis against the real origin binary and its own OpenAPI document
#    (scripts/ci/schemathesis.sh: no 5xx, statuses, content types and bodies as documented);
# 5. builds the edge Worker (wasm32) and runs its end-to-end tests through `wrangler dev`
#    against the real origin and a stub origin (scripts/edge/setup.sh installs the toolchain),
#    then drives the storefront in headless Chromium through the edge (scripts/ci/browser-test.sh
#    installs chromium and the npm packages when missing);
# 6. checks the deployment and monitoring configuration (promtool rule tests etc.);
# 7. runs the real Prometheus server against the real origin binary (scripts/ci/prometheus-e2e.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
STARTED=$(date +%s)
# A build folder outside the clone, so a fresh clone (CI) reuses earlier builds.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/vitrine-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export TEST_REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379}"
# The origins the suites start run on the descriptor alone (an unoptimised build would spend
# about a second on each demo photo's neural embedding); the neural embedder has its own
# tests (origin/tests/neural_reference.rs fetches the model through scripts/tools/fetch-model.sh).
export VISUAL_MODEL="${VISUAL_MODEL:-descriptor}"

step() { printf '\n==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

step "services"
bash scripts/ci/services.sh

step "toolchain"
bash scripts/tools/build-deps.sh
bash scripts/ci/check-deploy.sh --ensure-tools
cargo --version
rustup target list --installed 2>/dev/null | grep -q wasm32-unknown-unknown \
    || rustup target add wasm32-unknown-unknown \
    || echo "warning: could not add the wasm32 target; the wasm build check will fail"
# The S3-compatible server of which the object-store tests each start one (testkit's
# ObjectStoreServer); required here, so no test skips for want of it.
bash scripts/object-store.sh install
export VITRINE_REQUIRE_OBJECT_STORE=1
# nginx-light, the multi-instance test's load balancer (tests/tests/multi_instance/).
bash scripts/tools/nginx.sh >/dev/null

step "format and lints"
cargo fmt --all -- --check || die "run: cargo fmt --all"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "layout (no import cycles between the origin's modules, no module over 550 lines)"
python3 scripts/ci/check-layout.py

step "the pure core builds for wasm32 (the edge's target)"
cargo build -p vitrine-common --target wasm32-unknown-unknown --locked

step "rust tests (unit, origin integration on SQLite and Postgres, end-to-end)"
# Drop test databases left by interrupted runs.
psql "$TEST_DATABASE_URL" -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'vitrine_test_%'" 2>/dev/null \
    | while read -r db; do psql "$TEST_DATABASE_URL" -qc "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 || true; done
cargo test --workspace --locked --no-fail-fast 2>&1 | tee "$CARGO_TARGET_DIR/test-output.log"
rust_passed=$(grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed' "$CARGO_TARGET_DIR/test-output.log" | awk '{s+=$4} END {print s+0}')
rust_failed=$(grep -Eo '[0-9]+ failed' "$CARGO_TARGET_DIR/test-output.log" | awk '{s+=$1} END {print s+0}')

step "schemathesis against the OpenAPI document"
bash scripts/ci/schemathesis.sh 2>&1 | tee "$CARGO_TARGET_DIR/schemathesis-output.log"

step "edge Worker: toolchain, wasm build and end-to-end tests through wrangler dev"
bash scripts/edge/setup.sh
bash scripts/ci/edge-test.sh 2>&1 | tee "$CARGO_TARGET_DIR/edge-e2e-output.log"
edge_passed=$(grep -Eo 'edge e2e: [0-9]+ passed' "$CARGO_TARGET_DIR/edge-e2e-output.log" | awk '{s+=$3} END {print s+0}')
edge_failed=$(grep -Eo 'edge e2e: [0-9]+ passed, [0-9]+ failed' "$CARGO_TARGET_DIR/edge-e2e-output.log" | awk '{s+=$5} END {print s+0}')

step "storefront and operator console in headless Chromium (through the edge)"
bash scripts/ci/browser-test.sh 2>&1 | tee "$CARGO_TARGET_DIR/browser-e2e-output.log"
browser_passed=$(grep -Eo '(browser|console) e2e: [0-9]+ passed' "$CARGO_TARGET_DIR/browser-e2e-output.log" | awk '{s+=$3} END {print s+0}')
browser_failed=$(grep -Eo '(browser|console) e2e: [0-9]+ passed, [0-9]+ failed' "$CARGO_TARGET_DIR/browser-e2e-output.log" | awk '{s+=$5} END {print s+0}')

step "deployment and monitoring configuration"
bash scripts/ci/check-deploy.sh

step "real Prometheus end to end (scrapes a test origin with deploy/prometheus/)"
bash scripts/ci/prometheus-e2e.sh

step "all suites passed"
elapsed=$(( $(date +%s) - STARTED ))
echo "took $((elapsed / 60)) min $((elapsed % 60)) s"
echo "summary: $((rust_passed + edge_passed + browser_passed)) passed, $((rust_failed + edge_failed + browser_failed)) failed"
