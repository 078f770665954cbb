// probe_targets.h — the probe client's targets: `--server` (repeatable) and `--targets FILE`,
// parsed into ProbeTarget values (address, port, labels). Pure parsing, no I/O except
// ReadTargetsFile; any thread; cost linear in the text.
//
// A targets file has one target a line; '#' starts a comment, blank lines are skipped:
//
//   10.0.0.2                       # the default port (--port)
//   10.0.0.3:4000  rack=r12 dc=fra # labels: key=value, the Prometheus label rule for keys
//   [fd00::4]:862  role=spine
//   fd00::5                        # a bare IPv6 address takes the default port
//
// A target is the pair (address, port); the same pair twice is an error naming both lines.
// With --mode icmp a port is an error (ICMP echo has none).
//
// Example:
// Given: #include <cassert>
//   auto t = ringstamp::app::ParseTargetsText("10.0.0.3:4000 rack=r12\n", "t.txt",
//                                             /*default_port=*/862, /*with_port=*/true);
//   assert(t.ok() && t->size() == 1 && (*t)[0].port == 4000);
//   assert((*t)[0].labels.at("rack") == "r12" && (*t)[0].Name() == "10.0.0.3:4000");
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "ringstamp/engine/proto/ip_address.h"

namespace ringstamp::app {

struct ProbeTarget {
  IpAddress ip;
  uint16_t port = 0;  // 0 with --mode icmp
  std::map<std::string, std::string> labels;

  // "ADDR:PORT", "[V6]:PORT", or the bare address when there is no port (ICMP): the "target"
  // key of JSON lines and the prefix of text lines.
  std::string Name() const;
  // Targets are the same session when address, port and labels are all equal (a label
  // change on SIGHUP is a new series, as Prometheus sees it).
  friend bool operator==(const ProbeTarget&, const ProbeTarget&) = default;
};

// One target: "ADDR", "ADDR:PORT", "[V6]", "[V6]:PORT" or a bare IPv6 address. `where`
// prefixes errors ("--server", "targets.txt:3"). With `with_port` false (ICMP) a port is an
// InvalidArgument.
absl::StatusOr<ProbeTarget> ParseTargetSpec(std::string_view spec, std::string_view where,
                                            uint16_t default_port, bool with_port);

// A whole targets file's text (see the top of this file). `name` is the file's name in errors.
// An empty list is an error: a run needs at least one target.
absl::StatusOr<std::vector<ProbeTarget>> ParseTargetsText(std::string_view text,
                                                          std::string_view name,
                                                          uint16_t default_port, bool with_port);

// Reads and parses `path`; a file that cannot be read is an InvalidArgument naming it and why.
absl::StatusOr<std::vector<ProbeTarget>> ReadTargetsFile(const std::string& path,
                                                         uint16_t default_port, bool with_port);

// The most targets one client probes (one session thread each).
inline constexpr size_t kMaxProbeTargets = 1024;

}  // namespace ringstamp::app
