#!/usr/bin/env bash
# Edge benchmark (a program that prints figures, not a test): builds the Worker, starts the
# stub origin and `wrangler dev` on free loopback ports, and measures
#   * the floor: `/__edge/health` p50/p95 (wrangler's proxy and the isolate only);
#   * edge cache HIT latency p50/p95 (sequential, keep-alive) and HIT req/s (16 clients, 5 s);
#   * an edge thumbnail, 640×480 JPEG → 300 px WebP, p50/p95 over 99 distinct cache keys, beside
#     the same job run natively by common's pipeline (examples/native_thumb.rs, same pure-Rust
#     codecs), as a ratio (target ≤ 3×). The pure build writes lossless WebP only;
#   * the Worker's gzipped size (target < 1 MiB).
# Rate limiting stays on (the Durable Object round trip is part of every request) with quotas
# too large to trip. Needs scripts/edge/setup.sh. Bounded: everything is stopped on exit.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/vitrine-target}"
WORK="$(mktemp -d /tmp/vitrine-edge-bench.XXXXXX)"
source "$ROOT/scripts/lib/edge.sh"
trap 'stop_all; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

require_toolchain
size_line=$(bash scripts/edge/build.sh | tail -n 1)
cargo build --locked --release -p vitrine-edge --example native_thumb
mkdir -p "$WORK/fixtures"
NATIVE="$CARGO_TARGET_DIR/release/examples/native_thumb"
"$NATIVE" fixtures "$WORK/fixtures"

STUB_PORT=$(free_port) EDGE_PORT=$(free_port)
start_stub "$STUB_PORT"
start_edge edge "$EDGE_PORT" "ORIGIN_URL:http://127.0.0.1:$STUB_PORT" \
    "RATE_LIMIT_READ:1000000:1000000" "RATE_LIMIT_THUMBNAIL:1000000:1000000"

echo "== edge (wrangler dev $(node -p 'require("./edge/node_modules/wrangler/package.json").version'), loopback)"
out=$(EDGE="http://127.0.0.1:$EDGE_PORT" STUB="http://127.0.0.1:$STUB_PORT" timeout 300 node tests/edge/bench.mjs)
echo "$out"
echo "== native (common's pipeline, pure-Rust codecs, release build)"
native=$("$NATIVE" bench "$WORK/fixtures/small.jpg" 100)
echo "$native"

get() { grep -o "$1=[0-9.]*" <<<"$2" | head -n 1 | cut -d= -f2; }
tp50=$(get thumb_p50_ms "$out") tp95=$(get thumb_p95_ms "$out") hp50=$(get hit_p50_ms "$out")
fp50=$(get floor_p50_ms "$out")
np50=$(get p50_ms "$native") np95=$(get p95_ms "$native")
echo "== summary"
awk -v tp50="$tp50" -v tp95="$tp95" -v hp50="$hp50" -v fp50="$fp50" -v np50="$np50" -v np95="$np95" 'BEGIN {
    printf "thumbnail 640x480 JPEG -> 300px WebP (lossless): edge p50 %.2f ms p95 %.2f ms | native p50 %.2f ms p95 %.2f ms\n", tp50, tp95, np50, np95
    printf "ratio edge/native p50: %.2fx end-to-end; %.2fx after subtracting the edge HIT p50 (%.2f ms: wrangler proxy, cache read, DO check)\n", tp50 / np50, (tp50 - hp50) / np50, hp50
    printf "edge floor (/__edge/health) p50 %.2f ms: of the HIT p50, %.2f ms is the rate-limit Durable Object and the cache read\n", fp50, hp50 - fp50
}'
echo "$size_line"
