#!/usr/bin/env bash
# The main job: the origin on embedded defaults (SQLite, in-process cache and queue, demo
# catalog) at http://127.0.0.1:8080. Installs the build tools when missing, then builds and
# runs the release binary; arguments go to it (e.g. `scripts/run.sh import products.ndjson`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/tools/build-deps.sh
exec cargo run --release --locked -p vitrine-origin -- "$@"
