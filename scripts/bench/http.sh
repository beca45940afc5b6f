#!/usr/bin/env bash
# HTTP load benchmark: a cached `GET /api/search/text` on the origin beside nginx serving the
# same bytes as a static file, in one run, on loopback. Prints req/s and latency percentiles
# for both and the ratio. Asserts nothing: it is a measurement.
#
#   scripts/bench/http.sh                # 10 s per target, 64 connections, 2 wrk threads
#   DURATION=20 CONNECTIONS=128 scripts/bench/http.sh
#
# Needs wrk and nginx (apt-get install -y wrk nginx). Builds the origin in release, starts it
# on a free loopback port with a throwaway SQLite catalog (demo data), starts nginx on
# another free port with a temporary config, and stops both at the end, whatever happens.
set -euo pipefail

DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
QUERY="${QUERY:-/api/search/text?q=wireless%20headphones&limit=20}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"

for tool in wrk nginx curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y wrk nginx curl" >&2; exit 1; }
done

WORK="$(mktemp -d)"
ORIGIN_PID=""
NGINX_PID=""
cleanup() {
  [ -n "$ORIGIN_PID" ] && kill "$ORIGIN_PID" 2>/dev/null && wait "$ORIGIN_PID" 2>/dev/null || true
  [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

source "$ROOT/scripts/lib/common.sh"

echo "building the origin (release)…"
(cd "$ROOT" && cargo build --release -p vitrine-origin --bin vitrine-origin >/dev/null 2>&1) \
  || (cd "$ROOT" && cargo build --release -p vitrine-origin --bin vitrine-origin)
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/vitrine-origin"

ORIGIN_PORT="$(free_port)"
echo "starting the origin on 127.0.0.1:$ORIGIN_PORT (demo catalog, L1 cache, no rate limit)…"
BIND_ADDR="127.0.0.1:$ORIGIN_PORT" DATA_DIR="$WORK/data" SEARCH_INDEX_DIR=memory \
  DEMO_PRODUCTS="${DEMO_PRODUCTS:-300}" LOG_LEVEL=warn RATE_LIMIT_ENABLED=false \
  "$BIN" serve >"$WORK/origin.log" 2>&1 &
ORIGIN_PID=$!
for _ in $(seq 1 600); do
  curl -fs "http://127.0.0.1:$ORIGIN_PORT/api/health/ready" >/dev/null 2>&1 && break
  kill -0 "$ORIGIN_PID" 2>/dev/null || { cat "$WORK/origin.log"; exit 1; }
  sleep 0.2
done

URL="http://127.0.0.1:$ORIGIN_PORT$QUERY"
curl -fs -D "$WORK/headers" -o "$WORK/search.json" "$URL"
curl -fs -D "$WORK/headers2" -o /dev/null "$URL"
echo "response: $(wc -c <"$WORK/search.json") bytes, first $(grep -i '^x-cache' "$WORK/headers" | tr -d '\r'), then $(grep -i '^x-cache' "$WORK/headers2" | tr -d '\r')"

NGINX_PORT="$(free_port)"
mkdir -p "$WORK/www" "$WORK/nginx"
cp "$WORK/search.json" "$WORK/www/search.json"
# nginx workers drop root privileges: let them read the document root.
chmod 755 "$WORK" "$WORK/www" && chmod 644 "$WORK/www/search.json"
cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes auto;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path $WORK/nginx;
  proxy_temp_path $WORK/nginx;
  fastcgi_temp_path $WORK/nginx;
  uwsgi_temp_path $WORK/nginx;
  scgi_temp_path $WORK/nginx;
  types { application/json json; }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $WORK/www;
    location / { try_files /search.json =404; }
  }
}
EOF
nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" &
NGINX_PID=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$NGINX_PORT/search.json" -o /dev/null 2>/dev/null && break
  sleep 0.1
done
cmp -s "$WORK/search.json" <(curl -fs "http://127.0.0.1:$NGINX_PORT/search.json") \
  || { echo "nginx does not serve the same bytes" >&2; cat "$WORK/nginx/error.log" >&2; exit 1; }

run_wrk() { # $1 = label, $2 = url
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$2" >"$WORK/$1.wrk" 2>&1
  local rps p50 p99
  rps="$(awk '/^Requests\/sec/ {print $2}' "$WORK/$1.wrk")"
  p50="$(awk '$1=="50%" {print $2}' "$WORK/$1.wrk")"
  p99="$(awk '$1=="99%" {print $2}' "$WORK/$1.wrk")"
  printf '%-28s %12s req/s   p50 %-9s p99 %-9s\n' "$1" "$rps" "$p50" "$p99"
  echo "$rps" >"$WORK/$1.rps"
}

echo
echo "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency (loopback, $(nproc) cores shared by server and client)"
run_wrk "origin (cached search)" "$URL"
run_wrk "nginx (same bytes, static)" "http://127.0.0.1:$NGINX_PORT/search.json"
ORIGIN_RPS="$(cat "$WORK/origin (cached search).rps")"
NGINX_RPS="$(cat "$WORK/nginx (same bytes, static).rps")"
python3 - "$ORIGIN_RPS" "$NGINX_RPS" <<'EOF'
import sys
o, n = float(sys.argv[1]), float(sys.argv[2])
print(f"\nratio origin / nginx: {o / n:.2f}x   (targets: origin >= 20000 req/s, p99 < 10 ms, ratio >= 0.5)")
EOF
grep -q "Non-2xx" "$WORK/origin (cached search).wrk" && { echo "WARNING: the origin answered non-2xx:"; grep "Non-2xx" "$WORK/origin (cached search).wrk"; } || true
