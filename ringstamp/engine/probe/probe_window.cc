#include "ringstamp/engine/probe/probe_window.h"

#include <optional>

namespace ringstamp {

namespace {

std::array<LatencyStats, kProbeFigureCount> MakeFigures(size_t max_exact) {
  return {LatencyStats(max_exact), LatencyStats(max_exact), LatencyStats(max_exact),
          LatencyStats(max_exact), LatencyStats(max_exact), LatencyStats(max_exact)};
}

const std::optional<int64_t>& FigureOf(const ProbeResult& r, ProbeFigure f) {
  switch (f) {
    case ProbeFigure::kRtt:
      return r.rtt_ns;
    case ProbeFigure::kNetworkRtt:
      return r.network_rtt_ns;
    case ProbeFigure::kDwell:
      return r.dwell_ns;
    case ProbeFigure::kForward:
      return r.forward_ns;
    case ProbeFigure::kReverse:
      return r.reverse_ns;
    case ProbeFigure::kOffset:
      break;
  }
  return r.offset_ns;
}

}  // namespace

ProbeWindow::ProbeWindow(int64_t start_ns, size_t max_exact_samples)
    : start_ns_(start_ns), figures_(MakeFigures(max_exact_samples)), user_rtt_(max_exact_samples) {}

void ProbeWindow::Add(const ProbeResult& r) {
  switch (r.status) {
    case ProbeStatus::kOk:
      ++counts_.ok;
      break;
    case ProbeStatus::kLate:
      ++counts_.late;
      break;
    case ProbeStatus::kLost:
      ++counts_.lost;
      return;
    case ProbeStatus::kDuplicate:
      ++counts_.duplicated;
      return;  // not in the statistics, as in the session's summary
    case ProbeStatus::kUnanswered:
      ++counts_.unanswered;
      return;
  }
  if (r.reordered) ++counts_.reordered;
  for (size_t f = 0; f < kProbeFigureCount; ++f) {
    const std::optional<int64_t>& v = FigureOf(r, static_cast<ProbeFigure>(f));
    if (!v) continue;
    figures_[f].Add(*v);
    if (r.basis[f]) {
      const size_t i = static_cast<size_t>(*r.basis[f]);
      ++counts_.basis[f][i < kStampSourceCount ? i : static_cast<size_t>(StampSource::kUserspace)];
    }
  }
  if (r.user_rtt_ns) user_rtt_.Add(*r.user_rtt_ns);
}

bool ProbeWindow::empty() const {
  return counts_.ok + counts_.late + counts_.lost + counts_.duplicated + counts_.unanswered == 0;
}

ProbeWindowSummary ProbeWindow::Close(int64_t end_ns) {
  ProbeWindowSummary out = counts_;
  out.start_ns = start_ns_;
  out.end_ns = end_ns;
  const uint64_t known = out.ok + out.late + out.lost;
  out.loss_pct = known > 0 ? 100.0 * static_cast<double>(out.lost) / static_cast<double>(known) : 0;
  for (size_t f = 0; f < kProbeFigureCount; ++f) {
    out.figures[f] = figures_[f].Summarize();
    figures_[f].Clear();
  }
  out.user_rtt = user_rtt_.Summarize();
  user_rtt_.Clear();
  counts_ = ProbeWindowSummary{};
  start_ns_ = end_ns;
  return out;
}

}  // namespace ringstamp
