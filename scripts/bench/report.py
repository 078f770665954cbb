#!/usr/bin/env python3
"""scripts/bench/report.py — the table of scripts/bench.sh, and small parsers it needs.

  report.py table --results RESULTS.jsonl --micro DIR [--json OUT]
      prints the comparison table (figure, peer, peer's figure, ratio, target, PASS/MISS),
      the per-tool details and the microbenchmarks; --json writes the same rows, the raw
      measurements and every microbenchmark line to OUT.
  report.py probe-summary CLIENT_OUT
      from `ringstamp probe client --json` output: "net_p50 net_p99 rtt_p50 rtt_p99 sent
      received lost overhead_p50 overhead_field user_rtt_p50 user_rtt_p99 t3_error_p50
      t3_error_p90" of the last summary line (empty if none).

Standard library only. Ratios are ringstamp / peer from the same run; targets are those of
/work/shared/TARGETS.md. A missing figure gives "n/a" with the reason, never a PASS.
"""

import argparse
import glob
import json
import os
import statistics
import sys

# ---------------------------------------------------------------------------------------
# probe-summary


def find_overhead(summary):
    """The probe's own stamp overhead (userspace − software RX stamp), when the summary has
    a field for it: a latency object whose key says overhead, or userspace minus software."""
    for key, val in summary.items():
        k = key.lower()
        named = "overhead" in k or ("userspace" in k and ("software" in k or "stamp" in k))
        if named and isinstance(val, dict) and val.get("p50") is not None:
            return val["p50"], key
        if named and isinstance(val, (int, float)):
            return val, key
    return None, None


def probe_summary(path):
    last = None
    with open(path, errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                j = json.loads(line)
            except ValueError:
                continue
            if j.get("type") == "summary":
                last = j
    if last is None:
        return ""
    net = last.get("network_rtt_ns") or {}
    rtt = last.get("rtt_ns") or {}
    user = last.get("user_rtt_ns") or {}
    t3err = last.get("t3_error_ns") or {}
    ovh, ovh_key = find_overhead(last)

    def v(x):
        return "null" if x is None else str(x)

    return " ".join(
        v(x)
        for x in (
            net.get("p50"),
            net.get("p99"),
            rtt.get("p50"),
            rtt.get("p99"),
            last.get("sent"),
            last.get("received"),
            last.get("lost"),
            ovh,
            ovh_key or "none",
            user.get("p50"),
            user.get("p99"),
            t3err.get("p50"),
            t3err.get("p90"),
        )
    )


# ---------------------------------------------------------------------------------------
# table


def load_results(path):
    recs = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    recs.append(json.loads(line))
                except ValueError:
                    pass
    return recs


def load_micro(directory):
    out = {}
    for path in sorted(glob.glob(os.path.join(directory or "", "*.json"))):
        name = os.path.basename(path)[: -len(".json")]
        try:
            with open(path) as f:
                out[name] = json.load(f).get("benchmarks", [])
        except (OSError, ValueError):
            out[name] = []
    return out


class Figures:
    """Measurements by key: medians over passes of status=ok records."""

    def __init__(self, recs):
        self.recs = recs

    def all(self, key, **match):
        return [
            r
            for r in self.recs
            if r.get("key") == key and all(str(r.get(k)) == str(v) for k, v in match.items())
        ]

    def ok(self, key, **match):
        return [r for r in self.all(key, **match) if r.get("status") == "ok"]

    def median(self, key, field, **match):
        vals = [r[field] for r in self.ok(key, **match) if isinstance(r.get(field), (int, float))]
        return statistics.median(vals) if vals else None

    def values(self, key, field, **match):
        return [r[field] for r in self.ok(key, **match) if isinstance(r.get(field), (int, float))]

    def total(self, key, field, **match):
        vals = self.values(key, field, **match)
        return sum(vals) if vals else None

    def why_missing(self, key, **match):
        rs = self.all(key, **match)
        if not rs:
            return "not measured"
        notes = [r.get("note") or r.get("status") for r in rs if r.get("status") != "ok"]
        return notes[-1] if notes else "not measured"

    def pair_note(self, ours_key, v, peer_key, p, **match):
        """Why a row has no ratio: ours missing, else the peer missing ("" when both are)."""
        if v is None:
            return self.why_missing(ours_key, **match)
        if p is None:
            return "peer: " + self.why_missing(peer_key, **match)
        return ""


def fmt_rate(v):
    if v is None:
        return "n/a"
    if v >= 1e6:
        return f"{v / 1e6:.2f}M/s"
    if v >= 1e3:
        return f"{v / 1e3:.0f}k/s"
    return f"{v:.0f}/s"


def fmt_ns(v):
    if v is None:
        return "n/a"
    if v >= 1_000_000:
        return f"{v / 1e6:.2f} ms"
    if v >= 10_000:
        return f"{v / 1000:.1f} µs"
    if v >= 100:
        return f"{v:.0f} ns"
    return f"{v:.1f} ns"


def fmt_ns_signed(v):
    if v is not None and v < 0:
        return "−" + fmt_ns(-v)
    return fmt_ns(v)


def fmt_count(v):
    return "n/a" if v is None else f"{v:,.0f}"


def fmt_ratio(v):
    return "n/a" if v is None else f"{v:.2f}×"


def verdict(value, op, limit):
    if value is None or limit is None:
        return "n/a"
    ok = value >= limit if op == ">=" else value <= limit
    return "PASS" if ok else "MISS"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


class Table:
    def __init__(self):
        self.rows = []

    def add(self, section, measure, value, value_fmt, peer="", peer_value=None, peer_fmt=None,
            ratio_value=None, target="", target_op=None, target_limit=None, on="ratio", note="",
            text=None, verdict_value=None):
        """on="ratio": the verdict compares ratio_value with the target; on="value": value, or
        verdict_value when the target is on something derived from it (|p50| of a signed
        figure), so that the row's value stays the figure its text prints."""
        fmt = value_fmt
        if on == "ratio":
            v = verdict(ratio_value, target_op, target_limit) if target_op else ""
        else:
            judged = verdict_value if verdict_value is not None else value
            v = verdict(judged, target_op, target_limit) if target_op else ""
        if target_op and v == "n/a" and not note:
            note = "figure missing"
        self.rows.append(
            {
                "section": section,
                "measure": measure,
                "value": value,
                "value_text": text if text is not None else (fmt(value) if value is not None
                                                             else "n/a"),
                "peer": peer,
                "peer_value": peer_value,
                "peer_text": (peer_fmt or fmt)(peer_value) if peer else "",
                "ratio": ratio_value,
                "ratio_text": self.ratio_text(ratio_value, target_limit if on == "ratio" else None),
                "target": target,
                "verdict": v,
                "note": note,
            }
        )

    @staticmethod
    def ratio_text(r, limit):
        if r is None:
            return ""
        # Three decimals where two would round onto the target and hide the verdict's reason.
        if limit is not None and abs(r - limit) < 0.005:
            return f"{r:.3f}×"
        return fmt_ratio(r)

    def render(self):
        cols = [
            ("section", "section"),
            ("measure", "ringstamp measure"),
            ("value_text", "figure"),
            ("peer", "peer"),
            ("peer_text", "peer figure"),
            ("ratio_text", "ratio"),
            ("target", "target"),
            ("verdict", "verdict"),
        ]
        widths = {k: max(len(h), *(len(str(r[k])) for r in self.rows)) for k, h in cols}
        line = "  ".join(h.ljust(widths[k]) for k, h in cols)
        out = [line, "  ".join("-" * widths[k] for k, _ in cols)]
        last_section = None
        for r in self.rows:
            if last_section is not None and r["section"] != last_section:
                out.append("")
            last_section = r["section"]
            cells = "  ".join(str(r[k]).ljust(widths[k]) for k, _ in cols).rstrip()
            if r["note"]:
                cells += f"   ({r['note']})"
            out.append(cells)
        return "\n".join(out)


def micro_index(micro):
    """name → benchmark entry, over all binaries (non-aggregate runs)."""
    idx = {}
    for binary, benches in micro.items():
        for b in benches:
            if b.get("run_type", "iteration") != "iteration":
                continue
            idx[b["name"]] = dict(b, binary=binary)
    return idx


def find_bench(idx, name):
    """Exact name, else the first whose name starts with it ("…/iterations:1/manual_time")."""
    if name in idx:
        return idx[name]
    for k in sorted(idx):
        if k.startswith(name + "/"):
            return idx[k]
    return None


def echo_rows(t, fig, idx):
    """rudp_echo_bench (server CPU per echo, same clients) and sockperf throughput receivers."""
    def counter(name, field):
        b = find_bench(idx, name)
        if b is None or b.get("error_occurred"):
            return None, ("rudp_echo_bench not run" if b is None
                          else b.get("error_message", "error"))
        v = b.get(field)
        return (v, "") if isinstance(v, (int, float)) and v > 0 else (None, f"no {field}")

    for busy, mode, limit in ((0, "io_uring wait", 0.67), (1, "busy poll", 0.5)):
        for size in (64, 1400):
            ours = f"BM_RudpConnEchoServer/busy:{busy}/bytes:{size}/batch:0"
            peer = f"BM_KernelUdpEchoServer/bytes:{size}/mmsg:1"
            v, why = counter(ours, "server_ns_per_echo")
            p, pwhy = counter(peer, "server_ns_per_echo")
            lost = (find_bench(idx, ours) or {}).get("lost_window")
            plost = (find_bench(idx, peer) or {}).get("lost_window")
            note = why or (f"peer: {pwhy}" if pwhy else "")
            cpus = (find_bench(idx, ours) or {}).get("server_cpus")
            pcpus = (find_bench(idx, peer) or {}).get("server_cpus")
            if not note and cpus and pcpus:
                # How much of CPU 1 each server got: a shared CPU 1 makes batches larger.
                note = f"server on {cpus:.2f} / {pcpus:.2f} of a CPU"
            if v is not None and (lost or plost):
                note = "; ".join(x for x in (note, f"lost in the window: ours {lost or 0:g}, "
                                                 f"kernel {plost or 0:g}") if x)
            t.add("UDP echo (server CPU/echo)", f"RUDPConn {mode}, {size} B", v, fmt_ns,
                  "kernel recvmmsg/sendmmsg", p, None, ratio(v, p), f"≤ {limit}×", "<=", limit,
                  note=note)
    def info_rows(section, batch, field, label, fmt):
        """(info) rows of our server against the kernel's recvmmsg server, both modes and sizes."""
        for busy, mode in ((0, "io_uring wait"), (1, "busy poll")):
            for size in (64, 1400):
                v, _ = counter(f"BM_RudpConnEchoServer/busy:{busy}/bytes:{size}/batch:{batch}",
                               field)
                p, _ = counter(f"BM_KernelUdpEchoServer/bytes:{size}/mmsg:1", field)
                if v is not None:
                    t.add(section, f"(info) {label} {mode}, {size} B", v, fmt,
                          "kernel recvmmsg/sendmmsg", p, None, ratio(v, p))

    info_rows("UDP echo (server CPU/echo)", 1, "server_ns_per_echo", "RUDPConn batch handler,",
              fmt_ns)
    for size in (64, 1400):
        v, _ = counter(f"BM_KernelUdpEchoServer/bytes:{size}/mmsg:0", "server_ns_per_echo")
        p, _ = counter(f"BM_KernelUdpEchoServer/bytes:{size}/mmsg:1", "server_ns_per_echo")
        if v is not None:
            t.add("UDP echo (server CPU/echo)", f"(info) kernel recvfrom/sendto, {size} B", v,
                  fmt_ns, "kernel recvmmsg/sendmmsg", p, None, ratio(v, p))
    info_rows("UDP echo (echoes/s)", 0, "items_per_second", "RUDPConn", fmt_rate)
    ours, peer = fig.ok("tp.rudp_sink"), fig.ok("tp.sockperf_server")
    v = fig.median("tp.rudp_sink", "ns_per_dgram")
    p = fig.median("tp.sockperf_server", "ns_per_dgram")
    note = fig.pair_note("tp.rudp_sink", v, "tp.sockperf_server", p)
    if not note:
        o, k = ours[-1], peer[-1]
        note = (f"received/sent (dropped): ours {o.get('received')}/{o.get('sent')} "
                f"({o.get('drops')}), kernel {k.get('received')}/{k.get('sent')} "
                f"({k.get('drops')}); {o.get('fps')} vs {k.get('fps')} datagrams/s arriving")
    size = (ours or peer or [{}])[-1].get("size", "?")
    t.add("UDP throughput (receiver CPU/datagram)",
          f"(info) RUDPConn sink, sockperf throughput {size} B", v, fmt_ns, "sockperf server", p,
          None, ratio(v, p), note=note)


def per_item_ns(b):
    if b is None or b.get("error_occurred"):
        return None
    if isinstance(b.get("per_frame"), (int, float)):
        return b["per_frame"] * 1e9
    ips = b.get("items_per_second")
    if isinstance(ips, (int, float)) and ips > 0:
        return 1e9 / ips
    return None


def build_table(fig, micro):
    t = Table()
    tx_peer = fig.median("tx.trafgen_p1", "fps")
    # --- TX
    for key, label, limit in (("gen_w1", "gen, 1 worker (CPU 0)", 1.3),
                              ("gen_w2", "gen, 2 workers (CPUs 0-1)", 1.8)):
        v = fig.median(f"tx.{key}", "fps")
        note = fig.pair_note(f"tx.{key}", v, "tx.trafgen_p1", tx_peer)
        t.add("TX frames/s", label, v, fmt_rate, "trafgen -P 1 (CPU 0)", tx_peer, None,
              ratio(v, tx_peer), f"≥ {limit}×", ">=", limit, note=note)
    v = fig.median("tx.trafgen_p2", "fps")
    if v is not None:
        t.add("TX frames/s", "(info) trafgen -P 2 (CPUs 0-1)", v, fmt_rate, "trafgen -P 1",
              tx_peer, None, ratio(v, tx_peer))

    # --- RX at the fixed rate
    rate = None
    for r in fig.recs:
        if r.get("key") == "meta":
            rate = r.get("rx_rate")
    rate = rate or 200000
    sec = f"RX CPU/frame @{rate // 1000}k/s"
    # TARGETS.md: ≤ 0.5× tcpdump counting or writing to /dev/null, ≤ 0.4× writing a real file.
    pairs = (
        ("rs_count", "capture -q (count only)", "tcpdump_null", "tcpdump -w /dev/null", 0.5),
        ("rs_null", "capture -w /dev/null", "tcpdump_null", "tcpdump -w /dev/null", 0.5),
        ("rs_file", "capture -w file", "tcpdump_file", "tcpdump -w file", 0.4),
    )
    for ours, label, peer_key, peer_label, limit in pairs:
        v = fig.median(f"rx.{ours}", "ns_per_frame", rate=rate)
        p = fig.median(f"rx.{peer_key}", "ns_per_frame", rate=rate)
        note = fig.pair_note(f"rx.{ours}", v, f"rx.{peer_key}", p, rate=rate)
        t.add(sec, label, v, fmt_ns, peer_label, p, None, ratio(v, p), f"≤ {limit}×", "<=",
              limit, note=note)
    v = fig.median("rx.rs_count", "ns_per_frame", rate=rate)
    p = fig.median("rx.netsniff", "ns_per_frame", rate=rate)
    t.add(sec, "(info) capture -q", v, fmt_ns, "netsniff-ng --silent -S 32MiB", p, None,
          ratio(v, p), note="" if p is not None else "peer: " + fig.why_missing("rx.netsniff",
                                                                              rate=rate))
    for tag, r in ((f"@{rate // 1000}k/s", rate), ("@full rate", "full")):
        for ours, label in (("rs_count", "capture -q"), ("rs_null", "capture -w /dev/null"),
                            ("rs_file", "capture -w file")):
            d = fig.total(f"rx.{ours}", "drops", rate=r)
            fps = fig.median(f"rx.{ours}", "fps", rate=r)
            note = f"at {fmt_rate(fps)}" if fps is not None else fig.why_missing(f"rx.{ours}",
                                                                                 rate=r)
            t.add(f"RX drops {tag}", label, d, fmt_count, target="0", target_op="<=",
                  target_limit=0, on="value", note=note)
        peers = []
        for key, label in (("tcpdump_null", "tcpdump -w /dev/null"),
                           ("tcpdump_file", "tcpdump -w file"), ("netsniff", "netsniff-ng")):
            d = fig.total(f"rx.{key}", "drops", rate=r)
            peers.append(f"{label} {fmt_count(d)}")
        t.add(f"RX drops {tag}", "(info) peers' drops", None, fmt_count, text="—",
              note="; ".join(peers))

    # --- latency
    # Like for like: the probe's userspace RTT (its own send time to its own receive time,
    # what sockperf measures) against sockperf's RTT at the same pace (back to back, or every
    # 1 ms: a sender that sleeps between probes pays this VM's idle wake-ups, one that answers
    # at once does not), target ≤ 1.0×. The network RTT (kernel or NIC stamps, the reflector's
    # dwell taken out) measures something else: information.
    for key, label, sock, peer in (
            ("pingpong_one_cpu", "probe --interval 0 userspace RTT p50, one CPU", "one_cpu",
             "sockperf ping-pong RTT p50, {}"),
            ("pingpong_split", "probe --interval 0 userspace RTT p50, split CPUs", "split",
             "sockperf ping-pong RTT p50, {}"),
            ("one_cpu", "probe every 1 ms userspace RTT p50, one CPU", "one_cpu_paced",
             "sockperf --mps 1000 RTT p50, {}"),
            ("split", "probe every 1 ms userspace RTT p50, split CPUs", "split_paced",
             "sockperf --mps 1000 RTT p50, {}"),
            ("busy_split", "probe --busy-poll userspace RTT p50, split", "split",
             "sockperf ping-pong RTT p50, {}")):
        v = fig.median(f"lat.probe_{key}", "user_rtt_p50_ns")
        p = fig.median(f"lat.sockperf_{sock}", "rtt_p50_ns")
        note = fig.pair_note(f"lat.probe_{key}", v, f"lat.sockperf_{sock}", p)
        where = sock.replace("_paced", "").replace("_", " ")
        t.add("latency (RTT)", label, v, fmt_ns, peer.format(where), p, None,
              ratio(v, p), "≤ 1.0×", "<=", 1.0, note=note)
        net = fig.median(f"lat.probe_{key}", "net_rtt_p50_ns")
        if net is not None:
            t.add("latency (RTT)", f"(info) {label.replace('userspace', 'network')}", net, fmt_ns,
                  note="kernel stamps, the reflector's dwell (real t3) taken out")
    # The reflector's t3 estimate error (its real TX stamp − the estimate it wrote), p50. The
    # estimate is the clock read plus the learned TX latency, so the error is signed and centred
    # near 0: the verdict takes its size, and p90 beside it says how far it strays.
    for key, label, targeted in (("busy_split", "reflector t3 error p50, --busy-poll", True),
                                 ("split", "(info) reflector t3 error p50, io_uring wait", False),
                                 ("one_cpu", "(info) reflector t3 error p50, io_uring wait, one CPU",
                                  False)):
        e = fig.median(f"lat.probe_{key}", "t3_error_p50_ns")
        e90 = fig.median(f"lat.probe_{key}", "t3_error_p90_ns")
        note = "" if e is not None else fig.why_missing(f"lat.probe_{key}")
        if e90 is not None:
            note = f"p90 {fmt_ns_signed(e90)}; estimate = clock read + learned TX latency"
        # The row's value is the signed p50 its text prints; the verdict is on its size.
        size = abs(e) if e is not None else None
        if targeted:
            t.add("latency (RTT)", label, e, fmt_ns_signed, target="|p50| ≤ 1 µs",
                  target_op="<=", target_limit=1000, on="value", note=note, verdict_value=size)
        elif e is not None:
            t.add("latency (RTT)", label, e, fmt_ns_signed, note=note)
    for key, label, sock in (("one_cpu", "probe network RTT p50, one CPU", "one_cpu"),
                             ("split", "probe network RTT p50, split CPUs", "split"),
                             ("busy_split", "probe --busy-poll network RTT p50, split", "split")):
        v = fig.median(f"lat.probe_{key}", "net_rtt_p50_ns")
        where = sock.replace("_", " ")
        paced = fig.median(f"lat.sockperf_{sock}_paced", "rtt_p50_ns")
        if v is not None and paced is not None:
            t.add("latency (RTT)", f"(info) {label}", v, fmt_ns,
                  f"sockperf paced 1 ms RTT p50, {where}", paced, None, ratio(v, paced))
        v99 = fig.median(f"lat.probe_{key}", "net_rtt_p99_ns")
        p99 = fig.median(f"lat.sockperf_{sock}", "rtt_p99_ns")
        if v99 is not None or p99 is not None:
            t.add("latency (RTT)", f"(info) {label.replace('p50', 'p99')}", v99, fmt_ns,
                  f"sockperf ping-pong RTT p99, {where}", p99, None, ratio(v99, p99))
    # The probe's own RX overhead: userspace − kernel software stamp of each reply (p50).
    for key, label, targeted in (("busy_split", "probe RX overhead p50, --busy-poll split", True),
                                 ("one_cpu", "(info) probe RX overhead p50, one CPU", False),
                                 ("split", "(info) probe RX overhead p50, split", False)):
        ovh = fig.median(f"lat.probe_{key}", "overhead_p50_ns")
        note = ""
        if ovh is None:
            if not targeted:
                continue
            note = ("not exposed by the probe JSON summary" if fig.ok(f"lat.probe_{key}")
                    else fig.why_missing(f"lat.probe_{key}"))
        elif ovh < 0:
            note = "negative: the userspace stamp came before the kernel's; not a valid overhead"
        if targeted:
            op = "<=" if ovh is None or ovh >= 0 else None
            t.add("latency (RTT)", label, ovh, fmt_ns_signed, target="≤ 2 µs", target_op=op,
                  target_limit=2000, on="value", note=note)
            if op is None:
                t.rows[-1]["verdict"] = "n/a"
        else:
            t.add("latency (RTT)", label, ovh, fmt_ns_signed, note=note)

    # Scraping /metrics every second must not move the probe's RX overhead (target ≤ 1.2×:
    # the endpoint renders on its own thread from a copy; 20 % is this machine's noise).
    scraped = fig.median("lat.probe_split_scraped", "overhead_p50_ns")
    quiet = fig.median("lat.probe_split", "overhead_p50_ns")
    note = fig.pair_note("lat.probe_split_scraped", scraped, "lat.probe_split", quiet)
    t.add("latency (RTT)", "probe RX overhead p50, /metrics scraped every 1 s", scraped,
          fmt_ns_signed, "the same run without --metrics", quiet, fmt_ns_signed,
          ratio(scraped, quiet), "≤ 1.2×", "<=", 1.2, note=note)

    # --- relay dispatch (relay_bench)
    idx = micro_index(micro)
    for name, label, limit in (
        ("BM_RelayDispatchL2/1/0", "relay OnFrames → handler, 1 endpoint", 10),
        ("BM_RelayDispatchL2/100000/1", "relay OnFrames → handler, 100k (hot 64)", 20),
        ("BM_RelayDispatchL2/100000/0", "relay OnFrames → handler, 100k (uniform)", 20),
        ("BM_RelayLookup/1/0", "relay lookup only, 1 endpoint", 10),
        ("BM_RelayLookup/100000/0", "relay lookup only, 100k (uniform)", 20),
        ("BM_RelayDispatchUdp/1/0", "relay OnFrames → UDP handler, 1 endpoint", 25),
        ("BM_RelayDispatchUdp/100000/0", "relay OnFrames → UDP handler, 100k (uniform)", 60),
    ):
        b = idx.get(name)
        v = per_item_ns(b)
        note = "" if v is not None else ("relay_bench not run" if b is None
                                         else b.get("error_message", "error"))
        t.add("relay dispatch", label, v, fmt_ns, target=f"≤ {limit} ns", target_op="<=",
              target_limit=limit, on="value", note=note)
    for name, label in (
        ("BM_RelayParseL2", "(info) ParseL2 + key hash, no table"),
        ("BM_RelayLookup/1000/0", "(info) lookup only, 1,000 (uniform)"),
        ("BM_RelayLookup/100000/1", "(info) lookup only, 100k (hot 64)"),
        ("BM_RelayDispatchL2/1000/0", "(info) OnFrames → handler, 1,000 (uniform)"),
        ("BM_RelayDispatchL2PerFrame/1/0", "(info) OnFrame one at a time, 1 endpoint"),
        ("BM_RelayDispatchL2PerFrame/100000/0", "(info) OnFrame one at a time, 100k (uniform)"),
        ("BM_RelayDispatchL2EndpointState/100000/0",
         "(info) OnFrames → handler with per-endpoint state, 100k (uniform)"),
        ("BM_RelayDispatchUdpEndpointState/100000/0",
         "(info) OnFrames → UDP handler with per-endpoint state, 100k (uniform)"),
    ):
        v = per_item_ns(idx.get(name))
        if v is not None:
            t.add("relay dispatch", label, v, fmt_ns)
    echo_rows(t, fig, idx)
    # Rows of sections this run left out (--only) are dropped.
    meta = next((r for r in fig.recs if r.get("key") == "meta"), {})
    run = set(str(meta.get("sections", "tx,rx,latency,micro")).split(","))
    group = {"TX": "tx", "RX": "rx", "latency": "latency", "relay": "micro", "UDP": "echo"}
    t.rows = [r for r in t.rows if group.get(r["section"].split(" ")[0], "") in run]
    return t


def rx_details(fig):
    rows = []
    names = (("tcpdump_null", "tcpdump -w /dev/null"), ("tcpdump_file", "tcpdump -w file"),
             ("netsniff", "netsniff-ng --silent -S 32MiB --bind-cpu 1"),
             ("rs_count", "ringstamp capture -q"), ("rs_null", "ringstamp capture -w /dev/null"),
             ("rs_file", "ringstamp capture -w file"))
    for r in fig.recs:
        if not str(r.get("key", "")).startswith("rx."):
            continue
        key = r["key"][3:]
        label = dict(names).get(key, key)
        rows.append((label, r))
    if not rows:
        return ""
    out = ["receiver                                      rate   pass  arriving/s  CPU ns/frame"
           "  (from ticks)  received   drops",
           "-" * 110]
    for label, r in rows:
        if r.get("status") != "ok":
            out.append(f"{label:<44} {str(r.get('rate')):>6} {r.get('rep', ''):>5}  "
                       f"{r.get('status')}: {r.get('note', '')}")
            continue
        out.append(
            f"{label:<44} {str(r.get('rate')):>6} {r.get('rep', ''):>5}  "
            f"{fmt_rate(r.get('fps')):>10}  {fmt_ns(r.get('ns_per_frame')):>12}  "
            f"{fmt_ns(r.get('ns_per_frame_ticks')):>12}  {fmt_count(r.get('received')):>9}  "
            f"{fmt_count(r.get('drops')):>6}")
    return "\n".join(out)


def tx_details(fig):
    out = []
    for key, label in (("trafgen_p1", "trafgen -P 1"), ("gen_w1", "ringstamp gen, 1 worker"),
                       ("gen_w2", "ringstamp gen, 2 workers"), ("trafgen_p2", "trafgen -P 2")):
        vals = fig.values(f"tx.{key}", "fps")
        if vals:
            out.append(f"{label:<28} passes: " + ", ".join(fmt_rate(v) for v in vals) +
                       f"  (median {fmt_rate(statistics.median(vals))})")
    return "\n".join(out)


def micro_lines(micro):
    out = []
    std = {"name", "family_index", "per_family_instance_index", "run_name", "run_type",
           "repetitions", "repetition_index", "threads", "iterations", "real_time", "cpu_time",
           "time_unit", "label", "error_occurred", "error_message", "aggregate_name",
           "aggregate_unit", "bytes_per_second", "items_per_second", "binary"}
    for binary, benches in micro.items():
        out.append(f"{binary}:")
        if not benches:
            out.append("   (no results: see its log)")
        for b in benches:
            if b.get("run_type", "iteration") != "iteration":
                continue
            if b.get("error_occurred"):
                out.append(f"   {b['name']:<36} error: {b.get('error_message', '')}")
                continue
            unit = b.get("time_unit", "ns")
            cpu = f"{b.get('cpu_time', 0):.1f} {unit} CPU/iter"
            per = per_item_ns(b)
            extra = []
            if per is not None:
                extra.append(f"{fmt_ns(per)}/item")
            for k, v in b.items():
                if k in std or k == "per_frame" or not isinstance(v, (int, float)):
                    continue
                extra.append(f"{k}={v:g}")
            label = f"  [{b['label']}]" if b.get("label") else ""
            out.append(f"   {b['name']:<36} {cpu:>22}  {'  '.join(extra)}{label}")
    return "\n".join(out)


def micro_comparisons(micro):
    """Ours-vs-peer pairs inside the microbenchmarks (time per item, same run; < 1 is faster)."""
    idx = micro_index(micro)
    pairs = (
        ("pcap: PcapWriter vs pcap_dump, /dev/null, 60 B", "BM_OursDevNull/60", "BM_LibpcapDevNull/60"),
        ("pcap: PcapWriter vs pcap_dump, file, 60 B", "BM_OursFile/60", "BM_LibpcapFile/60"),
        ("pcap: PcapWriter vs pcap_dump, file, 1514 B", "BM_OursFile/1514", "BM_LibpcapFile/1514"),
        ("tap TX: port vs write(), 60 B", "BM_TapTx_Port/60", "BM_TapTx_PlainWrite/60"),
        ("tap RX drain: port vs read()", "BM_TapRxDrain/1", "BM_TapRxDrain/0"),
        ("tap RX drain: packet ring vs read()", "BM_TapRxDrain/2", "BM_TapRxDrain/0"),
        ("tap RX end to end: port vs read()", "BM_TapRxEndToEnd/1", "BM_TapRxEndToEnd/0"),
        ("tap RX end to end: packet ring vs read()", "BM_TapRxEndToEnd/2", "BM_TapRxEndToEnd/0"),
    )

    def find(name):
        return find_bench(idx, name)

    out = []
    rows = []
    for label, ours, peer in pairs:
        a, b = per_item_ns(find(ours)), per_item_ns(find(peer))
        if a is None or b is None:
            continue
        out.append(f"   {label:<44} {fmt_ns(a):>10} vs {fmt_ns(b):>10}  = {a / b:.2f}× the time")
        rows.append({"measure": label, "ours_ns": a, "peer_ns": b, "ratio": a / b})
    return "\n".join(out), rows


def table(args):
    recs = load_results(args.results)
    fig = Figures(recs)
    micro = load_micro(args.micro)
    t = build_table(fig, micro)
    meta = next((r for r in recs if r.get("key") == "meta"), {})
    meta_end = next((r for r in recs if r.get("key") == "meta_end"), {})
    print(f"ringstamp benchmarks — {meta.get('date', '?')} on {meta.get('host', '?')} "
          f"({meta.get('cpu', '?')}, {meta.get('cpus', '?')} CPUs, kernel {meta.get('kernel', '?')}), "
          f"commit {meta.get('commit', '?')}, {'quick' if meta.get('quick') == 1 else 'full'} run")
    if str(meta.get("build", "ok")).startswith("failed"):
        print(f"BUILD FAILED for some targets: ringstamp measured as built at "
              f"{meta.get('ringstamp_built', '?')} (see the build lines above)")
    print(f"load average at start {meta.get('load_start', '?')}, at end "
          f"{meta_end.get('load_end', '?')}: figures swing ±20% on shared machines; compare "
          f"ratios within this run only")
    print()
    print(t.render())
    td = tx_details(fig)
    if td:
        print("\nTX passes (frames/s counted at the peer veth):")
        print(td)
    rd = rx_details(fig)
    if rd:
        print("\nRX details (CPU from /proc/PID/task/*/schedstat over the window; ticks: "
              "utime+stime; drops and received from each tool's own summary):")
        print(rd)
    comp_text, comp_rows = micro_comparisons(micro)
    if comp_text:
        print("\nmicrobenchmark pairs (time per item, same run; below 1× ours is faster):")
        print(comp_text)
    ml = micro_lines(micro)
    if ml:
        print("\nmicrobenchmarks (CPU time; per item = 1 / items_per_second or per_frame):")
        print(ml)
    counts = {}
    for r in t.rows:
        if r["verdict"]:
            counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    print("\ntargets: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    if args.json:
        doc = {
            "meta": meta,
            "meta_end": meta_end,
            "rows": t.rows,
            "micro_pairs": comp_rows,
            "measurements": [r for r in recs if r.get("key") not in ("meta", "meta_end")],
            "micro": micro,
        }
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1, ensure_ascii=False)
        print(f"JSON: {args.json}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("table")
    t.add_argument("--results", required=True)
    t.add_argument("--micro", default="")
    t.add_argument("--json", default="")
    p = sub.add_parser("probe-summary")
    p.add_argument("file")
    args = ap.parse_args()
    if args.cmd == "probe-summary":
        print(probe_summary(args.file))
    else:
        table(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
