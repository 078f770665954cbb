// html_report.h — `probe client --report FILE.html`: one self-contained page about a probe run
// (inline CSS and SVG only: no script, no font, no file or address outside it, so it opens
// offline and can be mailed): what ran (version, run id, host, interface, target, labels,
// start and end), the counters, a table of every figure with its percentiles and the stamp
// sources it rests on, the stamp sources of t1..t4, the pictures (svg_plot.h's RTT over time
// and CDF, plot_views.h's tail, histogram, loss over time, one-way delays or clock offset),
// and a section saying what each figure rests on.
//
// Pure functions of their input except WriteProbeReport: any thread. Cost: O(n log n) for the
// n results drawn (at most PlotSeries::kMaxPoints); the page is a few hundred KiB.
//
// Sketch:
//   ProbeReportData r{.title = "ringstamp probe → 10.0.0.2:862", .origin = CurrentJsonOrigin(),
//                     .summary = summary, .results = series.results(), .plot = plot_data};
//   RS_RETURN_IF_ERROR(WriteProbeReport("run.html", r));
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "apps/json_line.h"
#include "apps/svg_plot.h"
#include "ringstamp/engine/probe/probe_summary.h"

namespace ringstamp::app {

struct ProbeReportData {
  std::string title;
  JsonOrigin origin;     // version, run id, host, interface, labels, target
  int64_t start_ns = 0;  // system clock
  int64_t end_ns = 0;
  std::string settings;      // e.g. "interval 10ms, 100 probes, software stamps asked"
  std::string timestamping;  // the timestamping plan's note (what the NIC and kernel give)
  ProbeSummary summary;
  std::span<const ProbeResult> results;  // the plot series
  ProbePlotData plot;                    // the RTT-over-time / CDF picture
};

// The whole document, "<!DOCTYPE html>" first.
std::string RenderProbeReport(const ProbeReportData& data);

// Renders and writes `path` (created or truncated); errors as WriteProbeSvg's.
absl::Status WriteProbeReport(std::string_view path, const ProbeReportData& data);

}  // namespace ringstamp::app
