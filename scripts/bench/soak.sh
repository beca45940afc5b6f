#!/usr/bin/env bash
# Memory soak: a time-bounded run of mixed traffic that includes huge images, sampling the
# origin's resident memory every second. Prints the peak, the mean of the first and last
# thirds, the RSS over time, whether it levelled off (the last third's mean within 10 % of
# the middle third's) and whether the peak stayed below
# the configured budget (MEMORY_BUDGET_BYTES). Exits non-zero when it did not, or on 5xx.
#
#   scripts/bench/soak.sh                      # 90 s, budget 768 MiB
#   SOAK_SECONDS=600 BUDGET_MIB=512 scripts/bench/soak.sh
#
# Traffic: the shopper mix (vitrine-load, 32 users) with its thumbnail action also drawing
# from four uploaded ~48-megapixel JPEGs at random sizes (each distinct size is a cold
# render: a full-resolution decode bounded by IMAGE_MEMORY_BUDGET_BYTES), and image searches
# with those huge photos. Everything on 127.0.0.1, stopped at the end.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/vitrine-target}"
SOAK_SECONDS="${SOAK_SECONDS:-90}"
BUDGET_MIB="${BUDGET_MIB:-768}"
WORK="$(mktemp -d /tmp/vitrine-soak.XXXXXX)"
source "$ROOT/scripts/lib/edge.sh"
trap 'stop_all; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

command -v vips >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libvips-tools >/dev/null
bash scripts/tools/build-deps.sh
echo "==> building the origin and the load harness (release)"
cargo build --release --locked -p vitrine-origin --bin vitrine-origin -p vitrine-load --bin vitrine-load

echo "==> making four 8000x6000 noise JPEGs (48 MP each)"
mkdir -p "$WORK/huge"
for i in 1 2 3 4; do
    vips gaussnoise "$WORK/noise$i.v" 8000 6000 --mean $((100 + i * 10)) --sigma 40
    vips colourspace "$WORK/noise$i.v" "$WORK/huge/huge$i.jpg[Q=85]" srgb 2>/dev/null \
        || vips copy "$WORK/noise$i.v" "$WORK/huge/huge$i.jpg[Q=85]"
    rm -f "$WORK/noise$i.v"
done
ls -l "$WORK/huge"

API_KEY="soak-test-key-0123456789"
PORT=$(free_port)
BUDGET=$((BUDGET_MIB * 1024 * 1024))
echo "==> starting the origin on 127.0.0.1:$PORT (MEMORY_BUDGET_BYTES=$BUDGET)"
start origin env DATA_DIR="$WORK/data" DEMO_PRODUCTS=300 BIND_ADDR="127.0.0.1:$PORT" \
    API_KEYS="$API_KEY" RATE_LIMIT_API_KEY_MULTIPLIER=10000 LOG_LEVEL=warn \
    MEMORY_BUDGET_BYTES="$BUDGET" IMAGE_MEMORY_BUDGET_BYTES=$((BUDGET / 3)) \
    CACHE_L1_MAX_BYTES=$((BUDGET / 8)) IMAGE_SEARCH_MAX_BYTES=$((64 * 1024 * 1024)) \
    "$CARGO_TARGET_DIR/release/vitrine-origin"
wait_http origin "http://127.0.0.1:$PORT/api/health/ready" 300
PID=$(pgrep -f -n "release/vitrine-origin" || true)
[ -n "$PID" ] || { echo "error: cannot find the origin's pid" >&2; exit 1; }

ids=()
for f in "$WORK"/huge/*.jpg; do
    id=$(curl -fsS -H "authorization: Bearer $API_KEY" -H 'content-type: application/octet-stream' \
        --data-binary "@$f" "http://127.0.0.1:$PORT/api/images" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    ids+=("$id")
done
echo "uploaded: ${ids[*]}"

echo "==> $SOAK_SECONDS s of mixed traffic; resident memory sampled every second"
: > "$WORK/rss.txt"
(
    while kill -0 "$PID" 2>/dev/null; do
        awk '/^VmRSS:/ {print $2 * 1024}' "/proc/$PID/status" >> "$WORK/rss.txt" 2>/dev/null || true
        sleep 1
    done
) &
SAMPLER=$!
status=0
"$CARGO_TARGET_DIR/release/vitrine-load" --target "http://127.0.0.1:$PORT" --api-key "$API_KEY" \
    --users 32 --warmup 0 --duration "$SOAK_SECONDS" \
    --mix "product=20,list=5,search=25,thumbnail=35,similar=5,image_search=8,batch=2" \
    --image-ids "$(IFS=,; echo "${ids[*]}")" --photos-dir "$WORK/huge" --timeout-ms 60000 || status=$?
kill "$SAMPLER" 2>/dev/null || true

python3 - "$WORK/rss.txt" "$BUDGET" <<'PY'
import sys
samples = [int(float(l)) for l in open(sys.argv[1]) if l.strip()]
budget = int(sys.argv[2])
if not samples:
    print("soak: no memory samples"); sys.exit(1)
n = len(samples); third = max(1, n // 3)
mib = lambda b: b / 1048576
first, last = samples[:third], samples[-third:]
peak = max(samples)
print(f"soak: {n} samples; resident memory peak {mib(peak):.0f} MiB, first third mean {mib(sum(first)/len(first)):.0f} MiB, "
      f"last third mean {mib(sum(last)/len(last)):.0f} MiB (max {mib(max(last)):.0f}); budget {mib(budget):.0f} MiB")
# The shape over time: one sample per tenth of the run.
step = max(1, n // 10)
print("soak: resident MiB over time: " + " ".join(f"{mib(s):.0f}" for s in samples[::step]))
# Levelling off: the last third's mean is within 10 % of the middle third's (means, not
# maxima: RSS swings by the size of a decode from one second to the next).
middle = samples[third:2 * third] or samples
mean = lambda xs: sum(xs) / len(xs)
growth = (mean(last) - mean(middle)) / mean(middle)
print(f"soak: last third's mean vs middle third's: {growth * 100:+.1f} % "
      + ("(levelled off)" if growth <= 0.10 else "(STILL RISING)"))
ok = peak < budget
print("soak: peak below the budget" if ok else "soak: PEAK ABOVE THE BUDGET")
sys.exit(0 if ok else 1)
PY
exit "$status"
