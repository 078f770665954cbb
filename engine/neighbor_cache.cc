#include "engine/neighbor_cache.h"

#include <chrono>

#include "absl/strings/str_format.h"
#include "common/clock.h"

namespace ringstamp {

std::optional<MacAddress> NeighborCache::Lookup(const IpAddress& ip, int64_t now_ns) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = table_.find(ip);
  if (it == table_.end()) return std::nullopt;
  const Entry& e = it->second;
  if (e.state == State::kStatic) return e.mac;
  if (e.state == State::kReachable && now_ns - e.updated_ns < options_.reachable_ns) return e.mac;
  return std::nullopt;
}

void NeighborCache::AddStatic(const IpAddress& ip, const MacAddress& mac) {
  std::lock_guard<std::mutex> l(mu_);
  Entry& e = table_[ip];
  e.state = State::kStatic;
  e.mac = mac;
  cv_.notify_all();
}

void NeighborCache::Remove(const IpAddress& ip) {
  std::lock_guard<std::mutex> l(mu_);
  table_.erase(ip);
}

std::vector<ParkedFrame> NeighborCache::Learn(const IpAddress& ip, const MacAddress& mac,
                                              int64_t now_ns) {
  std::vector<ParkedFrame> out;
  std::lock_guard<std::mutex> l(mu_);
  Entry& e = table_[ip];
  if (e.state == State::kStatic) return out;
  if (e.state != State::kReachable || e.mac != mac) counters_.learnt++;
  e.state = State::kReachable;
  e.mac = mac;
  e.updated_ns = now_ns;
  e.tries = 0;
  out.swap(e.parked);
  cv_.notify_all();
  return out;
}

absl::Status NeighborCache::FailedError(const IpAddress& ip) const {
  return absl::UnavailableError(absl::StrFormat(
      "neighbour %s did not answer %s (%d requests, %.1f s apart); check that it exists on this "
      "link and VLAN, or add a static entry",
      ip.ToString(), ip.is_v4() ? "ARP" : "neighbour solicitation", options_.retries,
      static_cast<double>(options_.retry_ns) / 1e9));
}

absl::StatusOr<bool> NeighborCache::StartLocked(Entry& e, const IpAddress& ip, int64_t now_ns) {
  if (e.state == State::kFailed) {
    if (now_ns - e.updated_ns < options_.failed_hold_ns) return FailedError(ip);
    e.state = State::kIncomplete;
    e.tries = 0;
    e.next_try_ns = 0;
  }
  if (e.state == State::kReachable && now_ns - e.updated_ns >= options_.reachable_ns) {
    e.state = State::kIncomplete;  // stale: ask again
    e.tries = 0;
    e.next_try_ns = 0;
  }
  if (e.state != State::kIncomplete) return false;
  if (e.tries == 0 || now_ns >= e.next_try_ns) {
    if (e.tries == 0) e.updated_ns = now_ns;
    e.tries++;
    e.next_try_ns = now_ns + options_.retry_ns;
    counters_.requests++;
    return true;
  }
  return false;
}

absl::StatusOr<bool> NeighborCache::Park(const IpAddress& ip, ParkedFrame frame, int64_t now_ns) {
  std::lock_guard<std::mutex> l(mu_);
  Entry& e = table_[ip];
  auto ask = StartLocked(e, ip, now_ns);
  if (!ask.ok()) {
    counters_.parked_dropped++;
    return ask;
  }
  if (e.parked.size() >= options_.max_parked) {
    counters_.parked_dropped++;
  } else {
    e.parked.push_back(std::move(frame));
    counters_.parked++;
  }
  return ask;
}

absl::StatusOr<bool> NeighborCache::Start(const IpAddress& ip, int64_t now_ns) {
  std::lock_guard<std::mutex> l(mu_);
  return StartLocked(table_[ip], ip, now_ns);
}

void NeighborCache::Tick(int64_t now_ns, const std::function<void(const IpAddress&)>& resend) {
  std::vector<IpAddress> due;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& [ip, e] : table_) {
      if (e.state != State::kIncomplete || now_ns < e.next_try_ns) continue;
      if (e.tries >= options_.retries) {
        e.state = State::kFailed;
        e.updated_ns = now_ns;
        counters_.failed++;
        counters_.parked_dropped += e.parked.size();
        e.parked.clear();
        cv_.notify_all();
        continue;
      }
      e.tries++;
      e.next_try_ns = now_ns + options_.retry_ns;
      counters_.requests++;
      due.push_back(ip);
    }
  }
  for (const IpAddress& ip : due) resend(ip);
}

absl::StatusOr<MacAddress> NeighborCache::Wait(const IpAddress& ip, int64_t deadline_ns) {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    auto it = table_.find(ip);
    if (it != table_.end()) {
      const Entry& e = it->second;
      if (e.state == State::kStatic || e.state == State::kReachable) return e.mac;
      if (e.state == State::kFailed) return FailedError(ip);
    }
    const int64_t now = MonotonicNs();
    if (now >= deadline_ns) {
      return absl::DeadlineExceededError(
          absl::StrFormat("neighbour %s: no answer before the deadline", ip.ToString()));
    }
    cv_.wait_for(l, std::chrono::nanoseconds(std::min<int64_t>(deadline_ns - now, 100'000'000)));
  }
}

NeighborCounters NeighborCache::counters() const {
  std::lock_guard<std::mutex> l(mu_);
  return counters_;
}

size_t NeighborCache::size() const {
  std::lock_guard<std::mutex> l(mu_);
  return table_.size();
}

}  // namespace ringstamp
