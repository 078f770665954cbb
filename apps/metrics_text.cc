#include "apps/metrics_text.h"

#include <cmath>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ringstamp/common/absl_compat.h"

namespace ringstamp::app {

MetricsFormat NegotiateMetricsFormat(std::string_view accept) {
  return absl::StrContains(absl::AsciiStrToLower(ToAbsl(accept)), "application/openmetrics-text")
             ? MetricsFormat::kOpenMetrics
             : MetricsFormat::kPrometheus;
}

std::string_view MetricsContentType(MetricsFormat format) {
  return format == MetricsFormat::kOpenMetrics
             ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
             : "text/plain; version=0.0.4; charset=utf-8";
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

// HELP text: backslash and newline escaped (both formats).
std::string EscapeHelp(std::string_view help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string_view TypeName(MetricType t) {
  switch (t) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "unknown";
}

}  // namespace

std::string MetricNumber(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    return absl::StrCat(static_cast<int64_t>(v));
  }
  char buf[40];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

void LatencyHistogram::Add(int64_t ns) {
  const double s = ns > 0 ? static_cast<double>(ns) / 1e9 : 0;
  size_t i = 0;
  while (i < kBoundsSeconds.size() && s > kBoundsSeconds[i]) ++i;
  ++counts_[i];
  sum_seconds_ += s;
  ++count_;
}

void MetricsText::Family(std::string_view name, MetricType type, std::string_view help,
                         std::string_view unit) {
  name_ = std::string(name);
  type_ = type;
  // The text format names a counter's family by its sample name (x_total); OpenMetrics by x.
  const std::string family = format_ == MetricsFormat::kPrometheus && type == MetricType::kCounter
                                 ? absl::StrCat(name_, "_total")
                                 : name_;
  absl::StrAppend(&out_, "# HELP ", family, " ", EscapeHelp(help), "\n");
  absl::StrAppend(&out_, "# TYPE ", family, " ", ToAbsl(TypeName(type)), "\n");
  if (format_ == MetricsFormat::kOpenMetrics && !unit.empty()) {
    absl::StrAppend(&out_, "# UNIT ", family, " ", ToAbsl(unit), "\n");
  }
}

void MetricsText::Line(std::string_view suffix, const MetricLabels& labels,
                       std::string_view extra_name, std::string_view extra_value, double value) {
  absl::StrAppend(&out_, name_, ToAbsl(suffix));
  if (!labels.empty() || !extra_name.empty()) {
    out_ += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
      absl::StrAppend(&out_, first ? "" : ",", k, "=\"", EscapeLabelValue(v), "\"");
      first = false;
    }
    if (!extra_name.empty()) {
      absl::StrAppend(&out_, first ? "" : ",", ToAbsl(extra_name), "=\"", ToAbsl(extra_value),
                      "\"");
    }
    out_ += '}';
  }
  absl::StrAppend(&out_, " ", MetricNumber(value), "\n");
}

void MetricsText::Value(const MetricLabels& labels, double value) {
  Line(type_ == MetricType::kCounter ? "_total" : "", labels, "", "", value);
}

void MetricsText::Histogram(const MetricLabels& labels, const LatencyHistogram& h) {
  uint64_t cumulative = 0;
  for (size_t i = 0; i < LatencyHistogram::kBoundsSeconds.size(); ++i) {
    cumulative += h.counts()[i];
    Line("_bucket", labels, "le", MetricNumber(LatencyHistogram::kBoundsSeconds[i]),
         static_cast<double>(cumulative));
  }
  Line("_bucket", labels, "le", "+Inf", static_cast<double>(h.count()));
  Line("_sum", labels, "", "", h.sum_seconds());
  Line("_count", labels, "", "", static_cast<double>(h.count()));
}

std::string MetricsText::Finish() {
  if (format_ == MetricsFormat::kOpenMetrics) out_ += "# EOF\n";
  return std::move(out_);
}

}  // namespace ringstamp::app
