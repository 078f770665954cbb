// Unit: ProbeWindow (one --report-every window of results) and the client's bounded plot
// series and window boundaries.
#include <doctest/doctest.h>

#include "apps/probe_series.h"
#include "ringstamp/engine/probe/probe_window.h"

using namespace ringstamp;
using namespace ringstamp::app;

namespace {

ProbeResult Answered(uint32_t seq, int64_t rtt, StampSource basis = StampSource::kSoftware) {
  ProbeResult r;
  r.seq = seq;
  r.rtt_ns = rtt;
  r.network_rtt_ns = rtt - 10;
  r.basis[static_cast<size_t>(ProbeFigure::kRtt)] = basis;
  r.basis[static_cast<size_t>(ProbeFigure::kNetworkRtt)] = basis;
  return r;
}

ProbeResult WithStatus(uint32_t seq, ProbeStatus s) {
  ProbeResult r;
  r.seq = seq;
  r.status = s;
  return r;
}

}  // namespace

TEST_CASE("probe window: counts by status, loss over known fates, figures and their basis") {
  ProbeWindow w(1000);
  w.Add(Answered(0, 100));
  w.Add(Answered(1, 300, StampSource::kEstimate));
  ProbeResult late = Answered(2, 5000);
  late.status = ProbeStatus::kLate;
  late.reordered = true;
  w.Add(late);
  w.Add(WithStatus(3, ProbeStatus::kLost));
  ProbeResult dup = Answered(1, 900);
  dup.status = ProbeStatus::kDuplicate;
  w.Add(dup);                                      // counted, but not in the figures
  w.Add(WithStatus(4, ProbeStatus::kUnanswered));  // not a loss
  const ProbeWindowSummary s = w.Close(2000);
  CHECK(s.start_ns == 1000);
  CHECK(s.end_ns == 2000);
  CHECK(s.ok == 2);
  CHECK(s.late == 1);
  CHECK(s.lost == 1);
  CHECK(s.duplicated == 1);
  CHECK(s.unanswered == 1);
  CHECK(s.reordered == 1);
  CHECK(s.loss_pct == doctest::Approx(25.0));  // 1 lost of 4 known
  const LatencySummary& rtt = s.figures[static_cast<size_t>(ProbeFigure::kRtt)];
  CHECK(rtt.count == 3);
  CHECK(rtt.min == 100);
  CHECK(rtt.max == 5000);
  CHECK(s.figures[static_cast<size_t>(ProbeFigure::kDwell)].count == 0);
  const auto& basis = s.basis[static_cast<size_t>(ProbeFigure::kRtt)];
  CHECK(basis[static_cast<size_t>(StampSource::kSoftware)] == 2);
  CHECK(basis[static_cast<size_t>(StampSource::kEstimate)] == 1);
}

TEST_CASE("probe window: closing starts the next window empty at the end time") {
  ProbeWindow w(0);
  CHECK(w.empty());
  w.Add(Answered(0, 100));
  CHECK_FALSE(w.empty());
  (void)w.Close(10);
  CHECK(w.empty());
  CHECK(w.start_ns() == 10);
  const ProbeWindowSummary next = w.Close(20);
  CHECK(next.start_ns == 10);
  CHECK(next.ok == 0);
  CHECK(next.loss_pct == 0);
  CHECK(next.figures[0].count == 0);
}

TEST_CASE("probe window: a long window switches to the histogram and stays bounded") {
  ProbeWindow w(0, /*max_exact_samples=*/64);
  for (uint32_t k = 0; k < 10'000; ++k) w.Add(Answered(k, 1000 + k));
  const ProbeWindowSummary s = w.Close(1);
  const LatencySummary& rtt = s.figures[0];
  CHECK(rtt.count == 10'000);
  CHECK_FALSE(rtt.exact);
  CHECK(rtt.p50 == doctest::Approx(6000).epsilon(0.01));
}

TEST_CASE("plot series: every result until full, then an even spread of the whole run") {
  for (size_t max_points : {8, 7}) {  // odd: the result that overflows falls between points
    CAPTURE(max_points);
    PlotSeries series(max_points);
    for (uint32_t k = 0; k < max_points; ++k) series.Add(Answered(k, k));
    CHECK(series.results().size() == max_points);
    CHECK(series.stride() == 1);
    for (uint32_t k = static_cast<uint32_t>(max_points); k < 1000; ++k) series.Add(Answered(k, k));
    CHECK(series.results().size() <= max_points);
    CHECK(series.results().size() >= max_points / 2);
    const uint64_t stride = series.stride();
    CHECK(stride >= 1000 / max_points);
    // Exactly the results 0, stride, 2 × stride, ... up to the last: an even spread.
    CHECK(series.results().size() == 999 / stride + 1);
    for (size_t i = 0; i < series.results().size(); ++i) {
      CHECK(series.results()[i].seq == i * stride);
    }
  }
}

TEST_CASE("report windows: boundaries are multiples of the period, --report-every >= 100ms") {
  CHECK(NextBoundary(0, 10) == 10);
  CHECK(NextBoundary(9, 10) == 10);
  CHECK(NextBoundary(10, 10) == 20);
  CHECK(NextBoundary(1'796'473'101'400'000'000, 1'000'000'000) == 1'796'473'102'000'000'000);
  CHECK(*ParseReportEvery("") == 0);
  CHECK(*ParseReportEvery("10s") == 10'000'000'000);
  CHECK(*ParseReportEvery("0.5") == 500'000'000);
  for (const char* bad : {"50ms", "0", "x", "-1s"}) {
    CAPTURE(bad);
    auto r = ParseReportEvery(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(std::string(r.status().message()).find("--report-every") != std::string::npos);
  }
}
