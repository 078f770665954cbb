// metrics_text.h — the text of a Prometheus scrape: OpenMetrics 1.0 (application/openmetrics-text)
// or the Prometheus text format 0.0.4 (text/plain), chosen by the scraper's Accept header.
// MetricsText writes one exposition, family by family; LatencyHistogram is the fixed-bucket
// histogram the probe's latency families use. Pure formatting: any thread, one writer per
// object; cost linear in the samples written.
//
// Example:
// Given: #include <cassert>
//   using namespace ringstamp::app;
//   LatencyHistogram h;
//   h.Add(150'000);                                   // 150 µs
//   MetricsText t(MetricsFormat::kOpenMetrics);
//   t.Family("ringstamp_probe_rtt_seconds", MetricType::kHistogram, "RTT t4 - t1", "seconds");
//   t.Histogram({{"target", "10.0.0.2:862"}}, h);
//   t.Family("ringstamp_probe_sent", MetricType::kCounter, "probes sent");
//   t.Value({{"target", "10.0.0.2:862"}}, 12);        // written as ringstamp_probe_sent_total
//   const std::string text = t.Finish();              // ends with "# EOF\n"
//   assert(text.find("le=\"0.0002\"} 1") != std::string::npos);
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ringstamp::app {

enum class MetricsFormat { kPrometheus, kOpenMetrics };
enum class MetricType { kCounter, kGauge, kHistogram };

// OpenMetrics when the Accept header names application/openmetrics-text (what Prometheus
// sends first), else the plain text format.
MetricsFormat NegotiateMetricsFormat(std::string_view accept);
// The Content-Type of a response in `format`.
std::string_view MetricsContentType(MetricsFormat format);

// Label pairs in the order written; names follow [a-zA-Z_][a-zA-Z0-9_]* (the caller's
// responsibility: ParseLabels checks user-given ones), values are escaped here.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// `\` → `\\`, `"` → `\"`, newline → `\n`: a label value as the formats quote it.
std::string EscapeLabelValue(std::string_view value);

// Latencies in buckets from 1 µs to 10 s in 1-2-5 steps (plus +Inf), in seconds as
// Prometheus wants: wide enough for a veth pair's few µs and a WAN's hundreds of ms.
// Not thread-safe.
class LatencyHistogram {
 public:
  static constexpr std::array<double, 22> kBoundsSeconds = {
      1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3,
      5e-3, 1e-2, 2e-2, 5e-2, 0.1,  0.2,  0.5,  1.0,  2.0,  5.0,  10.0};
  // A negative value (clocks that disagree) counts in the first bucket and adds 0 to the
  // sum, so that the sum stays a counter.
  void Add(int64_t ns);
  // counts()[i]: observations ≤ kBoundsSeconds[i] and above the bound before; the last entry
  // is the +Inf bucket's own (not cumulative).
  const std::array<uint64_t, kBoundsSeconds.size() + 1>& counts() const { return counts_; }
  double sum_seconds() const { return sum_seconds_; }
  uint64_t count() const { return count_; }

 private:
  std::array<uint64_t, kBoundsSeconds.size() + 1> counts_{};
  double sum_seconds_ = 0;
  uint64_t count_ = 0;
};

class MetricsText {
 public:
  explicit MetricsText(MetricsFormat format) : format_(format) {}

  // Starts a family: its HELP, TYPE (and OpenMetrics UNIT, when given: the name must then end
  // in "_" + unit). `name` is the family's name without _total / _bucket suffixes.
  void Family(std::string_view name, MetricType type, std::string_view help,
              std::string_view unit = "");
  // A counter's or gauge's sample of the current family (a counter's name gets "_total").
  void Value(const MetricLabels& labels, double value);
  // A histogram's samples: cumulative _bucket lines with le, _sum, _count.
  void Histogram(const MetricLabels& labels, const LatencyHistogram& h);
  // The exposition; OpenMetrics ends it with "# EOF".
  std::string Finish();

 private:
  void Line(std::string_view suffix, const MetricLabels& labels, std::string_view extra_name,
            std::string_view extra_value, double value);

  MetricsFormat format_;
  std::string name_;
  MetricType type_ = MetricType::kGauge;
  std::string out_;
};

// A number as the formats write it: integers without a fraction, "+Inf", "-Inf", "NaN",
// otherwise the shortest text that reads back to the same double.
std::string MetricNumber(double v);

}  // namespace ringstamp::app
