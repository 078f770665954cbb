#include "tests/support/probe_json_checks.h"

#include <cstdint>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace ringstamp::testing {
namespace {

std::optional<int64_t> Int(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number_integer()) return std::nullopt;
  return j[key].get<int64_t>();
}

std::optional<int64_t> StampNs(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_object()) return std::nullopt;
  return Int(j[key], "ns");
}

std::string SeqText(const nlohmann::json& j) {
  return j.contains("seq") ? absl::StrCat("seq ", j["seq"].dump(), ": ") : "";
}

}  // namespace

ProbeJson ParseProbeJson(const std::string& output) {
  ProbeJson out;
  for (absl::string_view line : absl::StrSplit(output, '\n', absl::SkipEmpty())) {
    if (line.empty() || line[0] != '{') continue;
    auto j = nlohmann::json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      out.bad_lines.emplace_back(line);
    } else if (j.value("type", "") == "summary") {
      out.summary = std::move(j);
    } else {
      out.probes.push_back(std::move(j));
    }
  }
  return out;
}

std::vector<std::string> ProbeLineViolations(const nlohmann::json& line, ProbeLineRules rules) {
  std::vector<std::string> v;
  const std::string at = SeqText(line);
  const std::string status = line.value("status", "ok");
  if (status != "ok" && status != "late") return v;  // lost and duplicate lines carry no figures
  const auto t1 = StampNs(line, "t1"), t2 = StampNs(line, "t2"), t3 = StampNs(line, "t3"),
             t4 = StampNs(line, "t4");
  if (!t4) return v;
  // A client that reports the reflector's real t3 only once the next reply's Follow-Up
  // brings it may leave t3 out and say so with a t3_estimate; then the t3 rules wait.
  const bool t3_pending = !t3 && line.contains("t3_estimate");
  if (!t1 || !t2 || (!t3 && !t3_pending)) {
    v.push_back(absl::StrCat(at, "an answered STAMP probe lacks t1, t2 or t3: ", line.dump()));
    return v;
  }
  const auto rtt = Int(line, "rtt_ns"), dwell = Int(line, "dwell_ns"),
             net = Int(line, "network_rtt_ns");
  if (!rtt || *rtt != *t4 - *t1) {
    v.push_back(absl::StrCat(at, "rtt_ns ", line["rtt_ns"].dump(), " != t4 - t1 = ", *t4 - *t1));
  }
  if (t3_pending) {
    if (rules.one_clock && !(*t1 < *t2 && *t2 < *t4)) {
      v.push_back(absl::StrCat(at, "not t1 < t2 < t4 on one clock: ", *t1, " ", *t2, " ", *t4));
    }
    return v;
  }
  if (!dwell || *dwell != *t3 - *t2) {
    v.push_back(
        absl::StrCat(at, "dwell_ns ", line["dwell_ns"].dump(), " != t3 - t2 = ", *t3 - *t2));
  }
  if (!net || !rtt || !dwell || *net != *rtt - *dwell) {
    v.push_back(absl::StrCat(at, "network_rtt_ns ", line["network_rtt_ns"].dump(),
                             " != rtt_ns - dwell_ns"));
  }
  if (!rules.allow_hardware) {
    for (const char* k : {"t1", "t2", "t3", "t4"}) {
      const std::string source = line[k].value("source", "");
      if (source.rfind("hardware", 0) == 0) {
        v.push_back(absl::StrCat(at, k, " labelled ", source, " where no NIC stamps in hardware"));
      }
    }
  }
  if (rules.one_clock) {
    if (!(*t1 < *t2 && *t2 <= *t3 && *t3 < *t4)) {
      v.push_back(absl::StrCat(at, "not t1 < t2 <= t3 < t4 on one clock: ", *t1, " ", *t2, " ", *t3,
                               " ", *t4));
    }
    if (line.contains("forward_ns")) {
      const auto fwd = Int(line, "forward_ns");
      if (!fwd || *fwd != *t2 - *t1 || *fwd < 0) {
        v.push_back(absl::StrCat(at, "forward_ns ", line["forward_ns"].dump(),
                                 " is not t2 - t1 = ", *t2 - *t1, " >= 0"));
      }
    }
    if (line.contains("reverse_ns")) {
      const auto rev = Int(line, "reverse_ns");
      if (!rev || *rev != *t4 - *t3 || *rev < 0) {
        v.push_back(absl::StrCat(at, "reverse_ns ", line["reverse_ns"].dump(),
                                 " is not t4 - t3 = ", *t4 - *t3, " >= 0"));
      }
    }
  }
  return v;
}

std::string CountersBalanceViolation(const nlohmann::json& summary) {
  if (!summary.is_object()) return "no summary line";
  const auto sent = Int(summary, "sent"), received = Int(summary, "received"),
             lost = Int(summary, "lost"), late = Int(summary, "late");
  const int64_t in_flight = Int(summary, "in_flight").value_or(0);
  if (!sent || !received || !lost || !late) return "summary lacks sent/received/lost/late";
  if (*sent == *received + *lost + *late + in_flight) return "";
  return absl::StrCat("sent ", *sent, " != received ", *received, " + lost ", *lost, " + late ",
                      *late, " + in_flight ", in_flight);
}

}  // namespace ringstamp::testing
