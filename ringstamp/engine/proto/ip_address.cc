#include "ringstamp/engine/proto/ip_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "ringstamp/engine/proto/hash_mix.h"

namespace ringstamp {

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  char buf[kFormatBufferSize];
  if (text.empty() || text.size() >= sizeof(buf)) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  // inet_pton stops at the NUL; an embedded NUL would hide trailing text.
  if (std::memchr(text.data(), '\0', text.size()) != nullptr) return std::nullopt;
  IpAddress a;
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buf, a.bytes_.data()) != 1) return std::nullopt;
    a.family_ = IpFamily::kV4;
  } else {
    if (inet_pton(AF_INET6, buf, a.bytes_.data()) != 1) return std::nullopt;
    a.family_ = IpFamily::kV6;
  }
  return a;
}

void IpAddress::StoreTo(std::byte* p) const { std::memcpy(p, bytes_.data(), size()); }

bool IpAddress::IsUnspecified() const {
  if (!is_valid()) return false;
  for (size_t i = 0; i < size(); ++i) {
    if (bytes_[i] != 0) return false;
  }
  return true;
}

bool IpAddress::IsLoopback() const {
  if (is_v4()) return bytes_[0] == 127;
  if (!is_v6()) return false;
  for (size_t i = 0; i < 15; ++i) {
    if (bytes_[i] != 0) return false;
  }
  return bytes_[15] == 1;
}

bool IpAddress::IsMulticast() const {
  if (is_v4()) return (bytes_[0] & 0xf0) == 0xe0;
  return is_v6() && bytes_[0] == 0xff;
}

bool IpAddress::IsLinkLocal() const {
  if (is_v4()) return bytes_[0] == 169 && bytes_[1] == 254;
  return is_v6() && bytes_[0] == 0xfe && (bytes_[1] & 0xc0) == 0x80;
}

bool IpAddress::IsBroadcast() const { return is_v4() && v4() == 0xffffffffu; }

IpAddress IpAddress::Masked(int prefix_len) const {
  IpAddress out = *this;
  const int width = static_cast<int>(size()) * 8;
  if (prefix_len < 0) prefix_len = 0;
  if (prefix_len > width) prefix_len = width;
  for (int i = 0; i < static_cast<int>(size()); ++i) {
    const int keep = prefix_len - i * 8;
    if (keep >= 8) continue;
    out.bytes_[i] = keep <= 0 ? 0 : static_cast<uint8_t>(out.bytes_[i] & (0xff << (8 - keep)));
  }
  return out;
}

size_t IpAddress::Format(std::span<char, kFormatBufferSize> out) const {
  const char* text = nullptr;
  if (is_v4()) {
    text = inet_ntop(AF_INET, bytes_.data(), out.data(), out.size());
  } else if (is_v6()) {
    text = inet_ntop(AF_INET6, bytes_.data(), out.data(), out.size());
  }
  if (text == nullptr) {
    // kNone (inet_ntop cannot fail with a buffer of INET6_ADDRSTRLEN).
    std::memcpy(out.data(), "none", 5);
    return 4;
  }
  return std::strlen(out.data());
}

std::string IpAddress::ToString() const {
  char buf[kFormatBufferSize];
  const size_t n = Format(buf);
  return std::string(buf, n);
}

static_assert(INET6_ADDRSTRLEN == IpAddress::kFormatBufferSize);

}  // namespace ringstamp
