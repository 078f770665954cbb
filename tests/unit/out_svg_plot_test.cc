// The probe plot: well-formed XML (parsed by Python's minidom), percentile
// labels, sane units and ticks, and no NaN/inf for 0, 1 and all-lost runs.
//
// apps/ is not a library: the plot's source is compiled into this test.

#include <doctest/doctest.h>
#include <fcntl.h>
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "apps/svg_plot.h"
#include "ringstamp/common/clock.h"
#include "ringstamp/common/errno_status.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>

#include "tests/support/netns_testbed.h"

using namespace ringstamp;
using namespace ringstamp::app;
using ringstamp::testing::RunHost;

namespace {

std::string TempSvg(const std::string& name) {
  return "/tmp/rs_out_" + std::to_string(getpid()) + "_" + name + ".svg";
}

// Parses the document with Python's minidom; "" when well-formed, else the error.
std::string XmlError(const std::string& doc, const std::string& name) {
  const std::string path = TempSvg(name);
  {
    std::ofstream out(path, std::ios::binary);
    out << doc;
  }
  auto r = RunHost(
      "/usr/bin/python3 -c 'import sys, xml.dom.minidom; "
      "d = xml.dom.minidom.parse(sys.argv[1]); "
      "assert d.documentElement.tagName == \"svg\"' " +
      path);
  unlink(path.c_str());
  return r.exit_code == 0 ? "" : r.output;
}

bool HasNonFinite(const std::string& doc) {
  std::string lower(doc);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower.find("nan") != std::string::npos || lower.find("inf") != std::string::npos;
}

ProbePlotData Run(size_t n, uint64_t seed, double loss, double outlier_rate) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> body(std::log(25'000.0), 0.25);
  std::uniform_real_distribution<double> u(0, 1);
  ProbePlotData d;
  d.title = "ringstamp probe 10.0.0.1 \xe2\x86\x92 10.0.0.2";
  d.subtitle = "software stamps";
  LatencyStats rtt, net;
  for (size_t i = 0; i < n; ++i) {
    ProbePlotPoint p;
    p.time_ns = 1'700'000'000'000'000'000 + static_cast<int64_t>(i) * 10'000'000;  // 100/s
    p.lost = u(rng) < loss;
    int64_t v = static_cast<int64_t>(body(rng));
    if (u(rng) < outlier_rate) v *= 50;
    p.rtt_ns = v + 3000;
    p.network_rtt_ns = v;
    if (!p.lost) {
      rtt.Add(p.rtt_ns);
      net.Add(v);
    }
    d.points.push_back(p);
  }
  d.rtt = rtt.Summarize();
  d.network_rtt = net.Summarize();
  return d;
}

void CheckDocument(const std::string& doc, const std::string& name) {
  CHECK(doc.rfind("<?xml", 0) == 0);
  CHECK_MESSAGE(XmlError(doc, name).empty(), XmlError(doc, name));
  CHECK_FALSE(HasNonFinite(doc));
  CHECK(doc.find("<script") == std::string::npos);
}

// The "M x y" points of the first path drawn in `color`.
std::vector<std::pair<double, double>> PathPoints(const std::string& doc,
                                                  const std::string& color) {
  std::vector<std::pair<double, double>> out;
  const size_t stroke = doc.find("stroke=\"" + color + "\"");
  if (stroke == std::string::npos) return out;
  const size_t start = doc.rfind("<path d=\"", stroke);
  if (start == std::string::npos) return out;
  const size_t end = doc.find('"', start + 9);
  const std::string d = doc.substr(start + 9, end - start - 9);
  for (size_t at = d.find('M'); at != std::string::npos; at = d.find('M', at + 1)) {
    double x = 0, y = 0;
    if (std::sscanf(d.c_str() + at + 1, "%lf %lf", &x, &y) == 2) out.emplace_back(x, y);
  }
  return out;
}

}  // namespace

TEST_CASE("svg plot: nice axes cover the range with 1-2-5 steps") {
  const NiceAxis a = MakeNiceAxis(0, 9.3, 6);
  CHECK(a.step == doctest::Approx(2));
  CHECK(a.lo == 0);
  CHECK(a.hi == doctest::Approx(10));
  CHECK(a.ticks.size() == 6);
  CHECK(a.decimals == 0);
  for (auto [lo, hi] : std::vector<std::pair<double, double>>{
           {0.013, 0.087}, {-3.2, 47.9}, {22.1, 31.7}, {1e-9, 3e-9}, {123456, 987654}}) {
    const NiceAxis b = MakeNiceAxis(lo, hi, 6);
    CHECK(b.lo <= lo);
    CHECK(b.hi >= hi);
    CHECK(b.ticks.size() >= 3);
    CHECK(b.ticks.size() <= 13);
    const double mant = b.step / std::pow(10.0, std::floor(std::log10(b.step) + 1e-9));
    CHECK_MESSAGE(
        (std::abs(mant - 1) < 1e-6 || std::abs(mant - 2) < 1e-6 || std::abs(mant - 5) < 1e-6),
        "step ", b.step);
  }
  const NiceAxis flat = MakeNiceAxis(5, 5);
  CHECK(flat.lo < 5);
  CHECK(flat.hi > 5);
  const NiceAxis bad = MakeNiceAxis(NAN, INFINITY);
  CHECK(std::isfinite(bad.lo));
  CHECK(std::isfinite(bad.hi));
  CHECK(bad.hi > bad.lo);
  CHECK(MakeNiceAxis(0.013, 0.087).decimals == 2);
}

TEST_CASE("svg plot: durations pick their unit and keep three digits") {
  CHECK(FormatDurationNs(950) == "950 ns");
  CHECK(FormatDurationNs(12'345) == "12.3 \xc2\xb5s");
  CHECK(FormatDurationNs(1'250'000) == "1.25 ms");
  CHECK(FormatDurationNs(3e9) == "3.00 s");
  CHECK(FormatDurationNs(999'960) == "1.00 ms");
  CHECK(FormatDurationNs(-25'000) == "-25.0 \xc2\xb5s");
  CHECK(FormatDurationNs(0) == "0 ns");
  CHECK(std::string(PickTimeUnit(5e5).name) == "\xc2\xb5s");
  CHECK(std::string(PickTimeUnit(5e7).name) == "ms");
}

TEST_CASE("svg plot: a normal run is well-formed and labels its percentiles") {
  ProbePlotData d = Run(1100, 1, 0.01, 0.0);  // over 1,000 replies: p99.9 is a percentile
  REQUIRE(d.network_rtt.count >= 1000);
  const std::string doc = RenderProbeSvg(d);
  CheckDocument(doc, "normal");
  for (const char* label : {">p50 ", ">p90 ", ">p99 ", ">p99.9 "}) {
    CHECK_MESSAGE(doc.find(label) != std::string::npos, label);
  }
  CHECK(doc.find(FormatDurationNs(static_cast<double>(d.network_rtt.p99))) != std::string::npos);
  CHECK(doc.find("RTT (\xc2\xb5s)") != std::string::npos);
  CHECK(doc.find("time since the first probe (s)") != std::string::npos);
  d.origin_realtime_ns = 1'796'400'000'000'000'000;  // 2026-12-04 16:00:00 UTC
  CHECK(RenderProbeSvg(d).find("time since 2026-12-04 16:00:00 UTC (s)") != std::string::npos);
  CHECK(doc.find("network RTT") != std::string::npos);
  CHECK(doc.find("lost (") != std::string::npos);
  CHECK(doc.find("1100 probes") != std::string::npos);
  CHECK(doc.find("above range") == std::string::npos);
  // One dot per reply, spread over the whole time axis (x 80..930) inside the panel.
  const auto dots = PathPoints(doc, "#1f77b4");
  CHECK(dots.size() == d.rtt.count);
  double min_x = 1e9, max_x = 0, min_y = 1e9, max_y = 0;
  for (auto [x, y] : dots) {
    min_x = std::min(min_x, x);
    max_x = std::max(max_x, x);
    min_y = std::min(min_y, y);
    max_y = std::max(max_y, y);
  }
  CHECK(min_x < 90);
  CHECK(max_x > 920);
  CHECK(max_x <= 931);
  CHECK(min_y >= 75);
  CHECK(max_y <= 75 + (720 - 75 - 45 - 70) / 2.0);
}

TEST_CASE("svg plot: outliers are clipped to the top edge and counted") {
  ProbePlotData d = Run(5000, 2, 0.0, 0.0);  // 3 outliers: under 0.1 % of the values
  for (int k : {100, 900, 4500}) {
    d.points[k].rtt_ns = 40'000'000;  // 40 ms among ~25 µs
    d.points[k].network_rtt_ns = 39'990'000;
  }
  const std::string doc = RenderProbeSvg(d);
  CheckDocument(doc, "outliers");
  CHECK(doc.find("3 above range (max 40.0 ms)") != std::string::npos);
}

TEST_CASE("svg plot: 0 probes, 1 probe and all-lost give valid pictures") {
  ProbePlotData empty;
  const std::string e = RenderProbeSvg(empty);
  CheckDocument(e, "empty");
  CHECK(e.find("no probes") != std::string::npos);

  ProbePlotData one;
  one.points.push_back({.time_ns = 5, .rtt_ns = 31'000, .network_rtt_ns = 30'000, .lost = false});
  LatencyStats s;
  s.Add(30'000);
  one.network_rtt = s.Summarize();
  const std::string o = RenderProbeSvg(one);
  CheckDocument(o, "one");
  CHECK(o.find(">p50 30.0 \xc2\xb5s<") != std::string::npos);
  CHECK(o.find(">p99.9 ") == std::string::npos);  // one value holds no p99.9

  ProbePlotData lost;
  for (int i = 0; i < 10; ++i) {
    lost.points.push_back({.time_ns = i * 1'000'000'000LL, .rtt_ns = 0, .lost = true});
  }
  const std::string l = RenderProbeSvg(lost);
  CheckDocument(l, "all_lost");
  CHECK(l.find("no replies (10 lost)") != std::string::npos);
  CHECK(l.find("lost (10)") != std::string::npos);

  ProbePlotData rtt_only;  // no network RTT: marks come from the RTT summary
  rtt_only.points.push_back({.time_ns = 0, .rtt_ns = 1'000, .lost = false});
  rtt_only.points.push_back({.time_ns = 1, .rtt_ns = 1'000, .lost = false});
  LatencyStats r;
  r.Add(1'000);
  r.Add(1'000);
  rtt_only.rtt = r.Summarize();
  CheckDocument(RenderProbeSvg(rtt_only), "rtt_only");
}

TEST_CASE("svg plot: many probes stay small, and text is escaped") {
  ProbePlotData d = Run(50'000, 3, 0.001, 0.0005);
  d.title = "a <b> & \"c\" 'd'";
  const std::string doc = RenderProbeSvg(d, {.width = 1200, .height = 800});
  CheckDocument(doc, "many");
  CHECK(doc.size() < 400'000);
  CHECK(doc.find("a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos;") != std::string::npos);
}

TEST_CASE("svg plot: WriteProbeSvg writes the file or names the failure") {
  const std::string path = TempSvg("written");
  REQUIRE(WriteProbeSvg(path, Run(10, 4, 0, 0)).ok());
  std::ifstream in(path);
  std::string first;
  std::getline(in, first);
  CHECK(first.rfind("<?xml", 0) == 0);
  unlink(path.c_str());
  absl::Status st = WriteProbeSvg("/nonexistent-rs-dir/p.svg", ProbePlotData{});
  REQUIRE_FALSE(st.ok());
  CHECK(std::string(st.message()).find("/nonexistent-rs-dir/p.svg") != std::string::npos);
}

namespace {

// The x of the <text> element whose content starts with `label`.
double TextX(const std::string& doc, const std::string& label) {
  const size_t at = doc.find(">" + label);
  if (at == std::string::npos) return -1;
  const size_t x = doc.rfind("<text x=\"", at);
  return x == std::string::npos ? -1 : std::atof(doc.c_str() + x + 9);
}

}  // namespace

TEST_CASE("svg plot: one slow RTT does not squeeze the network RTT's percentiles (300 probes)") {
  ProbePlotData d = Run(300, 3, 0.0, 0.0);
  d.points[150].rtt_ns = 2'500'000;  // one 2.5 ms RTT; its network RTT stays ~25 µs
  LatencyStats rtt;
  for (const ProbePlotPoint& p : d.points) rtt.Add(p.rtt_ns);
  d.rtt = rtt.Summarize();
  const std::string doc = RenderProbeSvg(d);
  CheckDocument(doc, "slow_rtt");
  // Only the percentiles 300 values hold, and they spread over the CDF panel (x 80..930),
  // not crowded into its first few per cent as when the axis ran to 2.5 ms.
  CHECK(doc.find(">p99.9 ") == std::string::npos);
  const double p50 = TextX(doc, "p50 "), p99 = TextX(doc, "p99 ");
  REQUIRE(p50 > 0);
  REQUIRE(p99 > 0);
  CHECK(p99 - p50 > 0.2 * (930 - 80));
  CHECK(p50 > 80 + 0.1 * (930 - 80));
}

TEST_CASE("svg plot: outliers are clipped below 1,000 replies too, against p99") {
  ProbePlotData d = Run(300, 4, 0.0, 0.0);
  d.points[10].rtt_ns = 30'000'000;
  d.points[10].network_rtt_ns = 29'990'000;
  LatencyStats rtt, net;
  for (const ProbePlotPoint& p : d.points) {
    rtt.Add(p.rtt_ns);
    net.Add(*p.network_rtt_ns);
  }
  d.rtt = rtt.Summarize();
  d.network_rtt = net.Summarize();
  const std::string doc = RenderProbeSvg(d);
  CheckDocument(doc, "clip_300");
  CHECK(doc.find("1 above range (max 30.0 ms)") != std::string::npos);
}
