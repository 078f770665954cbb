// Integration: signals at each phase of a run (issue 13 point 7). SIGHUP and SIGTERM stop a
// capture as SIGINT does: exit 0, the pcap whole (tcpdump reads exactly the records the
// summary counted). A second SIGINT while the probe client is still waiting out its grace
// period for open probes ends it at once with 128 + SIGINT. A signal during setup ends the
// process without leaving anything half-written.
#include <doctest/doctest.h>
#include <signal.h>

#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "tests/support/child_process.h"
#include "tests/support/netns_test_setup.h"
#include "tests/support/netns_testbed.h"
#include "tests/support/ringstamp_cli.h"

using namespace ringstamp::testing;

namespace {

const std::string kBin = RINGSTAMP_BIN;

}  // namespace

TEST_CASE("signals: SIGHUP and SIGTERM stop a capture cleanly with a whole pcap") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  for (int sig : {SIGHUP, SIGTERM}) {
    CAPTURE(sig);
    const std::string base = absl::StrCat("/tmp/rs-sig-", tb.suffix(), "-", sig);
    RemoveAtEnd rm{{base + ".pcap", base + ".out", base + ".out.err"}};
    pid_t cap = StartCapture(kBin, tb, "--json --duration 60 -w " + base + ".pcap", base + ".out");
    REQUIRE(WaitForFile(base + ".out.err", "capturing on", 0, 20));
    auto gen = tb.Run(tb.ns_a(), GenCommand(kBin, tb, "-c 300 --rate 3000"), 60);
    CHECK_MESSAGE(gen.exit_code == 0, gen.output);
    kill(cap, sig);
    const int rc = WaitPid(cap, 30);
    const std::string text = ReadFile(base + ".out");
    INFO(text, ReadFile(base + ".out.err"));
    CHECK(rc == 0);
    REQUIRE(text.find('{') != std::string::npos);
    auto j = nlohmann::json::parse(text.substr(text.find('{')));
    const int records = j["records_written"];
    CHECK(records > 0);
    CHECK(j["packets"] == records);  // every frame taken reached the file
    auto td = RunHost("tcpdump -r " + base + ".pcap -nn 2>/dev/null | wc -l");
    CHECK(td.output == absl::StrCat(records, "\n"));
  }
}

TEST_CASE("signals: a second SIGINT ends a probe client that is still waiting for replies") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  const std::string out = absl::StrCat("/tmp/rs-sig2-", tb.suffix(), ".out");
  RemoveAtEnd rm{{out}};
  // The kernel at ip4_b answers ARP but no STAMP: every probe stays open, so the first
  // SIGINT starts a grace period of --timeout (20 s) for them.
  pid_t cli =
      SpawnShell(absl::StrCat("ip netns exec ", tb.ns_a(), " ", kBin, " probe client -i ",
                              tb.if_a(), " --ip ", tb.ip4_extra(20), " --server ", tb.ip4_b(),
                              " --interval 50ms --timeout 20s > ", out, " 2>&1"));
  REQUIRE_MESSAGE(WaitForFile(out, "probing ", 0, 20), ReadFile(out));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a few probes out
  kill(cli, SIGINT);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  REQUIRE_MESSAGE(kill(cli, 0) == 0, ReadFile(out));  // still in its grace period
  kill(cli, SIGINT);
  const int rc = WaitPid(cli, 10);  // well before the 20 s grace
  const std::string text = ReadFile(out);
  INFO(text);
  CHECK(rc == 128 + SIGINT);
  CHECK(text.find("second signal: exiting now") != std::string::npos);
}

TEST_CASE("signals: SIGTERM during setup ends the process and leaves no torn file") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  const std::string base = absl::StrCat("/tmp/rs-sig-setup-", tb.suffix());
  RemoveAtEnd rm{{base + ".pcap", base + ".out", base + ".out.err"}};
  // A large ring per worker makes setup take a moment; the signal comes as it starts.
  pid_t cap =
      StartCapture(kBin, tb, "-B 1048576 --duration 60 -w " + base + ".pcap", base + ".out");
  // Once the child is ringstamp (exec'd), not the test's own fork with the test's handlers.
  const std::string comm = absl::StrCat("/proc/", cap, "/comm");
  for (int i = 0; i < 400 && ReadFile(comm) != "ringstamp\n"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  REQUIRE(ReadFile(comm) == "ringstamp\n");
  kill(cap, SIGTERM);
  const int rc = WaitPid(cap, 30);
  INFO(ReadFile(base + ".out.err"));
  CHECK(rc != -1);  // it ended (by the signal, or cleanly if it was already running)
  // Whatever exists is a pcap tcpdump reads without complaint (a header at least), or
  // nothing at all.
  if (RunHost("test -s " + base + ".pcap").exit_code == 0) {
    CHECK(RunHost("tcpdump -r " + base + ".pcap -nn >/dev/null 2>&1").exit_code == 0);
  }
}
