// Unit: the /metrics text (OpenMetrics and Prometheus text format), the latency histogram's
// buckets, --metrics addresses, and what ProbeMetrics makes of probe results.
#include <doctest/doctest.h>

#include <string>

#include "apps/metrics_server.h"
#include "apps/metrics_text.h"
#include "apps/probe_metrics.h"

using namespace ringstamp;
using namespace ringstamp::app;

namespace {
bool Has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}
}  // namespace

TEST_CASE("metrics: the Accept header picks the format") {
  CHECK(NegotiateMetricsFormat("application/openmetrics-text;version=1.0.0,text/plain;q=0.5") ==
        MetricsFormat::kOpenMetrics);
  CHECK(NegotiateMetricsFormat("Application/OpenMetrics-Text") == MetricsFormat::kOpenMetrics);
  CHECK(NegotiateMetricsFormat("text/plain") == MetricsFormat::kPrometheus);
  CHECK(NegotiateMetricsFormat("") == MetricsFormat::kPrometheus);
  CHECK(MetricsContentType(MetricsFormat::kOpenMetrics).find("application/openmetrics-text") == 0);
  CHECK(MetricsContentType(MetricsFormat::kPrometheus) ==
        "text/plain; version=0.0.4; charset=utf-8");
}

TEST_CASE("metrics: label values and numbers as the formats write them") {
  CHECK(EscapeLabelValue("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
  CHECK(EscapeLabelValue("[fd00::1]:862") == "[fd00::1]:862");
  CHECK(MetricNumber(0) == "0");
  CHECK(MetricNumber(12) == "12");
  CHECK(MetricNumber(1e-6) == "1e-06");
  CHECK(MetricNumber(0.0002) == "0.0002");
  CHECK(MetricNumber(0.1 + 0.2) == "0.30000000000000004");  // reads back to the same double
  CHECK(MetricNumber(1.0 / 0.0) == "+Inf");
}

TEST_CASE("metrics: a latency lands in the first bucket whose bound holds it") {
  LatencyHistogram h;
  h.Add(1'000);           // exactly 1 µs: le="1e-06"
  h.Add(1'001);           // just above: le="2e-06"
  h.Add(150'000);         // 150 µs: le="0.0002"
  h.Add(-5);              // clocks that disagree: first bucket, nothing added to the sum
  h.Add(20'000'000'000);  // 20 s: only +Inf
  CHECK(h.counts()[0] == 2);
  CHECK(h.counts()[1] == 1);
  CHECK(h.counts()[7] == 1);
  CHECK(h.counts().back() == 1);
  CHECK(h.count() == 5);
  CHECK(h.sum_seconds() == doctest::Approx(20.000152001));
}

TEST_CASE("metrics: a counter and a histogram in both formats") {
  LatencyHistogram h;
  h.Add(3'000);
  h.Add(700'000);
  for (MetricsFormat f : {MetricsFormat::kOpenMetrics, MetricsFormat::kPrometheus}) {
    const bool om = f == MetricsFormat::kOpenMetrics;
    CAPTURE(om);
    MetricsText t(f);
    t.Family("x_probes", MetricType::kCounter, "probes\nsent \\ counted");
    t.Value({{"target", "a\"b"}}, 7);
    t.Family("x_rtt_seconds", MetricType::kHistogram, "rtt", "seconds");
    t.Histogram({{"target", "t"}}, h);
    const std::string text = t.Finish();
    // A counter's family: x in OpenMetrics, x_total in the text format; samples x_total.
    CHECK(Has(text, om ? "# TYPE x_probes counter\n" : "# TYPE x_probes_total counter\n"));
    CHECK(Has(text, om ? "# HELP x_probes probes\\nsent \\\\ counted\n"
                       : "# HELP x_probes_total probes\\nsent \\\\ counted\n"));
    CHECK(Has(text, "x_probes_total{target=\"a\\\"b\"} 7\n"));
    CHECK(Has(text, "# UNIT x_rtt_seconds seconds\n") == om);
    // Cumulative buckets, +Inf, sum, count.
    CHECK(Has(text, "x_rtt_seconds_bucket{target=\"t\",le=\"2e-06\"} 0\n"));
    CHECK(Has(text, "x_rtt_seconds_bucket{target=\"t\",le=\"5e-06\"} 1\n"));
    CHECK(Has(text, "x_rtt_seconds_bucket{target=\"t\",le=\"0.0005\"} 1\n"));
    CHECK(Has(text, "x_rtt_seconds_bucket{target=\"t\",le=\"0.001\"} 2\n"));
    CHECK(Has(text, "x_rtt_seconds_bucket{target=\"t\",le=\"+Inf\"} 2\n"));
    CHECK(Has(text, "x_rtt_seconds_sum{target=\"t\"} 0.000703\n"));
    CHECK(Has(text, "x_rtt_seconds_count{target=\"t\"} 2\n"));
    CHECK((text.size() >= 6 && text.substr(text.size() - 6) == "# EOF\n") == om);
  }
}

TEST_CASE("metrics: --metrics addresses") {
  auto v4 = ParseMetricsAddress("127.0.0.1:9862");
  REQUIRE(v4.ok());
  CHECK(v4->addr.ss_family == AF_INET);
  auto v6 = ParseMetricsAddress("[::1]:9862");
  REQUIRE(v6.ok());
  CHECK(v6->addr.ss_family == AF_INET6);
  auto any = ParseMetricsAddress(":9862");
  REQUIRE(any.ok());
  CHECK(any->addr.ss_family == AF_INET6);  // dual stack: IPv4 too
  for (const char* bad : {"9862", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", "::1:9862",
                          "[::1]9862", "localhost:9862", "127.0.0.1:x"}) {
    CAPTURE(bad);
    auto r = ParseMetricsAddress(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(Has(std::string(r.status().message()), "give ADDR:PORT"));
  }
}

TEST_CASE("metrics: ProbeMetrics turns results and counters into series per target") {
  ProbeMetrics m({{"interface", "eth1"}, {"site", "lab"}}, "9.9.9");
  m.AddTarget("10.0.0.2:862", {{"target", "10.0.0.2:862"}, {"site", "fra"}});
  m.AddTarget("10.0.0.3:862", {{"target", "10.0.0.3:862"}});
  ProbeResult r;
  r.status = ProbeStatus::kOk;
  r.rtt_ns = 120'000;
  r.network_rtt_ns = 40'000;
  r.dwell_ns = 80'000;
  r.offset_ns = -2'500;
  r.basis[static_cast<size_t>(ProbeFigure::kRtt)] = StampSource::kSoftware;
  r.basis[static_cast<size_t>(ProbeFigure::kNetworkRtt)] = StampSource::kEstimate;
  m.Observe("10.0.0.2:862", r);
  ProbeResult lost;
  lost.status = ProbeStatus::kLost;
  m.Observe("10.0.0.3:862", lost);  // no figure, no basis
  ProbeCounters c;
  c.sent = 10;
  c.received = 9;
  c.lost = 1;
  m.SetCounters("10.0.0.3:862", c);
  const std::string text = m.Render(MetricsFormat::kPrometheus);
  const std::string a = "interface=\"eth1\",site=\"fra\",target=\"10.0.0.2:862\"";
  const std::string b = "interface=\"eth1\",site=\"lab\",target=\"10.0.0.3:862\"";
  CHECK(Has(text, "ringstamp_build_info{interface=\"eth1\",site=\"lab\",version=\"9.9.9\"} 1\n"));
  CHECK(Has(text, "ringstamp_probe_rtt_seconds_count{" + a + "} 1\n"));
  CHECK(Has(text, "ringstamp_probe_rtt_seconds_count{" + b + "} 0\n"));
  CHECK(Has(text, "ringstamp_probe_dwell_seconds_bucket{" + a + ",le=\"0.0001\"} 1\n"));
  CHECK_FALSE(Has(text, "ringstamp_probe_forward_delay_seconds"));  // never observed
  CHECK(Has(text, "ringstamp_probe_figure_basis_total{" + a +
                      ",figure=\"network_rtt\",source=\"estimate\"} 1\n"));
  CHECK(Has(text, "ringstamp_probe_sent_total{" + b + "} 10\n"));
  CHECK(Has(text, "# TYPE ringstamp_probe_lost gauge\n"));
  CHECK(Has(text, "ringstamp_probe_lost{" + b + "} 1\n"));
  CHECK(Has(text, "ringstamp_probe_clock_offset_seconds{" + a + "} -2.5e-06\n"));
  m.RemoveTarget("10.0.0.2:862");
  CHECK_FALSE(Has(m.Render(MetricsFormat::kPrometheus), "10.0.0.2:862"));
}

TEST_CASE("metrics: the reflector's series and its t3 error quantiles, signed") {
  ProbeMetrics m({{"interface", "eth1"}}, "9.9.9");
  ReflectorSummary s;
  s.reflected = 1000;
  s.sessions = 2;
  s.t2_sources[static_cast<size_t>(StampSource::kSoftware)] = 1000;
  // Centred on the real t3 by the learned offset: the median below zero.
  s.t3_error = {.count = 1000,
                .min = -3000,
                .max = 9000,
                .mean = 400,
                .p50 = -250,
                .p90 = 6000,
                .p99 = 8000,
                .p999 = 9000};
  s.t3_offset_ns = 1900;
  EtherConnStats cs;
  cs.malformed = 3;
  m.SetReflector(s, cs, 0);
  const std::string text = m.Render(MetricsFormat::kOpenMetrics);
  CHECK(Has(text, "ringstamp_reflector_reflected_total{interface=\"eth1\"} 1000\n"));
  CHECK(Has(text, "ringstamp_reflector_sessions{interface=\"eth1\"} 2\n"));
  CHECK(Has(text, "ringstamp_reflector_malformed_total{interface=\"eth1\"} 3\n"));
  CHECK(Has(text,
            "ringstamp_reflector_t2_source_total{interface=\"eth1\",source=\"software\"} "
            "1000\n"));
  CHECK(Has(text,
            "ringstamp_reflector_t3_error_seconds{interface=\"eth1\",percentile=\"99.9\"} "
            "9e-06\n"));
  // A gauge per percentile: an OpenMetrics summary may not carry the negative p50.
  CHECK(Has(text, "# TYPE ringstamp_reflector_t3_error_seconds gauge\n"));
  CHECK(Has(text,
            "ringstamp_reflector_t3_error_seconds{interface=\"eth1\",percentile=\"50\"} "
            "-2.5e-07\n"));
  CHECK(Has(text, "ringstamp_reflector_t3_error_samples_total{interface=\"eth1\"} 1000\n"));
  CHECK(Has(text, "ringstamp_reflector_t3_offset_seconds{interface=\"eth1\"} 1.9e-06\n"));
  // 100 samples hold p99 but not p99.9.
  s.t3_error.count = 100;
  m.SetReflector(s, cs, 0);
  const std::string few = m.Render(MetricsFormat::kOpenMetrics);
  CHECK(Has(few, "percentile=\"99\""));
  CHECK_FALSE(Has(few, "percentile=\"99.9\""));
}
