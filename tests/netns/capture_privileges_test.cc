// Integration: what capture does with root once it no longer needs it (issue 13 point 11).
// `-Z nobody` runs every thread as nobody with only CAP_NET_ADMIN left, and the capture is
// whole; an unknown user is refused before anything is opened; `-w` does not follow a
// symlink someone else planted in a sticky world-writable directory, and does follow one
// nobody else could have planted.
#include <doctest/doctest.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/support/child_process.h"
#include "tests/support/netns_test_setup.h"
#include "tests/support/netns_testbed.h"
#include "tests/support/ringstamp_cli.h"

using namespace ringstamp::testing;

namespace {

const std::string kBin = RINGSTAMP_BIN;

bool Has(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Removes the given paths (recursively) at scope exit.
// The "Uid:" and "CapEff:" lines of every thread of `pid`, one "uid capeff" pair a line.
std::string ThreadCredentials(pid_t pid) {
  return RunHost(absl::StrCat("for t in /proc/", pid,
                              "/task/*; do awk '/^Uid:/{u=$2} /^CapEff:/{c=$2} "
                              "END{print u, c}' $t/status; done"))
      .output;
}

}  // namespace

TEST_CASE("capture -Z nobody: every thread runs as nobody with CAP_NET_ADMIN only") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  if (RunHost("id -u nobody").exit_code != 0) return SkipTest("tool", "no user 'nobody' here");
  const std::string base = absl::StrCat("/tmp/rs-z-", tb.suffix());
  RemoveAtEnd rm{{base + ".pcap", base + ".out", base + ".out.err"}};
  pid_t cap = StartCapture(kBin, tb, "-Z nobody -q -c 50 --duration 60 -w " + base + ".pcap",
                           base + ".out");
  REQUIRE(WaitForFile(base + ".out.err", "capturing on", 0, 20));
  const std::string creds = ThreadCredentials(cap);
  INFO(creds);
  int threads = 0;
  for (absl::string_view line : absl::StrSplit(creds, '\n', absl::SkipEmpty())) {
    ++threads;
    // uid 65534; CapEff 0x1000 = CAP_NET_ADMIN (12) alone.
    CHECK(line == "65534 0000000000001000");
  }
  CHECK(threads >= 2);  // the main thread and a worker
  auto gen = tb.Run(tb.ns_a(), GenCommand(kBin, tb, "--count 50 --rate 1000"), 60);
  CHECK_MESSAGE(gen.exit_code == 0, gen.output);
  const int rc = WaitPid(cap, 30);
  INFO(ReadFile(base + ".out.err"));
  CHECK(rc == 0);
  auto td = RunHost("tcpdump -r " + base + ".pcap -nn 2>/dev/null | wc -l");
  CHECK(td.output == "50\n");
}

TEST_CASE("capture -Z with an unknown user is a usage error before anything is opened") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  const std::string pcap = absl::StrCat("/tmp/rs-zbad-", tb.suffix(), ".pcap");
  RemoveAtEnd rm{{pcap}};
  auto r = tb.Run(
      tb.ns_b(),
      absl::StrCat(kBin, " capture -i ", tb.if_b(), " -Z rs-no-such-user -c 1 -w ", pcap, " 2>&1"),
      30);
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK(Has(r.output, "-Z rs-no-such-user: no such user"));
  CHECK(RunHost("test -e " + pcap).exit_code != 0);  // no file made
}

TEST_CASE("capture -w does not follow a symlink planted by another user in a sticky directory") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  if (RunHost("id -u nobody").exit_code != 0) return SkipTest("tool", "no user 'nobody' here");
  const std::string dir = absl::StrCat("/tmp/rs-sticky-", tb.suffix());
  const std::string victim = absl::StrCat("/tmp/rs-victim-", tb.suffix());
  RemoveAtEnd rm{{dir, victim}};
  REQUIRE(RunHost("mkdir -m 1777 " + dir + " && printf keep > " + victim + " && ln -s " + victim +
                  " " + dir + "/cap.pcap && chown -h nobody " + dir + "/cap.pcap")
              .exit_code == 0);
  auto r = tb.Run(tb.ns_b(),
                  absl::StrCat(kBin, " capture -i ", tb.if_b(), " -c 1 --duration 5 -w ", dir,
                               "/cap.pcap 2>&1"),
                  30);
  INFO(r.output);
  CHECK(r.exit_code != 0);
  CHECK(Has(r.output, "symbolic link in a shared directory"));
  CHECK(ReadFile(victim) == "keep");

  // The same link made by root (us): nobody else could have planted it; it is followed.
  REQUIRE(RunHost("chown -h root " + dir + "/cap.pcap").exit_code == 0);
  auto ok = tb.Run(tb.ns_b(),
                   absl::StrCat(kBin, " capture -i ", tb.if_b(), " -q -c 1 --duration 2 -w ", dir,
                                "/cap.pcap 2>&1"),
                   30);
  INFO(ok.output);
  CHECK(ok.exit_code == 0);
  CHECK(ReadFile(victim) != "keep");  // a pcap now (header at least)
}
