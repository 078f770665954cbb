// common_flags.h — flags shared by several `ringstamp` commands (defined in common_flags.cc).
// Main thread only.
//
// Example:
// Given: #include "absl/flags/flag.h"
//   std::string ifname = absl::GetFlag(FLAGS_i);
//   int64_t count = absl::GetFlag(FLAGS_count);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "apps/cli_parse.h"

ABSL_DECLARE_FLAG(std::string, i);                         // interface name
ABSL_DECLARE_FLAG(bool, json);                             // JSON output
ABSL_DECLARE_FLAG(ringstamp::app::FlagSeconds, duration);  // 0 = until count or SIGINT
ABSL_DECLARE_FLAG(int64_t, c);                             // capture: packet count; 0 = unlimited
ABSL_DECLARE_FLAG(int64_t, count);                         // probe/gen: count (-c means it too)
ABSL_DECLARE_FLAG(int32_t, workers);                       // worker threads
ABSL_DECLARE_FLAG(std::string, tstamp);                    // auto|hardware|software
ABSL_DECLARE_FLAG(std::string, vlan);                      // "ID[,ID]" outer first
ABSL_DECLARE_FLAG(bool, q);                                // quiet
ABSL_DECLARE_FLAG(bool, immediate);                        // TPACKET_V2 immediate RX
ABSL_DECLARE_FLAG(int32_t, size);     // gen: frame bytes; probe: UDP payload bytes; 0 = default
ABSL_DECLARE_FLAG(std::string, tap);  // TAP device to create instead of -i
ABSL_DECLARE_FLAG(std::vector<std::string>, label);  // k=v pairs on every JSON line
ABSL_DECLARE_FLAG(std::string, tap_ip);              // the host side's address on it, ADDR/LEN
