// probe_window.h — ProbeWindow: the probe results of one reporting interval, for tools that
// run a probe session for months and report every few seconds (`probe client --report-every`).
//
// Sketch:
//   ProbeWindow window(RealtimeNs());
//   client->Run([&](const ProbeResult& r) {
//     window.Add(r);
//     if (RealtimeNs() >= next_report) Print(window.Close(next_report));  // and starts anew
//   }, &stop);
//
// A result belongs to the window in which the session reported it (a probe sent just before
// a boundary and answered after it counts in the later window). Each window keeps its own
// distributions (exact up to `max_exact_samples` per figure, then the ≤ 0.2 % histogram of
// LatencyStats), so memory stays bounded however long the run: a few hundred KiB per figure
// at most. Not thread-safe: one thread adds and closes (the one the session reports on).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "ringstamp/engine/probe/latency_stats.h"
#include "ringstamp/engine/probe/probe_summary.h"

namespace ringstamp {

struct ProbeWindowSummary {
  int64_t start_ns = 0;  // system clock, the window is [start_ns, end_ns)
  int64_t end_ns = 0;
  uint64_t ok = 0;  // results by status reported in the window
  uint64_t late = 0;
  uint64_t lost = 0;
  uint64_t duplicated = 0;
  uint64_t unanswered = 0;
  uint64_t reordered = 0;
  // lost / (ok + late + lost): the probes whose fate became known in the window; 0 when none.
  double loss_pct = 0;
  // Indexed by ProbeFigure; figures a mode does not have stay empty (count 0).
  std::array<LatencySummary, kProbeFigureCount> figures{};
  // basis[f][s]: answered probes whose figure f rests on StampSource s.
  std::array<std::array<uint64_t, kStampSourceCount>, kProbeFigureCount> basis{};
  LatencySummary user_rtt;

  uint64_t answered() const { return ok + late; }
};

class ProbeWindow {
 public:
  static constexpr size_t kDefaultMaxExactSamples = size_t{1} << 16;

  explicit ProbeWindow(int64_t start_ns, size_t max_exact_samples = kDefaultMaxExactSamples);

  void Add(const ProbeResult& r);
  // The window [start, end_ns) as it stands; the next window starts at end_ns, empty.
  ProbeWindowSummary Close(int64_t end_ns);
  int64_t start_ns() const { return start_ns_; }
  bool empty() const;

 private:
  int64_t start_ns_;
  ProbeWindowSummary counts_;
  std::array<LatencyStats, kProbeFigureCount> figures_;
  LatencyStats user_rtt_;
};

}  // namespace ringstamp
