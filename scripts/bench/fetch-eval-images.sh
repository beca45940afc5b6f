#!/usr/bin/env bash
# Real photographs for the visual-search evaluation: the sample images scikit-image ships
# in its wheel (PyPI), extracted without installing the package. The wheel is the version
# locked in scripts/tools/eval-requirements.txt, checked against its SHA-256 by pip.
#   scripts/bench/fetch-eval-images.sh [DEST]   (default: data/eval-images)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dest="${1:-data/eval-images}"
mkdir -p "$dest"
if ls "$dest"/*.png >/dev/null 2>&1; then echo "$dest already has images"; exit 0; fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# Only scikit-image's own entry of the lock (its name line and its hash lines).
awk '/^scikit-image==/ { keep = 1; print; next } keep && /^[[:space:]]+--hash/ { print; next } { keep = 0 }' \
    "$ROOT/scripts/tools/eval-requirements.txt" >"$tmp/wheel.txt"
python3 -m pip download --quiet --no-deps --require-hashes --only-binary=:all: -d "$tmp" -r "$tmp/wheel.txt"
python3 - "$tmp" "$dest" <<'PY'
import sys, zipfile, glob, os
wheel = glob.glob(os.path.join(sys.argv[1], "scikit_image-*.whl"))[0]
dest = sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith("skimage/data/") and name.endswith((".png", ".jpg")) and z.getinfo(name).file_size > 10_000:
            with open(os.path.join(dest, os.path.basename(name)), "wb") as f:
                f.write(z.read(name))
print(f"extracted {len(os.listdir(dest))} images into {dest}")
PY
