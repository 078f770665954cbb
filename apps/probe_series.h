// probe_series.h — what a probe client keeps for a run of any length: the probe results the
// plot is drawn from, bounded, and the reporting-window boundaries of --report-every.
//
// Sketch:
//   PlotSeries series;                 // at most kMaxPoints results, spread over the run
//   series.Add(result);                // from the thread that gets the results
//   DrawPlot(series.results());
//   int64_t next = NextBoundary(RealtimeNs(), 10'000'000'000);   // the next multiple of 10 s
//
// PlotSeries keeps every result until kMaxPoints, then every second one of those and of
// what comes, then every fourth, ...: a run of months keeps a plot of the whole run in a
// bounded few tens of MiB, its points evenly spread in sequence. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "ringstamp/engine/probe/probe_summary.h"

namespace ringstamp::app {

class PlotSeries {
 public:
  static constexpr size_t kMaxPoints = 100'000;

  explicit PlotSeries(size_t max_points = kMaxPoints) : max_points_(max_points) {}
  void Add(const ProbeResult& r);
  const std::vector<ProbeResult>& results() const { return kept_; }
  uint64_t stride() const { return stride_; }  // 1: every result kept

 private:
  size_t max_points_;
  uint64_t stride_ = 1;
  uint64_t seen_ = 0;
  std::vector<ProbeResult> kept_;
};

// The first multiple of period_ns after now_ns (windows aligned to the clock, so hosts
// reporting every 10 s report the same windows). period_ns > 0.
int64_t NextBoundary(int64_t now_ns, int64_t period_ns);

// --report-every: "" (0: off) or a duration of at least 100 ms.
absl::StatusOr<int64_t> ParseReportEvery(std::string_view text);

}  // namespace ringstamp::app
