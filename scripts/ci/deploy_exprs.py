"""The PromQL expressions of the Grafana dashboard and the Prometheus rules under deploy/, and
the metric names they read.

    DEPLOY=deploy python deploy_exprs.py list-metrics     metric names, one per line
    DEPLOY=deploy python deploy_exprs.py dashboard-rules  the dashboard's expressions as a rules
                                                          file, for `promtool check rules`
    DEPLOY=deploy python deploy_exprs.py queries          one JSON object per line:
                                                          {"source", "expr", "query"}, the query
                                                          to evaluate against a live Prometheus

Used by scripts/ci/check-deploy.sh (static checks) and scripts/ci/promql-check.py (every
expression evaluated by a real Prometheus in scripts/ci/prometheus-e2e.sh). Needs PyYAML.
"""
import json, re, sys, os
import yaml

deploy = os.environ.get("DEPLOY") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../deploy")

def dashboard_exprs():
    with open(os.path.join(deploy, "grafana/dashboards/vitrine.json")) as f:
        d = json.load(f)
    out = []
    def walk(panels):
        for p in panels:
            for t in p.get("targets", []) or []:
                if t.get("expr"):
                    out.append(("panel %r" % p.get("title"), t["expr"]))
            walk(p.get("panels", []) or [])
    walk(d.get("panels", []))
    for v in d.get("templating", {}).get("list", []):
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query")
        if v.get("type") == "query" and q:
            m = re.fullmatch(r"\s*label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*", q, re.S)
            if m:
                q = m.group(1)
            m = re.fullmatch(r"\s*(?:query_result|label_names|metrics)\((.*)\)\s*", q, re.S)
            if m:
                q = m.group(1)
            out.append(("variable %r" % v.get("name"), q))
    return out

def rule_exprs(kinds=("record", "alert")):
    out = []
    for name in ("recording_rules.yml", "alert_rules.yml"):
        with open(os.path.join(deploy, "prometheus", name)) as f:
            doc = yaml.safe_load(f)
        for g in doc.get("groups", []):
            for r in g.get("rules", []):
                kind = "alert" if "alert" in r else "record"
                if kind in kinds:
                    out.append(("%s %r" % (kind, r.get("alert") or r.get("record")), r["expr"]))
    return out

def grafana_to_promql(expr):
    # Grafana variables to something PromQL parses.
    expr = re.sub(r"\$__(rate_)?interval|\$__range", "5m", expr)
    return re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*(:[a-z]+)?\}?", ".*", expr)

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool",
            "and", "or", "unless", "offset", "inf", "nan", "atan2"}
def metric_names(expr):
    e = grafana_to_promql(expr)
    e = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', e)  # strings
    e = re.sub(r"\{[^{}]*\}", " ", e)                                        # label matchers
    e = re.sub(r"\[[^\]]*\]", " ", e)                                        # ranges, subqueries
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    e = re.sub(r"\b\d+(\.\d+)?([eE][+-]?\d+)?\b", " ", e)                    # numbers
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", e):
        tok = m.group(0)
        rest = e[m.end():].lstrip()
        if rest.startswith("("):        # function or aggregation
            continue
        if tok.lower() in KEYWORDS:
            continue
        names.add(tok)
    return names

def base(name):
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


# An alert's condition without its final threshold: `x > 0.8` -> `x`. The condition itself is
# empty while the alert is quiet; what must return data is the value it compares.
THRESHOLD = re.compile(r"\s*(==|!=|>=|<=|>|<)\s*(bool\s+)?[-+]?\d+(\.\d+)?([eE][+-]?\d+)?\s*$")

SET_OP = re.compile(r"\b(and|or|unless)\b(\s*(on|ignoring)\s*\([^)]*\))?")

def alert_values(expr):
    """The values an alert compares: one per operand of a top-level `and`/`or`/`unless`,
    each without its threshold."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(expr):
        ch = expr[i]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0:
            m = SET_OP.match(expr, i)
            if m and (i == 0 or not (expr[i - 1].isalnum() or expr[i - 1] == "_")):
                parts.append(expr[start:i])
                start = i = m.end()
                continue
        i += 1
    parts.append(expr[start:])
    return [THRESHOLD.sub("", p.strip()) for p in parts if p.strip()]

def queries():
    """What a live check evaluates: every dashboard target (variables filled in), every
    recording rule's expression and its recorded series, every alert's compared value."""
    out = []
    for source, e in dashboard_exprs():
        out.append({"source": "dashboard " + source, "expr": e, "query": grafana_to_promql(e)})
    for source, e in rule_exprs(("record",)):
        out.append({"source": source, "expr": e, "query": e.strip()})
        name = source.split(" ", 1)[1].strip("'\"")
        out.append({"source": source + " (recorded series)", "expr": name, "query": name})
    for source, e in rule_exprs(("alert",)):
        values = alert_values(e)
        for i, v in enumerate(values):
            part = " (operand %d)" % (i + 1) if len(values) > 1 else ""
            out.append({"source": source + part, "expr": e, "query": v})
    return out


def main(mode):
    if mode == "list-metrics":
        names = set()
        for _, e in dashboard_exprs() + rule_exprs():
            names |= metric_names(e)
        # Recording rules (level:metric:ops) and Prometheus' synthetic `up` are
        # not exported by the origin.
        names = {base(n) for n in names if ":" not in n and n != "up"}
        print("\n".join(sorted(names)))
    elif mode == "dashboard-rules":
        # The dashboard's expressions as a rules file, for `promtool check rules`.
        rules = [{"record": "dashboard:expr_%d:check" % i, "expr": grafana_to_promql(e)}
                 for i, (_, e) in enumerate(dashboard_exprs())]
        print(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, sort_keys=False))
    elif mode == "queries":
        for q in queries():
            print(json.dumps(q))
    else:
        sys.exit("usage: deploy_exprs.py list-metrics | dashboard-rules | queries")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "")
