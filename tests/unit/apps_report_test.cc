// Unit: the probe report's pictures (tail, histogram, loss, clock) and the HTML page.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "apps/html_report.h"
#include "apps/plot_views.h"

using namespace ringstamp;
using namespace ringstamp::app;

namespace {

bool Has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

constexpr int64_t kStart = 1'764'936'000'000'000'000;  // 2025-12-05 12:00:00 UTC

// n answered STAMP probes 10 ms apart, network RTT 20 µs + i ns, every tenth lost.
std::vector<ProbeResult> Results(size_t n, bool synchronised = false) {
  std::vector<ProbeResult> out;
  for (size_t i = 0; i < n; ++i) {
    ProbeResult r;
    r.seq = static_cast<uint32_t>(i);
    r.t1 = Stamp{kStart + static_cast<int64_t>(i) * 10'000'000, StampSource::kSoftware};
    if (i % 10 == 9) {
      r.status = ProbeStatus::kLost;
    } else {
      r.rtt_ns = 100'000 + static_cast<int64_t>(i);
      r.network_rtt_ns = 20'000 + static_cast<int64_t>(i);
      r.dwell_ns = 80'000;
      if (synchronised) {
        r.forward_ns = 9'000;
        r.reverse_ns = 11'000;
      } else {
        r.offset_ns = -1'000;
      }
    }
    out.push_back(r);
  }
  return out;
}

void CheckSvg(const std::string& svg) {
  CHECK(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
  CHECK(Has(svg, "</svg>\n"));
  CHECK_FALSE(Has(svg, "nan"));
  CHECK_FALSE(Has(svg, "inf\""));
  CHECK_FALSE(Has(svg, "<script"));
}

}  // namespace

TEST_CASE("report views: no results, one result and ICMP give a picture with a note") {
  ProbeViewData empty;
  for (const std::string& svg : {RenderTailSvg(empty), RenderHistogramSvg(empty),
                                 RenderLossSvg(empty), RenderClockSvg(empty)}) {
    CheckSvg(svg);
  }
  CHECK(Has(RenderTailSvg(empty), "fewer than 2 replies"));
  CHECK(Has(RenderLossSvg(empty), "no probe whose fate is known"));
  const std::vector<ProbeResult> one = Results(1);
  ProbeViewData d{.results = one};
  CheckSvg(RenderHistogramSvg(d));
  CHECK(Has(RenderHistogramSvg(d), "1 replies in 40 bins"));
  ProbeViewData icmp{.results = one};
  icmp.summary.mode = ProbeMode::kIcmpEcho;
  CHECK(Has(RenderClockSvg(icmp), "ICMP echo: no reflector stamps"));
}

TEST_CASE("report views: the tail marks only the percentiles the count holds") {
  const std::vector<ProbeResult> r150 = Results(150);  // 135 replies
  ProbeViewData d{.results = r150};
  const std::string tail = RenderTailSvg(d);
  CheckSvg(tail);
  CHECK(Has(tail, ">p50<"));
  CHECK(Has(tail, ">p99<"));
  CHECK_FALSE(Has(tail, ">p99.9<"));
  CHECK(Has(tail, "135 replies: percentiles up to p99"));
  const std::vector<ProbeResult> r2000 = Results(2000);
  d.results = r2000;
  CHECK(Has(RenderTailSvg(d), ">p99.9<"));
}

TEST_CASE("report views: a far outlier is counted above the histogram's range") {
  std::vector<ProbeResult> r = Results(200);
  for (size_t i = 0; i < r.size(); ++i) {
    if (r[i].network_rtt_ns) r[i].network_rtt_ns = 20'000 + static_cast<int64_t>(i) * 100;
  }
  r[5].network_rtt_ns = 50'000'000;  // 50 ms among 20..40 µs
  ProbeViewData d{.results = r};
  const std::string h = RenderHistogramSvg(d);
  CheckSvg(h);
  CHECK(Has(h, "; 1 above the range"));
  CHECK(Count(h, "<rect x=") > 5);
}

TEST_CASE("report views: loss per bin and the wall-clock time axis") {
  const std::vector<ProbeResult> r = Results(600);  // 6 s, 60 lost
  ProbeViewData d{.results = r};
  const std::string loss = RenderLossSvg(d);
  CheckSvg(loss);
  CHECK(Has(loss, "60 of 600 probes lost (10%)"));
  CHECK(Has(loss, "the run started 2025-12-05 12:00:00 UTC"));
  CHECK(Has(loss, ">12:00:01<"));  // ticks on round wall-clock seconds
  CHECK(FormatUtc(kStart, false) == "12:00:00");
}

TEST_CASE("report views: one-way delays only with synchronised clocks, else the offset") {
  const std::vector<ProbeResult> sync = Results(100, true);
  ProbeViewData d{.results = sync};
  d.summary.clocks_synchronised = true;
  const std::string one_way = RenderClockSvg(d);
  CheckSvg(one_way);
  CHECK(Has(one_way, "forward t2 - t1"));
  CHECK_FALSE(Has(one_way, "offset ((t2"));
  const std::vector<ProbeResult> free = Results(100, false);
  ProbeViewData o{.results = free};
  const std::string offset = RenderClockSvg(o);
  CHECK(Has(offset, "Clock offset over time"));
  CHECK(Has(offset, "no one-way delays"));
  CHECK_FALSE(Has(offset, "forward t2 - t1"));
}

TEST_CASE("report page: self-contained, escaped, every figure with what it rests on") {
  const std::vector<ProbeResult> r = Results(50);
  ProbeReportData d;
  d.title = "ringstamp probe → 10.0.0.2 <b>";
  d.origin.target = "10.0.0.2:862";
  d.origin.labels = {{"site", "<script>alert(1)</script>"}};
  d.origin.version = "9.9.9";
  d.summary.counters.sent = 50;
  d.summary.counters.received = 45;
  d.summary.counters.lost = 5;
  d.summary.network_rtt = {
      .count = 45, .min = 20'000, .max = 20'044, .mean = 20'022, .p50 = 20'022, .p90 = 20'040};
  d.summary.basis[static_cast<size_t>(ProbeFigure::kNetworkRtt)]
                 [static_cast<size_t>(StampSource::kSoftware)] = 43;
  d.summary.basis[static_cast<size_t>(ProbeFigure::kNetworkRtt)]
                 [static_cast<size_t>(StampSource::kEstimate)] = 2;
  d.results = r;
  const std::string html = RenderProbeReport(d);
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK_FALSE(Has(html, "<script"));
  CHECK(Has(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
  CHECK(Has(html, "10.0.0.2 &lt;b&gt;"));
  CHECK_FALSE(Has(html, "src=\""));  // nothing loaded from elsewhere
  CHECK_FALSE(Has(html, "href=\""));
  CHECK_FALSE(Has(html, "<?xml"));  // the inline SVG lost its declaration
  CHECK(Count(html, "<svg ") == 5);
  CHECK(Has(html, "software 43, estimate 2"));
  CHECK(Has(html, "<td class=\"na\">n/a</td>"));  // p99 of 45 samples
  CHECK(Has(html, "10 %"));                       // 5 lost of 50
  CHECK(Has(html, "What each figure rests on"));
  // Probes the relay refused are shown, and the loss is of those that left: 5 of 40.
  d.summary.counters.send_failures = 10;
  d.summary.counters.received = 35;
  const std::string refused = RenderProbeReport(d);
  CHECK(Has(refused, "<th>not sent</th>"));
  CHECK(Has(refused, "12.5 %"));
}
