# Pinned tools, installed outside the clone from the project's lockfiles. Source it; it
# expects ROOT (the clone).
#
# Every installed tool lives in a folder named after the SHA-256 of the lock it was installed
# from, with a stamp written only once the install finished: a folder is reused only when its
# lock is unchanged and its install completed; a changed lock installs into a new folder (and
# removes the old ones). Locks change only through `bash scripts/tools/lock.sh`.
#
#   VITRINE_TOOLS_DIR   where the folders go (default /var/tmp/vitrine-tools)

VITRINE_TOOLS_DIR="${VITRINE_TOOLS_DIR:-/var/tmp/vitrine-tools}"
export VITRINE_TOOLS_DIR
TOOLS_SRC="$ROOT/scripts/tools"

# lock_key FILE...: the first 16 hex digits of the SHA-256 over the files' contents.
lock_key() { cat "$@" | sha256sum | cut -c1-16; }

tools_log() { printf '%s\n' "$*" >&2; }

# as_root CMD...: CMD as root (directly, or through sudo when there is one).
as_root() {
    if [[ $(id -u) -eq 0 ]]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else tools_log "need root to run: $*"; return 1
    fi
}

# apt_install PKG...: Debian packages by name (apt checks them against the signed archive
# indexes); runs `apt-get update` once when the first attempt fails.
apt_install() {
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >&2 \
        || { as_root apt-get update -q >&2 \
            && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >&2; }
}

# remove_stale PREFIX KEEP: removes "$VITRINE_TOOLS_DIR/PREFIX-*" folders other than KEEP.
remove_stale() {
    local prefix=$1 keep=$2 d
    for d in "$VITRINE_TOOLS_DIR/$prefix"-*; do
        [[ -d $d && $d != "$keep" ]] && rm -rf "$d"
    done
    return 0
}

# python_venv NAME: prints the path of a venv holding exactly
# scripts/tools/NAME-requirements.txt, installed with --require-hashes (every package pinned
# and checked against its SHA-256).
python_venv() {
    local name=$1 lock="$TOOLS_SRC/$1-requirements.txt" key dir
    key=$(lock_key "$lock")
    dir="$VITRINE_TOOLS_DIR/venv-$name-$key"
    if [[ -f "$dir/.vitrine-installed" ]]; then
        printf '%s\n' "$dir"
        return 0
    fi
    tools_log "python venv '$name': installing $lock into $dir"
    mkdir -p "$VITRINE_TOOLS_DIR"
    rm -rf "$dir"
    if ! python3 -m venv "$dir" >&2 2>/dev/null; then
        tools_log "python3 -m venv failed: installing python3-venv"
        rm -rf "$dir"
        apt_install python3-venv
        python3 -m venv "$dir" >&2
    fi
    "$dir/bin/pip" install --quiet --disable-pip-version-check --no-deps --require-hashes \
        -r "$lock" >&2
    touch "$dir/.vitrine-installed"
    remove_stale "venv-$name" "$dir"
    printf '%s\n' "$dir"
}

# wasm_bindgen_dir: the folder whose bin/ holds the wasm-bindgen CLI built from
# scripts/tools/wasm-bindgen (its own Cargo.lock, `cargo install --locked`).
wasm_bindgen_dir() {
    local src="$TOOLS_SRC/wasm-bindgen"
    printf '%s\n' "$VITRINE_TOOLS_DIR/wasm-bindgen-$(lock_key "$src/Cargo.toml" "$src/Cargo.lock" "$src/src/main.rs")"
}

# ensure_wasm_bindgen: installs it when its folder is missing or unfinished.
ensure_wasm_bindgen() {
    local dir
    dir=$(wasm_bindgen_dir)
    if [[ -f "$dir/.vitrine-installed" ]]; then
        return 0
    fi
    tools_log "installing wasm-bindgen from scripts/tools/wasm-bindgen into $dir (a few minutes)"
    rm -rf "$dir"
    cargo install --quiet --locked --path "$TOOLS_SRC/wasm-bindgen" --root "$dir" \
        --target-dir "$VITRINE_TOOLS_DIR/build/wasm-bindgen" >&2
    rm -rf "$VITRINE_TOOLS_DIR/build/wasm-bindgen"
    touch "$dir/.vitrine-installed"
    remove_stale wasm-bindgen "$dir"
}

# npm_ci DIR: `npm ci` in DIR (the lockfile's versions, checked against its integrity hashes)
# unless DIR/node_modules was installed from the same package.json and package-lock.json.
npm_ci() {
    local dir=$1 key stamp
    key=$(lock_key "$dir/package.json" "$dir/package-lock.json")
    stamp="$dir/node_modules/.vitrine-lock-key"
    if [[ -f $stamp && $(cat "$stamp") == "$key" ]]; then
        return 0
    fi
    tools_log "npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
    printf '%s\n' "$key" >"$stamp"
}

# cargo_tool_dir NAME VERSION: the folder whose bin/ holds crates.io's NAME at VERSION.
cargo_tool_dir() { printf '%s\n' "$VITRINE_TOOLS_DIR/$1-$2"; }

# ensure_cargo_tool NAME VERSION [CARGO INSTALL ARGS…]: `cargo install NAME --version VERSION
# --locked` (the crate's own Cargo.lock; cargo checks every crate against the index's SHA-256)
# into cargo_tool_dir, unless a finished install is there. Older versions' folders are removed.
ensure_cargo_tool() {
    local name=$1 version=$2 dir
    shift 2
    dir=$(cargo_tool_dir "$name" "$version")
    if [[ -f "$dir/.vitrine-installed" ]]; then
        return 0
    fi
    tools_log "installing $name $version from crates.io into $dir (a few minutes, once)"
    rm -rf "$dir"
    mkdir -p "$VITRINE_TOOLS_DIR"
    nice -n 10 cargo install --quiet --locked "$name" --version "$version" --root "$dir" \
        --target-dir "$VITRINE_TOOLS_DIR/build/$name" "$@" >&2
    rm -rf "$VITRINE_TOOLS_DIR/build/$name"
    touch "$dir/.vitrine-installed"
    remove_stale "$name" "$dir"
}
