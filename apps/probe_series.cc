#include "apps/probe_series.h"

#include "absl/strings/str_cat.h"
#include "apps/cli_parse.h"

namespace ringstamp::app {

void PlotSeries::Add(const ProbeResult& r) {
  if (seen_++ % stride_ != 0) return;
  if (kept_.size() >= max_points_) {
    // Keep every second point, and from now on every second of what the old stride kept.
    size_t out = 0;
    for (size_t k = 0; k < kept_.size(); k += 2) kept_[out++] = kept_[k];
    kept_.resize(out);
    stride_ *= 2;
    if ((seen_ - 1) % stride_ != 0) return;
  }
  kept_.push_back(r);
}

int64_t NextBoundary(int64_t now_ns, int64_t period_ns) {
  return (now_ns / period_ns + 1) * period_ns;
}

absl::StatusOr<int64_t> ParseReportEvery(std::string_view text) {
  if (text.empty()) return 0;
  auto ns = ParseDurationNs("--report-every", text);
  if (!ns.ok()) return ns.status();
  if (*ns < 100'000'000) {
    return absl::InvalidArgumentError(
        absl::StrCat("--report-every: '", std::string(text), "' is below 100ms; use e.g. 10s"));
  }
  return *ns;
}

}  // namespace ringstamp::app
