#!/usr/bin/env bash
# The main job: the origin on embedded defaults (SQLite, in-process cache and queue, demo
# catalog) at http://127.0.0.1:8080. Installs the build tools when missing, fetches the visual
# model (scripts/tools/fetch-model.sh: pinned, hash-checked, cached outside the clone; when
# that fails the origin warns and searches photos with the descriptor alone), then builds and
# runs the release binary; arguments go to it (e.g. `scripts/run.sh import products.ndjson`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/tools/build-deps.sh
if [[ ${VISUAL_MODEL:-} != descriptor ]]; then
    bash scripts/tools/fetch-model.sh >/dev/null \
        || echo "warning: could not fetch the visual model; photo search runs on the descriptor alone" >&2
fi
exec cargo run --release --locked -p vitrine-origin -- "$@"
