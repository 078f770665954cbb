// Integration: continuous mode (`--report-every`, issue 14 point 1). The interval lines of a
// client and a reflector (counters, and the reflector's t3 error per window) add up to their
// summaries, windows follow each other without a gap on boundaries aligned to the period, and a
// bad period is a usage error.
#include <doctest/doctest.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/support/child_process.h"
#include "tests/support/netns_test_setup.h"
#include "tests/support/netns_testbed.h"
#include "tests/support/ringstamp_cli.h"

using namespace ringstamp::testing;

namespace {

const std::string kBin = RINGSTAMP_BIN;
constexpr int64_t kPeriodNs = 200'000'000;

std::vector<nlohmann::json> JsonLines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] != '{') continue;
    out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

// Checks the windows of `lines` of `type`: contiguous, inner boundaries on multiples of the
// period, and returns the sum of `key` over them.
uint64_t CheckWindows(const std::vector<nlohmann::json>& lines, const std::string& type,
                      const std::string& key, size_t* windows) {
  uint64_t sum = 0;
  int64_t prev_end = 0;
  *windows = 0;
  for (const nlohmann::json& j : lines) {
    if (j["type"] != type) continue;
    const int64_t start = j["start_ns"], end = j["end_ns"];
    CHECK(start < end);
    if (*windows > 0) {
      CHECK(start == prev_end);  // no gap, no overlap
      CHECK(start % kPeriodNs == 0);
    }
    prev_end = end;
    sum += j[key].get<uint64_t>();
    ++*windows;
  }
  return sum;
}

}  // namespace

TEST_CASE("probe --report-every: client and reflector intervals add up to their summaries") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  const std::string srv_out = absl::StrCat("/tmp/rs-continuous-", tb.suffix(), ".srv");
  RemoveAtEnd rm{{srv_out, srv_out + ".err"}};
  pid_t srv = SpawnShell(
      absl::StrCat("ip netns exec ", tb.ns_b(), " ", kBin, " probe server -i ", tb.if_b(), " --ip ",
                   tb.ip4_extra(10), " --duration 60 --json --report-every 200ms > ", srv_out,
                   " 2> ", srv_out, ".err"),
      /*own_process_group=*/true);
  REQUIRE_MESSAGE(WaitForFile(srv_out + ".err", "STAMP reflector on", 0, 20),
                  ReadFile(srv_out + ".err"));
  auto cli = tb.Run(
      tb.ns_a(),
      absl::StrCat(kBin, " probe client -i ", tb.if_a(), " --ip ", tb.ip4_extra(20), " --server ",
                   tb.ip4_extra(10), " --duration 2 -i 5ms --report-every 200ms --json"),
      60);
  REQUIRE_MESSAGE(cli.exit_code == 0, cli.output);
  // Let the reflector report a window after the client's last probe, then stop it.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  kill(-srv, SIGINT);
  CHECK(WaitPid(srv, 20) == 0);

  const std::vector<nlohmann::json> lines = JsonLines(cli.output);
  REQUIRE_FALSE(lines.empty());
  const nlohmann::json& summary = lines.back();
  REQUIRE(summary["type"] == "summary");
  size_t windows = 0;
  const uint64_t received = CheckWindows(lines, "interval", "received", &windows);
  CHECK(windows >= 9);  // 2 s in 200 ms windows, the first and last ones shorter
  CHECK(received == summary["received"].get<uint64_t>());
  CHECK(CheckWindows(lines, "interval", "lost", &windows) == summary["lost"].get<uint64_t>());
  uint64_t rtt_samples = 0;
  for (const nlohmann::json& j : lines) {
    if (j["type"] == "interval") rtt_samples += j["rtt_ns"]["count"].get<uint64_t>();
  }
  CHECK(rtt_samples == summary["rtt_ns"]["count"].get<uint64_t>());

  const std::vector<nlohmann::json> srv_lines = JsonLines(ReadFile(srv_out));
  REQUIRE_FALSE(srv_lines.empty());
  const nlohmann::json& srv_summary = srv_lines.back();
  REQUIRE(srv_summary["type"] == "server_summary");
  const uint64_t reflected = CheckWindows(srv_lines, "server_interval", "reflected", &windows);
  CHECK(windows >= 9);
  // Replies after the last full window are in the summary only.
  CHECK(reflected <= srv_summary["reflected"].get<uint64_t>());
  CHECK(reflected + 5 >= srv_summary["reflected"].get<uint64_t>());
  CHECK(reflected >= received);  // every answer the client took was reflected in a window
  // Each window's t3 error covers the TX stamps that came in it (veth gives software ones):
  // together they are the summary's, but for stamps after the last window; the run-long
  // distribution only grows.
  uint64_t t3_samples = 0;
  uint64_t since_start = 0;
  for (const nlohmann::json& j : srv_lines) {
    if (j["type"] != "server_interval") continue;
    t3_samples += j["t3_error_ns"]["count"].get<uint64_t>();
    const uint64_t run = j["t3_error_since_start_ns"]["count"].get<uint64_t>();
    CHECK(run >= since_start);
    CHECK(run >= t3_samples);
    since_start = run;
  }
  const uint64_t t3_total = srv_summary["t3_error_ns"]["count"].get<uint64_t>();
  CHECK(t3_samples > 0);
  CHECK(t3_samples <= t3_total);
  CHECK(t3_samples + 5 >= t3_total);
  // The estimate adds the TX latency learned from those stamps: a kernel TX stamp comes after
  // the clock read before the send, so once stamps came the offset is above 0, and the
  // summary says what it was learned from.
  const nlohmann::json& last_window = srv_lines[srv_lines.size() - 2];
  REQUIRE(last_window["type"] == "server_interval");
  CHECK(last_window["t3_offset_ns"].get<int64_t>() > 0);
  const nlohmann::json& estimate = srv_summary["t3_estimate"];
  CHECK(estimate["learned"].get<bool>());
  CHECK(estimate["offset_ns"].get<int64_t>() > 0);
  CHECK(estimate["samples"].get<uint64_t>() == std::min<uint64_t>(t3_total, 64));
}

TEST_CASE("probe --report-every below 100ms or not a duration is a usage error") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  for (const char* bad : {"50ms", "soon"}) {
    CAPTURE(bad);
    auto r = tb.Run(tb.ns_a(), absl::StrCat(kBin, " probe client -i ", tb.if_a(), " --ip ",
                                            tb.ip4_extra(20), " --server ", tb.ip4_extra(10),
                                            " -c 1 --report-every ", bad, " 2>&1"));
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("--report-every") != std::string::npos);
  }
}
