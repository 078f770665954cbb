// Fuzz: operation sequences on a small NeighborCache — learning under each RFC rule, parking
// frames, starting resolutions, ticks, static entries and removals — over a handful of
// addresses, checking that its caps hold: entries, parked frames and bytes never exceed them.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "ringstamp/engine/conn/neighbor_cache.h"
#include "tests/fuzz/fuzz_input.h"

using namespace ringstamp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::FuzzInput in(data, size);
  NeighborCacheOptions o;
  o.max_entries = 8;
  o.max_parked = 3;
  o.max_parked_total = 10;
  o.max_parked_bytes = 4096;
  o.retry_ns = 10;
  o.reachable_ns = 1000;
  o.failed_hold_ns = 100;
  NeighborCache cache(o);
  int64_t now = 0;
  auto addr = [&] {
    const uint8_t k = in.Take<uint8_t>();
    return (k & 0x80) ? IpAddress::V6({0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, k})
                      : IpAddress::V4(10, 0, 0, k & 0x1f);
  };
  auto mac = [&] { return MacAddress{{0x02, 0, 0, 0, 0, in.Take<uint8_t>()}}; };
  for (int ops = 0; ops < 2048 && !in.done(); ++ops) {
    now += in.Take<uint8_t>();
    switch (in.Take<uint8_t>() % 7) {
      case 0:
        (void)cache.Learn(addr(), mac(), now, static_cast<LearnRule>(in.Take<uint8_t>() % 3));
        break;
      case 1: {
        ParkedFrame f;
        f.bytes.resize(in.Take<uint16_t>() % 2048);
        (void)cache.Park(addr(), std::move(f), now);
        break;
      }
      case 2:
        (void)cache.Start(addr(), now);
        break;
      case 3:
        cache.Tick(now, [](const IpAddress&) {});
        break;
      case 4:
        cache.AddStatic(addr(), mac());
        break;
      case 5:
        cache.Remove(addr());
        break;
      case 6:
        (void)cache.Lookup(addr(), now);
        break;
    }
    if (cache.size() > o.max_entries) std::abort();
  }
  return 0;
}
