#!/usr/bin/env bash
# Measures the capacity plan's per-instance inputs that scale with the catalog, on a release
# origin: memory per 100,000 products and uncached text searches per second.
#
#   scripts/bench/capacity-inputs.sh            # 100,000 products, 10 s of wrk
#   PRODUCTS=200000 WRK_SECONDS=20 scripts/bench/capacity-inputs.sh
#
# 1. writes PRODUCTS synthetic products (titles, brands, categories and descriptions drawn from
#    word lists, no images) as NDJSON and imports them with `vitrine-origin import` into a
#    throwaway SQLite catalog, and into a throwaway Postgres database when TEST_DATABASE_URL's
#    server answers (its growth per product and the import rate);
# 2. starts the origin on that catalog and on an empty one (SEED_DEMO=false, CACHE_ENABLED=false:
#    every search is computed), warms each with the same searches, and prints each one's
#    resident memory and the difference per 100,000 products (text index, its stored product
#    JSON and the catalog's share of the process; images and visual vectors are not included:
#    their size per product is fixed by the vector's dimensions, see docs/capacity.md);
# 3. runs wrk on the full catalog over 40 different queries, uncached, and prints req/s and p99.
# The origin and wrk share the machine's cores, so req/s is a floor for a dedicated instance.
# Everything listens on 127.0.0.1 on free ports and is stopped at the end.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/vitrine-target}"
PRODUCTS="${PRODUCTS:-100000}"
WRK_SECONDS="${WRK_SECONDS:-10}"
WRK_CONNECTIONS="${WRK_CONNECTIONS:-32}"

WORK="$(mktemp -d /tmp/vitrine-capacity.XXXXXX)"
source "$ROOT/scripts/lib/common.sh"
trap 'stop_all; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wrk >/dev/null
bash scripts/tools/build-deps.sh
echo "==> building the origin (release)"
cargo build --release --locked -p vitrine-origin --bin vitrine-origin
BIN="$CARGO_TARGET_DIR/release/vitrine-origin"

echo "==> $PRODUCTS synthetic products"
python3 - "$PRODUCTS" > "$WORK/products.ndjson" <<'PY'
import json, random, sys
n = int(sys.argv[1])
rng = random.Random(7)
adjectives = "wireless compact leather wooden ceramic steel portable vintage modern classic " \
    "ergonomic waterproof foldable organic bamboo linen cotton carbon matte glossy".split()
nouns = "lamp chair headphones desk shoes jacket watch bag table mug kettle speaker camera " \
    "backpack sofa blanket bottle helmet keyboard monitor sneakers teapot vase rug".split()
categories = "Home Kitchen Audio Office Footwear Apparel Accessories Outdoor Electronics Garden".split()
brands = [f"Brand{i:03d}" for i in range(400)]
words = "durable light soft premium handmade recycled everyday travel gift warm quiet fast " \
    "comfortable elegant sturdy minimal bright sleek smart natural".split()
for i in range(n):
    title = f"{rng.choice(adjectives).title()} {rng.choice(adjectives)} {rng.choice(nouns)} {i}"
    print(json.dumps({
        "sku": f"CAP-{i:07d}",
        "title": title,
        "description": " ".join(rng.choice(words) for _ in range(24)),
        "brand": rng.choice(brands),
        "category": rng.choice(categories),
        "price": rng.randint(199, 99999),
        "currency": "USD",
        "attributes": {"colour": rng.choice(["red", "blue", "black", "white", "green"])},
    }))
PY
echo "==> importing them (vitrine-origin import)"
mkdir -p "$WORK/full" "$WORK/empty"
started=$(date +%s.%N)
DATA_DIR="$WORK/full" SEED_DEMO=false LOG_LEVEL=warn "$BIN" import "$WORK/products.ndjson" | tail -n 3
import_s=$(python3 -c "import time; print(f'{time.time() - $started:.1f}')")

# The same import into a fresh Postgres database, when one is reachable: rows + indexes per
# product, and import speed.
PG_ADMIN="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
pg_summary="Postgres: not reachable at $PG_ADMIN, skipped"
if psql "$PG_ADMIN" -Atc 'SELECT 1' >/dev/null 2>&1; then
    pg_db="vitrine_capacity_$$"
    psql "$PG_ADMIN" -qc "CREATE DATABASE $pg_db"
    trap 'stop_all; psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $pg_db" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
    pg_url="${PG_ADMIN%/*}/$pg_db"
    pg_empty=$(psql "$pg_url" -Atc 'SELECT pg_database_size(current_database())')
    echo "==> importing them into Postgres ($pg_db)"
    started=$(date +%s.%N)
    DATA_DIR="$WORK/pg" DATABASE_URL="$pg_url" SEED_DEMO=false LOG_LEVEL=warn "$BIN" import "$WORK/products.ndjson" | tail -n 3
    pg_import_s=$(python3 -c "import time; print(f'{time.time() - $started:.1f}')")
    psql "$pg_url" -qc 'VACUUM ANALYZE' >/dev/null
    pg_full=$(psql "$pg_url" -Atc 'SELECT pg_database_size(current_database())')
    pg_summary=$(python3 -c "n=$PRODUCTS; d=$pg_full-$pg_empty; print(f'Postgres: {n:,} products imported in $pg_import_s s ({n/$pg_import_s:,.0f}/s); database grew {d/2**20:.0f} MiB ({d/n:,.0f} B/product)')")
fi

queries=(lamp chair headphones desk shoes jacket watch bag table mug kettle speaker camera
    backpack sofa blanket bottle helmet keyboard monitor "wireless+headphones" "leather+bag"
    "wooden+desk" "ceramic+mug" "steel+bottle" "portable+speaker" "vintage+lamp" "modern+sofa"
    "waterproof+jacket" "foldable+chair" "organic+cotton" "bamboo" "linen" "carbon+helmet"
    "matte+vase" "glossy+teapot" "ergonomic+keyboard" "compact+camera" "classic+watch" "rug")

# serve NAME DATA_DIR: starts the origin on DATA_DIR, waits until ready and warms it with every
# query; sets PORT and PID.
serve() {
    local name=$1 dir=$2 port
    port=$(free_port)
    start "$name" env DATA_DIR="$dir" SEED_DEMO=false CACHE_ENABLED=false RATE_LIMIT_ENABLED=false \
        BIND_ADDR="127.0.0.1:$port" VISUAL_MODEL=descriptor LOG_LEVEL=warn "$BIN" serve
    wait_http "$name" "http://127.0.0.1:$port/api/health/ready" 600
    for q in "${queries[@]}"; do curl -fsS -o /dev/null "http://127.0.0.1:$port/api/search/text?q=$q&limit=20"; done
    PORT=$port
    PID=${PIDS[-1]}
}
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

echo "==> the origin on the empty catalog and on the full one (CACHE_ENABLED=false)"
serve empty "$WORK/empty"
empty_pid=$PID
empty_rss=$(rss_kib "$empty_pid")
serve full "$WORK/full"
full_port=$PORT
full_pid=$PID
full_rss=$(rss_kib "$full_pid")
stop_pid "$empty_pid"

{
    echo 'local q = {'
    for q in "${queries[@]}"; do echo "  \"/api/search/text?q=$q&limit=20\","; done
    echo '}'
    echo 'local i = 0'
    echo 'request = function() i = i + 1; return wrk.format("GET", q[(i % #q) + 1]) end'
} > "$WORK/search.lua"
echo "==> uncached text search: wrk -t2 -c$WRK_CONNECTIONS -d${WRK_SECONDS}s over ${#queries[@]} queries"
wrk -t2 -c"$WRK_CONNECTIONS" -d"${WRK_SECONDS}s" --latency -s "$WORK/search.lua" "http://127.0.0.1:$full_port" | tee "$WORK/wrk.txt"
rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.txt")
p99=$(awk '$1 == "99%" {print $2}' "$WORK/wrk.txt")
non2xx=$(awk '/Non-2xx/ {print $NF}' "$WORK/wrk.txt")
full_rss_after=$(rss_kib "$full_pid")
index_kib=$(du -sk "$WORK/full/search_index" | cut -f1)
db_kib=$(du -sk "$WORK/full/vitrine.db" | cut -f1)

python3 - "$PRODUCTS" "$empty_rss" "$full_rss" "$full_rss_after" "$index_kib" "$db_kib" "$import_s" <<'PY'
import sys
n, empty, full, after, index, db, import_s = (float(x) for x in sys.argv[1:])
per = lambda kib: kib * 1024 / n
print(f"catalog: {int(n):,} products imported in {import_s:.1f} s; SQLite {db / 1024:.0f} MiB, "
      f"search index on disk {index / 1024:.0f} MiB ({per(index):,.0f} B/product)")
print(f"resident memory: empty catalog {empty / 1024:.0f} MiB, full {full / 1024:.0f} MiB after warm-up, "
      f"{after / 1024:.0f} MiB after the load")
print(f"memory per 100,000 products: {(max(full, after) - empty) / 1024 / n * 100_000:.0f} MiB "
      f"({per(max(full, after) - empty):,.0f} B/product)")
PY
echo "$pg_summary"
echo "uncached text search at $PRODUCTS products: ${rps} req/s, p99 ${p99}${non2xx:+, non-2xx $non2xx}"
