#include "apps/run_engine.h"

#include <chrono>
#include <cstdio>
#include <thread>

#include "absl/strings/str_format.h"
#include "ringstamp/common/clock.h"

namespace ringstamp::app {

std::string HumanRate(double v) {
  if (v >= 1e9) return absl::StrFormat("%.2fG", v / 1e9);
  if (v >= 1e6) return absl::StrFormat("%.2fM", v / 1e6);
  if (v >= 1e3) return absl::StrFormat("%.1fk", v / 1e3);
  return absl::StrFormat("%.0f", v);
}

void RunEngineLoop(Engine& engine, const RunLoopOptions& o) {
  const int64_t start = MonotonicNs();
  int64_t next_live = start + kNsPerSec;
  EngineStats prev = engine.Snapshot();
  bool printed = false;
  while (!engine.stop_requested()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const int64_t now = MonotonicNs();
    if (o.duration_ns > 0 && now - start >= o.duration_ns) break;
    if (o.done && o.done()) break;
    if (o.live && now >= next_live) {
      EngineStats s = engine.Snapshot();
      const double dt = static_cast<double>(s.taken_at_ns - prev.taken_at_ns) / 1e9;
      const double in_pps = static_cast<double>(s.total.frames - prev.total.frames) / dt;
      const double out_pps = static_cast<double>(s.total.tx_sent - prev.total.tx_sent) / dt;
      const double mbit = static_cast<double>((s.total.bytes - prev.total.bytes) +
                                              (s.total.tx_bytes - prev.total.tx_bytes)) *
                          8 / dt / 1e6;
      std::fprintf(stderr, "\r%s: in %s pps, out %s pps, %.1f Mbit/s, kernel drops %llu   ",
                   o.label.c_str(), HumanRate(in_pps).c_str(), HumanRate(out_pps).c_str(), mbit,
                   static_cast<unsigned long long>(s.total.kernel_drops));
      std::fflush(stderr);
      printed = true;
      prev = s;
      next_live = now + kNsPerSec;
    }
  }
  engine.Stop();
  if (printed) std::fprintf(stderr, "\n");
}

}  // namespace ringstamp::app
