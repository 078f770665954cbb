// packet_summary.h — one tcpdump-like line per captured frame.
//
// Example:
// Given: const Frame& frame
//   std::string line = FormatPacketSummary(frame);
//   // "1700000000.123456789 sw 02:52:53:00:00:01 > 02:52:53:00:00:02, vlan 100,
//   //  IPv4 10.0.0.1.1000 > 10.0.0.2.9: UDP, length 18"
//
// The stamp is the frame's best system-clock stamp with its source (hw, sw,
// user); then MACs, VLAN tags (the stripped outer one first), protocol,
// addresses, ports and length. Malformed headers are named, never guessed.
// Any thread; allocates the returned string (not for the capture hot path
// when writing files, which never calls it).
#pragma once

#include <string>

#include "ringstamp/ring/frame.h"

namespace ringstamp::app {

std::string FormatPacketSummary(const Frame& frame);

}  // namespace ringstamp::app
