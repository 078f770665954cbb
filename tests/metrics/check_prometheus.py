"""check_prometheus.py OUT_DIR PROMETHEUS_URL TIME DASHBOARD — what Prometheus scraped (q-*.json, its API's answers) against
the probe client's own JSON lines (client.json): the received counter and the lost gauge at
every scrape lie between the sums of the client's 1 s interval lines that had ended half a
second before the scrape and those that had started half a second after it (the metrics are
published every 200 ms, a result is reported when its real t3 came), the RTT median that
histogram_quantile estimates from the buckets lies within a bucket of the summary's p50, and
the reflector's `up` went from 1 to 0 when it stopped. Then every query of the Grafana
DASHBOARD ($target as .*, $__rate_interval as 10s) is asked of Prometheus at TIME (when
client and reflector both ran) and must answer with at least one series. Prints what
disagrees; exit 1 then."""
import json
import os
import sys
import urllib.parse
import urllib.request

BOUNDS = [1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2,
          5e-2, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0]


def load(path):
    with open(path) as f:
        return json.load(f)


def series(out, name):
    answer = load(os.path.join(out, f"q-{name}.json"))
    assert answer["status"] == "success", answer
    result = answer["data"]["result"]
    assert len(result) == 1, f"{name}: want one series, got {result}"
    return result[0]


def main():
    out = sys.argv[1]
    lines = [json.loads(l) for l in open(os.path.join(out, "client.json")) if l.startswith("{")]
    windows = [l for l in lines if l["type"] == "interval"]
    summary = [l for l in lines if l["type"] == "summary"][-1]
    errors = []

    def bracket(key, t):
        lo = sum(w[key] for w in windows if w["end_ns"] / 1e9 <= t - 0.5)
        hi = sum(w[key] for w in windows if w["start_ns"] / 1e9 <= t + 0.5)
        return lo, hi

    for name, key in (("received", "received"), ("lost", "lost")):
        values = series(out, name)["values"]
        if len(values) < 10:
            errors.append(f"{name}: only {len(values)} scrapes in 20 s")
        for t, v in values:
            lo, hi = bracket(key, float(t))
            if not lo <= float(v) <= hi:
                errors.append(f"{name} at {t}: Prometheus {v}, the interval lines say {lo}..{hi}")
    last_lost = float(series(out, "lost")["values"][-1][1])
    if last_lost < 50:
        errors.append(f"lost: {last_lost} after the reflector stopped 10 s before (want > 50)")
    if last_lost > summary["lost"]:
        errors.append(f"lost: Prometheus {last_lost} above the summary's {summary['lost']}")

    q = float(series(out, "quantile")["value"][1])
    p50 = summary["rtt_ns"]["p50"] / 1e9
    i = next(k for k, b in enumerate(BOUNDS) if p50 <= b)
    lo = BOUNDS[i - 2] if i >= 2 else 0.0
    hi = BOUNDS[min(i + 1, len(BOUNDS) - 1)]
    if not lo <= q <= hi:
        errors.append(f"RTT median: histogram_quantile {q:.6g} s, summary p50 {p50:.6g} s "
                      f"(want within a bucket: {lo:g}..{hi:g})")

    up = [float(v) for _, v in series(out, "up")["values"]]
    if 1.0 not in up or up[-1] != 0.0:
        errors.append(f"up{{job=server}}: {up} (want 1 while it ran, 0 after it stopped)")

    url, at, dashboard = sys.argv[2], sys.argv[3], sys.argv[4]
    queries = 0
    for panel in load(dashboard)["panels"]:
        for target in panel["targets"]:
            expr = target["expr"].replace("$target", ".*").replace("$__rate_interval", "10s")
            query = urllib.parse.urlencode({"query": expr, "time": at})
            with urllib.request.urlopen(f"{url}/api/v1/query?{query}", timeout=10) as r:
                answer = json.load(r)
            queries += 1
            if answer.get("status") != "success" or not answer["data"]["result"]:
                errors.append(f"dashboard panel '{panel['title']}': {expr} -> {answer}")

    for e in errors:
        print("FAIL:", e)
    print(f"checked {len(series(out, 'received')['values'])} scrapes; RTT median "
          f"{q:.6g} s (summary p50 {p50:.6g} s); lost {last_lost:g}; {queries} dashboard queries")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
