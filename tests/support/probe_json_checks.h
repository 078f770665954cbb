// probe_json_checks.h — what every answered line of `ringstamp probe client --json` must
// satisfy, checked exactly, for the probe integration tests.
//
//   auto lines = ParseProbeJson(output);                  // probe lines + the summary
//   for (const auto& p : lines.probes) {
//     for (const std::string& v : ProbeLineViolations(p, {.one_clock = true})) FAIL_CHECK(v);
//   }
//   CHECK(CountersBalanceViolation(lines.summary).empty());
//
// Checked per answered STAMP probe ("status" "ok" or absent; lines without t4 are skipped):
//   rtt_ns == t4 − t1, dwell_ns == t3 − t2, network_rtt_ns == rtt_ns − dwell_ns (exact ns);
//   with one_clock (both ends read one clock, as namespaces of one machine do):
//   t1 < t2 ≤ t3 < t4, and forward_ns == t2 − t1 ≥ 0, reverse_ns == t4 − t3 ≥ 0 when the
//   line has them (--clocks-synchronised); no stamp labelled hardware unless allow_hardware.
// Only keys that exist before and after the probe's t3 rework are read (t1..t4, rtt_ns,
// dwell_ns, network_rtt_ns, forward_ns, reverse_ns, status, seq); a line without t3 that
// has a t3_estimate key (a client waiting for the reflector's Follow-Up) gets the rules
// without t3: rtt exact, t1 < t2 < t4.
// Pure functions on parsed JSON: any thread; they allocate (test code).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ringstamp::testing {

struct ProbeJson {
  std::vector<nlohmann::json> probes;  // every line that is not the summary
  nlohmann::json summary;              // null when there was none
  std::vector<std::string> bad_lines;  // lines starting with '{' that did not parse
};

// Splits the client's stdout (other text lines are ignored).
ProbeJson ParseProbeJson(const std::string& output);

struct ProbeLineRules {
  bool one_clock = false;       // t1..t4 on one clock: order and one-way delays checked
  bool allow_hardware = false;  // a stamp may be labelled hardware
};

// One message per rule the line breaks (empty when it keeps them all).
std::vector<std::string> ProbeLineViolations(const nlohmann::json& line, ProbeLineRules rules);

// "" when sent == received + lost + late + in_flight (in_flight 0 when absent) in the
// summary; else a message with the figures.
std::string CountersBalanceViolation(const nlohmann::json& summary);

}  // namespace ringstamp::testing
