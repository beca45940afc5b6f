#!/usr/bin/env bash
# Real photographs for the visual-search evaluation: the sample images scikit-image ships
# in its wheel (PyPI), extracted without installing the package.
#   scripts/fetch-eval-images.sh [DEST]   (default: data/eval-images)
set -euo pipefail
dest="${1:-data/eval-images}"
mkdir -p "$dest"
if ls "$dest"/*.png >/dev/null 2>&1; then echo "$dest already has images"; exit 0; fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" scikit-image
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
