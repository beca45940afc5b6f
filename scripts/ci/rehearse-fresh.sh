#!/usr/bin/env bash
# What a fresh machine sees: scripts/test.sh on a clean clone of the committed HEAD, with every
# cache outside the clone pointed at an empty folder under one work folder:
#
#   HOME              npm's cache, pip's cache, wrangler's state, anything else kept per user
#   CARGO_HOME        the crates.io index and every downloaded crate
#   CARGO_TARGET_DIR  every build
#   VITRINE_TOOLS_DIR the Python venvs and the wasm-bindgen CLI (scripts/lib/tools.sh)
#   TMPDIR            temporary files
#
# Kept, because they are the machine rather than a cache: the Rust toolchain under RUSTUP_HOME
# (rustup adds the wasm32 target to it when missing), python3 and node, Debian packages that
# are already installed (apt cannot be pointed elsewhere; on a new machine the scripts install
# them by name), the running PostgreSQL and Redis, and configuration files (~/.npmrc,
# ~/.gitconfig, cargo's and pip's configuration), which say where the registries are.
#
#   scripts/ci/rehearse-fresh.sh [WORKDIR]    WORKDIR: an empty or missing folder (default: a new
#                                          one under /var/tmp); removed at the end unless KEEP=1
#
# Prints test.sh's output, then the wall time, the size of each folder (what a first run
# downloads and builds) and test.sh's summary line; exits with test.sh's status.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

WORK="${1:-$(mktemp -d /var/tmp/vitrine-fresh.XXXXXX)}"
mkdir -p "$WORK"
[[ -z "$(ls -A "$WORK")" ]] || { echo "error: $WORK is not empty" >&2; exit 2; }
WORK="$(cd "$WORK" && pwd)"
[[ "${KEEP:-0}" == 1 ]] || trap 'rm -rf "$WORK"' EXIT

if [[ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no)" ]]; then
    echo "note: uncommitted changes are not part of the rehearsal (it clones HEAD)" >&2
fi
git clone --quiet --no-hardlinks "$ROOT" "$WORK/clone"
echo "rehearsal of $(git -C "$WORK/clone" log -1 --format='%h %s' | cut -c1-100) in $WORK"

mkdir -p "$WORK/home/.config" "$WORK/tmp"
for f in .npmrc .gitconfig .config/pip .cargo/config.toml .cargo/config; do
    if [[ -e "$HOME/$f" ]]; then
        mkdir -p "$(dirname "$WORK/home/$f")"
        cp -r "$HOME/$f" "$WORK/home/$f"
    fi
done

start=$(date +%s)
set +e
env HOME="$WORK/home" \
    CARGO_HOME="$WORK/home/.cargo" \
    RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" \
    PYENV_ROOT="${PYENV_ROOT:-$HOME/.pyenv}" \
    PATH="$HOME/.cargo/bin:$PATH" \
    CARGO_TARGET_DIR="$WORK/target" \
    VITRINE_TOOLS_DIR="$WORK/tools" \
    TMPDIR="$WORK/tmp" \
    bash "$WORK/clone/scripts/test.sh" 2>&1 | tee "$WORK/test-output.log"
status=${PIPESTATUS[0]}
set -e
end=$(date +%s)

echo
echo "==> rehearsal on empty caches: $(( (end - start) / 60 )) min $(( (end - start) % 60 )) s, exit $status"
du -sh "$WORK/home/.cargo/registry" "$WORK/home/.npm" "$WORK/home/.cache" "$WORK/tools" "$WORK/target" \
    "$WORK/clone/edge/node_modules" "$WORK/clone/tests/browser/node_modules" 2>/dev/null || true
grep -E '^Need to get ' "$WORK/test-output.log" | sed 's/^/apt: /' || true
grep -E '^summary: ' "$WORK/test-output.log" | tail -n 1 || echo "summary: (none: test.sh stopped before the end)"
exit "$status"
