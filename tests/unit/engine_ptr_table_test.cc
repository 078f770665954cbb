// PtrTable, the relay's dispatch table: against std::map as the reference under random inserts,
// overwrites and erases (erase's backward shift is where an open-addressing table goes wrong), with
// a hash that puts every key in a few home slots so that probe runs are long and wrap around.
#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <tuple>
#include <vector>

#include "ringstamp/engine/conn/l2_view.h"
#include "ringstamp/engine/conn/ptr_table.h"
#include "ringstamp/engine/conn/relay_worker.h"

using namespace ringstamp;

namespace {

struct Key {
  uint64_t a = 0, b = 0, c = 0;
  friend bool operator==(const Key&, const Key&) = default;
  auto Tie() const { return std::tie(a, b, c); }
  friend bool operator<(const Key& x, const Key& y) { return x.Tie() < y.Tie(); }
};

// Four home slots for every key: long, overlapping, wrapping probe runs.
struct CrowdedHash {
  size_t operator()(const Key& k) const { return (k.a * 7 + k.b) % 4 + 13; }
};
struct GoodHash {
  size_t operator()(const Key& k) const {
    return L2KeyHash::Fold(k.a ^ 0x9e3779b97f4a7c15ULL, k.b ^ (k.c << 1));
  }
};

template <typename Hash>
void CheckAgainstMap(uint64_t seed, int ops, uint64_t key_space) {
  PtrTable<Key, Hash, int> table;
  std::map<Key, int*> ref;
  std::vector<int> values(64);
  std::mt19937_64 rng(seed);
  for (int op = 0; op < ops; ++op) {
    const Key k{rng() % key_space, rng() % 3, 0};
    int* v = &values[rng() % values.size()];
    switch (rng() % 4) {
      case 0:
        table.Set(k, v);
        ref[k] = v;
        break;
      case 1: {
        int* got = table.Insert(k, v);
        auto [it, inserted] = ref.try_emplace(k, v);
        REQUIRE(got == it->second);
        break;
      }
      default: {
        const bool erased = table.Erase(k);
        REQUIRE(erased == (ref.erase(k) == 1));
        break;
      }
    }
    REQUIRE(table.size() == ref.size());
    if (op % 64 == 0) {
      for (uint64_t a = 0; a < key_space; ++a) {
        for (uint64_t b = 0; b < 3; ++b) {
          const Key q{a, b, 0};
          auto it = ref.find(q);
          INFO("op ", op, " key ", a, "/", b);
          REQUIRE(table.Find(q) == (it == ref.end() ? nullptr : it->second));
        }
      }
    }
  }
  size_t seen = 0;
  table.ForEach([&](const Key& k, int* v) {
    ++seen;
    CHECK(ref.at(k) == v);
  });
  CHECK(seen == ref.size());
}

}  // namespace

TEST_CASE("PtrTable: Set, Insert, Erase and Find agree with std::map, with crowded probe runs") {
  for (uint64_t seed : {1u, 2u, 3u}) CheckAgainstMap<CrowdedHash>(seed, 4000, 40);
}

TEST_CASE("PtrTable: agrees with std::map while growing through several rehashes") {
  CheckAgainstMap<GoodHash>(7, 20000, 3000);
}

TEST_CASE("PtrTable: an empty table finds nothing and erases nothing") {
  PtrTable<Key, GoodHash, int> table;
  CHECK(table.Find(Key{1, 2, 3}) == nullptr);
  CHECK_FALSE(table.Erase(Key{1, 2, 3}));
  table.Prefetch(12345);  // no slots yet: must not touch memory
  CHECK(table.empty());
}

TEST_CASE("PtrTable: a table of 100,000 keys (slots in a huge-page mapping) agrees with std::map") {
  PtrTable<Key, GoodHash, int> table;
  std::map<Key, int*> ref;
  std::vector<int> values(64);
  std::mt19937_64 rng(11);
  for (uint64_t i = 0; i < 100000; ++i) {
    const Key k{rng(), i, 0};
    int* v = &values[i % values.size()];
    table.Set(k, v);
    ref[k] = v;
  }
  // Past 2 MiB of slots: the rehashes moved every entry into HugePageAllocator's mappings.
  REQUIRE(table.capacity() * 32 >= HugePageAllocator<char>::kHugePage);
  size_t i = 0;
  for (auto it = ref.begin(); it != ref.end(); ++i) {
    REQUIRE(table.Find(it->first) == it->second);
    if (i % 2 == 0) {
      REQUIRE(table.Erase(it->first));
      it = ref.erase(it);
    } else {
      ++it;
    }
  }
  CHECK(table.size() == ref.size());
  for (const auto& [k, v] : ref) CHECK(table.Find(k) == v);
  CHECK(table.Find(Key{1, 200000, 0}) == nullptr);
}

TEST_CASE("PtrTable: stays at most 3/4 full") {
  PtrTable<Key, GoodHash, int> table;
  int v = 0;
  for (uint64_t i = 0; i < 1000; ++i) table.Set(Key{i, 0, 0}, &v);
  CHECK(table.size() == 1000);
  CHECK(table.size() * 4 <= table.capacity() * 3);
}

TEST_CASE("UdpKey: address family, address, port and owner all tell keys apart") {
  const IpAddress v4 = IpAddress::V4(10, 0, 0, 1);
  const auto v6 = IpAddress::Parse("::a00:1").value();  // the same low bytes, other family
  const EtherRoute routes[2];
  const EtherRoute* a = &routes[0];
  const EtherRoute* b = &routes[1];
  CHECK(UdpKey(a, v4, 9) == UdpKey(a, v4, 9));
  CHECK_FALSE(UdpKey(a, v4, 9) == UdpKey(b, v4, 9));
  CHECK_FALSE(UdpKey(a, v4, 9) == UdpKey(a, v4, 10));
  CHECK_FALSE(UdpKey(a, v4, 9) == UdpKey(a, IpAddress::V4(10, 0, 0, 2), 9));
  CHECK_FALSE(UdpKey(a, v4, 9) == UdpKey(a, IpAddress(), 9));
  CHECK_FALSE(UdpKey(a, IpAddress::V4(0, 0, 0, 0), 9) == UdpKey(a, IpAddress(), 9));
  CHECK_FALSE(UdpKey(a, v4, 9) == UdpKey(a, v6, 9));
  // Port 65535 and every family next to neighbouring routes: the fields do not overlap.
  CHECK_FALSE(UdpKey(a, v6, 65535) == UdpKey(b, v6, 0));
  CHECK_FALSE(UdpKey(a, v6, 0) == UdpKey(a, v4, 0));
}

TEST_CASE("UdpKey: the key read from wire bytes is the key of the address") {
  // The relay keys a datagram with UdpKey::V4 straight from the frame; a binding's key is built
  // from its IpAddress. They must be the same key, with the same hash, or nothing is delivered.
  const EtherRoute routes[1];
  for (const IpAddress ip : {IpAddress::V4(10, 0, 0, 1), IpAddress::V4(255, 254, 253, 252),
                             IpAddress::V4(0, 0, 0, 0), IpAddress::V4(192, 0, 2, 128)}) {
    std::byte wire[4];
    ip.StoreTo(wire);
    for (const uint16_t port : {uint16_t{0}, uint16_t{9}, uint16_t{65535}}) {
      CHECK(UdpKey::V4(&routes[0], wire, port) == UdpKey(&routes[0], ip, port));
      CHECK(UdpKeyHash{}(UdpKey::V4(&routes[0], wire, port)) ==
            UdpKeyHash{}(UdpKey(&routes[0], ip, port)));
    }
  }
}

TEST_CASE("UdpKey: names routes below 2^48 only") {
  const auto heap = std::make_unique<EtherRoute[]>(4);
  CHECK(UdpKeyCanName(heap.get(), 4));
  // Not dereferenced: only the address is looked at.
  const auto* high = reinterpret_cast<const EtherRoute*>(uintptr_t{1} << 48);
  CHECK_FALSE(UdpKeyCanName(high, 1));
  const auto* edge =
      reinterpret_cast<const EtherRoute*>((uintptr_t{1} << 48) - 2 * sizeof(EtherRoute));
  CHECK(UdpKeyCanName(edge, 1));
  CHECK_FALSE(UdpKeyCanName(edge, 3));
}
