#!/usr/bin/env bash
# Builds the edge Worker into edge/build/: cargo (wasm32, profile `worker`) → wasm-bindgen
# --target web → wasm-opt -Oz (when binaryen is installed) → the JS entry module.
# Run scripts/edge/setup.sh once first. Prints the Worker's raw and gzipped size.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/vitrine-target}"
export PATH="$HOME/.cargo/bin:$PATH"
source "$ROOT/scripts/lib/tools.sh"
WASM_BINDGEN="$(wasm_bindgen_dir)/bin/wasm-bindgen"
[[ -x "$WASM_BINDGEN" ]] || { echo "error: wasm-bindgen is not installed; run: bash scripts/edge/setup.sh" >&2; exit 1; }
OUT="$ROOT/edge/build"
WASM="$CARGO_TARGET_DIR/wasm32-unknown-unknown/worker/vitrine_edge.wasm"

# SIMD128 (Workers and workerd run it): fast_image_resize's wasm32 kernels and the
# auto-vectorised loops of the codecs use it; the thumbnail path is compute-bound.
# EDGE_SIMD=0 builds without it (for comparison).
if [[ "${EDGE_SIMD:-1}" != 0 ]]; then
    export RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+simd128"
fi
cargo build --locked --profile worker --target wasm32-unknown-unknown -p vitrine-edge

mkdir -p "$OUT"
if [[ ! -f "$OUT/index_bg.wasm" || "$WASM" -nt "$OUT/index_bg.wasm" || "$ROOT/edge/js/entry.mjs" -nt "$OUT/entry.mjs" ]]; then
    "$WASM_BINDGEN" --target web --no-typescript --out-dir "$OUT" --out-name index "$WASM"
    WASM_OPT="$ROOT/edge/node_modules/.bin/wasm-opt"
    if [[ -x "$WASM_OPT" && "${EDGE_WASM_OPT:-1}" != 0 ]]; then
        # -Oz: size first (cold start and the upload limit); bulk-memory etc. are what
        # current rustc emits for wasm32 and workerd supports.
        "$WASM_OPT" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
            --enable-sign-ext --enable-mutable-globals --enable-reference-types \
            --enable-multivalue --enable-simd "$OUT/index_bg.wasm" -o "$OUT/index_bg.wasm.opt"
        mv "$OUT/index_bg.wasm.opt" "$OUT/index_bg.wasm"
    fi
    cp "$ROOT/edge/js/entry.mjs" "$OUT/entry.mjs"
fi
raw=$(stat -c %s "$OUT/index_bg.wasm")
gz=$( (cat "$OUT/index_bg.wasm"; cat "$OUT/index.js" "$OUT/entry.mjs") | gzip -9 | wc -c)
echo "edge build: wasm ${raw} bytes, Worker gzipped ${gz} bytes ($(awk "BEGIN{printf \"%.0f\", $gz/1024}") KiB; limit 1024 KiB)"
