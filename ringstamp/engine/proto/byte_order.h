// byte_order.h — big-endian (network order) loads and stores on raw packet bytes.
//
// Example:
// Given: const std::byte* frame; std::byte* out; uint32_t src_v4; const std::byte* stamp
//   uint16_t ethertype = LoadBe16(frame + 12);
//   StoreBe32(out + 12, src_v4);
//   uint64_t ntp = LoadBe64(stamp + 4);
//
// Every codec in engine/proto/ reads and writes fields only through these:
// memcpy into a local and swap, never a cast of packet memory to a struct, so
// unaligned fields are fine and there is no aliasing question. The caller
// checks bounds first; these functions do not. Any thread, no allocation;
// each compiles to one load or store plus a bswap.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ringstamp {

static_assert(std::endian::native == std::endian::little || std::endian::native == std::endian::big,
              "mixed-endian targets are not supported");

constexpr uint16_t ByteSwap16(uint16_t v) { return static_cast<uint16_t>((v << 8) | (v >> 8)); }
constexpr uint32_t ByteSwap32(uint32_t v) { return __builtin_bswap32(v); }
constexpr uint64_t ByteSwap64(uint64_t v) { return __builtin_bswap64(v); }

// Host value <-> big-endian representation (identity on big-endian hosts).
constexpr uint16_t HostToBe16(uint16_t v) {
  return std::endian::native == std::endian::little ? ByteSwap16(v) : v;
}
constexpr uint32_t HostToBe32(uint32_t v) {
  return std::endian::native == std::endian::little ? ByteSwap32(v) : v;
}
constexpr uint64_t HostToBe64(uint64_t v) {
  return std::endian::native == std::endian::little ? ByteSwap64(v) : v;
}

inline uint8_t Load8(const std::byte* p) { return static_cast<uint8_t>(*p); }
inline void Store8(std::byte* p, uint8_t v) { *p = static_cast<std::byte>(v); }

inline uint16_t LoadBe16(const std::byte* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof(v));
  return HostToBe16(v);
}
inline uint32_t LoadBe32(const std::byte* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return HostToBe32(v);
}
inline uint64_t LoadBe64(const std::byte* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return HostToBe64(v);
}

inline void StoreBe16(std::byte* p, uint16_t v) {
  v = HostToBe16(v);
  std::memcpy(p, &v, sizeof(v));
}
inline void StoreBe32(std::byte* p, uint32_t v) {
  v = HostToBe32(v);
  std::memcpy(p, &v, sizeof(v));
}
inline void StoreBe64(std::byte* p, uint64_t v) {
  v = HostToBe64(v);
  std::memcpy(p, &v, sizeof(v));
}

}  // namespace ringstamp
