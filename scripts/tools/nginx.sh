#!/usr/bin/env bash
# Prints the path of an nginx binary for the multi-instance test's load balancer, installing
# Debian's `nginx-light` where missing: `bash scripts/tools/nginx.sh`.
#
# The package's own service is not left running: Debian starts nginx on port 80 after
# installing it, and the tests run their own nginx on a free loopback port with their own
# configuration, so a server the install started is stopped again.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../lib/tools.sh
source "$ROOT/scripts/lib/tools.sh"

if [[ -n ${VITRINE_NGINX:-} ]]; then
    printf '%s\n' "$VITRINE_NGINX"
    exit 0
fi
for bin in /usr/sbin/nginx "$(command -v nginx 2>/dev/null || true)"; do
    if [[ -n $bin && -x $bin ]]; then
        printf '%s\n' "$bin"
        exit 0
    fi
done

tools_log "nginx: installing Debian's nginx-light"
apt_install nginx-light
# The package's post-install script may have started the default site; stop it.
if [[ -s /run/nginx.pid ]]; then
    as_root /usr/sbin/nginx -s quit >&2 2>/dev/null || true
fi
[[ -x /usr/sbin/nginx ]] || { tools_log "error: nginx-light installed no /usr/sbin/nginx"; exit 1; }
printf '%s\n' /usr/sbin/nginx
