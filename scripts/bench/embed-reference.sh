#!/usr/bin/env bash
# The independent reference the neural embedder is checked against
# (origin/tests/neural_reference.rs): fetches the model (scripts/tools/fetch-model.sh) and
# scikit-image's sample photos (scripts/bench/fetch-eval-images.sh), installs numpy and
# Pillow from scripts/tools/reference-requirements.txt (hash-locked), and runs
# scripts/bench/embed-reference.py on REFERENCE_PHOTOS. Cached outside the clone, reused
# while the model, the script and the lock are unchanged. Prints the output folder
# (reference.json and one <photo>.rgb crop per photo); exits non-zero when anything fails.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$ROOT/scripts/lib/tools.sh"
REFERENCE_PHOTOS=(astronaut.png chelsea.png coffee.png motorcycle_left.png motorcycle_right.png rocket.jpg camera.png)

model=$(bash "$ROOT/scripts/tools/fetch-model.sh")
photos="$VITRINE_TOOLS_DIR/eval-images-$(lock_key "$TOOLS_SRC/eval-requirements.txt")"
bash "$ROOT/scripts/bench/fetch-eval-images.sh" "$photos" >&2
venv=$(python_venv reference)
key=$(printf '%s\n' "$(cat "$model/.vitrine-installed")" "${REFERENCE_PHOTOS[*]}" \
    | cat - "$ROOT/scripts/bench/embed-reference.py" "$TOOLS_SRC/reference-requirements.txt" | sha256sum | cut -c1-16)
out="$VITRINE_TOOLS_DIR/embed-reference-$key"
if [[ ! -f "$out/.vitrine-installed" ]]; then
    rm -rf "$out"
    args=()
    for p in "${REFERENCE_PHOTOS[@]}"; do args+=("$photos/$p"); done
    "$venv/bin/python" "$ROOT/scripts/bench/embed-reference.py" "$model" "$out" "${args[@]}"
    touch "$out/.vitrine-installed"
    remove_stale embed-reference "$out"
fi
printf '%s\n' "$out"
