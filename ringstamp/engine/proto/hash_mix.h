// hash_mix.h — a 64-bit integer mixer for the small value types' Hash() members.
//
// Example:
// Given: #include "ringstamp/engine/proto/mac_address.h"
// Given: #include "ringstamp/engine/proto/vlan.h"
// Given: const MacAddress& mac; const VlanStack& stack
//   uint64_t h = HashMix(mac.ToU64());
//   h = HashCombine(h, stack.Hash());
//
// Used by MacAddress, IpAddress and VlanStack so that they can key a hash map
// without depending on abseil (engine/proto/ includes only the standard
// library). The mixer is the MurmurHash3 64-bit finalizer: every input bit
// affects every output bit. Not keyed: do not rely on it against an attacker
// who chooses the keys. Pure functions, any thread, a few cycles.
#pragma once

#include <cstdint>

namespace ringstamp {

constexpr uint64_t HashMix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

// Order-dependent combination of a running hash with the next value.
constexpr uint64_t HashCombine(uint64_t seed, uint64_t value) {
  return HashMix(seed ^ (value + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2)));
}

}  // namespace ringstamp
