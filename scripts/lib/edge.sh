# Starting the real origin, the stub origin and `wrangler dev` (as process groups, waiting
# until each is ready), for the scripts that test or measure the edge. Source it; it expects
# ROOT and WORK to be set, and brings scripts/lib/common.sh and scripts/lib/tools.sh.

export WRANGLER_SEND_METRICS=false WRANGLER_SEND_ERROR_REPORTS=false CLOUDFLARE_CF_FETCH_ENABLED=false
export WRANGLER_LOG_PATH="$WORK/wrangler-logs" NO_UPDATE_NOTIFIER=1 CI="${CI:-true}"
export PATH="$HOME/.cargo/bin:$PATH"
source "$ROOT/scripts/lib/tools.sh"
source "$ROOT/scripts/lib/common.sh"

require_toolchain() {
    [[ -f "$(wasm_bindgen_dir)/.vitrine-installed" && -x "$ROOT/edge/node_modules/.bin/wrangler" ]] || {
        echo "error: the edge toolchain is missing; run: bash scripts/edge/setup.sh" >&2
        exit 1
    }
}

# start_origin PORT [VAR=VALUE...]: the real origin on SQLite with the demo catalog; the
# assignments are added to (and override) its environment.
start_origin() {
    local port=$1; shift
    start origin env DATA_DIR="$WORK/origin-data" DEMO_PRODUCTS=30 BIND_ADDR="127.0.0.1:$port" \
        API_KEYS=edge-test-api-key RUST_LOG=warn LOG_LEVEL=warn "$@" \
        "${ORIGIN_BIN:-$CARGO_TARGET_DIR/debug/vitrine-origin}"
    wait_http origin "http://127.0.0.1:$port/api/health/live" 120
}

# start_stub PORT: the stub origin (tests/edge/stub-origin.mjs) serving $WORK/fixtures.
start_stub() {
    local port=$1
    start stub env FIXTURES_DIR="$WORK/fixtures" node "$ROOT/tests/edge/stub-origin.mjs" "$port"
    wait_http stub "http://127.0.0.1:$port/__stub/ids" 30
}

# start_edge NAME PORT VAR:VALUE...: `wrangler dev` on PORT with the given vars.
start_edge() {
    local name=$1 port=$2; shift 2
    local vars=() v
    for v in "$@"; do vars+=(--var "$v"); done
    start "$name" "$ROOT/edge/node_modules/.bin/wrangler" dev --cwd "$ROOT" --ip 127.0.0.1 \
        --port "$port" --inspector-port "$(free_port)" --persist-to "$WORK/$name-state" \
        --show-interactive-dev-session=false --log-level warn "${vars[@]}"
    wait_http "$name" "http://127.0.0.1:$port/__edge/health" 180
}
