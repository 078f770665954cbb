// svg_plot.h — a self-contained SVG picture of a probe run: RTT over time on
// top, the latency distribution (CDF) with p50/p90/p99/p99.9 marked below.
//
// Example:
// Given: int64_t t1; int64_t rtt; int64_t net; const LatencyStats& net_stats; const LatencyStats& rtt_stats
//   ProbePlotData d{.title = "ringstamp probe 10.0.0.1 → 10.0.0.2"};
//   d.points.push_back({.time_ns = t1, .rtt_ns = rtt, .network_rtt_ns = net, .lost = false});
//   d.network_rtt = net_stats.Summarize();  d.rtt = rtt_stats.Summarize();
//   absl::Status st = WriteProbeSvg("run.svg", d);
//
// The output is plain SVG 1.1 (no script, no external fonts or files): it opens
// in any browser. Top panel: per-probe RTT and network RTT against time since
// the first probe, lost probes as red crosses along the bottom edge; above
// 3,000 probes each pixel column shows the min–max span instead of dots, and
// when a few outliers would squash the rest (max > 3 × the highest percentile the
// count holds: p99.9 from 1,000 replies, p99 from 100) the range stops at 1.25 ×
// that percentile and the outliers sit as triangles on the top edge, counted in
// the legend. Bottom panel: the CDF of network RTT (and of RTT, lighter), its axis
// sized from the network RTT alone and clipped the same way, with the percentiles
// the count holds (p90 from 10, p99 from 100, p99.9 from 1,000) as labelled lines.
// Units (ns, µs, ms, s) and tick steps (1, 2, 5 × 10^k) are picked from the
// data. 0 probes, 1 probe and all-lost runs give a valid picture with a note
// instead of a curve; no NaN or infinity ever reaches the file.
//
// Pure functions of their input: any thread. Cost: O(n log n) for n probes
// (sorting for the CDF); the SVG is at most a few hundred KiB at any n.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "ringstamp/engine/probe/latency_stats.h"

namespace ringstamp::app {

struct ProbePlotPoint {
  int64_t time_ns = 0;                    // when the probe was sent (any clock)
  int64_t rtt_ns = 0;                     // t4 − t1; ignored when lost
  std::optional<int64_t> network_rtt_ns;  // RTT − reflector dwell, when known
  bool lost = false;
};

struct ProbePlotData {
  std::string title = "ringstamp probe";
  std::string subtitle = {};  // e.g. "software stamps on veth0"; counts are added
  std::vector<ProbePlotPoint> points = {};
  // Percentiles to mark. network_rtt is used when its count > 0, else rtt.
  LatencySummary rtt = {};
  LatencySummary network_rtt = {};
  // The network RTT's name in the legend and the percentile panel, with what it rests on
  // when that is less than kernel or NIC stamps (e.g. "network RTT (t3 estimated for 12
  // of 300)").
  std::string network_rtt_name = "network RTT";
  // System-clock time (Unix ns) of the earliest point, when known: the time axis then says
  // when the run started ("time since 2026-12-05 12:00:00 UTC").
  std::optional<int64_t> origin_realtime_ns = {};
};

struct SvgPlotOptions {
  int width = 960;   // px, 480..4096
  int height = 720;  // px, 400..4096
};

// The whole document, starting with <?xml ...?>.
std::string RenderProbeSvg(const ProbePlotData& data, const SvgPlotOptions& options = {});

// Renders and writes to `path` (created or truncated). Errors name the path, errno and
// what to do.
absl::Status WriteProbeSvg(std::string_view path, const ProbePlotData& data,
                           const SvgPlotOptions& options = {});

// Writes `doc` to `path` (created or truncated, no symlink followed where NoFollowFlagsFor
// says so; `flag` names the option in its errors): WriteProbeSvg's and the report's writer.
absl::Status WritePlotFile(std::string_view path, std::string_view doc, std::string_view flag);

// Whether `path` can be written, checked before a run so that a bad --plot fails at once
// and not after hours of probing: an existing file is opened for writing (not truncated),
// a new one is created and removed again. Errors as WriteProbeSvg's.
absl::Status CheckPlotWritable(std::string_view path, std::string_view flag = "--plot");

// Helpers, exposed for tests.
struct TimeUnit {
  const char* name;  // "ns", "µs", "ms", "s"
  double ns;         // nanoseconds per unit
};
// The largest unit in which `max_abs_ns` is ≥ 1 (ns below 1 µs).
TimeUnit PickTimeUnit(double max_abs_ns);

struct NiceAxis {
  double lo = 0, hi = 1, step = 1;  // lo and hi are multiples of step, lo < hi
  std::vector<double> ticks;        // lo, lo + step, ..., hi
  int decimals = 0;                 // digits after the point that show the step
};
// An axis covering [lo, hi] with about `target_ticks` ticks at 1, 2, 5 × 10^k
// steps. An empty or inverted range is widened around its value.
NiceAxis MakeNiceAxis(double lo, double hi, int target_ticks = 6);

// "950 ns", "12.3 µs", "1.25 ms", "3.00 s": three significant digits.
std::string FormatDurationNs(double ns);

}  // namespace ringstamp::app
