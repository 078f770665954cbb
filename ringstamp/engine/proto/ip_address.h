// ip_address.h — IpAddress: an IPv4 or IPv6 address as a small value type.
//
// Example:
// Given: #include "ringstamp/engine/proto/byte_order.h"
// Given: std::byte* hdr; const std::byte* ip6
//   auto a = IpAddress::Parse("192.0.2.1");            // or "2001:db8::1"
//   if (a && a->is_v4()) StoreBe32(hdr + 12, a->v4());
//   IpAddress d = IpAddress::Load6(ip6 + 24);          // 16 wire bytes
//
// 16 bytes of storage plus a family. IPv4 lives in the first 4 bytes (wire
// order), the rest zero; a default-constructed IpAddress has family kNone
// (no address: is_valid() is false, prints as "none"). Comparison and Hash()
// take the family into account, so 0.0.0.0 != ::. Plain value: copy freely,
// any thread. Parse and Format use inet_pton/inet_ntop on stack buffers and do
// not allocate; ToString() allocates (not for the hot path).
#pragma once

#include <array>
#include <bit>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "ringstamp/engine/proto/hash_mix.h"

namespace ringstamp {

enum class IpFamily : uint8_t { kNone = 0, kV4 = 4, kV6 = 6 };

class IpAddress {
 public:
  // INET6_ADDRSTRLEN: the longest IPv6 text plus its NUL.
  static constexpr size_t kFormatBufferSize = 46;

  constexpr IpAddress() = default;

  // From a host-order value: V4(0xc0000201) is 192.0.2.1.
  static constexpr IpAddress V4(uint32_t host_order) {
    IpAddress a;
    a.family_ = IpFamily::kV4;
    a.bytes_[0] = static_cast<uint8_t>(host_order >> 24);
    a.bytes_[1] = static_cast<uint8_t>(host_order >> 16);
    a.bytes_[2] = static_cast<uint8_t>(host_order >> 8);
    a.bytes_[3] = static_cast<uint8_t>(host_order);
    return a;
  }
  static constexpr IpAddress V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return V4((uint32_t{a} << 24) | (uint32_t{b} << 16) | (uint32_t{c} << 8) | d);
  }
  static constexpr IpAddress V6(const std::array<uint8_t, 16>& bytes) {
    IpAddress a;
    a.family_ = IpFamily::kV6;
    a.bytes_ = bytes;
    return a;
  }
  // Read 4 / 16 wire-order bytes at `p`; the caller checks bounds.
  static IpAddress Load4(const std::byte* p) {
    IpAddress a;
    a.family_ = IpFamily::kV4;
    std::memcpy(a.bytes_.data(), p, 4);
    return a;
  }
  static IpAddress Load6(const std::byte* p) {
    IpAddress a;
    a.family_ = IpFamily::kV6;
    std::memcpy(a.bytes_.data(), p, 16);
    return a;
  }
  // The same into this address, in place: what the per-packet parses use. `x = Load4(p)` builds
  // the value in a temporary with narrow stores and copies it into `x` with wider loads, which
  // the CPU cannot forward from those stores: a stall of a dozen cycles or more per address
  // (the relay's UDP dispatch took ~40 % longer for it). Inline.
  void AssignV4(const std::byte* p) {
    family_ = IpFamily::kV4;
    // Both words at once: a later word read finds one store that holds it.
    const uint64_t w[2] = {V4Word(p), 0};
    std::memcpy(bytes_.data(), w, sizeof(w));
  }
  // Words()[0] of the IPv4 address in wire-order bytes at `p` (the second word is 0), formed in
  // a register: for keys built from a frame's bytes without an IpAddress (UdpKey::V4).
  static uint64_t V4Word(const std::byte* p) {
    uint32_t a;
    std::memcpy(&a, p, sizeof(a));
    return std::endian::native == std::endian::little ? uint64_t{a} : uint64_t{a} << 32;
  }
  void AssignV6(const std::byte* p) {
    family_ = IpFamily::kV6;
    std::memcpy(bytes_.data(), p, 16);
  }

  // Dotted quad or any RFC 4291 text form (inet_pton). No zone ids, no
  // prefixes, no surrounding spaces: anything else is std::nullopt.
  static std::optional<IpAddress> Parse(std::string_view text);

  constexpr IpFamily family() const { return family_; }
  constexpr bool is_valid() const { return family_ != IpFamily::kNone; }
  constexpr bool is_v4() const { return family_ == IpFamily::kV4; }
  constexpr bool is_v6() const { return family_ == IpFamily::kV6; }
  // 4, 16, or 0 for kNone.
  constexpr size_t size() const { return is_v4() ? 4 : is_v6() ? 16 : 0; }

  // Host-order IPv4 value; 0 when not IPv4.
  constexpr uint32_t v4() const {
    if (!is_v4()) return 0;
    return (uint32_t{bytes_[0]} << 24) | (uint32_t{bytes_[1]} << 16) | (uint32_t{bytes_[2]} << 8) |
           bytes_[3];
  }
  // The wire-order bytes: 4 for IPv4, 16 for IPv6, none for kNone.
  std::span<const uint8_t> bytes() const { return {bytes_.data(), size()}; }
  // Writes size() bytes at `p`; the caller checks bounds.
  void StoreTo(std::byte* p) const;

  bool IsUnspecified() const;  // 0.0.0.0 or ::
  bool IsLoopback() const;     // 127.0.0.0/8 or ::1
  bool IsMulticast() const;    // 224.0.0.0/4 or ff00::/8
  bool IsLinkLocal() const;    // 169.254.0.0/16 or fe80::/10
  bool IsBroadcast() const;    // 255.255.255.255 (limited broadcast)

  // The address with all but the first `prefix_len` bits cleared (clamped to
  // the family's width): a.Masked(24) == b.Masked(24) tests "same /24".
  IpAddress Masked(int prefix_len) const;

  // Text into `out` (NUL-terminated), returns its length; "none" for kNone.
  size_t Format(std::span<char, kFormatBufferSize> out) const;
  std::string ToString() const;

  // Inline: the relay hashes and compares addresses per datagram.
  constexpr uint64_t Hash() const {
    const auto w = std::bit_cast<std::array<uint64_t, 2>>(bytes_);
    return HashCombine(HashMix(w[0] ^ static_cast<uint64_t>(family_)), w[1]);
  }

  // The 16 address bytes as two words (IPv4: the first four, the rest zero), for keys that
  // hash and compare words.
  constexpr std::array<uint64_t, 2> Words() const {
    return std::bit_cast<std::array<uint64_t, 2>>(bytes_);
  }

  // Two word compares, not a memcmp call.
  friend constexpr bool operator==(const IpAddress& a, const IpAddress& b) {
    const auto x = std::bit_cast<std::array<uint64_t, 2>>(a.bytes_);
    const auto y = std::bit_cast<std::array<uint64_t, 2>>(b.bytes_);
    return a.family_ == b.family_ && ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
  }
  friend constexpr auto operator<=>(const IpAddress&, const IpAddress&) = default;

 private:
  IpFamily family_ = IpFamily::kNone;
  std::array<uint8_t, 16> bytes_{};
};

static_assert(sizeof(IpAddress) == 17);

}  // namespace ringstamp
