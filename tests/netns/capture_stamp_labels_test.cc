// Integration: the stamp source recorded per packet by `capture --pcapng`, read back by
// tshark (frame.comment): every packet named, every time inside the run. The userspace
// fallback cannot be forced on a veth capture (its ring always gets kernel stamps); it is
// checked at the unit level in tests/unit/capture_sink_labels_test.cc.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "ringstamp/common/clock.h"
#include "tests/support/child_process.h"
#include "tests/support/netns_test_setup.h"
#include "tests/support/netns_testbed.h"
#include "tests/support/ringstamp_cli.h"

using namespace ringstamp;
using namespace ringstamp::testing;

namespace {

const std::string kBin = RINGSTAMP_BIN;

// "1700000000.123456789" → Unix ns (tshark prints frame.time_epoch with nine decimals).
bool EpochToNs(const std::string& text, int64_t* ns) {
  const size_t dot = text.find('.');
  if (dot == std::string::npos || text.size() - dot - 1 != 9) return false;
  try {
    *ns = std::stoll(text.substr(0, dot)) * 1'000'000'000 + std::stoll(text.substr(dot + 1));
  } catch (...) {
    return false;
  }
  return true;
}

}  // namespace

TEST_CASE("capture labels: pcapng names the software source of every packet, times in the run") {
  if (access("/usr/bin/tshark", X_OK) != 0) return SkipTest("tool", "tshark is missing");
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  const std::string file = absl::StrCat("/tmp/rs-caplabels-", tb.suffix(), ".pcapng");
  const std::string log = file + ".log";
  struct Cleanup {
    std::string file;
    ~Cleanup() { RunHost("rm -f " + file + " " + file + ".log " + file + ".log.err"); }
  } cleanup{file};
  constexpr int kFrames = 300;
  const int64_t before = RealtimeNs();
  pid_t cap = StartCapture(
      kBin, tb, absl::StrCat("-w ", file, " --pcapng --filter udp -c ", kFrames, " --duration 30"),
      log);
  REQUIRE_MESSAGE(WaitForFile(log + ".err", "capturing on", 0, 20), ReadFile(log + ".err"));
  auto gen = tb.Run(tb.ns_a(),
                    GenCommand(kBin, tb, absl::StrCat("--count ", kFrames, " --rate 10000")), 60);
  REQUIRE_MESSAGE(gen.exit_code == 0, gen.output);
  const int rc = WaitPid(cap, 30);
  const int64_t after = RealtimeNs();
  REQUIRE_MESSAGE(rc == 0, ReadFile(log + ".err"));
  // The summary names the source it saw.
  CHECK_MESSAGE(ReadFile(log + ".err").find("stamps: software") != std::string::npos,
                ReadFile(log + ".err"));

  auto r = RunHost("tshark -r " + file +
                   " -T fields -E separator=/t -e frame.time_epoch -e frame.comment 2>/dev/null");
  REQUIRE(r.exit_code == 0);
  std::istringstream in(r.output);
  std::string line;
  int packets = 0, labelled = 0, inside = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    ++packets;
    CAPTURE(line);
    const size_t tab = line.find('\t');
    REQUIRE(tab != std::string::npos);
    int64_t ns = 0;
    REQUIRE(EpochToNs(line.substr(0, tab), &ns));
    const std::string comment = line.substr(tab + 1);
    // veth gives kernel software stamps, never hardware; nothing fell back here.
    if (comment == "ts=software") ++labelled;
    CHECK(comment == "ts=software");
    if (before <= ns && ns <= after) ++inside;
    CHECK((before <= ns && ns <= after));
  }
  CHECK(packets == kFrames);
  CHECK(labelled == kFrames);
  CHECK(inside == kFrames);
}
