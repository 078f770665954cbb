// common_flags.h — flags shared by several `ringstamp` commands (defined in common_flags.cc).
// Main thread only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/flags/declare.h"

ABSL_DECLARE_FLAG(std::string, i);       // interface name
ABSL_DECLARE_FLAG(bool, json);           // JSON output
ABSL_DECLARE_FLAG(double, duration);     // seconds; 0 = until count or SIGINT
ABSL_DECLARE_FLAG(int64_t, c);           // packet count; 0 = unlimited
ABSL_DECLARE_FLAG(int64_t, count);       // alias of -c for probe/gen
ABSL_DECLARE_FLAG(int32_t, workers);     // worker threads
ABSL_DECLARE_FLAG(std::string, tstamp);  // auto|hardware|software
ABSL_DECLARE_FLAG(std::string, vlan);    // "ID[,ID]" outer first
ABSL_DECLARE_FLAG(bool, q);              // quiet
ABSL_DECLARE_FLAG(bool, immediate);
ABSL_DECLARE_FLAG(int32_t, size);
ABSL_DECLARE_FLAG(std::string, tap);  // TAP device to create instead of -i
ABSL_DECLARE_FLAG(std::string,
                  tap_ip);  // the host side's address on it, ADDR/LEN        // gen: frame bytes;
                            // probe: UDP payload bytes; 0 = default      // TPACKET_V2 immediate RX
