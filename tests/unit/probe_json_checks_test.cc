// Unit: the probe-line rules of tests/support/probe_json_checks.h catch each broken rule on
// a hand-made line and pass a good one. No root, no network.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/probe_json_checks.h"

using namespace ringstamp::testing;

namespace {

constexpr int64_t kT1 = 1'700'000'000'000'000'000;

// t1 = kT1, t2 = +10 µs, t3 = +15 µs, t4 = +30 µs; figures consistent.
nlohmann::json GoodLine() {
  auto stamp = [](int64_t ns, const char* source) {
    return nlohmann::json{{"ns", ns}, {"source", source}};
  };
  return {{"seq", 7},
          {"status", "ok"},
          {"t1", stamp(kT1, "software")},
          {"t2", stamp(kT1 + 10'000, "software")},
          {"t3", stamp(kT1 + 15'000, "estimate")},
          {"t4", stamp(kT1 + 30'000, "software")},
          {"rtt_ns", 30'000},
          {"dwell_ns", 5'000},
          {"network_rtt_ns", 25'000},
          {"forward_ns", 10'000},
          {"reverse_ns", 15'000}};
}

size_t Count(const nlohmann::json& line, bool one_clock = true) {
  return ProbeLineViolations(line, {.one_clock = one_clock}).size();
}

}  // namespace

TEST_CASE("probe json checks: a consistent line passes, each broken rule is caught") {
  CHECK(Count(GoodLine()) == 0);

  auto j = GoodLine();
  j["rtt_ns"] = 30'001;
  CHECK(Count(j) >= 1);  // rtt != t4 - t1 (and net != rtt - dwell)

  j = GoodLine();
  j["dwell_ns"] = 5'001;
  CHECK(Count(j) >= 1);

  j = GoodLine();
  j["network_rtt_ns"] = 24'999;
  CHECK(Count(j) == 1);

  j = GoodLine();  // t3 before t2, figures made consistent: only the order is wrong
  j["t3"]["ns"] = kT1 + 9'000;
  j["dwell_ns"] = -1'000;
  j["network_rtt_ns"] = 31'000;
  j["reverse_ns"] = 21'000;
  CHECK(Count(j) == 1);
  CHECK(Count(j, /*one_clock=*/false) == 0);  // two clocks: order not judged

  j = GoodLine();
  j["forward_ns"] = 9'999;
  CHECK(Count(j) == 1);

  j = GoodLine();
  j["t2"]["source"] = "hardware";
  CHECK(Count(j) == 1);

  j = GoodLine();
  j["t3"] = nullptr;
  CHECK(Count(j) == 1);  // an answered probe without t3 ...
  j["t3_estimate"] = GoodLine()["t3"];
  j.erase("dwell_ns");
  j.erase("network_rtt_ns");
  CHECK(Count(j) == 0);  // ... unless it says t3 waits for the Follow-Up

  j = GoodLine();
  j["status"] = "lost";
  j["rtt_ns"] = 1;
  CHECK(Count(j) == 0);  // lost lines carry no figures to check
}

TEST_CASE("probe json checks: the counters balance or the message gives the figures") {
  nlohmann::json s = {{"type", "summary"}, {"sent", 10}, {"received", 7},
                      {"lost", 2},         {"late", 1},  {"in_flight", 0}};
  CHECK(CountersBalanceViolation(s) == "");
  s["lost"] = 3;
  CHECK(CountersBalanceViolation(s) == "sent 10 != received 7 + lost 3 + late 1 + in_flight 0");
  CHECK(CountersBalanceViolation(nullptr) == "no summary line");
  const ProbeJson parsed = ParseProbeJson(
      "# legend\n{\"seq\":1,\"status\":\"ok\"}\n{\"type\":\"summary\",\"sent\":1}\n{bad\n");
  CHECK(parsed.probes.size() == 1);
  CHECK(parsed.summary["sent"] == 1);
  CHECK(parsed.bad_lines.size() == 1);
}
