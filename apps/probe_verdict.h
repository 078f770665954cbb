// probe_verdict.h — the probe client's exit status from its counters, the way ping decides
// (so scripts can branch on it):
//
// Sketch:
//   ProbeVerdict v = JudgeProbeRun(summary.counters, /*max_loss_pct=*/5);
//   if (v.code != 0) fprintf(stderr, "%s\n", v.why.c_str());
//   return v.code;
//
//   0  replies came, and the loss is not above --max-loss
//   1  nothing was answered (probes were sent), or the loss is above --max-loss
//      (loss = lost / probes whose fate is known: sent − in_flight − unanswered_at_stop;
//      a late reply counts as received, not lost)
// (2, a usage error, is decided before any probe is sent.) Pure; any thread.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "ringstamp/engine/probe/probe_summary.h"

namespace ringstamp::app {

struct ProbeVerdict {
  int code = 0;
  double loss_pct = 0;  // of the probes whose fate is known; 0 when none is
  std::string why;      // empty when code is 0
};

ProbeVerdict JudgeProbeRun(const ProbeCounters& c, double max_loss_pct);

// --max-loss: a percentage 0..100, with or without a trailing '%'.
absl::StatusOr<double> ParseMaxLoss(std::string_view text);

}  // namespace ringstamp::app
