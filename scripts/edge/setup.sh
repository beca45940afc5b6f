#!/usr/bin/env bash
# Installs the edge Worker's toolchain, each step skipped when already done
# (scripts/lib/tools.sh: a tool is reused only when it was installed from the current lock):
#   1. the rustup target wasm32-unknown-unknown;
#   2. the wasm-bindgen CLI from scripts/tools/wasm-bindgen (`cargo install --locked` with that
#      folder's own Cargo.lock), whose version must equal the `wasm-bindgen` crate in the
#      workspace's Cargo.lock (the CLI and the crate must match);
#   3. wrangler (pinned 4.86.0: the last release that runs on Node 20) and binaryen (wasm-opt,
#      132; Debian's 108 is too old) into edge/node_modules with `npm ci` from
#      edge/package-lock.json.
# No step downloads anything but crates and npm packages.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
source "$ROOT/scripts/lib/tools.sh"

step() { printf '==> %s\n' "$*"; }

step "rust target wasm32-unknown-unknown"
if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    echo "already installed"
else
    rustup target add wasm32-unknown-unknown
fi

step "wasm-bindgen CLI"
locked_version() { awk -v n="$1" '$0 == "name = \"" n "\"" { getline; gsub(/[" ]/, ""); sub(/version=/, ""); print; exit }' "$2"; }
want=$(locked_version wasm-bindgen Cargo.lock)
tool=$(locked_version wasm-bindgen-cli scripts/tools/wasm-bindgen/Cargo.lock)
if [[ -z "$want" || "$want" != "$tool" ]]; then
    echo "error: the workspace locks wasm-bindgen ${want:-(none)} but scripts/tools/wasm-bindgen locks the CLI at ${tool:-(none)}; run: bash scripts/tools/lock.sh wasm-bindgen" >&2
    exit 1
fi
ensure_wasm_bindgen
echo "$("$(wasm_bindgen_dir)/bin/wasm-bindgen" --version) in $(wasm_bindgen_dir)"

step "node packages (wrangler, binaryen) in edge/node_modules"
command -v node >/dev/null || { echo "error: node (>= 20) is required: apt-get install nodejs npm" >&2; exit 1; }
node_major=$(node -p 'process.versions.node.split(".")[0]')
if (( node_major < 20 )); then
    echo "error: node $node_major is too old for wrangler 4.86 (needs >= 20)" >&2
    exit 1
fi
npm_ci edge
echo "edge toolchain ready: wrangler $(node -p 'require("./edge/node_modules/wrangler/package.json").version'), $(edge/node_modules/.bin/wasm-opt --version)"
