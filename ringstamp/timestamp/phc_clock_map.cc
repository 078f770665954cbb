#include "ringstamp/timestamp/phc_clock_map.h"

#include <cstdlib>

#include "absl/strings/str_format.h"

namespace ringstamp {

bool PhcClockMap::Update(const PhcOffset& o) {
  Snapshot n;
  n.p1 = o.phc_ns;
  n.s1 = o.system_ns;
  n.u1 = o.uncertainty_ns;
  n.method = static_cast<int64_t>(o.method);
  if (have_prev_) {
    if (o.phc_ns <= prev_.phc_ns) {
      rejected_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    n.dp = o.phc_ns - prev_.phc_ns;
    n.ds = o.system_ns - prev_.system_ns;
    n.du = prev_.uncertainty_ns + o.uncertainty_ns;
  }
  const uint64_t seq = seq_.load(std::memory_order_relaxed);
  seq_.store(seq + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  p1_.store(n.p1, std::memory_order_relaxed);
  s1_.store(n.s1, std::memory_order_relaxed);
  u1_.store(n.u1, std::memory_order_relaxed);
  dp_.store(n.dp, std::memory_order_relaxed);
  ds_.store(n.ds, std::memory_order_relaxed);
  du_.store(n.du, std::memory_order_relaxed);
  method_.store(n.method, std::memory_order_relaxed);
  seq_.store(seq + 2, std::memory_order_release);
  have_prev_ = true;
  prev_ = o;
  updates_.fetch_add(1, std::memory_order_relaxed);
  // The worst stamp until the next update, assumed one interval away.
  const int64_t u = MapWith(n, n.p1 + (n.dp > 0 ? n.dp : 0)).uncertainty_ns;
  if (u > max_uncertainty_ns_.load(std::memory_order_relaxed)) {
    max_uncertainty_ns_.store(u, std::memory_order_relaxed);
  }
  return true;
}

PhcClockMap::Snapshot PhcClockMap::Read() const {
  Snapshot s;
  for (;;) {
    const uint64_t before = seq_.load(std::memory_order_acquire);
    if (before & 1) continue;  // an update is being written: a few ns
    s.p1 = p1_.load(std::memory_order_relaxed);
    s.s1 = s1_.load(std::memory_order_relaxed);
    s.u1 = u1_.load(std::memory_order_relaxed);
    s.dp = dp_.load(std::memory_order_relaxed);
    s.ds = ds_.load(std::memory_order_relaxed);
    s.du = du_.load(std::memory_order_relaxed);
    s.method = method_.load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (seq_.load(std::memory_order_relaxed) == before) return s;
  }
}

MappedStamp PhcClockMap::MapWith(const Snapshot& s, int64_t phc_ns) {
  const int64_t d = phc_ns - s.p1;
  MappedStamp m;
  if (s.dp <= 0) {  // one comparison: offset only, no known slope error
    m.system_ns = s.s1 + d;
    m.uncertainty_ns = s.u1;
    return m;
  }
  m.system_ns = s.s1 + static_cast<int64_t>(static_cast<__int128>(d) * s.ds / s.dp);
  const __int128 ad = d < 0 ? -static_cast<__int128>(d) : d;
  m.uncertainty_ns = s.u1 + static_cast<int64_t>((ad * s.du + s.dp - 1) / s.dp);
  return m;
}

std::optional<MappedStamp> PhcClockMap::Map(int64_t phc_ns) const {
  if (!has_mapping()) return std::nullopt;
  return MapWith(Read(), phc_ns);
}

std::optional<int64_t> PhcClockMap::MapInto(Timestamps& ts) const {
  if (!ts.hardware_ns || ts.hardware_source != StampSource::kHardwareRaw) return std::nullopt;
  std::optional<MappedStamp> m = Map(*ts.hardware_ns);
  if (!m) return std::nullopt;
  ts.hardware_system_ns = m->system_ns;
  return m->uncertainty_ns;
}

namespace {
std::string Micros(int64_t ns) { return absl::StrFormat("%.3f us", static_cast<double>(ns) / 1e3); }
}  // namespace

std::string FormatPhcClockStats(const PhcClockStats& s) {
  return absl::StrFormat(
      "±%s (worst ±%s), PHC rate %+.3f ppm, %u updates, %u failed, %u refused, %s",
      Micros(s.uncertainty_ns), Micros(s.max_uncertainty_ns), s.slope_ppb / 1e3, s.updates,
      s.failures, s.rejected, PhcOffsetMethodName(s.method));
}

PhcClockStats PhcClockMap::Stats(int64_t interval_ns) const {
  PhcClockStats st;
  st.updates = updates_.load(std::memory_order_relaxed);
  st.rejected = rejected_.load(std::memory_order_relaxed);
  st.failures = failures_.load(std::memory_order_relaxed);
  st.max_uncertainty_ns = max_uncertainty_ns_.load(std::memory_order_relaxed);
  if (!has_mapping()) return st;
  const Snapshot s = Read();
  st.offset_ns = s.p1 - s.s1;
  if (s.dp > 0 && s.ds > 0) {
    st.slope_ppb = static_cast<double>(s.dp - s.ds) / static_cast<double>(s.ds) * 1e9;
  }
  st.uncertainty_ns = MapWith(s, s.p1 + interval_ns).uncertainty_ns;
  st.method = static_cast<PhcOffsetMethod>(s.method);
  return st;
}

}  // namespace ringstamp
