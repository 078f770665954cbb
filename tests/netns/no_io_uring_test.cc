// Integration: with io_uring refused (sysctl kernel.io_uring_disabled=2, as a hardened host
// or a container profile has it), capture and `gen --rate` wait with poll() instead, say so
// once, and count as usual (issue 13 point 6). The sysctl is machine-wide: it is set only
// around the two commands and put back even when a check fails.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/str_cat.h"
#include "tests/support/child_process.h"
#include "tests/support/netns_test_setup.h"
#include "tests/support/netns_testbed.h"
#include "tests/support/pcap_records.h"
#include "tests/support/ringstamp_cli.h"

using namespace ringstamp::testing;

namespace {

const std::string kBin = RINGSTAMP_BIN;
constexpr char kSysctl[] = "/proc/sys/kernel/io_uring_disabled";

// Sets the sysctl for its lifetime; the old value comes back on destruction.
struct IoUringDisabled {
  IoUringDisabled() {
    old = ReadFile(kSysctl);
    ok = !old.empty() && RunHost(absl::StrCat("echo 2 > ", kSysctl)).exit_code == 0;
  }
  ~IoUringDisabled() {
    if (!old.empty()) RunHost(absl::StrCat("echo ", old.substr(0, old.find('\n')), " > ", kSysctl));
  }
  std::string old;
  bool ok = false;
};

int Count(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (size_t p = haystack.find(needle); p != std::string::npos; p = haystack.find(needle, p + 1)) {
    ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("no io_uring: capture and gen --rate wait with poll() and say so once") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  if (ReadFile(kSysctl).empty()) {
    return SkipTest("kernel", "this kernel has no kernel.io_uring_disabled sysctl");
  }
  const std::string base = absl::StrCat("/tmp/rs-nouring-", tb.suffix());
  RemoveAtEnd rm{{base + "-w0.pcap", base + "-w1.pcap", base + ".out", base + ".out.err"}};
  std::string gen_out, cap_err;
  int gen_rc = -1, cap_rc = -1;
  {
    IoUringDisabled off;
    REQUIRE(off.ok);
    pid_t cap = StartCapture(
        kBin, tb, "--workers 2 --json -c 20 --duration 1m -w " + base + ".pcap", base + ".out");
    REQUIRE(WaitForFile(base + ".out.err", "capturing on", 0, 20));
    auto gen = tb.Run(tb.ns_a(), GenCommand(kBin, tb, "--count 20 --rate 1000 --json 2>&1"), 60);
    gen_rc = gen.exit_code;
    gen_out = gen.output;
    cap_rc = WaitPid(cap, 30);
    cap_err = ReadFile(base + ".out.err");
  }  // io_uring allowed again
  INFO(gen_out, cap_err);
  CHECK(cap_rc == 0);
  CHECK(Count(cap_err, "io_uring unavailable") == 1);  // two workers, one note
  CHECK(cap_err.find("waiting with poll()") != std::string::npos);
  CHECK(gen_rc == 0);
  CHECK(Count(gen_out, "io_uring unavailable") == 1);
  const size_t brace = gen_out.find('{');
  REQUIRE(brace != std::string::npos);
  auto j = nlohmann::json::parse(gen_out.substr(brace, gen_out.rfind('}') - brace + 1));
  CHECK(j["packets_sent"] == 20);
  const std::string out = ReadFile(base + ".out");
  REQUIRE(out.find('{') != std::string::npos);
  auto c = nlohmann::json::parse(out.substr(out.find('{')));
  CHECK(c["packets"] == 20);
  CHECK(c["records_written"] == 20);
}
