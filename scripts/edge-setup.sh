#!/usr/bin/env bash
# Installs the edge Worker's toolchain, idempotently (each step is skipped when already done):
#   1. the rustup target wasm32-unknown-unknown;
#   2. wasm-bindgen-cli at exactly the version of the `wasm-bindgen` crate in Cargo.lock (the
#      CLI and the crate must match; installed without --locked, because the CLI's own lockfile
#      pins a crate version the registry here lacks);
#   3. wrangler (pinned 4.86.0: the last release that runs on Node 20) and binaryen (wasm-opt,
#      132; Debian's 108 is too old) from npm into edge/node_modules, from edge/package-lock.json.
# No step downloads anything but crates and npm packages.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

step() { printf '==> %s\n' "$*"; }

step "rust target wasm32-unknown-unknown"
if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    echo "already installed"
else
    rustup target add wasm32-unknown-unknown
fi

step "wasm-bindgen-cli"
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[" ]/, "", $0); sub(/version=/, "", $0); print; exit }' Cargo.lock)
if [[ -z "$want" ]]; then
    echo "error: no wasm-bindgen in Cargo.lock" >&2
    exit 1
fi
have=$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)
if [[ "$have" == "$want" ]]; then
    echo "wasm-bindgen $have already installed"
else
    echo "installing wasm-bindgen-cli $want (have: ${have:-none}); this takes a few minutes"
    cargo install wasm-bindgen-cli --version "=$want" --force
fi

step "node packages (wrangler, binaryen) in edge/node_modules"
command -v node >/dev/null || { echo "error: node (>= 20) is required: apt-get install nodejs npm" >&2; exit 1; }
node_major=$(node -p 'process.versions.node.split(".")[0]')
if (( node_major < 20 )); then
    echo "error: node $node_major is too old for wrangler 4.86 (needs >= 20)" >&2
    exit 1
fi
cd edge
if [[ -x node_modules/.bin/wrangler && -x node_modules/.bin/wasm-opt ]] \
    && [[ "$(node -p 'require("./node_modules/wrangler/package.json").version')" == "4.86.0" ]]; then
    echo "wrangler $(node -p 'require("./node_modules/wrangler/package.json").version') and binaryen already installed"
else
    npm ci --no-audit --no-fund --loglevel=error
fi
echo "edge toolchain ready: $(wasm-bindgen --version), wrangler $(node -p 'require("./node_modules/wrangler/package.json").version'), $(node_modules/.bin/wasm-opt --version)"
