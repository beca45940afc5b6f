#!/usr/bin/env bash
# Prints the path of a PgBouncer binary that supports prepared statements in transaction
# mode, building it once where missing: `bash scripts/tools/pgbouncer.sh`.
#
# Why not Debian bookworm's `pgbouncer` package: it is 1.18, and PgBouncer tracks prepared
# statements across server connections only from 1.21 (`max_prepared_statements`). sqlx
# prepares every statement (named ones it caches, and unnamed ones it parses and executes in
# two round trips), so behind 1.18 in transaction mode a statement prepared on one server
# connection is executed on another ("prepared statement … does not exist"). The newer
# PgBouncer comes from Debian too: the source package of the next release (trixie), fetched with
# `apt-get source` through a private apt configuration (the machine's sources are not touched),
# checked against the SHA-256 pinned below, and built with the machine's compiler against
# bookworm's libevent and OpenSSL.
#
#   VITRINE_TOOLS_DIR   where the build goes (default /var/tmp/vitrine-tools)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../lib/tools.sh
source "$ROOT/scripts/lib/tools.sh"

VERSION=1.24.1
DEBIAN_VERSION=1.24.1-1+deb13u2
ORIG_SHA256=da72a3aba13072876d055a3e58dd4aba4a5de4ed6148e73033185245598fd3e0
dir="$VITRINE_TOOLS_DIR/pgbouncer-$VERSION"
if [[ -x "$dir/bin/pgbouncer" && -f "$dir/.vitrine-installed" ]]; then
    printf '%s\n' "$dir/bin/pgbouncer"
    exit 0
fi

tools_log "pgbouncer $VERSION: building from Debian's source package into $dir (about a minute)"
command -v cc >/dev/null || apt_install gcc
command -v make >/dev/null || apt_install make
command -v pkg-config >/dev/null || apt_install pkg-config
dpkg -s libevent-dev >/dev/null 2>&1 || apt_install libevent-dev
dpkg -s libssl-dev >/dev/null 2>&1 || apt_install libssl-dev

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/apt/lists/partial" "$work/apt/sources.list.d" "$work/src"
cat > "$work/apt/sources.list.d/trixie-src.sources" <<SOURCES
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
apt_private=(-o "Dir::Etc::sourcelist=/dev/null" -o "Dir::Etc::sourceparts=$work/apt/sources.list.d"
    -o "Dir::State::Lists=$work/apt/lists" -o "Dir::Cache=$work/apt/cache" -o "APT::Sandbox::User=root")
apt-get "${apt_private[@]}" update -qq >&2
(cd "$work/src" && apt-get "${apt_private[@]}" source --download-only -qq "pgbouncer=$DEBIAN_VERSION" >&2)
orig="$work/src/pgbouncer_$VERSION.orig.tar.gz"
echo "$ORIG_SHA256  $orig" | sha256sum -c --quiet - >&2 \
    || { tools_log "error: pgbouncer_$VERSION.orig.tar.gz does not match its pinned SHA-256"; exit 1; }
tar -xzf "$orig" -C "$work/src"
rm -rf "$dir"
(
    cd "$work/src/pgbouncer-$VERSION"
    ./configure --prefix="$dir" --without-cares --without-pam --without-systemd --without-ldap >"$work/configure.log" 2>&1 \
        || { cat "$work/configure.log" >&2; exit 1; }
    make -j"$(nproc)" >"$work/make.log" 2>&1 || { tail -40 "$work/make.log" >&2; exit 1; }
    make install >"$work/install.log" 2>&1 || { tail -40 "$work/install.log" >&2; exit 1; }
)
touch "$dir/.vitrine-installed"
printf '%s\n' "$dir/bin/pgbouncer"
