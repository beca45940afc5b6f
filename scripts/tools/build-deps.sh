#!/usr/bin/env bash
# Installs the system tools the Rust build needs when they are missing: cmake and nasm
# (turbojpeg-sys builds libjpeg-turbo from source with its SIMD code, which needs both).
# Called by scripts/run.sh and scripts/test.sh; a no-op once they are installed.
set -euo pipefail

need=()
command -v cmake >/dev/null || need+=(cmake)
command -v nasm >/dev/null || need+=(nasm)
[ ${#need[@]} -eq 0 ] && exit 0

echo "build tools missing: ${need[*]}; installing them with apt-get"
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then
    SUDO=sudo
else
    SUDO=
fi
if ! { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" \
        || { $SUDO apt-get update -q && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"; }; }; then
    echo "error: could not install ${need[*]}; install them yourself (Debian: apt-get install -y ${need[*]})" >&2
    exit 1
fi
