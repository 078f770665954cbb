#include "apps/plot_views.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "apps/svg_canvas.h"
#include "ringstamp/engine/probe/latency_stats.h"

namespace ringstamp::app {
namespace {

constexpr size_t kMaxTailPoints = 600;
constexpr size_t kHistogramBins = 40;
constexpr size_t kMaxLossBins = 60;
constexpr size_t kMaxClockDots = 3000;

struct Frame {
  SvgOut svg;
  Panel panel;
};

// The <svg> element with a white background, the title and the "rests on" line.
Frame Open(const ProbeViewData& d, std::string_view title, std::string_view note) {
  Frame f;
  const double w = std::clamp(d.width, 480, 4096), h = std::clamp(d.height, 300, 4096);
  f.panel = Panel{.left = 80, .right = w - 30, .top = 70, .bottom = h - 60};
  absl::StrAppend(&f.svg.str(), "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"", C(w),
                  "\" height=\"", C(h), "\" viewBox=\"0 0 ", C(w), " ", C(h),
                  "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
                  "font-size=\"12\" role=\"img\">\n<title>",
                  XmlEscape(title),
                  "</title>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
  f.svg.Text(f.panel.left, 28, title, "start", " font-size=\"16\" font-weight=\"bold\"");
  f.svg.Text(f.panel.left, 48, note, "start", " fill=\"#444444\"");
  return f;
}

std::string Close(Frame& f) {
  f.svg.str() += "</svg>\n";
  return std::move(f.svg.str());
}

std::string Empty(const ProbeViewData& d, std::string_view title, std::string_view why) {
  Frame f = Open(d, title, why);
  f.svg.Text((f.panel.left + f.panel.right) / 2, (f.panel.top + f.panel.bottom) / 2, why, "middle",
             " fill=\"#888888\"");
  return Close(f);
}

void Legend(Frame& f, int row, const char* color, std::string_view text) {
  const double x = f.panel.right - 330, y = f.panel.top + 16 + 18 * row;
  absl::StrAppend(&f.svg.str(), "<rect x=\"", C(x), "\" y=\"", C(y - 9), "\" width=\"14\" ",
                  "height=\"10\" fill=\"", color, "\"/>\n");
  f.svg.Text(x + 20, y, text);
}

bool Answered(const ProbeResult& r) {
  return r.status == ProbeStatus::kOk || r.status == ProbeStatus::kLate;
}

std::vector<double> Sorted(std::span<const ProbeResult> results,
                           std::optional<int64_t> ProbeResult::*field) {
  std::vector<double> v;
  for (const ProbeResult& r : results) {
    if (Answered(r) && r.*field) v.push_back(static_cast<double>(*(r.*field)));
  }
  std::sort(v.begin(), v.end());
  return v;
}

// The latency the probe's pictures lead with: network RTT when there is one, else RTT.
struct Lead {
  std::vector<double> values;
  std::string name;
};
Lead LeadSeries(const ProbeViewData& d) {
  std::vector<double> net = Sorted(d.results, &ProbeResult::network_rtt_ns);
  if (!net.empty()) return {std::move(net), d.network_rtt_name};
  return {Sorted(d.results, &ProbeResult::rtt_ns), d.rtt_name};
}

// Time axis over [t0, t1] (system clock ns) labelled with UTC wall-clock times. The axis
// counts seconds from the minute t0 falls in, so that its ticks sit on round times.
struct TimeAxis {
  NiceAxis axis;  // seconds since `base_ns`
  Scale scale;
  int64_t base_ns = 0;
  double x(int64_t t_ns) const { return scale(static_cast<double>(t_ns - base_ns) / 1e9); }
};
TimeAxis MakeTimeAxis(int64_t t0, int64_t t1, const Panel& p) {
  TimeAxis ta;
  ta.base_ns = t0 - t0 % 60'000'000'000;
  const double lo = static_cast<double>(t0 - ta.base_ns) / 1e9;
  const double hi = std::max(lo + 1e-3, static_cast<double>(t1 - ta.base_ns) / 1e9);
  ta.axis = MakeNiceAxis(lo, hi, 7);
  ta.scale = Scale{ta.axis.lo, ta.axis.hi, p.left, p.right};
  return ta;
}

void DrawTimeAxes(Frame& f, const TimeAxis& ta, int64_t t0, const NiceAxis& ya, const Scale& ys,
                  const std::string& y_label) {
  // DrawAxes labels x ticks with their values; here they say the wall-clock time instead.
  NiceAxis no_x = ta.axis;
  no_x.ticks.clear();
  DrawAxes(f.svg, f.panel, no_x, ta.scale, ya, ys,
           absl::StrCat("time (UTC; the run started ", FormatUtc(t0, true), ")"), y_label);
  for (double t : ta.axis.ticks) {
    const double x = ta.scale(t);
    f.svg.Line(x, f.panel.top, x, f.panel.bottom, kGridColor);
    const int64_t at = ta.base_ns + static_cast<int64_t>(std::llround(t * 1e9));
    std::string label = FormatUtc(at, false);
    if (ta.axis.decimals > 0) {  // sub-second steps: the fraction the step needs
      const int digits = std::min(ta.axis.decimals, 3);
      int64_t frac = (at % 1'000'000'000) / 1'000'000;  // ms
      for (int k = digits; k < 3; ++k) frac /= 10;
      absl::StrAppend(&label, absl::StrFormat(".%0*d", digits, frac));
    }
    f.svg.Text(x, f.panel.bottom + 16, label, "middle");
  }
}

}  // namespace

std::string FormatUtc(int64_t realtime_ns, bool with_date) {
  const time_t secs = static_cast<time_t>(realtime_ns / 1'000'000'000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, with_date ? "%Y-%m-%d %H:%M:%S UTC" : "%H:%M:%S", &tm);
  return buf;
}

std::string RenderTailSvg(const ProbeViewData& d) {
  const char* title = "Latency by percentile (tail)";
  const Lead lead = LeadSeries(d);
  const std::vector<double> rtt = Sorted(d.results, &ProbeResult::rtt_ns);
  const size_t n = lead.values.size();
  if (n < 2) return Empty(d, title, "fewer than 2 replies: no percentiles to draw");
  // x = log10(1 / (1 - p)); the largest the count holds is log10(n) (the maximum).
  const double x_max = std::log10(static_cast<double>(n));
  Frame f = Open(d, title,
                 absl::StrFormat("%u replies: percentiles up to p%s (nearest rank); the right "
                                 "end is the maximum",
                                 n,
                                 n >= 10000  ? "99.99"
                                 : n >= 1000 ? "99.9"
                                 : n >= 100  ? "99"
                                 : n >= 10   ? "90"
                                             : "50"));
  // The axis fits the lead series; RTT (when it is not the lead) is drawn clipped to it.
  const double hi = lead.values.back();
  const TimeUnit yu = PickTimeUnit(hi);
  const NiceAxis ya = MakeNiceAxis(0, hi / yu.ns * 1.05, 6);
  NiceAxis xa = MakeNiceAxis(0, x_max, 5);
  xa.ticks.clear();
  const Scale xs{0, x_max, f.panel.left, f.panel.right};
  const Scale ys{ya.lo, ya.hi, f.panel.bottom, f.panel.top};
  DrawAxes(f.svg, f.panel, xa, xs, ya, ys, "percentile (log scale of 1 / (1 - p))",
           absl::StrCat("latency (", yu.name, ")"));
  const std::pair<double, const char*> marks[] = {
      {0, "min"},    {std::log10(2.0), "p50"}, {1, "p90"}, {2, "p99"}, {3, "p99.9"}, {4, "p99.99"},
      {5, "p99.999"}};
  for (const auto& [x, label] : marks) {
    if (x > x_max + 1e-9) break;
    f.svg.Line(xs(x), f.panel.top, xs(x), f.panel.bottom, kGridColor);
    f.svg.Text(xs(x), f.panel.bottom + 16, label, "middle");
  }
  auto path = [&](const std::vector<double>& v) {
    std::string p;
    const size_t m = v.size();
    if (m < 2) return p;
    const double xm = std::log10(static_cast<double>(m));
    // Points evenly spread in x: rank i (1-based) sits at log10(1 / (1 - (i - 1) / m)).
    for (size_t k = 0; k <= kMaxTailPoints; ++k) {
      const double x = xm * static_cast<double>(k) / kMaxTailPoints;
      const double frac = 1 - std::pow(10.0, -x);  // share of samples at or below
      const size_t i = std::min<size_t>(m - 1, static_cast<size_t>(frac * static_cast<double>(m)));
      absl::StrAppend(&p, k == 0 ? "M" : "L", C(xs(x)), " ", C(ys(v[i] / yu.ns)));
    }
    return p;
  };
  if (!rtt.empty() && lead.name != d.rtt_name) {
    absl::StrAppend(&f.svg.str(), "<clipPath id=\"tail-clip\"><rect x=\"", C(f.panel.left),
                    "\" y=\"", C(f.panel.top), "\" width=\"", C(f.panel.width()), "\" height=\"",
                    C(f.panel.bottom - f.panel.top), "\"/></clipPath>\n");
    f.svg.Path(path(rtt), kRttColor, 1.5, " stroke-opacity=\"0.6\" clip-path=\"url(#tail-clip)\"");
    Legend(f, 1, kRttColor,
           rtt.back() > hi ? absl::StrCat(d.rtt_name, " (runs above the range)") : d.rtt_name);
  }
  f.svg.Path(path(lead.values), kNetColor, 2);
  Legend(f, 0, kNetColor, lead.name);
  return Close(f);
}

std::string RenderHistogramSvg(const ProbeViewData& d) {
  const char* title = "Latency histogram";
  const Lead lead = LeadSeries(d);
  const std::vector<double> rtt = Sorted(d.results, &ProbeResult::rtt_ns);
  if (lead.values.empty()) return Empty(d, title, "no replies: nothing to count");
  // The range: from the minimum to the maximum, or to 1.25 × p99 (p99.9 from 1,000 replies)
  // when a few outliers would squash the rest; those are counted in the note.
  const std::vector<double>& v = lead.values;
  double hi = v.back();
  const size_t n = v.size();
  const double ref = n >= 1000  ? v[NearestRank(99.9, n) - 1]
                     : n >= 100 ? v[NearestRank(99, n) - 1]
                                : hi;
  if (ref > 0 && hi > 3 * ref) hi = 1.25 * ref;
  const TimeUnit xu = PickTimeUnit(hi);
  const NiceAxis xa = MakeNiceAxis(v.front() / xu.ns, std::max(hi, v.front() + 1) / xu.ns, 8);
  const double width = (xa.hi - xa.lo) / kHistogramBins;
  auto count = [&](const std::vector<double>& s, size_t* above) {
    std::vector<uint64_t> c(kHistogramBins, 0);
    *above = 0;
    for (double x : s) {
      const double b = (x / xu.ns - xa.lo) / width;
      if (b >= static_cast<double>(kHistogramBins)) {
        ++*above;
        continue;
      }
      ++c[static_cast<size_t>(std::max(0.0, b))];
    }
    return c;
  };
  size_t above = 0, rtt_above = 0;
  const std::vector<uint64_t> bins = count(v, &above);
  const bool with_rtt = !rtt.empty() && lead.name != d.rtt_name;
  const std::vector<uint64_t> rtt_bins =
      with_rtt ? count(rtt, &rtt_above) : std::vector<uint64_t>{};
  uint64_t top = *std::max_element(bins.begin(), bins.end());
  if (with_rtt) top = std::max(top, *std::max_element(rtt_bins.begin(), rtt_bins.end()));
  Frame f = Open(d, title,
                 absl::StrFormat("%u replies in %u bins of %s%s", n, kHistogramBins,
                                 FormatDurationNs(width * xu.ns),
                                 above > 0 ? absl::StrFormat("; %u above the range", above) : ""));
  const NiceAxis ya = MakeNiceAxis(0, static_cast<double>(std::max<uint64_t>(top, 1)), 5);
  const Scale xs{xa.lo, xa.hi, f.panel.left, f.panel.right};
  const Scale ys{ya.lo, ya.hi, f.panel.bottom, f.panel.top};
  DrawAxes(f.svg, f.panel, xa, xs, ya, ys, absl::StrCat("latency (", xu.name, ")"), "replies");
  auto bars = [&](const std::vector<uint64_t>& c, const char* color, const char* extra) {
    for (size_t b = 0; b < c.size(); ++b) {
      if (c[b] == 0) continue;
      const double x0 = xs(xa.lo + width * static_cast<double>(b));
      const double x1 = xs(xa.lo + width * static_cast<double>(b + 1));
      const double y = ys(static_cast<double>(c[b]));
      absl::StrAppend(&f.svg.str(), "<rect x=\"", C(x0), "\" y=\"", C(y), "\" width=\"",
                      C(std::max(0.5, x1 - x0 - 1)), "\" height=\"", C(f.panel.bottom - y),
                      "\" fill=\"", color, "\"", extra, "/>\n");
    }
  };
  if (with_rtt) {
    bars(rtt_bins, kRttColor, " fill-opacity=\"0.35\"");
    Legend(f, 1, kRttColor, d.rtt_name);
  }
  bars(bins, kNetColor, " fill-opacity=\"0.85\"");
  Legend(f, 0, kNetColor, lead.name);
  return Close(f);
}

std::string RenderLossSvg(const ProbeViewData& d) {
  const char* title = "Loss over time";
  std::vector<std::pair<int64_t, bool>> fate;  // (t1 on the system clock, lost)
  for (const ProbeResult& r : d.results) {
    if (!r.t1) continue;
    if (r.status == ProbeStatus::kOk || r.status == ProbeStatus::kLate) {
      fate.emplace_back(r.t1->ns, false);
    } else if (r.status == ProbeStatus::kLost) {
      fate.emplace_back(r.t1->ns, true);
    }
  }
  if (fate.empty()) return Empty(d, title, "no probe whose fate is known");
  std::sort(fate.begin(), fate.end());
  const int64_t t0 = fate.front().first, t1 = fate.back().first;
  const size_t bins = std::clamp<size_t>(fate.size() / 10, 1, kMaxLossBins);
  const double span = std::max<double>(1, static_cast<double>(t1 - t0));
  std::vector<uint64_t> total(bins, 0), lost(bins, 0);
  uint64_t all_lost = 0;
  for (const auto& [t, is_lost] : fate) {
    const size_t b =
        std::min(bins - 1, static_cast<size_t>(static_cast<double>(t - t0) / span * bins));
    ++total[b];
    if (is_lost) ++lost[b], ++all_lost;
  }
  double worst = 0;
  for (size_t b = 0; b < bins; ++b) {
    if (total[b] > 0) worst = std::max(worst, 100.0 * lost[b] / total[b]);
  }
  Frame f = Open(d, title,
                 absl::StrFormat("%u of %u probes lost (%.3g%%) in %u bins of %s; a bar is the "
                                 "share of its bin's probes that timed out (by send time t1)",
                                 all_lost, fate.size(), 100.0 * all_lost / fate.size(), bins,
                                 FormatDurationNs(span / bins)));
  const TimeAxis ta = MakeTimeAxis(t0, t1, f.panel);
  const NiceAxis ya = MakeNiceAxis(0, std::max(1.0, worst), 5);
  const Scale ys{ya.lo, ya.hi, f.panel.bottom, f.panel.top};
  DrawTimeAxes(f, ta, t0, ya, ys, "lost (% of the bin's probes)");
  for (size_t b = 0; b < bins; ++b) {
    if (lost[b] == 0) continue;
    const double x0 = ta.x(t0 + static_cast<int64_t>(span * b / bins));
    const double x1 = ta.x(t0 + static_cast<int64_t>(span * (b + 1) / bins));
    const double y = ys(100.0 * lost[b] / total[b]);
    absl::StrAppend(&f.svg.str(), "<rect x=\"", C(x0), "\" y=\"", C(y), "\" width=\"",
                    C(std::max(1.0, x1 - x0 - 1)), "\" height=\"", C(f.panel.bottom - y),
                    "\" fill=\"", kLostColor, "\"/>\n");
  }
  return Close(f);
}

std::string RenderClockSvg(const ProbeViewData& d) {
  if (d.summary.mode == ProbeMode::kIcmpEcho) {
    return Empty(d, "One-way delays and clock offset",
                 "ICMP echo: no reflector stamps (t2, t3), so no one-way delays and no clock "
                 "offset");
  }
  const bool sync = d.summary.clocks_synchronised;
  const char* title = sync ? "One-way delays (clocks synchronised)" : "Clock offset over time";
  struct Series {
    std::optional<int64_t> ProbeResult::*field;
    const char* color;
    const char* name;
  };
  const std::vector<Series> series =
      sync ? std::vector<Series>{{&ProbeResult::forward_ns, kRttColor, "forward t2 - t1"},
                                 {&ProbeResult::reverse_ns, kNetColor, "reverse t4 - t3"}}
           : std::vector<Series>{{&ProbeResult::offset_ns, kMarkColor,
                                  "offset ((t2 - t1) + (t3 - t4)) / 2: reflector minus ours"}};
  int64_t t0 = std::numeric_limits<int64_t>::max(), t1 = std::numeric_limits<int64_t>::min();
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  size_t points = 0;
  for (const ProbeResult& r : d.results) {
    if (!Answered(r) || !r.t1) continue;
    for (const Series& s : series) {
      if (!(r.*s.field)) continue;
      t0 = std::min(t0, r.t1->ns);
      t1 = std::max(t1, r.t1->ns);
      lo = std::min(lo, static_cast<double>(*(r.*s.field)));
      hi = std::max(hi, static_cast<double>(*(r.*s.field)));
      ++points;
    }
  }
  if (points == 0) {
    return Empty(d, title,
                 sync ? "no reply carried both stamps of a one-way delay"
                      : "no reply carried the four stamps of an offset estimate");
  }
  Frame f = Open(d, title,
                 sync ? "t2 and t3 on the reflector's clock, t1 and t4 on ours: one clock, as "
                        "--clocks-synchronised says; their difference is a one-way delay"
                      : "the two hosts' clocks differ: no one-way delays; the offset assumes "
                        "equal delays both ways (an estimate)");
  const TimeUnit yu = PickTimeUnit(std::max(std::abs(lo), std::abs(hi)));
  const double pad = std::max(1.0, (hi - lo) * 0.05);
  const NiceAxis ya = MakeNiceAxis((lo - pad) / yu.ns, (hi + pad) / yu.ns, 6);
  const Scale ys{ya.lo, ya.hi, f.panel.bottom, f.panel.top};
  const TimeAxis ta = MakeTimeAxis(t0, t1, f.panel);
  DrawTimeAxes(f, ta, t0, ya, ys, absl::StrCat(sync ? "delay" : "offset", " (", yu.name, ")"));
  const size_t stride = std::max<size_t>(1, points / kMaxClockDots);
  int row = 0;
  for (const Series& s : series) {
    std::string path;
    size_t k = 0;
    for (const ProbeResult& r : d.results) {
      if (!Answered(r) || !r.t1 || !(r.*s.field)) continue;
      if (k++ % stride != 0) continue;
      const double x = ta.x(r.t1->ns);
      absl::StrAppend(&path, "M", C(x), " ", C(ys(static_cast<double>(*(r.*s.field)) / yu.ns)),
                      "h0");
    }
    f.svg.Path(path, s.color, 3, " stroke-linecap=\"round\"");
    Legend(f, row++, s.color, s.name);
  }
  return Close(f);
}

}  // namespace ringstamp::app
