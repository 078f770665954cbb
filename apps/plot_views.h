// plot_views.h — the probe report's further pictures, each one inline <svg> element (no XML
// declaration, no script, no external file) for apps/html_report.cc:
//
//   RenderTailSvg       latency against percentile on a log scale of 1 / (1 - p) (p50, p90,
//                       p99, p99.9, ... as far as the count holds; HdrHistogram's view)
//   RenderHistogramSvg  how many replies fell in each latency bin (network RTT, RTT lighter)
//   RenderLossSvg       lost probes per time bin, as a share of the probes that bin decided
//   RenderClockSvg      one-way delays t2 - t1 and t4 - t3 over time (clocks synchronised),
//                       else the clock offset estimate over time; ICMP: a note why neither
//
// Time axes show UTC wall-clock time (the probes' t1 on the system clock). Every picture
// names what its figures rest on. Pure functions of their input: any thread. Cost: O(n log n)
// for n results (at most PlotSeries::kMaxPoints); each SVG a few tens of KiB.
//
// Sketch:
//   ProbeViewData v{.results = series.results(), .summary = summary};
//   std::string html = RenderTailSvg(v) + RenderHistogramSvg(v) + RenderLossSvg(v);
#pragma once

#include <span>
#include <string>

#include "ringstamp/engine/probe/probe_summary.h"

namespace ringstamp::app {

struct ProbeViewData {
  std::span<const ProbeResult> results;  // in the order reported
  ProbeSummary summary;
  // The legend names, with what the figures rest on (e.g. "network RTT (software stamps)").
  std::string rtt_name = "RTT";
  std::string network_rtt_name = "network RTT";
  int width = 960;  // px
  int height = 400;
};

std::string RenderTailSvg(const ProbeViewData& data);
std::string RenderHistogramSvg(const ProbeViewData& data);
std::string RenderLossSvg(const ProbeViewData& data);
std::string RenderClockSvg(const ProbeViewData& data);

// "12:00:05" (UTC) of a system-clock time in ns; with_date: "2026-12-05 12:00:05 UTC".
std::string FormatUtc(int64_t realtime_ns, bool with_date);

}  // namespace ringstamp::app
