#include "apps/input_checks.h"

#include <cmath>

#include "absl/strings/str_format.h"
#include "ringstamp/common/absl_compat.h"

namespace ringstamp::app {
namespace {

std::string MiB(uint64_t bytes) { return absl::StrFormat("%.0f MiB", bytes / 1048576.0); }

// The directed broadcast address of an IPv4 subnet (all host bits set); nullopt
// for IPv6 (no broadcast) and for /31 and /32 (no broadcast address either).
std::optional<IpAddress> SubnetBroadcast(const OwnAddress& a) {
  if (!a.address.is_v4() || a.prefix < 0 || a.prefix > 30) return std::nullopt;
  const uint32_t host_mask = a.prefix == 0 ? 0xffffffffu : (0xffffffffu >> a.prefix);
  return IpAddress::V4(a.address.v4() | host_mask);
}

}  // namespace

absl::Status CheckCount(std::string_view flag, int64_t count) {
  if (count < 0) {
    return absl::InvalidArgumentError(absl::StrFormat("%s %d: a count is 0 (no limit) or more",
                                                      ToAbsl(flag), static_cast<long long>(count)));
  }
  return absl::OkStatus();
}

absl::Status CheckDurationSeconds(std::string_view flag, double seconds) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > kMaxDurationSeconds) {
    return absl::InvalidArgumentError(absl::StrFormat("%s %g: give seconds from 0 (no limit) to %g",
                                                      ToAbsl(flag), seconds, kMaxDurationSeconds));
  }
  return absl::OkStatus();
}

absl::Status CheckRate(std::string_view flag, double pps) {
  if (!std::isfinite(pps) || pps < 0 || pps > kMaxRatePps) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s %g: give frames per second from 0 (as fast as possible) to %g",
                        ToAbsl(flag), pps, kMaxRatePps));
  }
  return absl::OkStatus();
}

absl::Status CheckSourceMac(std::string_view flag, const MacAddress& mac) {
  if (mac.IsZero() || mac.IsMulticast()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s %s: a source MAC must be unicast and not all zeros (the low bit of the first byte "
        "clear, e.g. 02:00:00:00:00:01)",
        ToAbsl(flag), mac.ToString()));
  }
  return absl::OkStatus();
}

absl::Status CheckSourceIp(std::string_view flag, const IpAddress& ip) {
  const char* what = ip.IsUnspecified() ? "unspecified"
                     : ip.IsMulticast() ? "a multicast address"
                     : ip.IsBroadcast() ? "the broadcast address"
                                        : nullptr;
  if (what != nullptr) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s %s is %s; a source address must be one unicast host", ToAbsl(flag),
                        ip.ToString(), what));
  }
  return absl::OkStatus();
}

std::vector<OwnAddress> OwnAddresses(std::span<const std::string> ip_flag_values) {
  std::vector<OwnAddress> out;
  for (const std::string& v : ip_flag_values) {
    const size_t slash = v.find('/');
    auto ip = IpAddress::Parse(std::string_view(v).substr(0, slash));
    if (!ip) continue;
    int prefix = ip->is_v4() ? 24 : 64;
    if (slash != std::string::npos) {
      try {
        prefix = std::stoi(v.substr(slash + 1));
      } catch (...) {
        continue;
      }
    }
    out.push_back({*ip, prefix});
  }
  return out;
}

absl::Status CheckPeerAddress(std::string_view flag, const IpAddress& peer,
                              std::span<const OwnAddress> own) {
  const char* what = peer.IsUnspecified() ? "unspecified"
                     : peer.IsMulticast() ? "a multicast address"
                     : peer.IsBroadcast() ? "the broadcast address"
                                          : nullptr;
  for (const OwnAddress& a : own) {
    if (what != nullptr) break;
    if (a.address == peer) what = "our own address (--ip)";
    if (auto b = SubnetBroadcast(a); b && *b == peer) what = "the broadcast address of our subnet";
  }
  if (what != nullptr) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s %s is %s; give the address of the one host to probe", ToAbsl(flag),
                        peer.ToString(), what));
  }
  return absl::OkStatus();
}

absl::Status CheckRingMemory(int workers, uint64_t bytes_per_worker,
                             std::optional<uint64_t> available) {
  if (!available || workers <= 0) return absl::OkStatus();
  const uint64_t total = static_cast<uint64_t>(workers) * bytes_per_worker;
  if (total > *available) {
    const uint64_t fit = bytes_per_worker > 0 ? *available / bytes_per_worker : 0;
    return absl::InvalidArgumentError(absl::StrFormat(
        "--workers %d: %d rings of %s need %s, more than the %s of memory available; use "
        "--workers %d or fewer",
        workers, workers, MiB(bytes_per_worker), MiB(total), MiB(*available),
        static_cast<int>(std::max<uint64_t>(1, fit))));
  }
  return absl::OkStatus();
}

}  // namespace ringstamp::app
