#!/usr/bin/env bash
# A real S3-compatible server on loopback, for tests and local runs.
#
#   eval "$(scripts/object-store.sh start)"   # installs it once, starts it, prints the exports
#   scripts/run.sh                            # the origin now keeps originals in the bucket
#   scripts/object-store.sh stop
#
#   start    starts the server (or finds it running) and prints `export AWS_ENDPOINT_URL=…
#            AWS_REGION=… AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… OBJECT_STORE_URL=s3://…`
#   stop     ends it (its data stays in the state folder; `start` brings it back on the same port)
#   install  installs the server binary where missing and prints its path
#   status   exits 0 when it is running
#
# Settings: VITRINE_OBJECT_STORE_DIR (state folder: data, port, keys, pid, log; default
# /var/tmp/vitrine-object-store; one server per folder, so tests run several side by side),
# OBJECT_STORE_SERVER (s3s-fs or garage), OBJECT_STORE_BUCKET (default vitrine).
#
# Which server, by measurement on the 2-core machine (`cargo install` from an empty build
# folder, other builds sharing the cores; see docs/benchmarks.md "object store"):
#   - s3s-fs 0.14.1 (Apache-2.0): the s3s project's S3 server over a folder. It speaks the S3
#     REST API over HTTP and checks SigV4 signatures, so the origin's real S3 client, signing
#     and error handling are what the tests exercise. The default: it builds in a few minutes.
#   - garage 2.5.0 (AGPL-3.0, a distributed S3 server; built with only its lmdb engine):
#     several times longer to build, more than CI's time budget can spare on a fresh machine.
#     `OBJECT_STORE_SERVER=garage` runs it instead (a single node with a one-zone layout).
# Both are installed with `cargo install --locked` under $VITRINE_TOOLS_DIR, once.
# 0.14.1 is the newest s3s-fs that builds with the workspace's Rust (later ones need 1.96).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/tools.sh
source "$ROOT/scripts/lib/tools.sh"
# shellcheck source=lib/common.sh
source "$ROOT/scripts/lib/common.sh"

SERVER="${OBJECT_STORE_SERVER:-s3s-fs}"
DIR="${VITRINE_OBJECT_STORE_DIR:-/var/tmp/vitrine-object-store}"
BUCKET="${OBJECT_STORE_BUCKET:-vitrine}"
S3S_FS_VERSION=0.14.1
trap 'printf "object-store: failed (line %s); logs: %s/server.log, %s/setup.log\n" "$LINENO" "$DIR" "$DIR" >&2' ERR
GARAGE_VERSION=2.5.0

# hex N: N random bytes as hex.
hex() { python3 -c "import secrets; print(secrets.token_hex($1))"; }

log() { printf 'object-store: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

binary() {
    case $SERVER in
        s3s-fs) printf '%s/bin/s3s-fs\n' "$(cargo_tool_dir s3s-fs "$S3S_FS_VERSION")" ;;
        garage) printf '%s/bin/garage\n' "$(cargo_tool_dir garage "$GARAGE_VERSION")" ;;
        *) die "OBJECT_STORE_SERVER must be s3s-fs or garage (got $SERVER)" ;;
    esac
}

install() {
    case $SERVER in
        s3s-fs) ensure_cargo_tool s3s-fs "$S3S_FS_VERSION" --features binary ;;
        garage) ensure_cargo_tool garage "$GARAGE_VERSION" --no-default-features --features bundled-libs,lmdb ;;
    esac
    binary
}

running() { [[ -f $DIR/pid ]] && kill -0 "$(cat "$DIR/pid")" 2>/dev/null; }

# The keys of this state folder, made once: garage's formats (GK + 24 hex, 64 hex), which
# s3s-fs accepts as well.
keys() {
    if [[ ! -f $DIR/keys ]]; then
        printf '%s %s\n' "GK$(hex 12)" "$(hex 32)" >"$DIR/keys"
        chmod 600 "$DIR/keys"
    fi
    read -r ACCESS_KEY SECRET_KEY <"$DIR/keys"
}

port() {
    [[ -f $DIR/port ]] || free_port >"$DIR/port"
    cat "$DIR/port"
}

wait_port() {
    local port=$1 i
    for ((i = 0; i < 100; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        running || break
        sleep 0.1
    done
    tail -n 30 "$DIR/server.log" >&2 || true
    die "$SERVER did not start on 127.0.0.1:$port"
}

start_s3s_fs() {
    local bin=$1 port=$2
    # A bucket is a folder of the data root.
    mkdir -p "$DIR/data/$BUCKET"
    setsid "$bin" --host 127.0.0.1 --port "$port" --access-key "$ACCESS_KEY" \
        --secret-key "$SECRET_KEY" "$DIR/data" >"$DIR/server.log" 2>&1 &
    echo $! >"$DIR/pid"
    wait_port "$port"
    REGION=us-east-1
}

start_garage() {
    local bin=$1 port=$2 rpc node
    [[ -f $DIR/rpc_port ]] || free_port >"$DIR/rpc_port"
    rpc=$(cat "$DIR/rpc_port")
    [[ -f $DIR/rpc_secret ]] || { hex 32 >"$DIR/rpc_secret"; chmod 600 "$DIR/rpc_secret"; }
    cat >"$DIR/garage.toml" <<TOML
metadata_dir = "$DIR/meta"
data_dir = "$DIR/data"
db_engine = "lmdb"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$rpc"
rpc_public_addr = "127.0.0.1:$rpc"
rpc_secret = "$(cat "$DIR/rpc_secret")"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$port"
TOML
    local g=("$bin" -c "$DIR/garage.toml")
    setsid "${g[@]}" server >"$DIR/server.log" 2>&1 &
    echo $! >"$DIR/pid"
    wait_port "$port"
    if [[ ! -f $DIR/.configured ]]; then
        for _ in $(seq 1 50); do node=$("${g[@]}" node id -q 2>/dev/null) && break; sleep 0.2; done
        [[ -n ${node:-} ]] || die "garage node id failed"
        "${g[@]}" layout assign -z dc1 -c 1G "${node%%@*}" >>"$DIR/setup.log" 2>&1
        "${g[@]}" layout apply --version 1 >>"$DIR/setup.log" 2>&1
        "${g[@]}" key import --yes -n vitrine "$ACCESS_KEY" "$SECRET_KEY" >>"$DIR/setup.log" 2>&1
        "${g[@]}" bucket create "$BUCKET" >>"$DIR/setup.log" 2>&1
        "${g[@]}" bucket allow --read --write --owner "$BUCKET" --key "$ACCESS_KEY" >>"$DIR/setup.log" 2>&1
        touch "$DIR/.configured"
    fi
    REGION=garage
}

print_env() {
    keys
    printf 'export AWS_ENDPOINT_URL=http://127.0.0.1:%s\n' "$(port)"
    printf 'export AWS_REGION=%s\n' "$(cat "$DIR/region")"
    printf 'export AWS_ACCESS_KEY_ID=%s\n' "$ACCESS_KEY"
    printf 'export AWS_SECRET_ACCESS_KEY=%s\n' "$SECRET_KEY"
    printf 'export OBJECT_STORE_URL=s3://%s\n' "$BUCKET"
}

start() {
    mkdir -p "$DIR"
    if running; then
        print_env
        return 0
    fi
    local bin port
    bin=$(install)
    keys
    port=$(port)
    case $SERVER in
        s3s-fs) start_s3s_fs "$bin" "$port" ;;
        garage) start_garage "$bin" "$port" ;;
    esac
    echo "$REGION" >"$DIR/region"
    log "$SERVER listening on 127.0.0.1:$port, bucket $BUCKET, data in $DIR/data"
    print_env
}

stop() {
    running || { rm -f "$DIR/pid"; return 0; }
    local pid
    pid=$(cat "$DIR/pid")
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    rm -f "$DIR/pid"
    log "$SERVER stopped"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    install) install ;;
    status) running ;;
    *) echo "usage: $0 start|stop|install|status" >&2; exit 2 ;;
esac
