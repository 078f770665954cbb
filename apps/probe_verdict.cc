#include "apps/probe_verdict.h"

#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "ringstamp/common/absl_compat.h"

namespace ringstamp::app {

ProbeVerdict JudgeProbeRun(const ProbeCounters& c, double max_loss_pct) {
  ProbeVerdict v;
  // Probes the relay refused never reached the network: not loss, but not a measurement either.
  const uint64_t known = c.Settled();
  v.loss_pct = known > 0 ? 100.0 * static_cast<double>(c.lost) / static_cast<double>(known) : 0;
  const double unsent_pct =
      c.sent > 0 ? 100.0 * static_cast<double>(c.send_failures) / static_cast<double>(c.sent) : 0;
  if (c.sent > c.send_failures && c.received + c.late == 0) {
    v.code = 1;
    v.why = absl::StrFormat("no reply to any of %d probes", c.sent - c.send_failures);
  } else if (v.loss_pct > max_loss_pct) {
    v.code = 1;
    v.why = absl::StrFormat("loss %.3g%% (%d of %d probes) is above --max-loss %.3g%%", v.loss_pct,
                            c.lost, known, max_loss_pct);
  } else if (unsent_pct > max_loss_pct) {
    v.code = 1;
    v.why = absl::StrFormat(
        "%d of %d probes (%.3g%%) could not be sent, above --max-loss %.3g%%: the relay refused "
        "them (its TX ring full, or the neighbour unresolved; see the relay's TX counters)",
        c.send_failures, c.sent, unsent_pct, max_loss_pct);
  }
  return v;
}

absl::StatusOr<double> ParseMaxLoss(std::string_view text) {
  std::string s(text);
  if (!s.empty() && s.back() == '%') s.pop_back();
  double v = 0;
  if (!absl::SimpleAtod(s, &v) || !std::isfinite(v) || v < 0 || v > 100) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "--max-loss: '%s' is not a percentage from 0 to 100 (e.g. 5 or 0.1%%)", ToAbsl(text)));
  }
  return v;
}

}  // namespace ringstamp::app
