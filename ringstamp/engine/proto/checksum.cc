#include "ringstamp/engine/proto/checksum.h"

#include <bit>
#include <cstring>

#include "ringstamp/engine/proto/byte_order.h"

namespace ringstamp {
namespace {

inline uint64_t AddCarry(uint64_t a, uint64_t b) {
  const uint64_t s = a + b;
  return s + (s < b ? 1 : 0);
}

// One's complement sum of `n` bytes at `p` in native lanes, as if they started
// at an even offset. Result: a 64-bit end-around-carry sum.
uint64_t SumNative(const std::byte* p, size_t n) {
  uint64_t a = 0;
  uint64_t b = 0;
  while (n >= 32) {
    uint64_t w[4];
    std::memcpy(w, p, sizeof(w));
    a = AddCarry(a, w[0]);
    b = AddCarry(b, w[1]);
    a = AddCarry(a, w[2]);
    b = AddCarry(b, w[3]);
    p += 32;
    n -= 32;
  }
  a = AddCarry(a, b);
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    a = AddCarry(a, w);
    p += 8;
    n -= 8;
  }
  // The tail (< 8 bytes) starts at an even offset; fixed-size loads keep each
  // byte in its lane (lanes repeat every 2 bytes) without a variable memcpy.
  if (n & 4) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    a = AddCarry(a, w);
    p += 4;
  }
  if (n & 2) {
    uint16_t w;
    std::memcpy(&w, p, 2);
    a = AddCarry(a, w);
    p += 2;
  }
  if (n & 1) {
    // A lone last byte is the first (even-lane) byte of a zero-padded word.
    const uint64_t b = static_cast<uint8_t>(*p);
    a = AddCarry(a, std::endian::native == std::endian::little ? b : b << 8);
  }
  return a;
}

inline uint16_t Fold64(uint64_t s) {
  s = (s & 0xffffffffULL) + (s >> 32);
  s = (s & 0xffffffffULL) + (s >> 32);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(s);
}

// A native-lane 16-bit sum to the host value of the big-endian word sum.
inline uint16_t NativeToHost(uint16_t s) { return HostToBe16(s); }

}  // namespace

void ChecksumAccumulator::Add(std::span<const std::byte> data) {
  if (data.empty()) return;
  uint64_t piece = SumNative(data.data(), data.size());
  if (odd_) {
    // This piece starts at an odd offset of the stream: its bytes sit in the
    // other lanes. Rotating a one's complement sum by 8 bits swaps the lanes.
    const uint16_t folded = Fold64(piece);
    piece = ByteSwap16(folded);
  }
  sum_ = AddCarry(sum_, piece);
  if (data.size() % 2 != 0) odd_ = !odd_;
}

void ChecksumAccumulator::AddBe16(uint16_t value) {
  std::byte b[2];
  StoreBe16(b, value);
  Add(b);
}

void ChecksumAccumulator::AddBe32(uint32_t value) {
  std::byte b[4];
  StoreBe32(b, value);
  Add(b);
}

uint16_t ChecksumAccumulator::Fold() const { return NativeToHost(Fold64(sum_)); }

uint16_t InternetChecksum(std::span<const std::byte> data) {
  return static_cast<uint16_t>(~NativeToHost(Fold64(SumNative(data.data(), data.size()))));
}

uint16_t ChecksumAdjust(uint16_t checksum, uint16_t old_word, uint16_t new_word) {
  // HC' = ~(~HC + ~m + m')
  uint32_t s = static_cast<uint16_t>(~checksum);
  s += static_cast<uint16_t>(~old_word);
  s += new_word;
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(~s);
}

void AddPseudoHeader(ChecksumAccumulator& acc, const IpAddress& src, const IpAddress& dst,
                     uint8_t protocol, uint32_t upper_length) {
  // Laid out contiguously and summed in one pass. IPv4 (RFC 768): src, dst,
  // zero, protocol, 16-bit length. IPv6 (RFC 8200 §8.1): src, dst, 32-bit
  // length, 24 zero bits, next header.
  std::byte buf[40];
  const size_t n = src.size();
  src.StoreTo(buf);
  dst.StoreTo(buf + n);
  size_t size;
  if (src.is_v6()) {
    StoreBe32(buf + 2 * n, upper_length);
    StoreBe32(buf + 2 * n + 4, protocol);
    size = 2 * n + 8;
  } else {
    StoreBe16(buf + 2 * n, protocol);
    StoreBe16(buf + 2 * n + 2, static_cast<uint16_t>(upper_length));
    size = 2 * n + 4;
  }
  acc.Add(std::span<const std::byte>(buf, size));
}

uint16_t UpperLayerChecksum(const IpAddress& src, const IpAddress& dst, uint8_t protocol,
                            std::span<const std::byte> message) {
  ChecksumAccumulator acc;
  AddPseudoHeader(acc, src, dst, protocol, static_cast<uint32_t>(message.size()));
  acc.Add(message);
  return acc.Checksum();
}

}  // namespace ringstamp
