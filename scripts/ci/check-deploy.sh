#!/usr/bin/env bash
# Checks the deployment and monitoring configuration under deploy/.
#
#   scripts/ci/check-deploy.sh                 run every check, print a summary,
#                                           exit non-zero if any failed
#   scripts/ci/check-deploy.sh --list-metrics  print every metric name used by the
#                                           Grafana dashboard and the Prometheus
#                                           rules, one per line (base names:
#                                           histogram _bucket/_sum/_count folded
#                                           to the histogram; recording-rule
#                                           names and Prometheus' own `up` left
#                                           out), for comparison with what a
#                                           running origin exports
#   scripts/ci/check-deploy.sh --ensure-tools  only install promtool and the Python venv
#                                           when missing (the Rust tests run promtool
#                                           and --list-metrics)
#
# Needs promtool (Debian package `prometheus`, installed if missing) and
# PyYAML, from the venv of scripts/tools/python-requirements.txt (installed if
# missing, see scripts/lib/tools.sh). systemd-analyze is used when
# present.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DEPLOY="$ROOT/deploy"
PROM="$DEPLOY/prometheus"
DASHBOARD="$DEPLOY/grafana/dashboards/vitrine.json"
DATASOURCES="$DEPLOY/grafana/provisioning/datasources/prometheus.yml"
UNIT="$DEPLOY/systemd/vitrine-origin.service"

log() { printf '%s\n' "$*" >&2; }

source "$ROOT/scripts/lib/tools.sh"

# PYTHON: the venv's interpreter (PyYAML pinned with its hash).
ensure_python() { PYTHON="$(python_venv python)/bin/python"; }

ensure_promtool() {
    if command -v promtool >/dev/null 2>&1; then return 0; fi
    log "promtool missing: apt-get install -y prometheus"
    export DEBIAN_FRONTEND=noninteractive
    if ! as_root apt-get install -y --no-install-recommends prometheus >&2; then
        log "install failed; running apt-get update and retrying"
        as_root apt-get update >&2
        as_root apt-get install -y --no-install-recommends prometheus >&2
    fi
    command -v promtool >/dev/null 2>&1
}

py_lib() { DEPLOY="$DEPLOY" "$PYTHON" "$ROOT/scripts/ci/deploy_exprs.py" "$@"; }

if [ "${1:-}" = "--list-metrics" ]; then
    ensure_python
    py_lib list-metrics
    exit 0
elif [ "${1:-}" = "--ensure-tools" ]; then
    ensure_promtool
    ensure_python
    exit 0
elif [ $# -gt 0 ]; then
    log "usage: $0 [--list-metrics | --ensure-tools]"
    exit 2
fi

PASSED=0
FAILED=0
FAILED_NAMES=()
check() {
    local name="$1"; shift
    echo "==> $name"
    if "$@"; then
        echo "    ok: $name"
        PASSED=$((PASSED + 1))
    else
        echo "    FAILED: $name"
        FAILED=$((FAILED + 1))
        FAILED_NAMES+=("$name")
    fi
}

# ---------------------------------------------------------------- checks --

check_promtool_config() { promtool check config "$PROM/prometheus.yml"; }

check_promtool_rules() { promtool check rules "$PROM/recording_rules.yml" "$PROM/alert_rules.yml"; }

check_promtool_tests() {
    # promtool resolves rule_files relative to each test file.
    (cd "$ROOT" && promtool test rules deploy/prometheus/tests/*.yml)
}

check_every_alert_tested() {
    DEPLOY="$DEPLOY" "$PYTHON" - <<'PY'
import glob, os, sys, yaml
deploy = os.environ["DEPLOY"]
alerts = []
with open(os.path.join(deploy, "prometheus/alert_rules.yml")) as f:
    for g in yaml.safe_load(f)["groups"]:
        alerts += [r["alert"] for r in g["rules"] if "alert" in r]
fires, quiet = set(), set()
for path in glob.glob(os.path.join(deploy, "prometheus/tests/*.yml")):
    with open(path) as f:
        doc = yaml.safe_load(f)
    for t in doc.get("tests", []):
        for a in t.get("alert_rule_test", []) or []:
            (fires if a.get("exp_alerts") else quiet).add(a["alertname"])
bad = 0
for a in alerts:
    missing = [what for what, s in (("a firing case", fires), ("a must-not-fire case", quiet)) if a not in s]
    if missing:
        print("    %s has no %s" % (a, " and no ".join(missing)))
        bad += 1
unknown = (fires | quiet) - set(alerts)
for a in sorted(unknown):
    print("    tests name an alert that does not exist: %s" % a)
    bad += 1
print("    %d alerts, each with firing and non-firing test cases" % len(alerts) if not bad else "    %d problem(s)" % bad)
sys.exit(1 if bad else 0)
PY
}

check_yaml() {
    DEPLOY="$DEPLOY" "$PYTHON" - <<'PY'
import os, sys, yaml
deploy = os.environ["DEPLOY"]
bad = n = 0
for dirpath, _, files in os.walk(deploy):
    for name in sorted(files):
        if not name.endswith((".yml", ".yaml")):
            continue
        path = os.path.join(dirpath, name)
        n += 1
        try:
            with open(path) as f:
                docs = [d for d in yaml.safe_load_all(f) if d is not None]
            if not docs:
                raise ValueError("no YAML document")
            for d in docs:
                if not isinstance(d, dict):
                    raise ValueError("top level is %s, not a mapping" % type(d).__name__)
        except Exception as e:
            print("    %s: %s" % (os.path.relpath(path, deploy), e))
            bad += 1
print("    %d YAML files, %d invalid" % (n, bad))
sys.exit(1 if bad or n == 0 else 0)
PY
}

check_json() {
    DEPLOY="$DEPLOY" "$PYTHON" - <<'PY'
import json, os, sys
deploy = os.environ["DEPLOY"]
bad = n = 0
for dirpath, _, files in os.walk(deploy):
    for name in sorted(files):
        if name.endswith(".json"):
            n += 1
            try:
                with open(os.path.join(dirpath, name)) as f:
                    json.load(f)
            except Exception as e:
                print("    %s: %s" % (name, e))
                bad += 1
print("    %d JSON files, %d invalid" % (n, bad))
sys.exit(1 if bad or n == 0 else 0)
PY
}

check_dashboard() {
    DASHBOARD="$DASHBOARD" DATASOURCES="$DATASOURCES" "$PYTHON" - <<'PY'
import json, os, sys, yaml
with open(os.environ["DASHBOARD"]) as f:
    d = json.load(f)
with open(os.environ["DATASOURCES"]) as f:
    uids = {ds["uid"] for ds in yaml.safe_load(f)["datasources"]}
problems = []
for key in ("uid", "title", "panels", "schemaVersion"):
    if key not in d:
        problems.append("dashboard has no %r" % key)
if not 36 <= d.get("schemaVersion", 0) <= 41:
    problems.append("schemaVersion %r is not ~39" % d.get("schemaVersion"))
panels = []
def walk(ps):
    for p in ps:
        panels.append(p)
        walk(p.get("panels", []) or [])
walk(d.get("panels", []))
ids = [p.get("id") for p in panels]
if len(ids) != len(set(ids)):
    problems.append("panel ids are not unique")
n = 0
for p in panels:
    if p.get("type") == "row":
        continue
    n += 1
    title = p.get("title", "?")
    if p.get("type") not in ("timeseries", "stat", "gauge", "bargauge", "table", "text", "heatmap"):
        problems.append("%s: unexpected panel type %r" % (title, p.get("type")))
    for k in ("x", "y", "w", "h"):
        if k not in p.get("gridPos", {}):
            problems.append("%s: gridPos has no %s" % (title, k))
    targets = p.get("targets") or []
    if not targets:
        problems.append("%s: no targets" % title)
    for t in targets:
        if not (t.get("expr") or "").strip():
            problems.append("%s: target %s has no expr" % (title, t.get("refId")))
        ds = t.get("datasource") or p.get("datasource") or {}
        if ds.get("uid") not in uids:
            problems.append("%s: datasource uid %r is not provisioned (%s)" % (title, ds.get("uid"), sorted(uids)))
    if (p.get("datasource") or {}).get("uid") not in uids:
        problems.append("%s: panel datasource is not the provisioned one" % title)
for v in d.get("templating", {}).get("list", []):
    if v.get("type") == "query" and (v.get("datasource") or {}).get("uid") not in uids:
        problems.append("variable %s: datasource is not the provisioned one" % v.get("name"))
for p in problems:
    print("    " + p)
print("    %d panels with targets, %d problem(s)" % (n, len(problems)))
sys.exit(1 if problems or n == 0 else 0)
PY
}

check_dashboard_promql() {
    local tmp rc=0
    tmp="$(mktemp -d)"
    py_lib dashboard-rules >"$tmp/dashboard_rules.yml" || rc=1
    if [ "$rc" -eq 0 ]; then promtool check rules "$tmp/dashboard_rules.yml" || rc=1; fi
    rm -rf "$tmp"
    return "$rc"
}

check_k8s() {
    DEPLOY="$DEPLOY" "$PYTHON" - <<'PY'
import glob, os, sys, yaml
deploy = os.environ["DEPLOY"]
docs = []
for path in sorted(glob.glob(os.path.join(deploy, "k8s/*.yaml"))):
    with open(path) as f:
        docs += [d for d in yaml.safe_load_all(f) if d]
by_kind = {}
for d in docs:
    by_kind.setdefault(d.get("kind"), []).append(d)
problems = []
for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "ConfigMap", "Secret"):
    if kind not in by_kind:
        problems.append("no %s" % kind)
required = {"BIND_ADDR": "0.0.0.0:8080", "CONNECTION_POOL_SIZE": "20", "QUERY_TIMEOUT": "30",
            "CACHE_ENABLED": "true", "CACHE_TTL_DEFAULT": "3600", "COMPRESSION_ENABLED": "true",
            "COMPRESSION_LEVEL": "balanced", "ASYNC_WORKERS": "4", "THREAD_POOL_SIZE": "4",
            "PROMETHEUS_ENABLED": "true", "STRUCTURED_LOGGING": "true", "LOG_LEVEL": "info",
            "ENVIRONMENT": "production", "THUMBNAIL_GENERATION": "true", "IMAGE_OPTIMIZATION": "true"}
for cm in by_kind.get("ConfigMap", []):
    data = cm.get("data", {})
    for k, v in required.items():
        if data.get(k) != v:
            problems.append("ConfigMap %s=%r, expected %r" % (k, data.get(k), v))
for s in by_kind.get("Secret", []):
    keys = set((s.get("stringData") or {}) | (s.get("data") or {}))
    for k in ("DATABASE_URL", "REDIS_URL", "API_KEYS", "IMAGE_SIGNING_KEYS"):
        if k not in keys:
            problems.append("Secret has no %s" % k)
    for k, v in (s.get("stringData") or {}).items():
        if "PLACEHOLDER" not in v:
            problems.append("Secret template value %s is not marked PLACEHOLDER" % k)
for dep in by_kind.get("Deployment", []):
    pod = dep["spec"]["template"]
    ann = pod["metadata"].get("annotations", {})
    if ann.get("prometheus.io/scrape") != "true" or ann.get("prometheus.io/path") != "/api/metrics":
        problems.append("Deployment lacks prometheus.io scrape annotations")
    for c in pod["spec"]["containers"]:
        def probe(name):
            return ((c.get(name) or {}).get("httpGet") or {}).get("path")
        if probe("livenessProbe") != "/api/health/live":
            problems.append("livenessProbe is not /api/health/live")
        if probe("readinessProbe") != "/api/health/ready":
            problems.append("readinessProbe is not /api/health/ready")
        if not probe("startupProbe"):
            problems.append("no startupProbe")
        r = c.get("resources") or {}
        if not (r.get("requests", {}).get("cpu") and r.get("limits", {}).get("memory")):
            problems.append("container %s lacks CPU request or memory limit" % c["name"])
# Originals must outlive a pod and be seen by every replica: OBJECT_STORE_URL must name a
# bucket (unset means DATA_DIR/originals, which here is the pod's emptyDir).
stores = []
for cm in by_kind.get("ConfigMap", []):
    if "OBJECT_STORE_URL" in (cm.get("data") or {}):
        stores.append(("ConfigMap", cm["data"]["OBJECT_STORE_URL"]))
for s in by_kind.get("Secret", []):
    for section in ("stringData", "data"):
        if "OBJECT_STORE_URL" in (s.get(section) or {}):
            stores.append(("Secret", s[section]["OBJECT_STORE_URL"]))
for dep in by_kind.get("Deployment", []):
    for c in dep["spec"]["template"]["spec"]["containers"]:
        for e in c.get("env") or []:
            if e.get("name") == "OBJECT_STORE_URL" and "value" in e:
                stores.append(("Deployment env", e["value"]))
if not stores:
    problems.append("no OBJECT_STORE_URL: originals would be written to the pod's own disk")
for where, value in stores:
    if not str(value).startswith("s3://"):
        problems.append("%s OBJECT_STORE_URL=%r keeps originals on pod-local disk" % (where, value))
for h in by_kind.get("HorizontalPodAutoscaler", []):
    if h.get("apiVersion") != "autoscaling/v2":
        problems.append("HPA is not autoscaling/v2")
    cpu = [m for m in h["spec"].get("metrics", []) if m.get("resource", {}).get("name") == "cpu"]
    if not cpu or cpu[0]["resource"]["target"].get("averageUtilization") != 70:
        problems.append("HPA does not target 70% CPU")
for p in problems:
    print("    " + p)
print("    %d manifests, %d problem(s)" % (len(docs), len(problems)))
sys.exit(1 if problems else 0)
PY
}

check_dockerfile() {
    local f="$DEPLOY/Dockerfile" rc=0
    grep -Eq '^FROM rust:1\.95-bookworm AS builder' "$f" || { echo "    no rust:1.95-bookworm builder stage"; rc=1; }
    grep -Eq '^FROM debian:bookworm-slim' "$f" || { echo "    no debian:bookworm-slim runtime stage"; rc=1; }
    grep -Eq 'cmake' "$f" && grep -Eq 'nasm' "$f" || { echo "    builder lacks cmake/nasm"; rc=1; }
    grep -Eq '^USER [^0r]' "$f" || { echo "    no non-root USER"; rc=1; }
    grep -Eq '^EXPOSE 8080' "$f" || { echo "    no EXPOSE 8080"; rc=1; }
    grep -Eq '^HEALTHCHECK' "$f" && grep -q '/api/health/live' "$f" || { echo "    no HEALTHCHECK on /api/health/live"; rc=1; }
    return "$rc"
}

check_systemd() {
    if ! command -v systemd-analyze >/dev/null 2>&1; then
        echo "    systemd-analyze not available: skipped (counted as passed)"
        return 0
    fi
    local tmp out rc=0 unit="$UNIT"
    tmp="$(mktemp -d)"
    # verify insists that ExecStart exists; stand in /bin/true when the
    # origin is not installed on this machine.
    if [ ! -x /usr/local/bin/vitrine-origin ]; then
        echo "    (binary not installed: verifying a copy with ExecStart=/bin/true)"
        sed 's|^ExecStart=.*|ExecStart=/bin/true|' "$UNIT" >"$tmp/vitrine-origin.service"
        unit="$tmp/vitrine-origin.service"
    fi
    out="$(systemd-analyze verify "$unit" 2>&1)" || rc=1
    # Warnings (unknown keys, bad values) do not change the exit status.
    if [ -n "$out" ]; then printf '    %s\n' "$out"; rc=1; fi
    rm -rf "$tmp"
    return "$rc"
}

check_list_metrics() {
    local names
    names="$(py_lib list-metrics)" || return 1
    echo "    $(printf '%s\n' "$names" | grep -c .) metric names (see --list-metrics)"
    [ -n "$names" ] || return 1
    if printf '%s\n' "$names" | grep -Eq ':|_bucket$|_sum$|_count$|^up$'; then
        echo "    list contains recording rules or histogram series"; return 1
    fi
}

# ------------------------------------------------------------------ main --

cd "$ROOT"
ensure_python
if ! ensure_promtool; then
    log "promtool is not available and could not be installed"
    FAILED=$((FAILED + 1)); FAILED_NAMES+=("promtool available")
else
    promtool --version 2>&1 | head -1 | sed 's/^/    /'
    check "promtool check config" check_promtool_config
    check "promtool check rules" check_promtool_rules
    check "promtool test rules" check_promtool_tests
    check "dashboard PromQL parses" check_dashboard_promql
fi
check "every alert has firing and non-firing tests" check_every_alert_tested
check "YAML valid" check_yaml
check "JSON valid" check_json
check "dashboard panels have targets" check_dashboard
check "kubernetes manifests (originals in a bucket, not on pod-local disk)" check_k8s
check "Dockerfile" check_dockerfile
check "systemd-analyze verify" check_systemd
check "metric list" check_list_metrics

echo
if [ "$FAILED" -gt 0 ]; then
    echo "failed: ${FAILED_NAMES[*]}"
fi
echo "deploy checks: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
