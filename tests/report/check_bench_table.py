#!/usr/bin/env python3
"""check_bench_table.py SOURCE_DIR — scripts/bench/report.py's table from measurements written
here: each row's JSON value is the figure its text prints, and its verdict follows the target.

The reflector's t3 error is signed (the estimate is the clock read plus a learned latency), and
its target is on the size of the p50: a row of −300 ns must read −300 in its text and its JSON
value and PASS; −1,500 ns must MISS, +1,500 ns too; a figure that was not measured is "n/a",
never a PASS. Standard library only; writes only in a temporary directory it removes.
"""

import json
import os
import subprocess
import sys
import tempfile

T3_ROW = "reflector t3 error p50, --busy-poll"
INFO_ROW = "(info) reflector t3 error p50, io_uring wait"


def run_table(src, records):
    with tempfile.TemporaryDirectory(prefix="rs-bench-table.") as d:
        results = os.path.join(d, "results.jsonl")
        with open(results, "w") as f:
            f.write(json.dumps({"key": "meta", "date": "test", "host": "test"}) + "\n")
            for r in records:
                f.write(json.dumps(r) + "\n")
        out = os.path.join(d, "table.json")
        proc = subprocess.run(
            [sys.executable, os.path.join(src, "scripts/bench/report.py"), "table", "--results",
             results, "--micro", d, "--json", out],
            capture_output=True, text=True, timeout=60, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"report.py table failed ({proc.returncode}): {proc.stderr}")
        with open(out) as f:
            return {r["measure"]: r for r in json.load(f)["rows"]}, proc.stdout


def probe_records(key, p50_values, p90):
    return [{"key": key, "status": "ok", "pass": i, "t3_error_p50_ns": v, "t3_error_p90_ns": p90}
            for i, v in enumerate(p50_values)]


def main():
    src = sys.argv[1]
    failures = []

    def expect(cond, what):
        if not cond:
            failures.append(what)

    # Three passes: the row takes their median (−300).
    rows, text = run_table(src, probe_records("lat.probe_busy_split", [-250, -300, -900], 450)
                           + probe_records("lat.probe_split", [120], 400))
    r = rows.get(T3_ROW)
    expect(r is not None, f"no row named {T3_ROW!r}")
    if r:
        expect(r["value"] == -300, f"t3 row value {r['value']!r}, want the signed median -300")
        expect(r["value_text"] == "−300 ns", f"t3 row text {r['value_text']!r}, want '−300 ns'")
        expect(r["verdict"] == "PASS", f"t3 row verdict {r['verdict']!r} for |−300| ≤ 1000")
        expect("p90 450 ns" in r["note"], f"t3 row note {r['note']!r} lacks the p90")
        expect("−300 ns" in text, "the printed table lacks the signed figure")
    info = rows.get(INFO_ROW)
    expect(info is not None and info["value"] == 120 and info["verdict"] == "",
           f"info row {info!r}: want value 120 and no verdict")

    for p50 in (-1500, 1500):
        rows, _ = run_table(src, probe_records("lat.probe_busy_split", [p50], 2000))
        r = rows.get(T3_ROW, {})
        expect(r.get("value") == p50 and r.get("verdict") == "MISS",
               f"p50 {p50}: row {r!r}, want value {p50} and MISS")

    # Not measured (a failed pass only): n/a with the reason, never PASS.
    rows, _ = run_table(src, [{"key": "lat.probe_busy_split", "status": "failed",
                               "note": "server did not start"}])
    r = rows.get(T3_ROW, {})
    expect(r.get("value") is None and r.get("verdict") == "n/a" and
           "server did not start" in r.get("note", ""),
           f"unmeasured row {r!r}, want value null, n/a and the failure's note")

    if failures:
        for f in failures:
            print("FAIL:", f)
        return 1
    print("bench table: signed t3 rows keep their sign in value and text; verdicts on |p50|; "
          "a missing figure is n/a")
    return 0


if __name__ == "__main__":
    sys.exit(main())
