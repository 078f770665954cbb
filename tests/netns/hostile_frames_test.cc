// Integration: a running STAMP reflector (the ringstamp binary) under a scapy mix of
// malformed and hostile frames (tests/support/hostile_mix.py: IPv4 lengths past the frame,
// IPv6 with 64 chained extension headers cut short, STAMP requests too short, TLVs whose
// length runs past the packet). It does not crash, its memory stays bounded, every bad
// frame is counted where it belongs, and it still answers a real client afterwards.
#include <doctest/doctest.h>
#include <signal.h>

#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "tests/support/child_process.h"
#include "tests/support/netns_test_setup.h"
#include "tests/support/netns_testbed.h"

using namespace ringstamp::testing;

namespace {

const std::string kBin = RINGSTAMP_BIN;

// VmRSS of `pid` in KiB (0 when unreadable).
long RssKib(pid_t pid) {
  const std::string status = ReadFile(absl::StrCat("/proc/", pid, "/status"));
  const size_t p = status.find("VmRSS:");
  if (p == std::string::npos) return 0;
  return std::strtol(status.c_str() + p + 6, nullptr, 10);
}

nlohmann::json LastJsonLine(const std::string& text, const std::string& type) {
  nlohmann::json found;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    if (!line.empty() && line[0] == '{') {
      auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (j.is_object() && j.value("type", "") == type) found = j;
    }
    start = end + 1;
  }
  return found;
}

}  // namespace

TEST_CASE("hostile frames: a reflector counts every bad frame, stays bounded, answers after") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  if (RunHost("/usr/bin/python3 -c 'import scapy'").exit_code != 0) {
    return SkipTest("tool", "python3-scapy is not installed");
  }
  const std::string srv4 = tb.ip4_extra(10), srv6 = tb.ip6_extra(10), cli4 = tb.ip4_extra(20);
  const std::string log = absl::StrCat("/tmp/rs-hostile-", tb.suffix());
  RemoveAtEnd rm{{log, log + ".err"}};
  pid_t srv = SpawnShell(absl::StrCat("ip netns exec ", tb.ns_b(), " ", kBin, " probe server -i ",
                                      tb.if_b(), " --ip ", srv4, " --ip ", srv6,
                                      " --json --duration 120 > ", log, " 2>", log, ".err"));
  REQUIRE_MESSAGE(WaitForFile(log + ".err", "STAMP reflector on", 0, 20), ReadFile(log + ".err"));
  // Warm up with a real client, so the RSS baseline includes a session.
  auto warm = tb.Run(tb.ns_a(),
                     absl::StrCat(kBin, " probe client -i ", tb.if_a(), " --ip ", cli4,
                                  " --server ", srv4, " -c 20 --interval 10ms --json"),
                     60);
  REQUIRE_MESSAGE(warm.exit_code == 0, warm.output, ReadFile(log));
  const long rss_before = RssKib(srv);
  REQUIRE(rss_before > 0);

  constexpr int kEach = 400;
  auto mix = tb.Run(tb.ns_a(),
                    absl::StrCat(RINGSTAMP_SOURCE_DIR, "/tests/support/hostile_mix.py ", tb.if_a(),
                                 " ", tb.mac_a(), " ", tb.mac_b(), " ", tb.ip4_a(), " ", srv4, " ",
                                 tb.ip6_a(), " ", srv6, " ", kEach),
                    300);
  REQUIRE_MESSAGE(mix.exit_code == 0, mix.output);
  REQUIRE(mix.output.find(absl::StrCat("sent badtlv ", kEach)) != std::string::npos);

  // Still answers, and did not grow.
  auto after = tb.Run(tb.ns_a(),
                      absl::StrCat(kBin, " probe client -i ", tb.if_a(), " --ip ", cli4,
                                   " --server ", srv4, " -c 20 --interval 10ms --json"),
                      60);
  CHECK_MESSAGE(after.exit_code == 0, after.output);
  const nlohmann::json cs = LastJsonLine(after.output, "summary");
  REQUIRE(cs.is_object());
  CHECK(cs["received"] == 20);
  const long rss_after = RssKib(srv);
  const long growth_kib = rss_after - rss_before;
  CHECK(growth_kib < 8 * 1024);  // no per-bad-frame allocation kept

  kill(srv, SIGINT);
  REQUIRE(WaitPid(srv, 30) == 0);
  const std::string text = ReadFile(log);
  INFO(text);
  const nlohmann::json s = LastJsonLine(text, "server_summary");
  REQUIRE(s.is_object());
  // Every bad frame counted where it belongs.
  CHECK(s["dropped"]["truncated"] == kEach);      // too short for STAMP
  CHECK(s["tlv_malformed"] == kEach);             // TLV length past the packet (reflected with M)
  CHECK(s["malformed"].get<int>() == 2 * kEach);  // IPv4 length past the frame, IPv6 chain cut
  // The two clients' 20 probes and one uncounted closing probe each, and the bad-TLV ones.
  CHECK(s["reflected"].get<int>() == 2 * (20 + 1) + kEach);
}
