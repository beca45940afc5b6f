#!/usr/bin/env bash
# Real Prometheus end to end: the shipped scrape config, pointed at a test origin, scraped by
# the real `prometheus` server, queried over its HTTP API. Proves the whole path (binary →
# /api/metrics → scrape config → TSDB → PromQL), not just the text format.
#
#   scripts/ci/prometheus-e2e.sh
#
# 1. builds vitrine-origin (debug) into ${CARGO_TARGET_DIR:-/var/tmp/vitrine-target} and
#    starts it on a free loopback port: embedded SQLite in a temporary DATA_DIR, 20 demo
#    products;
# 2. copies deploy/prometheus/ to a temporary folder, rewrites its target line to that port
#    and its intervals to 1 s, and starts `prometheus` (Debian package `prometheus`,
#    installed if missing) on another free loopback port;
# 3. sends traffic that touches every part the dashboard shows (reads, cached and compressed
#    searches, a thumbnail, a refused upload, a batch job), then polls Prometheus' query API
#    (at most 30 s) until `http_requests_total{job="vitrine-origin"}` has series with
#    route-template labels;
# 4. evaluates every PromQL expression of the Grafana dashboard, the recording rules and the
#    alerts (scripts/ci/promql-check.py) and requires each to return data: no panel or rule
#    may read a metric or label the origin does not export;
# 5. stops both (trap on EXIT) and prints one PASS or FAIL line.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/vitrine-target}"
BIN="$CARGO_TARGET_DIR/debug/vitrine-origin"
SCRAPE_WAIT_SECS="${SCRAPE_WAIT_SECS:-30}"

log() { printf '%s\n' "$*" >&2; }

TMP="$(mktemp -d "${TMPDIR:-/tmp}/vitrine-prom-e2e.XXXXXX")"
ORIGIN_PID=""
PROM_PID=""
source "$ROOT/scripts/lib/common.sh"
source "$ROOT/scripts/lib/tools.sh"

RESULT="FAIL"
REASON="interrupted"

finish() {
    local rc=$?
    stop_pid "$PROM_PID"
    stop_pid "$ORIGIN_PID"
    if [ "$RESULT" != "PASS" ]; then
        for f in origin.log prometheus.log; do
            if [ -s "$TMP/$f" ]; then
                log "--- last lines of $f ---"
                tail -n 20 "$TMP/$f" >&2
            fi
        done
        echo "prometheus e2e: FAIL: $REASON"
        [ "$rc" -ne 0 ] || rc=1
    fi
    rm -rf "$TMP"
    exit "$rc"
}
trap finish EXIT

fail() { REASON="$*"; exit 1; }


# -- prometheus ------------------------------------------------------------------------------
if ! command -v prometheus >/dev/null 2>&1; then
    log "prometheus missing: apt-get install -y prometheus"
    apt_install prometheus \
        || fail "prometheus is not installed and could not be installed (Debian package: prometheus)"
fi
command -v prometheus >/dev/null 2>&1 || fail "no prometheus binary on PATH after installing the package"

# -- the origin ------------------------------------------------------------------------------
log "building vitrine-origin into $CARGO_TARGET_DIR"
cargo build --quiet -p vitrine-origin --bin vitrine-origin >&2 || fail "cargo build failed"
[ -x "$BIN" ] || fail "no binary at $BIN"

ORIGIN_PORT="$(free_port)"
API_KEY="prometheus-e2e-key"
env -i PATH="$PATH" HOME="${HOME:-/tmp}" \
    BIND_ADDR="127.0.0.1:$ORIGIN_PORT" \
    DATA_DIR="$TMP/data" \
    DEMO_PRODUCTS=20 \
    API_KEYS="$API_KEY" \
    VISUAL_MODEL="${VISUAL_MODEL:-descriptor}" \
    LOG_LEVEL=warn \
    "$BIN" >"$TMP/origin.log" 2>&1 &
ORIGIN_PID=$!
ORIGIN="http://127.0.0.1:$ORIGIN_PORT"

deadline=$((SECONDS + 120))
until curl -fsS -o /dev/null "$ORIGIN/api/health/ready" 2>/dev/null; do
    kill -0 "$ORIGIN_PID" 2>/dev/null || fail "the origin exited during start-up"
    [ "$SECONDS" -lt "$deadline" ] || fail "the origin was not ready within 120 s"
    sleep 0.2
done
log "origin ready on $ORIGIN"

# -- the shipped scrape config, pointed at the test origin -----------------------------------
cp -r deploy/prometheus "$TMP/prometheus"
CONFIG="$TMP/prometheus/prometheus.yml"
sed -i \
    -e "s|^\(\s*-\s*\)127\.0\.0\.1:8080\s*$|\1127.0.0.1:$ORIGIN_PORT|" \
    -e "s|^\(\s*scrape_interval:\s*\).*|\11s|" \
    -e "s|^\(\s*scrape_timeout:\s*\).*|\11s|" \
    -e "s|^\(\s*evaluation_interval:\s*\).*|\11s|" \
    "$CONFIG"
# Rule groups set their own interval; evaluate them every second too.
sed -i -e "s|^\(\s*interval:\s*\).*|\11s|" "$TMP/prometheus/recording_rules.yml" "$TMP/prometheus/alert_rules.yml"
grep -q "127.0.0.1:$ORIGIN_PORT" "$CONFIG" \
    || fail "could not rewrite the target line of deploy/prometheus/prometheus.yml (expected '- 127.0.0.1:8080')"
grep -q "scrape_interval: 1s" "$CONFIG" || fail "could not shorten scrape_interval"
if command -v promtool >/dev/null 2>&1; then
    promtool check config "$CONFIG" >"$TMP/promtool.log" 2>&1 \
        || { cat "$TMP/promtool.log" >&2; fail "promtool check config rejects the rewritten config"; }
fi

PROM_PORT="$(free_port)"
prometheus \
    --config.file="$CONFIG" \
    --storage.tsdb.path="$TMP/tsdb" \
    --web.listen-address="127.0.0.1:$PROM_PORT" \
    >"$TMP/prometheus.log" 2>&1 &
PROM_PID=$!
PROM="http://127.0.0.1:$PROM_PORT"

deadline=$((SECONDS + 30))
until curl -fsS -o /dev/null "$PROM/-/ready" 2>/dev/null; do
    kill -0 "$PROM_PID" 2>/dev/null || fail "prometheus exited during start-up"
    [ "$SECONDS" -lt "$deadline" ] || fail "prometheus was not ready within 30 s"
    sleep 0.2
done
log "prometheus ready on $PROM"

# -- traffic, then ask Prometheus ------------------------------------------------------------
send_traffic() {
    local path thumb image_id
    for path in /api/products /api/products/1 /api/products/999999 "/api/search/text?q=lamp" \
        "/api/search/text?q=lamp" /api/health/live; do
        curl -s -o /dev/null "$ORIGIN$path" || true
    done
    # Compressed responses (compression_bytes_*).
    curl -s -o /dev/null -H 'Accept-Encoding: br, gzip' "$ORIGIN/api/products?limit=50" || true
    # A thumbnail (image_processing_duration_seconds, images_processed_total).
    thumb="$(curl -fsS "$ORIGIN/api/products/1" | python3 -c \
        'import json,sys; p=json.load(sys.stdin); print(p["images"]["srcset"][0]["url"])' 2>/dev/null || true)"
    [ -n "$thumb" ] && curl -s -o /dev/null "$ORIGIN$thumb"
    # A refused upload (images_failed_total): a JPEG cut short after its header.
    printf '\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xdb' \
        | curl -s -o /dev/null -H "Authorization: Bearer $API_KEY" -H 'Content-Type: image/jpeg' \
            --data-binary @- "$ORIGIN/api/images" || true
    # A batch job over a demo image (jobs_*, job_duration_seconds).
    image_id="$(curl -fsS "$ORIGIN/api/products/1" | python3 -c \
        'import json,sys; print(json.load(sys.stdin)["image_id"])' 2>/dev/null || true)"
    [ -n "$image_id" ] && curl -s -o /dev/null -H "Authorization: Bearer $API_KEY" \
        -H 'Content-Type: application/json' -d "{\"images\": [\"$image_id\"]}" \
        "$ORIGIN/api/images/batch"
    return 0
}
send_traffic

# Checks one query API answer: success, non-empty, from our job, route templates only.
CHECK_PY=$(cat <<'PY'
import json, sys
try:
    d = json.load(sys.stdin)
except Exception as e:
    print("unparsable answer: %s" % e); sys.exit(2)
if d.get("status") != "success":
    print("query failed: %s" % d); sys.exit(2)
res = d["data"]["result"]
if not res:
    print("empty result"); sys.exit(1)
bad = [r["metric"] for r in res if r["metric"].get("job") != "vitrine-origin"
       or any(ch.isdigit() for ch in r["metric"].get("endpoint", "").replace("{id}", ""))]
if bad:
    print("unexpected series: %s" % bad); sys.exit(2)
eps = sorted({r["metric"].get("endpoint", "?") for r in res})
print("%d series, endpoints %s" % (len(res), ", ".join(eps)))
PY
)

QUERY='http_requests_total{job="vitrine-origin"}'
deadline=$((SECONDS + SCRAPE_WAIT_SECS))
while :; do
    answer="$(curl -fsS --get --data-urlencode "query=$QUERY" "$PROM/api/v1/query" 2>/dev/null || true)"
    set +e
    detail="$(printf '%s' "$answer" | python3 -c "$CHECK_PY")"
    code=$?
    set -e
    [ "$code" -eq 0 ] && break
    [ "$code" -eq 2 ] && fail "$QUERY: $detail"
    kill -0 "$ORIGIN_PID" 2>/dev/null || fail "the origin died"
    kill -0 "$PROM_PID" 2>/dev/null || fail "prometheus died"
    [ "$SECONDS" -lt "$deadline" ] || fail "no $QUERY series within ${SCRAPE_WAIT_SECS} s ($detail)"
    sleep 1
done

# The target is up, as Prometheus sees it.
up="$(curl -fsS --get --data-urlencode 'query=up{job="vitrine-origin"}' "$PROM/api/v1/query" \
    | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "none")')"
[ "$up" = "1" ] || fail "up{job=\"vitrine-origin\"} is $up"

# Every expression of the dashboard and the rules, evaluated by this Prometheus. A second round
# of traffic a few scrapes later gives rate() two samples that differ.
sleep 2
send_traffic
PYTHON="$(python_venv python)/bin/python"
"$PYTHON" "$ROOT/scripts/ci/promql-check.py" "$PROM" --wait "$SCRAPE_WAIT_SECS" >"$TMP/promql.log" 2>&1 \
    || { cat "$TMP/promql.log" >&2; fail "$(tail -n 1 "$TMP/promql.log")"; }
cat "$TMP/promql.log" >&2
promql="$(tail -n 1 "$TMP/promql.log")"

RESULT="PASS"
echo "prometheus e2e: PASS: Prometheus on 127.0.0.1:$PROM_PORT scraped the origin on 127.0.0.1:$ORIGIN_PORT with the shipped config ($QUERY: $detail; up = 1; $promql)"
