#include "apps/svg_plot.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "apps/privileges.h"
#include "apps/svg_canvas.h"
#include "ringstamp/common/absl_compat.h"
#include "ringstamp/common/errno_status.h"
#include "ringstamp/common/fd.h"

namespace ringstamp::app {
namespace {

constexpr size_t kMaxDots = 3000;       // above: per-column min–max spans
constexpr size_t kMaxCdfPoints = 1000;  // CDF steps drawn
constexpr size_t kMinPointsToClip = 100;
constexpr double kClipFactor = 3.0;     // clip when max > 3 × the reference percentile
constexpr double kClipHeadroom = 1.25;  // range ends at 1.25 × the reference percentile

// Nearest-rank value of sorted `v` (non-empty).
double SortedPercentile(const std::vector<double>& v, double p);

// Where a range may stop so that a few outliers do not squash the rest: the highest
// percentile the sample count can hold (p99.9 from 1,000 values, p99 from 100; below 100
// no clipping, +inf). With fewer values p99.9 is the maximum itself and could never clip.
double ClipReference(const std::vector<double>& sorted) {
  if (sorted.size() >= 1000) return SortedPercentile(sorted, 99.9);
  if (sorted.size() >= kMinPointsToClip) return SortedPercentile(sorted, 99);
  return std::numeric_limits<double>::infinity();
}

// The end of the range for `sorted` values: 1.25 × ClipReference when the maximum is more
// than 3 × it, else +inf (no clipping).
double ClipAt(const std::vector<double>& sorted) {
  if (sorted.empty()) return std::numeric_limits<double>::infinity();
  const double ref = ClipReference(sorted);
  if (!std::isfinite(ref) || ref <= 0 || sorted.back() <= kClipFactor * ref) {
    return std::numeric_limits<double>::infinity();
  }
  return kClipHeadroom * ref;
}

double SortedPercentile(const std::vector<double>& v, double p) {
  return v[NearestRank(p, v.size()) - 1];
}

void AddDot(std::string& d, double x, double y) { absl::StrAppend(&d, "M", C(x), " ", C(y), "h0"); }

struct Series {
  std::vector<double> t;  // ns since the first probe
  std::vector<double> v;  // ns
};

// Dots (few points) or per-pixel-column min–max spans (many), clipped at y_max.
// xs maps time in t_unit_ns units, ys values in unit_ns units.
std::string SeriesPath(const Series& s, const Panel& p, const Scale& xs, double t_unit_ns,
                       const Scale& ys, double y_max_ns, double unit_ns) {
  std::string d;
  if (s.v.size() <= kMaxDots) {
    for (size_t i = 0; i < s.v.size(); ++i) {
      if (s.v[i] > y_max_ns) continue;
      AddDot(d, xs(s.t[i] / t_unit_ns), ys(s.v[i] / unit_ns));
    }
    return d;
  }
  const size_t cols = static_cast<size_t>(std::max(1.0, std::ceil(p.width())));
  std::vector<double> lo(cols, std::numeric_limits<double>::infinity());
  std::vector<double> hi(cols, -std::numeric_limits<double>::infinity());
  for (size_t i = 0; i < s.v.size(); ++i) {
    if (s.v[i] > y_max_ns) continue;
    const double x =
        std::clamp(xs(s.t[i] / t_unit_ns) - p.left, 0.0, static_cast<double>(cols - 1));
    const size_t c = static_cast<size_t>(x);
    lo[c] = std::min(lo[c], s.v[i]);
    hi[c] = std::max(hi[c], s.v[i]);
  }
  for (size_t c = 0; c < cols; ++c) {
    if (!(lo[c] <= hi[c])) continue;
    const double x = p.left + c + 0.5;
    absl::StrAppend(&d, "M", C(x), " ", C(ys(hi[c] / unit_ns)), "V", C(ys(lo[c] / unit_ns)));
    if (lo[c] == hi[c]) absl::StrAppend(&d, "h0");
  }
  return d;
}

// At most one mark per pixel column.
class ColumnMarks {
 public:
  explicit ColumnMarks(const Panel& p)
      : left_(p.left), seen_(static_cast<size_t>(std::max(1.0, std::ceil(p.width()))), false) {}
  bool Take(double x) {
    const double c = std::clamp(x - left_, 0.0, static_cast<double>(seen_.size() - 1));
    const size_t i = static_cast<size_t>(c);
    if (seen_[i]) return false;
    seen_[i] = true;
    return true;
  }

 private:
  double left_;
  std::vector<bool> seen_;
};

// Step CDF of sorted values, at most kMaxCdfPoints steps.
std::string CdfPath(const std::vector<double>& sorted, const Scale& xs, const Scale& ys,
                    double unit_ns, const Panel& p) {
  const size_t n = sorted.size();
  if (n == 0) return "";
  auto X = [&](double v) { return std::clamp(xs(v / unit_ns), p.left, p.right); };
  std::string d = absl::StrCat("M", C(X(sorted[0])), " ", C(ys(0)));
  const size_t k = std::min(n, kMaxCdfPoints);
  for (size_t j = 0; j < k; ++j) {
    const size_t i =
        k == 1
            ? n - 1
            : static_cast<size_t>(std::llround(static_cast<double>(j) * static_cast<double>(n - 1) /
                                               static_cast<double>(k - 1)));
    const double x = X(sorted[i]);
    const double y = ys(static_cast<double>(i + 1) / static_cast<double>(n));
    absl::StrAppend(&d, "H", C(x), "V", C(y));
  }
  return d;
}

}  // namespace

TimeUnit PickTimeUnit(double max_abs_ns) {
  const double v = std::isfinite(max_abs_ns) ? std::abs(max_abs_ns) : 0;
  if (v >= 1e9) return {"s", 1e9};
  if (v >= 1e6) return {"ms", 1e6};
  if (v >= 1e3) return {"\xc2\xb5s", 1e3};  // µs
  return {"ns", 1};
}

NiceAxis MakeNiceAxis(double lo, double hi, int target_ticks) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) {
    lo = 0;
    hi = 1;
  }
  if (lo > hi) std::swap(lo, hi);
  if (!(hi - lo > std::max(std::abs(lo), std::abs(hi)) * 1e-12)) {
    const double w = std::max(std::abs(lo) * 0.1, 1.0);
    lo -= w;
    hi += w;
  }
  target_ticks = std::clamp(target_ticks, 2, 20);
  const double raw = (hi - lo) / target_ticks;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  const double nice = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  NiceAxis a;
  a.step = nice * mag;
  a.lo = std::floor(lo / a.step + 1e-9) * a.step;
  a.hi = std::ceil(hi / a.step - 1e-9) * a.step;
  if (!(a.hi > a.lo)) a.hi = a.lo + a.step;
  for (int i = 0; i <= 100; ++i) {
    const double t = a.lo + i * a.step;
    if (t > a.hi + a.step * 1e-6) break;
    a.ticks.push_back(std::abs(t) < a.step * 1e-9 ? 0.0 : t);
  }
  a.decimals = std::max(0, static_cast<int>(-std::floor(std::log10(a.step) + 1e-9)));
  return a;
}

std::string FormatDurationNs(double ns) {
  if (!std::isfinite(ns)) return "-";
  TimeUnit u = PickTimeUnit(ns);
  double v = ns / u.ns;
  // 999.96 µs would print as "1000 µs": move to the next unit instead.
  if (std::abs(v) >= 999.5 && u.ns < 1e9) {
    u = PickTimeUnit(std::abs(ns) * 1.001);
    v = ns / u.ns;
  }
  const double a = std::abs(v);
  const int decimals = u.ns == 1 ? 0 : a >= 99.95 ? 0 : a >= 9.995 ? 1 : 2;
  return absl::StrFormat("%.*f %s", decimals, v, u.name);
}

std::string RenderProbeSvg(const ProbePlotData& data, const SvgPlotOptions& options) {
  const double W = std::clamp(options.width, 480, 4096);
  const double H = std::clamp(options.height, 400, 4096);
  const double panel_h = (H - 75 - 45 - 70) / 2;
  const Panel top{80, W - 30, 75, 75 + panel_h};
  const Panel bot{80, W - 30, top.bottom + 70, top.bottom + 70 + panel_h};

  // ---- data -------------------------------------------------------------
  const auto& pts = data.points;
  int64_t t0 = 0, t1 = 0;
  if (!pts.empty()) {
    t0 = t1 = pts[0].time_ns;
    for (const auto& p : pts) {
      t0 = std::min(t0, p.time_ns);
      t1 = std::max(t1, p.time_ns);
    }
  }
  Series rtt, net;
  std::vector<double> peak;  // per reply: max(RTT, network RTT), for clipping
  std::vector<double> lost_t;
  for (const auto& p : pts) {
    const double t = static_cast<double>(p.time_ns - t0);
    if (p.lost) {
      lost_t.push_back(t);
      continue;
    }
    rtt.t.push_back(t);
    rtt.v.push_back(static_cast<double>(p.rtt_ns));
    peak.push_back(rtt.v.back());
    if (p.network_rtt_ns) {
      net.t.push_back(t);
      net.v.push_back(static_cast<double>(*p.network_rtt_ns));
      peak.back() = std::max(peak.back(), net.v.back());
    }
  }
  const size_t received = rtt.v.size();
  const bool has_net = !net.v.empty();

  std::vector<double> all = rtt.v;
  all.insert(all.end(), net.v.begin(), net.v.end());
  std::sort(all.begin(), all.end());
  double v_lo = 0, v_hi = 1e6;  // no replies: an empty 0..1 ms axis
  double clip_ns = std::numeric_limits<double>::infinity();
  size_t clipped = 0;
  if (!all.empty()) {
    v_lo = all.front();
    v_hi = all.back();
    if (received >= kMinPointsToClip && std::isfinite(ClipAt(all))) {
      clip_ns = ClipAt(all);
      v_hi = clip_ns;
      clipped = static_cast<size_t>(
          std::count_if(peak.begin(), peak.end(), [&](double v) { return v > clip_ns; }));
    }
    const double pad = (v_hi - v_lo) * 0.05;
    v_lo = (v_lo >= 0 && v_lo - pad < 0) ? 0 : v_lo - pad;
    v_hi += pad;
  }
  const TimeUnit yu = PickTimeUnit(std::max(std::abs(v_lo), std::abs(v_hi)));
  const NiceAxis ya = MakeNiceAxis(v_lo / yu.ns, v_hi / yu.ns, 6);
  const double span = static_cast<double>(t1 - t0);
  const TimeUnit tu = span > 0 ? PickTimeUnit(span) : TimeUnit{"s", 1e9};
  const NiceAxis ta = MakeNiceAxis(0, span > 0 ? span / tu.ns : 1, 8);
  const Scale txs{ta.lo, ta.hi, top.left, top.right};
  const Scale tys{ya.lo, ya.hi, top.bottom, top.top};
  auto tx = [&](double t_ns) { return txs(t_ns / tu.ns); };

  // ---- document ---------------------------------------------------------
  SvgOut svg;
  std::string& o = svg.str();
  absl::StrAppend(
      &o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
      "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"", C(W), "\" height=\"",
      C(H), "\" viewBox=\"0 0 ", C(W), " ", C(H),
      "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n", "<title>",
      XmlEscape(data.title), "</title>\n",
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n", "<defs>\n");
  for (const auto& [id, p] : {std::pair<const char*, Panel>{"clip-top", top}, {"clip-bot", bot}}) {
    absl::StrAppend(&o, "<clipPath id=\"", id, "\"><rect x=\"", C(p.left - 4), "\" y=\"",
                    C(p.top - 4), "\" width=\"", C(p.width() + 8), "\" height=\"",
                    C(p.bottom - p.top + 8), "\"/></clipPath>\n");
  }
  absl::StrAppend(&o, "</defs>\n");
  svg.Text(top.left, 30, data.title, "start", " font-size=\"18\" font-weight=\"bold\"");
  std::string sub =
      absl::StrFormat("%u probes, %u replies, %u lost", pts.size(), received, lost_t.size());
  if (!data.subtitle.empty()) absl::StrAppend(&sub, " \xc2\xb7 ", data.subtitle);
  svg.Text(top.left, 50, sub, "start", " fill=\"#444444\"");

  // ---- top panel: RTT over time ------------------------------------------
  std::string since = "the first probe";
  if (data.origin_realtime_ns) {
    const time_t secs = static_cast<time_t>(*data.origin_realtime_ns / 1'000'000'000);
    struct tm tm {};
    gmtime_r(&secs, &tm);
    char buf[40];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
    since = buf;
  }
  DrawAxes(svg, top, ta, txs, ya, tys, absl::StrCat("time since ", since, " (", tu.name, ")"),
           absl::StrCat("RTT (", yu.name, ")"));
  absl::StrAppend(&o, "<g clip-path=\"url(#clip-top)\">\n");
  const bool dots = received <= kMaxDots;
  const double dot_w = received <= 300 ? 4 : 2.5;
  svg.Path(SeriesPath(rtt, top, txs, tu.ns, tys, clip_ns, yu.ns), kRttColor, dots ? dot_w : 1,
           dots ? " stroke-linecap=\"round\"" : "");
  if (has_net) {
    // Over dense RTT spans the network RTT spans are see-through.
    svg.Path(SeriesPath(net, top, txs, tu.ns, tys, clip_ns, yu.ns), kNetColor, dots ? dot_w : 1,
             dots ? " stroke-linecap=\"round\"" : " stroke-opacity=\"0.7\"");
  }
  if (clipped > 0) {
    ColumnMarks cols(top);
    std::string d;
    for (size_t i = 0; i < received; ++i) {
      const double x = tx(rtt.t[i]);
      if (peak[i] > clip_ns && cols.Take(x)) {
        absl::StrAppend(&d, "M", C(x), " ", C(top.top + 1), "l3.5 6h-7z");
      }
    }
    absl::StrAppend(&o, "<path d=\"", d, "\" fill=\"", kLostColor, "\" stroke=\"none\"/>\n");
  }
  if (!lost_t.empty()) {
    ColumnMarks cols(top);
    std::string d;
    for (double t : lost_t) {
      const double x = tx(t);
      if (!cols.Take(x)) continue;
      const double y = top.bottom - 7;
      absl::StrAppend(&d, "M", C(x - 3.5), " ", C(y - 3.5), "l7 7m0 -7l-7 7");
    }
    svg.Path(d, kLostColor, 1.5);
  }
  absl::StrAppend(&o, "</g>\n");

  // Legend, right-aligned above the top panel.
  {
    struct Item {
      std::string text;
      const char* color;
      int kind;  // 0 dot, 1 cross, 2 triangle
    };
    std::vector<Item> items = {{"RTT", kRttColor, 0}};
    if (has_net) items.push_back({data.network_rtt_name, kNetColor, 0});
    if (!lost_t.empty())
      items.push_back({absl::StrCat("lost (", lost_t.size(), ")"), kLostColor, 1});
    if (clipped > 0) {
      items.push_back(
          {absl::StrCat(clipped, " above range (max ", FormatDurationNs(all.back()), ")"),
           kLostColor, 2});
    }
    double x = top.right;
    const double y = top.top - 9;
    for (auto it = items.rbegin(); it != items.rend(); ++it) {
      const double w = 7.0 * static_cast<double>(it->text.size());
      svg.Text(x, y + 4, it->text, "end");
      x -= w + 10;
      if (it->kind == 0) {
        absl::StrAppend(&o, "<circle cx=\"", C(x), "\" cy=\"", C(y), "\" r=\"3.5\" fill=\"",
                        it->color, "\"/>\n");
      } else if (it->kind == 1) {
        svg.Path(absl::StrCat("M", C(x - 3.5), " ", C(y - 3.5), "l7 7m0 -7l-7 7"), it->color, 1.5);
      } else {
        absl::StrAppend(&o, "<path d=\"M", C(x), " ", C(y - 4), "l3.5 6h-7z\" fill=\"", it->color,
                        "\"/>\n");
      }
      x -= 16;
    }
  }

  // ---- bottom panel: CDF with percentiles -------------------------------
  const LatencySummary& marks = data.network_rtt.count > 0 ? data.network_rtt : data.rtt;
  const std::string marks_name = data.network_rtt.count > 0 ? data.network_rtt_name : "RTT";
  std::vector<double> primary = has_net ? net.v : rtt.v;
  std::vector<double> secondary = has_net ? rtt.v : std::vector<double>{};
  std::sort(primary.begin(), primary.end());
  std::sort(secondary.begin(), secondary.end());
  struct Mark {
    const char* name;
    int64_t value;
  };
  // Only the percentiles the count can hold (p90 from 10 values, p99 from 100, p99.9 from
  // 1,000): below that a "p99.9" is the maximum and would stretch the axis to it.
  std::vector<Mark> pcts;
  if (marks.count > 0) pcts.push_back({"p50", marks.p50});
  if (marks.count >= 10) pcts.push_back({"p90", marks.p90});
  if (marks.count >= 100) pcts.push_back({"p99", marks.p99});
  if (marks.count >= 1000) pcts.push_back({"p99.9", marks.p999});
  // The axis is sized from the series whose percentiles are marked (network RTT when there
  // is one): a lone slow RTT must not squeeze the network RTT's CDF into the panel's edge.
  // The lighter RTT curve is drawn within that range; past it, the count says so.
  double c_lo = 0, c_hi = 1e6;
  size_t cdf_above = 0;
  if (!primary.empty()) {
    const double cdf_clip = ClipAt(primary);
    c_lo = primary.front();
    c_hi = std::isfinite(cdf_clip) ? cdf_clip : primary.back();
    for (const Mark& pc : pcts) {
      if (static_cast<double>(pc.value) <= c_hi) continue;
      if (!std::isfinite(cdf_clip)) c_hi = static_cast<double>(pc.value) * 1.02;
    }
    for (const Mark& pc : pcts) c_lo = std::min(c_lo, static_cast<double>(pc.value));
    cdf_above = static_cast<size_t>(
        std::count_if(primary.begin(), primary.end(), [&](double v) { return v > c_hi; }));
    const double pad = (c_hi - c_lo) * 0.03;
    c_lo = (c_lo >= 0 && c_lo - pad < 0) ? 0 : c_lo - pad;
    c_hi += pad;
  }
  const TimeUnit cu = PickTimeUnit(std::max(std::abs(c_lo), std::abs(c_hi)));
  const NiceAxis ca = MakeNiceAxis(c_lo / cu.ns, c_hi / cu.ns, 8);
  NiceAxis fa;  // 0..100 %
  fa.lo = 0;
  fa.hi = 1;
  fa.step = 0.25;
  fa.ticks = {0, 0.25, 0.5, 0.75, 1};
  fa.decimals = 0;
  const Scale cxs{ca.lo, ca.hi, bot.left, bot.right};
  const Scale cys{0, 1, bot.bottom, bot.top};
  DrawAxes(svg, bot, ca, cxs, fa, cys, absl::StrCat(marks_name, " (", cu.name, ")"),
           "probes \xe2\x89\xa4 x", 100, "%");
  absl::StrAppend(&o, "<g clip-path=\"url(#clip-bot)\">\n");
  svg.Path(CdfPath(secondary, cxs, cys, cu.ns, bot), kRttColor, 1.5, " stroke-opacity=\"0.45\"");
  svg.Path(CdfPath(primary, cxs, cys, cu.ns, bot), has_net ? kNetColor : kRttColor, 2);
  absl::StrAppend(&o, "</g>\n");
  if (primary.empty()) {
    svg.Text((bot.left + bot.right) / 2, (bot.top + bot.bottom) / 2,
             pts.empty() ? "no probes" : absl::StrCat("no replies (", lost_t.size(), " lost)"),
             "middle", " font-size=\"16\" fill=\"#888888\"");
  }
  if (cdf_above > 0) {
    svg.Text(
        bot.right - 6, bot.top + 16 + 16 * static_cast<double>(pcts.size()),
        absl::StrCat(cdf_above, " above range â (max ", FormatDurationNs(primary.back()), ")"),
        "end", " fill=\"#444444\"");
  }
  if (marks.count > 0) {
    for (size_t k = 0; k < pcts.size(); ++k) {
      const double x =
          std::clamp(cxs(static_cast<double>(pcts[k].value) / cu.ns), bot.left, bot.right);
      svg.Line(x, bot.top, x, bot.bottom, kMarkColor, 1, " stroke-dasharray=\"4 3\"");
      const std::string label =
          absl::StrCat(pcts[k].name, " ", FormatDurationNs(static_cast<double>(pcts[k].value)));
      const bool right_side = x < bot.right - 130;
      // Labels step down the panel so close percentiles stay readable.
      svg.Text(right_side ? x + 4 : x - 4, bot.top + 16 + 16 * static_cast<double>(k), label,
               right_side ? "start" : "end", absl::StrCat(" fill=\"", kMarkColor, "\"").c_str());
    }
    const std::string stats_line = absl::StrCat(
        marks_name, ": min ", FormatDurationNs(static_cast<double>(marks.min)), ", mean ",
        FormatDurationNs(marks.mean), ", stddev ", FormatDurationNs(marks.stddev), ", max ",
        FormatDurationNs(static_cast<double>(marks.max)),
        marks.exact ? ""
                    : " (percentiles \xc2\xb1"
                      "0.2%)");
    svg.Text(bot.right - 6, bot.bottom - 10, stats_line, "end", " fill=\"#444444\"");
  }
  absl::StrAppend(&o, "</svg>\n");
  return std::move(o);
}

namespace {

absl::Status PlotOpenError(int err, const std::string& name) {
  std::string_view hint;
  if (err == ENOENT) hint = "its directory does not exist";
  if (err == EACCES || err == EPERM) hint = "no permission to write there";
  if (err == EISDIR) hint = "it is a directory; give a file name inside it";
  if (err == EROFS) hint = "read-only file system; write somewhere else";
  return ErrnoStatus(err, absl::StrCat(name, ": open for writing"), hint);
}

}  // namespace

absl::Status CheckPlotWritable(std::string_view path, std::string_view flag) {
  const std::string name(path);
  if (name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(ToAbsl(flag), ": the file name is empty"));
  }
  auto nofollow = NoFollowFlagsFor(name, flag);
  if (!nofollow.ok()) return nofollow.status();
  int fd = ::open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd >= 0) {  // made it: leave no empty file behind should the run fail
    ::close(fd);
    ::unlink(name.c_str());
    return absl::OkStatus();
  }
  if (errno == EEXIST) fd = ::open(name.c_str(), O_WRONLY | O_CLOEXEC | *nofollow);
  if (fd < 0) return PlotOpenError(errno, name);
  ::close(fd);
  return absl::OkStatus();
}

absl::Status WriteProbeSvg(std::string_view path, const ProbePlotData& data,
                           const SvgPlotOptions& options) {
  return WritePlotFile(path, RenderProbeSvg(data, options), "--plot");
}

absl::Status WritePlotFile(std::string_view path, std::string_view doc, std::string_view flag) {
  const std::string name(path);
  auto nofollow = NoFollowFlagsFor(name, flag);
  if (!nofollow.ok()) return nofollow.status();
  UniqueFd fd(::open(name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | *nofollow, 0644));
  if (!fd.valid()) return PlotOpenError(errno, name);
  size_t off = 0;
  while (off < doc.size()) {
    const ssize_t n = ::write(fd.get(), doc.data() + off, doc.size() - off);
    if (n > 0) {
      off += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      const int err = n < 0 ? errno : EIO;
      return ErrnoStatus(err, absl::StrCat(name, ": writing it"),
                         err == ENOSPC ? "the disk is full" : "");
    }
  }
  if (::close(fd.Release()) != 0) {
    const int err = errno;
    return ErrnoStatus(err, absl::StrCat(name, ": close"));
  }
  return absl::OkStatus();
}

}  // namespace ringstamp::app
