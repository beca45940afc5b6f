#!/usr/bin/env bash
# Runs the thumbnail/queue benchmark (origin/benches/thumbnails.rs) with its baselines.
#
# Needs: libvips-tools (vipsthumbnail, installed when missing) and pyvips (a venv from
# scripts/tools/bench-requirements.txt) for the comparisons, Redis for the queue
# figure. Photos: BENCH_PHOTOS=DIR of JPEGs; by default the real photographs shipped in
# Debian's lomiri/ukui wallpaper packages (24 JPEGs, 1365–6028 px, baseline and progressive)
# are unpacked into data/bench-photos.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$(pwd)"
source scripts/lib/tools.sh
# The shared build folder, as the test and edge scripts use (a release build from nothing
# takes ~20 minutes here).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/vitrine-target}"

if ! command -v vipsthumbnail >/dev/null; then
  echo "installing libvips-tools (vipsthumbnail)…"
  apt_install libvips-tools
fi
# pyvips (and its dependencies) pinned with hashes in scripts/tools/bench-requirements.txt.
BENCH_PYTHON="$(python_venv bench)/bin/python"
export BENCH_PYTHON

PHOTOS="${BENCH_PHOTOS:-data/bench-photos}"
if [ -z "$(ls "$PHOTOS"/*.jpg 2>/dev/null)" ]; then
  echo "fetching real photos into $PHOTOS (Debian wallpaper packages)…"
  tmp="$(mktemp -d)"
  (cd "$tmp" && apt-get download -qq lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 ukui-wallpapers 2>/dev/null)
  mkdir -p "$PHOTOS" "$tmp/x"
  for d in "$tmp"/*.deb; do dpkg-deb -x "$d" "$tmp/x"; done
  find "$tmp/x" -iname '*.jpg' -exec cp {} "$PHOTOS"/ \;
  rm -rf "$tmp"
fi
echo "photos: $(ls "$PHOTOS"/*.jpg | wc -l) JPEGs in $PHOTOS"

# Absolute: cargo runs the bench from the crate's folder.
export BENCH_PHOTOS="$(cd "$PHOTOS" && pwd)"
export TEST_REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379}"
exec cargo bench -p vitrine-origin --bench thumbnails
