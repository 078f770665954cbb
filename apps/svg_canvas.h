// svg_canvas.h — the drawing primitives the probe's SVG pictures share (svg_plot.cc and the
// report's views in plot_views.cc): coordinates that are never NaN, XML escaping, a linear
// scale, a panel, an SVG string builder and axes with grid and labels. Pure functions and
// value types: any thread. Cost: string appends.
//
// Sketch:
//   SvgOut svg;
//   Panel p{.left = 70, .right = 930, .top = 40, .bottom = 300};
//   NiceAxis xa = MakeNiceAxis(0, 10), ya = MakeNiceAxis(0, 250);
//   Scale xs{xa.lo, xa.hi, p.left, p.right}, ys{ya.lo, ya.hi, p.bottom, p.top};
//   DrawAxes(svg, p, xa, xs, ya, ys, "time (s)", "RTT (µs)");
//   svg.Path("M70 300L930 40", kRttColor, 1.5);
#pragma once

#include <cmath>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "apps/svg_plot.h"

namespace ringstamp::app {

inline constexpr const char* kRttColor = "#1f77b4";
inline constexpr const char* kNetColor = "#ff7f0e";
inline constexpr const char* kLostColor = "#d62728";
inline constexpr const char* kGridColor = "#e4e4e4";
inline constexpr const char* kAxisColor = "#555555";
inline constexpr const char* kMarkColor = "#2b7a2b";

inline double Finite(double v) { return std::isfinite(v) ? v : 0.0; }

// A coordinate: one decimal, never NaN/inf.
inline std::string C(double v) { return absl::StrFormat("%.1f", Finite(v)); }

inline std::string XmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        // Control characters other than tab/newline are not allowed in XML 1.0.
        if (static_cast<unsigned char>(c) >= 0x20 || c == '\t' || c == '\n') out += c;
        break;
    }
  }
  return out;
}

inline std::string FormatTick(double v, int decimals, double step) {
  if (std::abs(v) < step * 1e-9) v = 0;  // no "-0"
  return absl::StrFormat("%.*f", decimals, Finite(v));
}

// A linear map from data [d0, d1] (d1 > d0) to pixels [p0, p1].
struct Scale {
  double d0, d1, p0, p1;
  double operator()(double d) const { return p0 + (d - d0) / (d1 - d0) * (p1 - p0); }
};

struct Panel {
  double left, right, top, bottom;
  double width() const { return right - left; }
};

class SvgOut {
 public:
  std::string& str() { return out_; }
  void Line(double x1, double y1, double x2, double y2, const char* color, double width = 1,
            const char* extra = "") {
    absl::StrAppend(&out_, "<line x1=\"", C(x1), "\" y1=\"", C(y1), "\" x2=\"", C(x2), "\" y2=\"",
                    C(y2), "\" stroke=\"", color, "\" stroke-width=\"", C(width), "\"", extra,
                    "/>\n");
  }
  void Text(double x, double y, std::string_view text, const char* anchor = "start",
            const char* extra = "") {
    absl::StrAppend(&out_, "<text x=\"", C(x), "\" y=\"", C(y), "\" text-anchor=\"", anchor, "\"",
                    extra, ">", XmlEscape(text), "</text>\n");
  }
  void Path(const std::string& d, const char* stroke, double width, const char* extra = "") {
    if (d.empty()) return;
    absl::StrAppend(&out_, "<path d=\"", d, "\" fill=\"none\" stroke=\"", stroke,
                    "\" stroke-width=\"", C(width), "\"", extra, "/>\n");
  }

 private:
  std::string out_;
};

inline void DrawAxes(SvgOut& svg, const Panel& p, const NiceAxis& xa, const Scale& xs,
                     const NiceAxis& ya, const Scale& ys, const std::string& x_label,
                     const std::string& y_label, double y_tick_scale = 1,
                     const char* y_suffix = "") {
  for (double t : ya.ticks) {
    const double y = ys(t);
    svg.Line(p.left, y, p.right, y, kGridColor);
    svg.Text(p.left - 6, y + 4, FormatTick(t * y_tick_scale, ya.decimals, ya.step) + y_suffix,
             "end");
  }
  for (double t : xa.ticks) {
    const double x = xs(t);
    svg.Line(x, p.top, x, p.bottom, kGridColor);
    svg.Text(x, p.bottom + 16, FormatTick(t, xa.decimals, xa.step), "middle");
  }
  absl::StrAppend(&svg.str(), "<rect x=\"", C(p.left), "\" y=\"", C(p.top), "\" width=\"",
                  C(p.width()), "\" height=\"", C(p.bottom - p.top), "\" fill=\"none\" stroke=\"",
                  kAxisColor, "\"/>\n");
  svg.Text((p.left + p.right) / 2, p.bottom + 34, x_label, "middle");
  const double yc = (p.top + p.bottom) / 2;
  svg.Text(p.left - 52, yc, y_label, "middle",
           absl::StrCat(" transform=\"rotate(-90 ", C(p.left - 52), " ", C(yc), ")\"").c_str());
}

}  // namespace ringstamp::app
