// input_checks.h — validators for command-line values that parse but make no
// sense (a negative count, a NaN rate, a multicast source, a server that is
// ourselves, rings bigger than the machine): each returns InvalidArgument
// naming the flag and what would be accepted, so the command exits 2 before
// anything is opened.
//
// Example:
// Given: #include "absl/flags/flag.h"
// Given: #include "apps/common_flags.h"
// Given: double rate; const MacAddress& mac
//   RS_RETURN_IF_ERROR(CheckCount("--count", absl::GetFlag(FLAGS_count)));
//   RS_RETURN_IF_ERROR(CheckRate("--rate", rate));
//   RS_RETURN_IF_ERROR(CheckSourceMac("--src-mac", mac));
//
// Pure functions (CheckRingMemory takes the memory figure from the caller):
// any thread, no I/O. apps/ only.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ringstamp/engine/proto/ip_address.h"
#include "ringstamp/engine/proto/mac_address.h"

namespace ringstamp::app {

// Longest --duration taken, in seconds (its nanoseconds must fit an int64_t).
inline constexpr double kMaxDurationSeconds = 1e9;
// Highest --rate taken, frames per second.
inline constexpr double kMaxRatePps = 1e9;

// A packet or probe count: 0 (no limit) or more.
absl::Status CheckCount(std::string_view flag, int64_t count);
// Seconds: finite, ≥ 0, at most kMaxDurationSeconds. 0 means no limit.
absl::Status CheckDurationSeconds(std::string_view flag, double seconds);
// Frames per second: finite, ≥ 0, at most kMaxRatePps. 0 means as fast as possible.
absl::Status CheckRate(std::string_view flag, double pps);
// A source MAC must be a unicast address other than 00:00:00:00:00:00.
absl::Status CheckSourceMac(std::string_view flag, const MacAddress& mac);
// A source IP must not be unspecified (0.0.0.0, ::), multicast or broadcast.
absl::Status CheckSourceIp(std::string_view flag, const IpAddress& ip);
// A peer to probe must be one unicast host other than us: not unspecified,
// multicast, limited broadcast, the broadcast address of one of `own` subnets,
// nor one of our own addresses. `own`: our addresses with their prefix lengths.
struct OwnAddress {
  IpAddress address;
  int prefix = 0;
};
// Our addresses from --ip values "ADDR[/LEN]" (LEN defaults to 24 / 64);
// values that do not parse are left out (their own check reports them).
std::vector<OwnAddress> OwnAddresses(std::span<const std::string> ip_flag_values);
absl::Status CheckPeerAddress(std::string_view flag, const IpAddress& peer,
                              std::span<const OwnAddress> own);
// Ring memory over all workers: `workers` × `bytes_per_worker` must fit in
// `available` (MemAvailable; nullopt when unknown: not checked).
absl::Status CheckRingMemory(int workers, uint64_t bytes_per_worker,
                             std::optional<uint64_t> available);

}  // namespace ringstamp::app
