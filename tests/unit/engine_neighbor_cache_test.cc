// NeighborCache against a flooding peer: what ARP/NDP may create or change
// (RFC 826 merge, RFC 4861 §7.2.5), the entry and parked-frame caps, the
// eviction order, the counters, and Tick's cost counted in entries touched.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ringstamp/engine/conn/neighbor_cache.h"

using namespace ringstamp;

namespace {

constexpr int64_t kSec = 1'000'000'000;
const MacAddress kA = MacAddress::FromU64(0x02000000000a);
const MacAddress kB = MacAddress::FromU64(0x02000000000b);

IpAddress Ip(uint32_t n) { return IpAddress::V4(0x0a000000u + n); }

// Built in a buffer of a jumbo frame's size, as EtherConn builds them.
ParkedFrame Frame(size_t len) {
  std::vector<std::byte> b;
  b.reserve(9216);
  b.resize(len);
  return {std::move(b), {}};
}

enum class Before { kNone, kIncomplete, kReachableA, kStaticA };

struct LearnCase {
  const char* name;
  Before before;
  LearnRule rule;
  bool exists_after;
  std::optional<MacAddress> mac_after;  // what Lookup returns
  uint64_t not_learnt;
};

}  // namespace

TEST_CASE("neighbor cache: what a received ARP or NDP packet may create or change (RFC table)") {
  const std::vector<LearnCase> cases = {
      // RFC 826: a reply (or a request not for us) only merges into an existing entry.
      {"reply, no entry", Before::kNone, LearnRule::kUpdateOnly, false, std::nullopt, 1},
      {"request for us, no entry", Before::kNone, LearnRule::kUpdateOrCreate, true, kB, 0},
      {"reply to our request", Before::kIncomplete, LearnRule::kUpdateOnly, true, kB, 0},
      {"reply, known", Before::kReachableA, LearnRule::kUpdateOnly, true, kB, 0},
      // RFC 4861 §7.2.5: NA for no entry discarded; without O, a known MAC stays.
      {"NA without O, no entry", Before::kNone, LearnRule::kNoOverride, false, std::nullopt, 1},
      {"NA without O, incomplete", Before::kIncomplete, LearnRule::kNoOverride, true, kB, 0},
      {"NA without O, known other MAC", Before::kReachableA, LearnRule::kNoOverride, true, kA, 1},
      {"anything, static", Before::kStaticA, LearnRule::kUpdateOrCreate, true, kA, 0},
  };
  for (const LearnCase& c : cases) {
    CAPTURE(std::string(c.name));
    NeighborCache cache;
    const IpAddress ip = Ip(1);
    if (c.before == Before::kIncomplete) REQUIRE(cache.Start(ip, 0).value());
    if (c.before == Before::kReachableA) cache.Learn(ip, kA, 0, LearnRule::kUpdateOrCreate);
    if (c.before == Before::kStaticA) cache.AddStatic(ip, kA);
    const uint64_t learnt_before = cache.counters().learnt;
    cache.Learn(ip, kB, 1, c.rule);
    CHECK(cache.size() == (c.exists_after ? 1u : 0u));
    CHECK(cache.Lookup(ip, 2) == c.mac_after);
    CHECK(cache.counters().not_learnt == c.not_learnt);
    const bool changed = c.mac_after == kB;
    CHECK(cache.counters().learnt - learnt_before == (changed ? 1u : 0u));
  }
}

TEST_CASE("neighbor cache: frames parked while resolving leave on the answer, at their length") {
  NeighborCache cache;
  const IpAddress ip = Ip(2);
  CHECK(cache.Park(ip, Frame(60), 0).value());    // first miss: ask
  CHECK(!cache.Park(ip, Frame(100), 1).value());  // asked already
  CHECK(cache.counters().parked == 2);
  CHECK(cache.counters().parked_bytes == 160);
  auto out = cache.Learn(ip, kA, 2, LearnRule::kUpdateOnly);
  REQUIRE(out.size() == 2);
  CHECK(out[0].bytes.size() == 60);
  CHECK(out[1].bytes.size() == 100);
  CHECK(out[1].bytes.capacity() == 100);
  CHECK(cache.counters().parked_bytes == 0);
  CHECK(cache.Lookup(ip, 3) == kA);
}

TEST_CASE(
    "neighbor cache: a flood of requests for us stays within max_entries, each eviction counted") {
  NeighborCache cache({.max_entries = 8});
  for (uint32_t n = 0; n < 1000; ++n) cache.Learn(Ip(n), kA, n, LearnRule::kUpdateOrCreate);
  CHECK(cache.size() == 8);
  const NeighborCounters c = cache.counters();
  CHECK(c.entries == 8);
  CHECK(c.learnt == 1000);
  CHECK(c.evicted == 992);
  CHECK(c.evicted_incomplete == 0);
  // The 8 newest are the ones kept.
  for (uint32_t n = 992; n < 1000; ++n) CHECK(cache.Lookup(Ip(n), 1000).has_value());
  CHECK(!cache.Lookup(Ip(991), 1000).has_value());
}

TEST_CASE(
    "neighbor cache: memory follows the entries held up to max_entries, entries survive growth") {
  NeighborCache cache;  // default options: 1,024 entries at most
  const size_t empty = cache.MemoryBytes();
  CHECK(empty < 512);  // nothing allocated for neighbours not met
  // An incomplete entry with a parked frame, then enough neighbours to grow the table
  // several times: the parked frame and the learnt MACs are all still there.
  REQUIRE(cache.Park(Ip(1), Frame(64), 0).value());
  const size_t one = cache.MemoryBytes();
  for (uint32_t n = 2; n <= 40; ++n) cache.Learn(Ip(n), kA, n, LearnRule::kUpdateOrCreate);
  CHECK(cache.size() == 40);
  CHECK(cache.MemoryBytes() > one);
  CHECK(cache.MemoryBytes() < 16 * 1024);  // the default table whole is ~140 KiB
  for (uint32_t n = 2; n <= 40; ++n) CHECK(cache.Lookup(Ip(n), 41) == kA);
  const auto parked = cache.Learn(Ip(1), kB, 42, LearnRule::kUpdateOnly);
  REQUIRE(parked.size() == 1);
  CHECK(parked[0].bytes.size() == 64);
  CHECK(cache.counters().evicted == 0);
  // Past max_entries it stops growing and evicts, as a cache allocated whole did.
  NeighborCache small({.max_entries = 100});
  for (uint32_t n = 0; n < 1000; ++n) small.Learn(Ip(n), kA, n, LearnRule::kUpdateOrCreate);
  CHECK(small.size() == 100);
  CHECK(small.counters().evicted == 900);
  for (uint32_t n = 900; n < 1000; ++n) CHECK(small.Lookup(Ip(n), 1000).has_value());
  CHECK(!small.Lookup(Ip(899), 1000).has_value());
}

TEST_CASE(
    "neighbor cache: eviction takes the oldest resolved entry, then incomplete, never static") {
  NeighborCache cache({.max_entries = 4});
  cache.AddStatic(Ip(100), kA);
  REQUIRE(cache.Park(Ip(1), Frame(64), 0).value());  // incomplete, one frame parked
  cache.Learn(Ip(2), kA, 1, LearnRule::kUpdateOrCreate);
  cache.Learn(Ip(3), kA, 2, LearnRule::kUpdateOrCreate);
  cache.Learn(Ip(2), kB, 3, LearnRule::kUpdateOnly);  // confirmed again: now newer than 3
  cache.Learn(Ip(4), kA, 4, LearnRule::kUpdateOrCreate);
  CHECK(!cache.Lookup(Ip(3), 5).has_value());  // the oldest resolved went
  CHECK(cache.Lookup(Ip(2), 5) == kB);
  CHECK(cache.Lookup(Ip(100), 5) == kA);
  CHECK(cache.counters().evicted == 1);
  CHECK(cache.counters().evicted_incomplete == 0);
  // A reply for the resolving neighbour still finds its entry and its frame.
  CHECK(cache.size() == 4);
  // Fill with static entries: resolved ones go first, then the incomplete one.
  cache.AddStatic(Ip(101), kA);  // evicts 2
  cache.AddStatic(Ip(102), kA);  // evicts 4
  CHECK(cache.counters().evicted_incomplete == 0);
  cache.AddStatic(Ip(103), kA);  // only the incomplete one is left to evict
  NeighborCounters c = cache.counters();
  CHECK(c.evicted == 4);
  CHECK(c.evicted_incomplete == 1);
  CHECK(c.parked_dropped == 1);  // its frame
  CHECK(c.parked_bytes == 0);
  // Full of static entries: a new neighbour is refused, with a message.
  auto r = cache.Park(Ip(5), Frame(64), 10);
  CHECK(r.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(cache.counters().refused == 1);
  CHECK(cache.counters().parked_dropped == 2);
  cache.Learn(Ip(6), kA, 11, LearnRule::kUpdateOrCreate);
  CHECK(cache.counters().refused == 2);
  CHECK(cache.size() == 4);
}

TEST_CASE(
    "neighbor cache: parked frames are capped in total count and bytes, each refusal counted") {
  NeighborCache cache({.max_parked = 16, .max_parked_total = 5, .max_parked_bytes = 1000});
  REQUIRE(cache.Park(Ip(1), Frame(400), 0).ok());
  REQUIRE(cache.Park(Ip(2), Frame(400), 0).ok());
  REQUIRE(cache.Park(Ip(3), Frame(400), 0).ok());  // 1200 > 1000: refused
  NeighborCounters c = cache.counters();
  CHECK(c.parked == 2);
  CHECK(c.parked_bytes == 800);
  CHECK(c.parked_over_cap == 1);
  CHECK(c.parked_dropped == 1);
  for (int k = 0; k < 5; ++k) REQUIRE(cache.Park(Ip(4), Frame(10), 0).ok());
  c = cache.counters();
  CHECK(c.parked == 5);  // 2 + 3 more reach the count cap of 5
  CHECK(c.parked_over_cap == 3);
  CHECK(c.parked_dropped == 3);
  // Per neighbour: max_parked.
  NeighborCache small({.max_parked = 2});
  for (int k = 0; k < 5; ++k) REQUIRE(small.Park(Ip(1), Frame(10), 0).ok());
  CHECK(small.counters().parked == 2);
  CHECK(small.counters().parked_dropped == 3);
  CHECK(small.counters().parked_over_cap == 0);
}

TEST_CASE(
    "neighbor cache: Tick touches only the resolving entries that are due, not a full table") {
  NeighborCache cache({.retry_ns = kSec, .retries = 2, .max_entries = 4096});
  for (uint32_t n = 0; n < 4000; ++n) cache.Learn(Ip(n), kA, 0, LearnRule::kUpdateOrCreate);
  for (uint32_t n = 5000; n < 5010; ++n) REQUIRE(cache.Start(Ip(n), 0).value());
  REQUIRE(cache.size() == 4010);
  std::vector<IpAddress> resent;
  auto resend = [&](const IpAddress& ip) { resent.push_back(ip); };
  uint64_t v0 = cache.counters().tick_visits;
  cache.Tick(kSec / 2, resend);  // nothing due: looks at one entry
  CHECK(cache.counters().tick_visits - v0 == 1);
  CHECK(resent.empty());
  v0 = cache.counters().tick_visits;
  cache.Tick(kSec, resend);  // all 10 due: 10 resent, then one not due
  CHECK(cache.counters().tick_visits - v0 == 11);
  CHECK(resent.size() == 10);
  v0 = cache.counters().tick_visits;
  cache.Tick(2 * kSec, resend);  // retries spent: 10 fail, queue empty
  CHECK(cache.counters().tick_visits - v0 == 10);
  CHECK(cache.counters().failed == 10);
  v0 = cache.counters().tick_visits;
  cache.Tick(3 * kSec, resend);  // nothing resolving: touches nothing
  CHECK(cache.counters().tick_visits - v0 == 0);
  CHECK(resent.size() == 10);
}

TEST_CASE("neighbor cache: more due entries than one batch are all resent in one Tick") {
  NeighborCache cache({.retry_ns = kSec, .retries = 3, .max_entries = 512});
  for (uint32_t n = 0; n < 300; ++n) REQUIRE(cache.Start(Ip(n), n).value());
  std::vector<IpAddress> resent;
  cache.Tick(kSec + 1000, [&](const IpAddress& ip) { resent.push_back(ip); });
  CHECK(resent.size() == 300);
  CHECK(cache.counters().requests == 600);
  CHECK(cache.counters().tick_visits == 301);
}
