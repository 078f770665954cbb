#include "ringstamp/engine/proto/mac_address.h"

#include <cstring>

#include "ringstamp/engine/proto/hash_mix.h"

namespace ringstamp {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<MacAddress> MacAddress::Parse(std::string_view text) {
  if (text.size() != 17) return std::nullopt;
  const char separator = text[2];
  if (separator != ':' && separator != '-') return std::nullopt;
  MacAddress mac;
  for (size_t i = 0; i < kSize; ++i) {
    const size_t at = i * 3;
    if (i > 0 && text[at - 1] != separator) return std::nullopt;
    const int hi = HexDigit(text[at]);
    const int lo = HexDigit(text[at + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    mac.bytes[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return mac;
}

size_t MacAddress::Format(std::span<char, kFormatBufferSize> out) const {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t n = 0;
  for (size_t i = 0; i < kSize; ++i) {
    if (i > 0) out[n++] = ':';
    out[n++] = kHex[bytes[i] >> 4];
    out[n++] = kHex[bytes[i] & 0xf];
  }
  out[n] = '\0';
  return n;
}

std::string MacAddress::ToString() const {
  char buf[kFormatBufferSize];
  const size_t n = Format(buf);
  return std::string(buf, n);
}

uint64_t MacAddress::Hash() const { return HashMix(ToU64()); }

}  // namespace ringstamp
