// neighbor_cache.h — NeighborCache: IP → MAC for one endpoint, with resolution state, retries,
// timeouts, static entries and frames parked while a neighbour is being resolved.
//
//   NeighborCache cache({.reachable_ns = 60s, .retry_ns = 1s, .retries = 3});
//   if (auto mac = cache.Lookup(ip)) Send(*mac);
//   else if (cache.Park(ip, frame, now)) SendArpRequest(ip);   // first miss: ask
//   ...on ARP reply: for (auto& f : cache.Learn(ip, mac, now)) SendParked(f, mac);
//   ...every 100 ms: cache.Tick(now, resend, failed);
//
// Threads: any; one mutex guards the table (the frame path only reads under it
// when a write needs a next hop). A waiter (Wait) blocks on a condition variable
// until the neighbour resolves or fails. Memory: a small map; parked frames are
// bounded per neighbour (overflow counted).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "engine/proto/ip_address.h"
#include "engine/proto/mac_address.h"
#include "engine/tx_options.h"

namespace ringstamp {

// A frame waiting for its neighbour (built with a zero destination MAC), with
// what its sender asked of the send (a TX stamp) for when it goes out.
struct ParkedFrame {
  std::vector<std::byte> bytes;
  TxOptions tx;
};

struct NeighborCacheOptions {
  int64_t reachable_ns = 60'000'000'000;   // a learnt entry is trusted this long
  int64_t retry_ns = 1'000'000'000;        // between requests while unresolved
  int retries = 3;                         // requests before the neighbour is declared failed
  int64_t failed_hold_ns = 3'000'000'000;  // a failed neighbour is not asked again this long
  uint32_t max_parked = 16;                // frames kept per unresolved neighbour
};

struct NeighborCounters {
  uint64_t requests = 0;  // requests asked to be sent (first + retries)
  uint64_t learnt = 0;
  uint64_t failed = 0;          // neighbours that never answered
  uint64_t parked = 0;          // frames parked while their neighbour resolved
  uint64_t parked_dropped = 0;  // parked frames dropped: limit, or neighbour failed
};

class NeighborCache {
 public:
  explicit NeighborCache(NeighborCacheOptions options = {}) : options_(options) {}

  std::optional<MacAddress> Lookup(const IpAddress& ip, int64_t now_ns) const;
  void AddStatic(const IpAddress& ip, const MacAddress& mac);
  void Remove(const IpAddress& ip);

  // Records `mac` for `ip` (from a reply, or from a request's sender); returns
  // the frames parked for it, to be sent now.
  std::vector<ParkedFrame> Learn(const IpAddress& ip, const MacAddress& mac, int64_t now_ns);

  // Parks a frame for an unresolved neighbour. Returns true when a request
  // should be sent now (first miss, or the retry interval passed).
  // Returns an error when the neighbour recently failed to answer.
  absl::StatusOr<bool> Park(const IpAddress& ip, ParkedFrame frame, int64_t now_ns);
  // As Park without a frame: starts resolution (for a blocking waiter).
  absl::StatusOr<bool> Start(const IpAddress& ip, int64_t now_ns);

  // Housekeeping: `resend(ip)` for neighbours due another request; failed
  // neighbours drop their parked frames and wake waiters.
  void Tick(int64_t now_ns, const std::function<void(const IpAddress&)>& resend);

  // Blocks until `ip` resolves, fails, or deadline (CLOCK_MONOTONIC ns).
  absl::StatusOr<MacAddress> Wait(const IpAddress& ip, int64_t deadline_ns);

  NeighborCounters counters() const;
  size_t size() const;

 private:
  enum class State : uint8_t { kIncomplete, kReachable, kStatic, kFailed };
  struct Entry {
    State state = State::kIncomplete;
    MacAddress mac;
    int64_t updated_ns = 0;
    int64_t next_try_ns = 0;
    int tries = 0;
    std::vector<ParkedFrame> parked;
  };
  absl::StatusOr<bool> StartLocked(Entry& e, const IpAddress& ip, int64_t now_ns);
  absl::Status FailedError(const IpAddress& ip) const;

  NeighborCacheOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  struct IpHash {
    size_t operator()(const IpAddress& a) const { return a.Hash(); }
  };
  absl::flat_hash_map<IpAddress, Entry, IpHash> table_;
  NeighborCounters counters_;
};

}  // namespace ringstamp
