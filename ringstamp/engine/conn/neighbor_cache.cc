#include "ringstamp/engine/conn/neighbor_cache.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_format.h"
#include "ringstamp/common/clock.h"
#include "ringstamp/common/status_macros.h"

namespace ringstamp {

NeighborCache::NeighborCache(NeighborCacheOptions options) : options_(options) {
  options_.max_entries = std::max<uint32_t>(1, options_.max_entries);
}

void NeighborCache::Grow() {
  const size_t old_size = slots_.size();
  if (old_size >= options_.max_entries) return;
  const size_t new_size = std::min<size_t>(options_.max_entries, std::max<size_t>(4, old_size * 2));
  // Entries are named by index, never by pointer across a call: moving them is safe.
  slots_.resize(new_size);
  index_.reserve(new_size);
  for (size_t i = old_size; i < new_size; ++i) PushBack(static_cast<uint32_t>(i), ListId::kFree);
}

NeighborCache::List& NeighborCache::ListOf(ListId id) {
  switch (id) {
    case ListId::kResolved:
      return resolved_;
    case ListId::kIncomplete:
      return incomplete_;
    default:
      return free_;
  }
}

void NeighborCache::Unlink(uint32_t i) {
  Entry& e = slots_[i];
  if (e.list == ListId::kNone) return;
  List& l = ListOf(e.list);
  (e.prev == kNil ? l.head : slots_[e.prev].next) = e.next;
  (e.next == kNil ? l.tail : slots_[e.next].prev) = e.prev;
  e.prev = e.next = kNil;
  e.list = ListId::kNone;
}

void NeighborCache::PushBack(uint32_t i, ListId id) {
  Unlink(i);
  Entry& e = slots_[i];
  if (id == ListId::kNone) return;
  List& l = ListOf(id);
  e.list = id;
  e.prev = l.tail;
  e.next = kNil;
  (l.tail == kNil ? l.head : slots_[l.tail].next) = i;
  l.tail = i;
}

uint32_t NeighborCache::Find(const IpAddress& ip) const {
  auto it = index_.find(ip);
  return it == index_.end() ? kNil : it->second;
}

void NeighborCache::DropParked(Entry& e) {
  counters_.parked_dropped += e.parked.size();
  for (const ParkedFrame& f : e.parked) parked_bytes_ -= f.bytes.capacity();
  parked_frames_ -= e.parked.size();
  e.parked.clear();
}

void NeighborCache::Release(uint32_t i) {
  Entry& e = slots_[i];
  DropParked(e);
  index_.erase(e.ip);
  e.state = State::kIncomplete;
  e.tries = 0;
  PushBack(i, ListId::kFree);
  cv_.notify_all();  // a waiter on an evicted entry sees it gone and starts again or times out
}

uint32_t NeighborCache::Create(const IpAddress& ip, State state) {
  if (free_.head == kNil) Grow();
  uint32_t i = free_.head;
  if (i == kNil) {
    // Full: the oldest resolved (reachable or failed) entry, then the oldest incomplete one.
    i = resolved_.head != kNil ? resolved_.head : incomplete_.head;
    if (i == kNil) {
      counters_.refused++;
      return kNil;
    }
    counters_.evicted++;
    if (slots_[i].state == State::kIncomplete) counters_.evicted_incomplete++;
    Release(i);
  }
  Entry& e = slots_[i];
  e.ip = ip;
  e.mac = MacAddress{};
  e.updated_ns = e.next_try_ns = 0;
  e.tries = 0;
  index_[ip] = i;
  SetState(i, state);
  return i;
}

void NeighborCache::SetState(uint32_t i, State s) {
  slots_[i].state = s;
  switch (s) {
    case State::kStatic:
      PushBack(i, ListId::kNone);
      break;
    case State::kIncomplete:
      PushBack(i, ListId::kIncomplete);
      break;
    default:
      PushBack(i, ListId::kResolved);
      break;
  }
}

std::optional<MacAddress> NeighborCache::Lookup(const IpAddress& ip, int64_t now_ns) const {
  std::lock_guard<std::mutex> l(mu_);
  const uint32_t i = Find(ip);
  if (i == kNil) return std::nullopt;
  const Entry& e = slots_[i];
  if (e.state == State::kStatic) return e.mac;
  if (e.state == State::kReachable && now_ns - e.updated_ns < options_.reachable_ns) return e.mac;
  return std::nullopt;
}

void NeighborCache::AddStatic(const IpAddress& ip, const MacAddress& mac) {
  std::lock_guard<std::mutex> l(mu_);
  uint32_t i = Find(ip);
  if (i == kNil) i = Create(ip, State::kStatic);
  if (i == kNil) return;  // full of static entries: counted in `refused`
  slots_[i].mac = mac;
  SetState(i, State::kStatic);
  cv_.notify_all();
}

void NeighborCache::Remove(const IpAddress& ip) {
  std::lock_guard<std::mutex> l(mu_);
  const uint32_t i = Find(ip);
  if (i != kNil) Release(i);
}

std::vector<ParkedFrame> NeighborCache::Learn(const IpAddress& ip, const MacAddress& mac,
                                              int64_t now_ns, LearnRule rule) {
  std::vector<ParkedFrame> out;
  std::lock_guard<std::mutex> l(mu_);
  uint32_t i = Find(ip);
  if (i == kNil) {
    if (rule != LearnRule::kUpdateOrCreate) {
      counters_.not_learnt++;  // RFC 826 / RFC 4861 §7.2.5: no entry, nothing created
      return out;
    }
    i = Create(ip, State::kReachable);
    if (i == kNil) return out;
  }
  Entry& e = slots_[i];
  if (e.state == State::kStatic) return out;
  if (rule == LearnRule::kNoOverride && e.state != State::kIncomplete && e.mac != mac) {
    counters_.not_learnt++;  // §7.2.5: without O, a known link-layer address stays
    return out;
  }
  if (e.state != State::kReachable || e.mac != mac) counters_.learnt++;
  e.mac = mac;
  e.updated_ns = now_ns;
  e.tries = 0;
  SetState(i, State::kReachable);  // newest: last to be evicted
  for (const ParkedFrame& f : e.parked) parked_bytes_ -= f.bytes.capacity();
  parked_frames_ -= e.parked.size();
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

absl::Status NeighborCache::FullError(const IpAddress& ip) const {
  return absl::ResourceExhaustedError(
      absl::StrFormat("neighbour %s: the cache holds %u static entries and no other; raise "
                      "NeighborCacheOptions::max_entries or remove static entries",
                      ip.ToString(), options_.max_entries));
}

absl::StatusOr<uint32_t> NeighborCache::FindOrStart(const IpAddress& ip) {
  uint32_t i = Find(ip);
  if (i == kNil) i = Create(ip, State::kIncomplete);
  if (i == kNil) return FullError(ip);
  return i;
}

absl::StatusOr<bool> NeighborCache::StartLocked(uint32_t i, int64_t now_ns) {
  Entry& e = slots_[i];
  if (e.state == State::kFailed) {
    if (now_ns - e.updated_ns < options_.failed_hold_ns) return FailedError(e.ip);
    e.tries = 0;
    SetState(i, State::kIncomplete);
  }
  if (e.state == State::kReachable && now_ns - e.updated_ns >= options_.reachable_ns) {
    e.tries = 0;  // stale: ask again
    SetState(i, State::kIncomplete);
  }
  if (e.state != State::kIncomplete) return false;
  if (e.tries == 0 || now_ns >= e.next_try_ns) {
    if (e.tries == 0) e.updated_ns = now_ns;
    e.tries++;
    e.next_try_ns = now_ns + options_.retry_ns;
    PushBack(i, ListId::kIncomplete);  // the queue stays ordered by next_try_ns
    counters_.requests++;
    return true;
  }
  return false;
}

absl::StatusOr<bool> NeighborCache::Park(const IpAddress& ip, ParkedFrame frame, int64_t now_ns) {
  std::lock_guard<std::mutex> l(mu_);
  auto i = FindOrStart(ip);
  if (!i.ok()) {
    counters_.parked_dropped++;
    return i.status();
  }
  auto ask = StartLocked(*i, now_ns);
  if (!ask.ok()) {
    counters_.parked_dropped++;
    return ask;
  }
  Entry& e = slots_[*i];
  if (e.state != State::kIncomplete || e.parked.size() >= options_.max_parked) {
    counters_.parked_dropped++;
  } else if (parked_frames_ >= options_.max_parked_total ||
             parked_bytes_ + frame.bytes.size() > options_.max_parked_bytes) {
    counters_.parked_dropped++;
    counters_.parked_over_cap++;
  } else {
    frame.bytes.shrink_to_fit();  // kept at its length, not the buffer it was built in
    parked_frames_++;
    parked_bytes_ += frame.bytes.capacity();
    e.parked.push_back(std::move(frame));
    counters_.parked++;
  }
  return ask;
}

absl::StatusOr<bool> NeighborCache::Start(const IpAddress& ip, int64_t now_ns) {
  std::lock_guard<std::mutex> l(mu_);
  RS_ASSIGN_OR_RETURN(uint32_t i, FindOrStart(ip));
  return StartLocked(i, now_ns);
}

void NeighborCache::Tick(int64_t now_ns, const std::function<void(const IpAddress&)>& resend) {
  // Bounded by the number of entries due: resend(ip) is called under no lock, so
  // collect into a fixed array and loop while more are due.
  constexpr size_t kBatch = 64;
  for (;;) {
    std::array<IpAddress, kBatch> due;
    size_t n = 0;
    bool more = false;
    {
      std::lock_guard<std::mutex> l(mu_);
      while (incomplete_.head != kNil) {
        const uint32_t i = incomplete_.head;
        Entry& e = slots_[i];
        counters_.tick_visits++;
        if (now_ns < e.next_try_ns) break;  // ordered: no later entry is due either
        if (e.tries >= options_.retries) {
          e.updated_ns = now_ns;
          counters_.failed++;
          DropParked(e);
          SetState(i, State::kFailed);
          cv_.notify_all();
          continue;
        }
        if (n == kBatch) {
          more = true;
          counters_.tick_visits--;  // visited again in the next batch
          break;
        }
        e.tries++;
        e.next_try_ns = now_ns + options_.retry_ns;
        PushBack(i, ListId::kIncomplete);
        counters_.requests++;
        due[n++] = e.ip;
      }
    }
    for (size_t k = 0; k < n; ++k) resend(due[k]);
    if (!more) return;
  }
}

absl::StatusOr<MacAddress> NeighborCache::Wait(const IpAddress& ip, int64_t deadline_ns) {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    const uint32_t i = Find(ip);
    if (i != kNil) {
      const Entry& e = slots_[i];
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
  NeighborCounters c = counters_;
  c.entries = index_.size();
  c.parked_bytes = parked_bytes_;
  return c;
}

size_t NeighborCache::size() const {
  std::lock_guard<std::mutex> l(mu_);
  return index_.size();
}

size_t NeighborCache::MemoryBytes() const {
  std::lock_guard<std::mutex> l(mu_);
  // A flat_hash_map slot is its value plus one control byte.
  return slots_.capacity() * sizeof(Entry) +
         index_.capacity() * (sizeof(std::pair<IpAddress, uint32_t>) + 1) + parked_bytes_;
}

}  // namespace ringstamp
