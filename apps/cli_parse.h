// cli_parse.h — parsing of command-line values shared by the ringstamp commands.
//
// Example:
//   RS_ASSIGN_OR_RETURN(VlanStack vlans, ParseVlanList("--vlan", "100,200"));  // QinQ: 802.1ad 100
//                                                                              // outside 802.1Q 200
//   RS_ASSIGN_OR_RETURN(int64_t d, ParseDurationNs("--interval", "10ms"));    // 10'000'000
//   RS_ASSIGN_OR_RETURN(MacAddress mac, ParseMacFlag("--dst-mac", "02:00:00:00:00:01"));
//
// Errors name the flag and what would be accepted. apps/ only; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ringstamp/engine/proto/ip_address.h"
#include "ringstamp/engine/proto/mac_address.h"
#include "ringstamp/engine/proto/vlan.h"

namespace ringstamp::app {

// "ID" → one 802.1Q tag; "OUTER,INNER[,...]" → 802.1ad outer tag(s) then an 802.1Q
// inner tag (QinQ). IDs 1..4094; up to 8 tags. "" → no tags.
absl::StatusOr<VlanStack> ParseVlanList(std::string_view flag, std::string_view text);
absl::StatusOr<MacAddress> ParseMacFlag(std::string_view flag, std::string_view text);
absl::StatusOr<IpAddress> ParseIpFlag(std::string_view flag, std::string_view text);
// "1.5", "250ms", "10us", "2s", "1m" → nanoseconds; a bare number is seconds.
absl::StatusOr<int64_t> ParseDurationNs(std::string_view flag, std::string_view text);

// A length of time in seconds, as a flag type: "10", "1.5" (seconds) or with a unit as
// absl::ParseDuration reads it ("10s", "250ms", "2m", "1h30m"). Reads as a double.
struct FlagSeconds {
  double seconds = 0;
  operator double() const { return seconds; }  // NOLINT: read where a double was
};
bool AbslParseFlag(absl::string_view text, FlagSeconds* out, std::string* error);
std::string AbslUnparseFlag(FlagSeconds value);

// True when stderr is a terminal (live stats lines are shown only then).
bool StderrIsTerminal();

}  // namespace ringstamp::app
