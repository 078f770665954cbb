// neighbor_cache.h — NeighborCache: IP → MAC for one endpoint, with resolution state, retries,
// timeouts, static entries and frames parked while a neighbour is being resolved. Bounded:
// a peer that floods ARP/NDP can neither grow it nor make its housekeeping slower.
//
// Example:
// Given: const IpAddress& ip; const MacAddress& mac; int64_t now; ParkedFrame frame
// Given: void Send(const MacAddress& mac); void SendArpRequest(const IpAddress& ip)
// Given: void SendParked(const ParkedFrame& f, const MacAddress& mac)
//   NeighborCache cache({.reachable_ns = 60'000'000'000, .retry_ns = 1'000'000'000, .retries = 3});
//   if (auto known = cache.Lookup(ip, now)) Send(*known);
//   else if (cache.Park(ip, frame, now).value_or(false)) SendArpRequest(ip);  // first miss: ask
//   // on an ARP reply:
//   for (auto& f : cache.Learn(ip, mac, now, LearnRule::kUpdateOnly)) SendParked(f, mac);
//   // on a request for us:
//   cache.Learn(ip, mac, now, LearnRule::kUpdateOrCreate);
//   // every 100 ms:
//   cache.Tick(now, [](const IpAddress& ip) { SendArpRequest(ip); });
//
// Learning follows RFC 826 (merge: update an entry that exists; create one only
// when the packet is a request for one of our addresses) and RFC 4861 §7.2.5
// (an NA for a target with no entry is discarded; an NA without the Override
// flag does not change a known MAC, it only completes an INCOMPLETE entry).
// A reply for an address we never asked about creates nothing; counted as
// `not_learnt`. An entry we are resolving (INCOMPLETE) accepts the reply.
//
// Bounds: at most `max_entries` entries, in a slot array that doubles as entries
// are created, from 4 up to `max_entries` (the map is reserved to match each time:
// no rehash in between, no per-entry allocation, at most log2(max_entries) growths
// in a cache's life). An endpoint that talks to a few neighbours holds a few slots:
// a cache allocated whole held ~140 KiB per endpoint with the default 1,024 entries
// (6.5 GB resident for 100,000 endpoints). A new entry when full evicts, in this
// order: the oldest FAILED or REACHABLE entry (by last confirmation), then the
// oldest INCOMPLETE one; STATIC never.
// Why resolved first: a resolved entry costs one request to get back, while an
// incomplete one carries parked frames and a waiter that would fail; and only
// our own sends create incomplete entries, whereas a peer can create resolved
// ones (requests for our address), so a flood only ever evicts flood entries
// and stale neighbours, never a resolution in progress. Parked frames are
// bounded per neighbour (`max_parked`) and in total (`max_parked_total`
// frames, `max_parked_bytes` bytes, counted at the frames' real length).
//
// Keys: the map hashes an address with absl::Hash (seeded per process), not
// IpAddress::Hash() (an unkeyed, invertible mixer a peer could collide).
//
// Threads: any; one mutex guards the table. A waiter (Wait) blocks on a
// condition variable until the neighbour resolves or fails.
// Cost: Lookup/Learn/Park O(1). Tick visits only the INCOMPLETE entries that
// are due (they sit in a queue ordered by their next request time) plus one:
// never the whole table (`tick_visits` counts the entries it touched).
#pragma once

#include <array>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/status/statusor.h"
#include "ringstamp/engine/conn/tx_options.h"
#include "ringstamp/engine/proto/ip_address.h"
#include "ringstamp/engine/proto/mac_address.h"

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
  uint32_t max_entries = 1024;             // entries of all states (static ones included)
  uint32_t max_parked_total = 256;         // frames parked over all neighbours
  uint64_t max_parked_bytes = 1 << 20;     // their bytes held (frames are shrunk to their length)
};

struct NeighborCounters {
  uint64_t requests = 0;            // requests asked to be sent (first + retries)
  uint64_t learnt = 0;              // entries given a new MAC or state (created or updated)
  uint64_t not_learnt = 0;          // ARP/NA for an address with no entry, or NA without O: ignored
  uint64_t failed = 0;              // neighbours that never answered
  uint64_t evicted = 0;             // entries pushed out to make room (all states)
  uint64_t evicted_incomplete = 0;  // of which were still resolving (their frames dropped)
  uint64_t refused = 0;             // new entries refused: the table is full of static entries
  uint64_t parked = 0;              // frames parked while their neighbour resolved
  uint64_t parked_dropped = 0;      // parked frames dropped: any limit, failure or eviction
  uint64_t parked_over_cap = 0;     // of which refused by the total count/bytes caps
  uint64_t tick_visits = 0;         // entries Tick touched (its cost)
  uint64_t entries = 0;             // entries now (snapshot)
  uint64_t parked_bytes = 0;        // bytes parked now (snapshot)
};

// What a received ARP/NDP packet may do to the cache.
enum class LearnRule : uint8_t {
  kUpdateOnly,      // RFC 826 merge / §7.2.5 NA with Override: update an existing entry only
  kUpdateOrCreate,  // a request (ARP request, NS) addressed to one of our addresses
  kNoOverride,      // NA with O clear: completes an INCOMPLETE entry, else changes no MAC
};

class NeighborCache {
 public:
  explicit NeighborCache(NeighborCacheOptions options = {});

  std::optional<MacAddress> Lookup(const IpAddress& ip, int64_t now_ns) const;
  // Static entries are never evicted; when the table is full of them, refused.
  void AddStatic(const IpAddress& ip, const MacAddress& mac);
  void Remove(const IpAddress& ip);

  // Records `mac` for `ip` as `rule` allows; returns the frames parked for it,
  // to be sent now (empty when nothing was learnt).
  std::vector<ParkedFrame> Learn(const IpAddress& ip, const MacAddress& mac, int64_t now_ns,
                                 LearnRule rule);

  // Parks a frame for an unresolved neighbour. Returns true when a request
  // should be sent now (first miss, or the retry interval passed).
  // Returns an error when the neighbour recently failed to answer, or when
  // the table is full of static entries.
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
  // Heap bytes held: the slot array, the map and the parked frames.
  size_t MemoryBytes() const;

 private:
  enum class State : uint8_t { kIncomplete, kReachable, kStatic, kFailed };
  // The intrusive lists an entry can be on (kNone: static, or free).
  enum class ListId : uint8_t { kResolved, kIncomplete, kFree, kNone };
  static constexpr uint32_t kNil = UINT32_MAX;
  struct Entry {
    IpAddress ip;
    State state = State::kIncomplete;
    ListId list = ListId::kNone;
    MacAddress mac;
    int64_t updated_ns = 0;
    int64_t next_try_ns = 0;
    int tries = 0;
    uint32_t prev = kNil, next = kNil;
    std::vector<ParkedFrame> parked;
  };
  struct List {
    uint32_t head = kNil, tail = kNil;  // head: oldest
  };
  struct IpKeyHash {
    size_t operator()(const IpAddress& a) const {
      std::array<uint64_t, 2> w{};
      const auto b = a.bytes();
      std::memcpy(w.data(), b.data(), b.size());
      return absl::HashOf(static_cast<int>(a.family()), w[0], w[1]);
    }
  };

  List& ListOf(ListId id);
  void Unlink(uint32_t i);
  void PushBack(uint32_t i, ListId id);  // newest end
  // Finds `ip`'s slot, or kNil.
  uint32_t Find(const IpAddress& ip) const;
  // A new slot for `ip` (evicting if full), or kNil when only static entries are left.
  uint32_t Create(const IpAddress& ip, State state);
  // Doubles the slot array (up to max_entries), the new slots on the free list; at max_entries
  // nothing changes (the free list stays empty, so the caller evicts).
  void Grow();
  void Release(uint32_t i);  // back to the free list, its parked frames dropped
  void DropParked(Entry& e);
  void SetState(uint32_t i, State s);  // moves it to its list's newest end
  absl::StatusOr<uint32_t> FindOrStart(const IpAddress& ip);
  absl::StatusOr<bool> StartLocked(uint32_t i, int64_t now_ns);
  absl::Status FailedError(const IpAddress& ip) const;
  absl::Status FullError(const IpAddress& ip) const;

  NeighborCacheOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Entry> slots_;  // grows by doubling up to max_entries (Grow)
  List resolved_, incomplete_, free_;
  absl::flat_hash_map<IpAddress, uint32_t, IpKeyHash> index_;
  uint64_t parked_frames_ = 0, parked_bytes_ = 0;
  NeighborCounters counters_;
};

}  // namespace ringstamp
