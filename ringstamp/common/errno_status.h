// errno_status.h — turn a failed syscall into an absl::Status a person can act on.
//
// Example:
// Given: #include <sys/socket.h>
// Given: #include <linux/if_packet.h>
// Given: #include <cerrno>
// Given: int fd; const tpacket_req3& req;
//   if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) != 0)
//     return ErrnoStatus(errno, "eth1: PACKET_RX_RING");
//   // → "eth1: PACKET_RX_RING: Cannot allocate memory (ENOMEM)"
//
// Read errno right after the failing call and pass it in; these functions never
// read errno themselves. Any thread. Cost: formats a string (setup paths only).
#pragma once

#include <string_view>

#include "absl/status/status.h"

namespace ringstamp {

// "ENOMEM", "EPERM", ... or "errno 1234" for values without a name.
std::string_view ErrnoName(int err);

// absl::ErrnoToStatus with the errno's symbolic name appended, and `hint`
// (what to do about it) appended when not empty.
absl::Status ErrnoStatus(int err, std::string_view what, std::string_view hint = {});

}  // namespace ringstamp
