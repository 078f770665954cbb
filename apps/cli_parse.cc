#include "apps/cli_parse.h"

#include <unistd.h>

#include <cmath>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "ringstamp/common/absl_compat.h"

namespace ringstamp::app {

absl::StatusOr<VlanStack> ParseVlanList(std::string_view flag, std::string_view text) {
  VlanStack stack;
  if (text.empty()) return stack;
  std::vector<absl::string_view> parts = absl::StrSplit(ToAbsl(text), ',');
  if (parts.size() > VlanStack::kMaxTags) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: %d VLAN tags given; at most %d", ToAbsl(flag), parts.size(), VlanStack::kMaxTags));
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    int id = 0;
    if (!absl::SimpleAtoi(parts[i], &id) || id < 1 || id > 4094) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: '%s' is not a VLAN ID; use 1 to 4094, outer first, comma-separated (e.g. 100,200)",
          ToAbsl(flag), parts[i]));
    }
    // The innermost tag is a C-tag (802.1Q); outer tags of a stack are S-tags (802.1ad).
    const bool inner = i + 1 == parts.size();
    stack.Push(VlanTag::Make(inner ? kEtherTypeVlan : kEtherTypeQinQ, static_cast<uint16_t>(id)));
  }
  return stack;
}

absl::StatusOr<MacAddress> ParseMacFlag(std::string_view flag, std::string_view text) {
  auto mac = MacAddress::Parse(text);
  if (!mac) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: '%s' is not a MAC address; write it as 02:00:00:00:00:01",
                        ToAbsl(flag), ToAbsl(text)));
  }
  return *mac;
}

absl::StatusOr<IpAddress> ParseIpFlag(std::string_view flag, std::string_view text) {
  auto ip = IpAddress::Parse(text);
  if (!ip) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: '%s' is not an IPv4 or IPv6 address (e.g. 10.0.0.1 or fd00::1)",
                        ToAbsl(flag), ToAbsl(text)));
  }
  return *ip;
}

absl::StatusOr<int64_t> ParseDurationNs(std::string_view flag, std::string_view text) {
  std::string s(text);
  double scale = 1e9;
  auto strip = [&](std::string_view suffix, double sc) {
    if (s.size() > suffix.size() &&
        s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0) {
      s.resize(s.size() - suffix.size());
      scale = sc;
      return true;
    }
    return false;
  };
  strip("ns", 1) || strip("us", 1e3) || strip("µs", 1e3) || strip("ms", 1e6) || strip("s", 1e9) ||
      strip("m", 60e9);
  double v = 0;
  if (!absl::SimpleAtod(s, &v) || !std::isfinite(v) || v < 0 || v * scale > 9e18) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: '%s' is not a duration; use e.g. 10ms, 250us, 1.5s or a number of seconds",
        ToAbsl(flag), ToAbsl(text)));
  }
  return static_cast<int64_t>(std::llround(v * scale));
}

bool StderrIsTerminal() { return isatty(STDERR_FILENO) == 1; }

bool AbslParseFlag(absl::string_view text, FlagSeconds* out, std::string* error) {
  double plain = 0;
  if (absl::SimpleAtod(text, &plain)) {  // "10", "1.5": seconds (NaN/inf: checked later)
    out->seconds = plain;
    return true;
  }
  absl::Duration d;
  if (absl::ParseDuration(text, &d) && d != absl::InfiniteDuration() &&
      d != -absl::InfiniteDuration()) {
    out->seconds = absl::ToDoubleSeconds(d);
    return true;
  }
  *error = "a length of time: seconds (10, 1.5) or with a unit (10s, 250ms, 2m, 1h30m)";
  return false;
}

std::string AbslUnparseFlag(FlagSeconds value) {
  return value.seconds == 0 ? "0" : absl::StrFormat("%gs", value.seconds);
}

}  // namespace ringstamp::app
