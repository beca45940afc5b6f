#!/usr/bin/env bash
# Load test: the shopper mix (vitrine-load) against a release origin, then the cached routes
# at full speed with wrk, and optionally the mix through the edge (wrangler dev).
#
#   scripts/bench/load.sh                 # origin: 20 s mix with 64 users, then 10 s wrk on cached routes
#   scripts/bench/load.sh --edge          # also the mix through `wrangler dev` in front of it
#   DURATION=60 USERS=128 scripts/bench/load.sh
#
# Everything listens on 127.0.0.1 on free ports and is stopped at the end. The origin runs on a
# throwaway SQLite demo catalog (DEMO_PRODUCTS, default 300) with the rate limiter on and the
# harness's API key lifted by RATE_LIMIT_API_KEY_MULTIPLIER (one client sends all the load).
# Needs wrk (apt-get install -y wrk; installed when missing).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/vitrine-target}"
DURATION="${DURATION:-20}"
USERS="${USERS:-64}"
WRK_SECONDS="${WRK_SECONDS:-10}"
WRK_CONNECTIONS="${WRK_CONNECTIONS:-64}"
EDGE=0
[ "${1:-}" = "--edge" ] && EDGE=1

WORK="$(mktemp -d /tmp/vitrine-load.XXXXXX)"
source "$ROOT/scripts/lib/edge.sh"
trap 'stop_all; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wrk >/dev/null
bash scripts/tools/build-deps.sh
echo "==> building the origin and the load harness (release)"
cargo build --release --locked -p vitrine-origin --bin vitrine-origin -p vitrine-load --bin vitrine-load

API_KEY="load-test-key-0123456789"
SIGNING_KEY="load-test-signing-key-0123456789"
PORT=$(free_port)
echo "==> starting the origin on 127.0.0.1:$PORT"
start origin env DATA_DIR="$WORK/data" DEMO_PRODUCTS="${DEMO_PRODUCTS:-300}" BIND_ADDR="127.0.0.1:$PORT" \
    API_KEYS="$API_KEY" IMAGE_SIGNING_KEYS="$SIGNING_KEY" RATE_LIMIT_API_KEY_MULTIPLIER=10000 \
    LOG_LEVEL=warn "$CARGO_TARGET_DIR/release/vitrine-origin"
wait_http origin "http://127.0.0.1:$PORT/api/health/ready" 300

LOAD="$CARGO_TARGET_DIR/release/vitrine-load"
echo
echo "==> shopper mix against the origin: $USERS users, $DURATION s"
"$LOAD" --target "http://127.0.0.1:$PORT" --api-key "$API_KEY" --signing-keys "$SIGNING_KEY" \
    --users "$USERS" --duration "$DURATION" | tee "$WORK/origin-mix.txt"

echo
echo "==> cached routes at full speed: wrk -t2 -c$WRK_CONNECTIONS -d${WRK_SECONDS}s over product pages and the top searches"
# The URLs a storefront's hot set is made of: product pages and head queries, all cached.
curl -fsS "http://127.0.0.1:$PORT/api/products?limit=50" \
    | python3 -c 'import json,sys; [print("/api/products/%d" % p["id"]) for p in json.load(sys.stdin)["products"]]' > "$WORK/urls.txt"
for q in lamp chair headphones wireless desk shoes jacket watch bag table; do
    echo "/api/search/text?q=$q&limit=20" >> "$WORK/urls.txt"
done
while read -r u; do curl -fsS -o /dev/null -H "authorization: Bearer $API_KEY" "http://127.0.0.1:$PORT$u"; done < "$WORK/urls.txt"
{
    echo 'local paths = {}'
    while read -r u; do echo "paths[#paths + 1] = \"$u\""; done < "$WORK/urls.txt"
    cat <<LUA
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1], { ["authorization"] = "Bearer $API_KEY" })
end
LUA
} > "$WORK/cached.lua"
wrk -t2 -c"$WRK_CONNECTIONS" -d"${WRK_SECONDS}s" --latency -s "$WORK/cached.lua" "http://127.0.0.1:$PORT" | tee "$WORK/wrk.txt"
rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.txt")
p99=$(awk '$1 == "99%" {print $2}' "$WORK/wrk.txt")
echo "cached routes: ${rps} req/s, p99 ${p99} (target ≥ 10,000 req/s)"

if [ "$EDGE" = 1 ]; then
    bash scripts/edge/setup.sh
    bash scripts/edge/build.sh
    EDGE_PORT=$(free_port)
    echo
    echo "==> the mix through the edge (wrangler dev on 127.0.0.1:$EDGE_PORT)"
    start_edge edge "$EDGE_PORT" "ORIGIN_URL:http://127.0.0.1:$PORT" "IMAGE_SIGNING_KEYS:$SIGNING_KEY" \
        "API_KEYS:$API_KEY" "RATE_LIMIT_ENABLED:false"
    "$LOAD" --target "http://127.0.0.1:$EDGE_PORT" --api-key "$API_KEY" --signing-keys "$SIGNING_KEY" \
        --users "$((USERS / 4 > 0 ? USERS / 4 : 1))" --duration "$DURATION" | tee "$WORK/edge-mix.txt"
fi
echo
echo "summary: origin mix: $(grep '^load:' "$WORK/origin-mix.txt"); cached routes: ${rps} req/s, p99 ${p99}"
