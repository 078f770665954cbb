// mac_address.h — MacAddress: a 48-bit Ethernet address as a small value type.
//
// Example:
// Given: std::byte* frame
//   auto mac = MacAddress::Parse("02:00:00:00:00:01");   // std::optional<MacAddress>
//   mac->StoreTo(frame);                                  // 6 bytes, wire order
//   bool multicast = MacAddress::Load(frame + 6).IsMulticast();
//
// Plain value (6 bytes): copy freely, any thread. Parse/Load/StoreTo/predicates
// never allocate; ToString() allocates (not for the hot path; use Format()).
// Hash() is a well-mixed 64-bit hash for use as a hash-map key.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace ringstamp {

struct MacAddress {
  static constexpr size_t kSize = 6;
  // "aa:bb:cc:dd:ee:ff" plus the terminating NUL.
  static constexpr size_t kFormatBufferSize = 18;

  std::array<uint8_t, kSize> bytes{};

  static constexpr MacAddress Broadcast() { return {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }

  // Six two-digit hex octets separated by ':' or '-' (one separator style
  // throughout), either case: "02:00:5e:10:00:01", "02-00-5E-10-00-01".
  // Anything else (missing digits, "2:0:...", trailing text) is std::nullopt.
  static std::optional<MacAddress> Parse(std::string_view text);

  // Reads/writes 6 bytes in wire order at `p`; the caller checks bounds.
  static MacAddress Load(const std::byte* p) {
    MacAddress mac;
    std::memcpy(mac.bytes.data(), p, kSize);
    return mac;
  }
  void StoreTo(std::byte* p) const { std::memcpy(p, bytes.data(), kSize); }

  // The low 48 bits hold the address, first octet most significant.
  constexpr uint64_t ToU64() const {
    uint64_t v = 0;
    for (uint8_t b : bytes) v = (v << 8) | b;
    return v;
  }
  static constexpr MacAddress FromU64(uint64_t v) {
    MacAddress mac;
    for (size_t i = 0; i < kSize; ++i)
      mac.bytes[kSize - 1 - i] = static_cast<uint8_t>(v >> (8 * i));
    return mac;
  }

  constexpr bool IsZero() const { return ToU64() == 0; }
  constexpr bool IsBroadcast() const { return ToU64() == 0xffff'ffff'ffffULL; }
  // Group bit (I/G) set; true for broadcast as well.
  constexpr bool IsMulticast() const { return (bytes[0] & 0x01) != 0; }
  constexpr bool IsUnicast() const { return !IsMulticast(); }
  // U/L bit set, e.g. 02:xx:... addresses made up by software.
  constexpr bool IsLocallyAdministered() const { return (bytes[0] & 0x02) != 0; }

  // Lower-case "aa:bb:cc:dd:ee:ff" into `out` (NUL-terminated); returns 17.
  size_t Format(std::span<char, kFormatBufferSize> out) const;
  std::string ToString() const;

  uint64_t Hash() const;

  friend constexpr bool operator==(const MacAddress&, const MacAddress&) = default;
  friend constexpr auto operator<=>(const MacAddress&, const MacAddress&) = default;
};

static_assert(sizeof(MacAddress) == 6);

}  // namespace ringstamp
