"""Evaluates every PromQL expression of the Grafana dashboard and the Prometheus rules against a
live Prometheus and checks each one returns data.

    python scripts/ci/promql-check.py http://127.0.0.1:9090 [--wait SECONDS]

An expression passes when Prometheus accepts it and its answer has at least one series (or a
scalar). Expressions that have no data yet are asked again until --wait runs out (recording
rules need one evaluation, rates two scrapes). Prints one line per expression and a summary;
exits 1 when any expression fails, 2 when Prometheus cannot be asked.

What "returns data" means per source (scripts/ci/deploy_exprs.py builds the queries):
dashboard targets with `$instance` = all instances; recording rules both as their expression
and as the series they record; alerts as the value they compare with their threshold (the
condition itself is empty while the alert is quiet).
"""
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deploy_exprs  # noqa: E402


def ask(prom, query):
    url = prom.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode({"query": query})
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        # 400: Prometheus refused the expression; its body says why.
        try:
            return json.load(e)
        except Exception:
            return {"status": "error", "error": "HTTP %d" % e.code}


def series_count(answer):
    data = answer.get("data", {})
    if data.get("resultType") == "scalar":
        return 1
    return len(data.get("result", []))


def main(argv):
    if len(argv) < 2:
        sys.exit("usage: promql-check.py PROMETHEUS_URL [--wait SECONDS]")
    prom = argv[1]
    wait = float(argv[argv.index("--wait") + 1]) if "--wait" in argv else 30.0
    pending = deploy_exprs.queries()
    results = {}
    deadline = time.monotonic() + wait
    while pending:
        still = []
        for q in pending:
            try:
                answer = ask(prom, q["query"])
            except OSError as e:
                print("prometheus unreachable: %s" % e)
                return 2
            if answer.get("status") != "success":
                results[id(q)] = (q, "refused: %s" % answer.get("error", answer))
                continue
            n = series_count(answer)
            if n:
                results[id(q)] = (q, n)
            else:
                still.append(q)
        pending = still
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(1)
    for q in pending:
        results[id(q)] = (q, "no data within %.0f s" % wait)

    failed = 0
    for q, outcome in results.values():
        if isinstance(outcome, int):
            print("  ok    %-70s %d series" % (q["source"][:70], outcome))
        else:
            failed += 1
            print("  FAIL  %-70s %s\n        query: %s" % (q["source"][:70], outcome, " ".join(q["query"].split())))
    total = len(results)
    print("promql: %d expressions, %d returned data, %d failed" % (total, total - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
