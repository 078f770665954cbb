#include "apps/html_report.h"

#include <algorithm>
#include <array>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "apps/plot_views.h"
#include "apps/svg_canvas.h"
#include "ringstamp/common/absl_compat.h"
#include "ringstamp/timestamp/timestamps.h"

namespace ringstamp::app {
namespace {

constexpr const char* kStyle = R"(<style>
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1000px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
td.src { text-align: left; font-size: 0.9em; white-space: normal; }
.na { color: #999; } .note { color: #555; font-size: 0.9em; }
figure { margin: 1.5em 0; } svg { max-width: 100%; height: auto; }
dt { font-weight: bold; margin-top: 0.6em; }
</style>
)";

std::string H(std::string_view s) { return XmlEscape(s); }

// The stamp sources a figure rests on: "software 298, estimate 2".
std::string Basis(const std::array<uint64_t, kStampSourceCount>& counts) {
  std::string out;
  for (size_t s = 0; s < kStampSourceCount; ++s) {
    if (counts[s] == 0) continue;
    absl::StrAppend(&out, out.empty() ? "" : ", ",
                    ToAbsl(StampSourceName(static_cast<StampSource>(s))), " ", counts[s]);
  }
  return out.empty() ? "-" : out;
}

// A percentile cell: the value when the count holds it (p90 from 10 samples, p99 from 100,
// p99.9 from 1,000), else n/a.
std::string Cell(const LatencySummary& s, int64_t v, uint64_t needed) {
  if (s.count < needed) return "<td class=\"na\">n/a</td>";
  return absl::StrCat("<td>", H(FormatDurationNs(static_cast<double>(v))), "</td>");
}

void FigureRow(std::string& o, std::string_view name, const LatencySummary& s,
               std::string_view rests_on) {
  if (s.count == 0) return;
  absl::StrAppend(&o, "<tr><td>", H(name), "</td><td>", s.count, "</td>", Cell(s, s.min, 1),
                  Cell(s, s.p50, 1), Cell(s, s.p90, 10), Cell(s, s.p99, 100), Cell(s, s.p999, 1000),
                  Cell(s, s.max, 1), Cell(s, static_cast<int64_t>(s.mean), 1),
                  Cell(s, static_cast<int64_t>(s.stddev), 2), "<td class=\"src\">", H(rests_on),
                  s.exact ? "" : " (percentiles from a histogram, ≤ 0.2 %)", "</td></tr>\n");
}

std::string Figure(std::string svg, std::string_view caption) {
  // RenderProbeSvg writes a standalone document: inline, the XML declaration goes.
  if (svg.rfind("<?xml", 0) == 0) svg.erase(0, svg.find('\n') + 1);
  return absl::StrCat("<figure>\n", svg, "<figcaption class=\"note\">", H(caption),
                      "</figcaption>\n</figure>\n");
}

}  // namespace

std::string RenderProbeReport(const ProbeReportData& d) {
  const ProbeSummary& s = d.summary;
  const bool icmp = s.mode == ProbeMode::kIcmpEcho;
  const ProbeCounters& c = s.counters;
  auto basis = [&](ProbeFigure f) { return Basis(s.basis[static_cast<size_t>(f)]); };
  std::string o;
  absl::StrAppend(&o, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
                  "<title>", H(d.title), "</title>\n", kStyle, "</head>\n<body>\n<h1>", H(d.title),
                  "</h1>\n");

  // What ran.
  absl::StrAppend(&o, "<table>\n");
  auto row = [&](std::string_view k, std::string_view v) {
    absl::StrAppend(&o, "<tr><td>", H(k), "</td><td class=\"src\">", H(v), "</td></tr>\n");
  };
  row("target", d.origin.target);
  row("interface", d.origin.interface);
  row("host", d.origin.host);
  std::string labels;
  for (const auto& [k, v] : d.origin.labels)
    absl::StrAppend(&labels, labels.empty() ? "" : ", ", k, "=", v);
  if (!labels.empty()) row("labels", labels);
  if (d.start_ns > 0) row("started", FormatUtc(d.start_ns, true));
  if (d.end_ns > 0) row("ended", FormatUtc(d.end_ns, true));
  row("mode", icmp ? "ICMP echo to the target's own stack" : "STAMP (RFC 8762) to a reflector");
  if (!d.settings.empty()) row("settings", d.settings);
  if (!d.timestamping.empty()) row("timestamping", d.timestamping);
  row("ringstamp", absl::StrCat(d.origin.version, ", run ", d.origin.run_id));
  absl::StrAppend(&o, "</table>\n");

  // Counters.
  const uint64_t known = c.Settled();
  absl::StrAppend(
      &o, "<h2>Probes</h2>\n<table>\n<tr><th>sent</th><th>received</th><th>lost</th>",
      "<th>loss</th><th>late</th><th>duplicated</th><th>reordered</th><th>unanswered at stop</th>",
      "<th>not sent</th></tr>\n<tr><td>", c.sent, "</td><td>", c.received, "</td><td>", c.lost,
      "</td><td>", known > 0 ? absl::StrFormat("%.3g %%", 100.0 * c.lost / known) : "n/a",
      "</td><td>", c.late, "</td><td>", c.duplicated, "</td><td>", c.reordered, "</td><td>",
      c.unanswered_at_stop, "</td><td>", c.send_failures,
      "</td></tr>\n</table>\n<p class=\"note\">Loss is lost / probes whose fate is known (sent "
      "minus those in flight, still waiting at the stop, or not sent: refused by the relay, "
      "never on the wire); a late reply is not lost.</p>\n");

  // Figures.
  absl::StrAppend(&o, "<h2>Figures</h2>\n<table>\n<tr><th>figure</th><th>count</th><th>min</th>",
                  "<th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>mean</th>",
                  "<th>stddev</th><th>rests on (its weakest stamp)</th></tr>\n");
  if (icmp) {
    FigureRow(o, "RTT = network RTT (t4 − t1)", s.rtt, basis(ProbeFigure::kRtt));
  } else {
    FigureRow(o, "network RTT (RTT − dwell)", s.network_rtt, basis(ProbeFigure::kNetworkRtt));
    FigureRow(o, "RTT (t4 − t1)", s.rtt, basis(ProbeFigure::kRtt));
    FigureRow(o, "dwell (t3 − t2)", s.dwell, basis(ProbeFigure::kDwell));
    FigureRow(o, "forward delay (t2 − t1)", s.forward, basis(ProbeFigure::kForward));
    FigureRow(o, "reverse delay (t4 − t3)", s.reverse, basis(ProbeFigure::kReverse));
    FigureRow(o, "clock offset (reflector − ours)", s.offset, basis(ProbeFigure::kOffset));
    FigureRow(o, "t3 estimate error (real − written)", s.t3_error, "the reflector's stamps");
  }
  FigureRow(o, "userspace RTT (send → receive in this program)", s.user_rtt, "userspace");
  absl::StrAppend(&o,
                  "</table>\n<p class=\"note\">n/a: too few samples for that percentile "
                  "(p90 needs 10, p99 100, p99.9 1,000; nearest rank).</p>\n");

  // Stamp sources of t1..t4.
  absl::StrAppend(&o, "<h2>Stamp sources</h2>\n<table>\n<tr><th>stamp</th><th class=\"src\">",
                  "answered probes by source</th></tr>\n");
  const char* names[4] = {"t1 (our TX)", "t2 (reflector RX)", "t3 (reflector TX)", "t4 (our RX)"};
  for (size_t i = 0; i < 4; ++i) {
    if (icmp && (i == 1 || i == 2)) continue;
    absl::StrAppend(&o, "<tr><td>", names[i], "</td><td class=\"src\">", H(Basis(s.sources[i])),
                    "</td></tr>\n");
  }
  absl::StrAppend(&o, "</table>\n");
  if (!icmp) {
    absl::StrAppend(&o, "<p class=\"note\">t3: the reflector's real TX time for ", c.t3_real,
                    " answered probes, its pre-send estimate for ", c.t3_estimated,
                    ". The reflector reported its clock synchronised (S bit) in ",
                    s.reflector_synchronized, " replies.</p>\n");
  }

  // Pictures.
  ProbeViewData v{.results = d.results, .summary = s};
  if (!d.plot.network_rtt_name.empty() && !icmp) v.network_rtt_name = d.plot.network_rtt_name;
  absl::StrAppend(&o, "<h2>Pictures</h2>\n");
  absl::StrAppend(&o, Figure(RenderProbeSvg(d.plot),
                             "RTT and network RTT of each probe over the run (lost probes as red "
                             "crosses), and their distribution (CDF) with the percentiles the "
                             "count holds."));
  absl::StrAppend(&o, Figure(RenderTailSvg(v),
                             "The tail: each percentile's latency, the x axis stretched as "
                             "1 / (1 − p) so that p99, p99.9 and beyond get room."));
  absl::StrAppend(&o, Figure(RenderHistogramSvg(v), "How many replies fell in each bin."));
  absl::StrAppend(&o, Figure(RenderLossSvg(v), "Lost probes over the run, by send time."));
  absl::StrAppend(&o, Figure(RenderClockSvg(v),
                             s.clocks_synchronised
                                 ? "One-way delays: only meaningful because both hosts share a "
                                   "clock (--clocks-synchronised)."
                                 : "The clock offset estimate over time; no one-way delays "
                                   "without a shared clock."));
  if (d.results.size() < c.sent) {
    absl::StrAppend(&o, "<p class=\"note\">The pictures draw ", d.results.size(),
                    " results spread evenly over the run (a long run keeps a bounded sample); "
                    "the tables above count every probe.</p>\n");
  }

  // What the figures rest on.
  absl::StrAppend(
      &o, "<h2>What each figure rests on</h2>\n<dl>\n",
      "<dt>t1, t4 (this host)</dt><dd>Stamps of our probe leaving and its reply arriving: from "
      "the NIC (hardware), the kernel (software), or this program (userspace) when neither came. "
      "The table above counts each source.</dd>\n");
  if (!icmp) {
    absl::StrAppend(
        &o,
        "<dt>t2, t3 (the reflector)</dt><dd>The reflector's RX and TX stamps on its own clock. t3 "
        "is its real TX time, sent in its next reply (RFC 8972 Follow-Up); a figure that had to "
        "use the time it wrote before sending is marked <em>estimate</em>.</dd>\n"
        "<dt>network RTT</dt><dd>(t4 − t1) − (t3 − t2): each difference on one clock, so the "
        "two hosts' clocks need not agree. It rests on the weakest of the four stamps.</dd>\n"
        "<dt>dwell</dt><dd>t3 − t2: the reflector's own time between receiving and "
        "sending.</dd>\n"
        "<dt>one-way delays</dt><dd>t2 − t1 and t4 − t3 subtract stamps of two hosts: shown only "
        "with <code>--clocks-synchronised</code> (one clock, or PTP).</dd>\n"
        "<dt>clock offset</dt><dd>((t2 − t1) + (t3 − t4)) / 2: the reflector's clock minus ours, "
        "assuming equal delays both ways; an estimate by construction.</dd>\n");
  } else {
    absl::StrAppend(&o,
                    "<dt>RTT</dt><dd>t4 − t1 of an ICMP echo: the peer's stack time is inside "
                    "it; there are no reflector stamps, so no dwell, one-way delays or "
                    "offset.</dd>\n");
  }
  absl::StrAppend(&o,
                  "<dt>userspace RTT</dt><dd>This program's own send and receive times: what a "
                  "socket tool such as sockperf reports; both ends' stacks are inside it.</dd>\n"
                  "</dl>\n</body>\n</html>\n");
  return o;
}

absl::Status WriteProbeReport(std::string_view path, const ProbeReportData& data) {
  return WritePlotFile(path, RenderProbeReport(data), "--report");
}

}  // namespace ringstamp::app
