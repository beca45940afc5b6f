#!/usr/bin/env bash
# Refreshes the project's tool locks, on purpose (the test scripts only ever install from them):
#
#   bash scripts/tools/lock.sh python        scripts/tools/*-requirements.in → *-requirements.txt
#                                            (pip-compile --generate-hashes: every package, its
#                                            dependencies included, pinned with its SHA-256s)
#   bash scripts/tools/lock.sh wasm-bindgen  scripts/tools/wasm-bindgen moved to the version of
#                                            the `wasm-bindgen` crate in the workspace's
#                                            Cargo.lock, and its Cargo.lock resolved anew
#   bash scripts/tools/lock.sh npm           package-lock.json of edge/ and tests/browser/
#                                            resolved anew from their package.json
#   bash scripts/tools/lock.sh all           all three
#
# Then run scripts/test.sh and commit the changed locks with what made them change.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
PIP_TOOLS_VERSION=7.6.2

lock_python() {
    local venv
    venv="$(mktemp -d "${TMPDIR:-/tmp}/vitrine-lock.XXXXXX")"
    trap 'rm -rf "$venv"' RETURN
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "pip-tools==$PIP_TOOLS_VERSION"
    local input
    for input in scripts/tools/*-requirements.in; do
        echo "locking $input"
        (cd scripts/tools && "$venv/bin/pip-compile" --quiet --upgrade --generate-hashes --allow-unsafe \
            --strip-extras --no-emit-index-url --no-emit-find-links \
            -o "$(basename "${input%.in}.txt")" "$(basename "$input")")
    done
}

lock_wasm_bindgen() {
    local want dir=scripts/tools/wasm-bindgen
    want=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/[" ]/, ""); sub(/version=/, ""); print; exit }' Cargo.lock)
    [[ -n $want ]] || { echo "error: no wasm-bindgen in Cargo.lock" >&2; exit 1; }
    echo "locking $dir at wasm-bindgen-cli $want"
    sed -i -E "s/^version = \"[^\"]+\"/version = \"$want\"/; s/^(wasm-bindgen-cli = \{ version = \")=[^\"]+/\1=$want/" "$dir/Cargo.toml"
    (cd "$dir" && cargo generate-lockfile)
}

lock_npm() {
    local dir
    for dir in edge tests/browser; do
        echo "locking $dir/package-lock.json"
        (cd "$dir" && npm install --package-lock-only --no-audit --no-fund --loglevel=error)
    done
}

case "${1:-}" in
    python) lock_python ;;
    wasm-bindgen) lock_wasm_bindgen ;;
    npm) lock_npm ;;
    all) lock_python; lock_wasm_bindgen; lock_npm ;;
    *) echo "usage: $0 python|wasm-bindgen|npm|all" >&2; exit 2 ;;
esac
