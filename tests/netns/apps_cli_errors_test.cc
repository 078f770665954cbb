// Integration: the `ringstamp` command's error paths as a user meets them — bad values, a
// missing interface, no CAP_NET_RAW, an unwritable -w — each an exit code (2 for usage,
// 1 for a runtime failure) and a message that names the cause and what to do.
#include <doctest/doctest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/support/netns_test_setup.h"
#include "tests/support/netns_testbed.h"

using namespace ringstamp::testing;

namespace {

const std::string kBin = RINGSTAMP_BIN;

struct Row {
  std::string args;                   // after the binary
  int exit_code;                      // 1 runtime failure, 2 usage
  std::vector<std::string> messages;  // each must appear in the output
};

void CheckRows(const std::vector<Row>& rows, const std::string& prefix = "") {
  for (const Row& row : rows) {
    CAPTURE(row.args);
    auto r = RunHost(absl::StrCat(prefix, kBin, " ", row.args, " < /dev/null"), 30);
    CHECK_MESSAGE(r.exit_code == row.exit_code, r.output);
    for (const std::string& m : row.messages) {
      CHECK_MESSAGE(r.output.find(m) != std::string::npos, "wanted '", m, "' in: ", r.output);
    }
  }
}

}  // namespace

TEST_CASE("cli errors: bad values on the command line exit 2 and name the flag and the fix") {
  // Usage errors are found before any socket opens: no root needed.
  CheckRows({
      {"", 2, {"Usage: ringstamp <command>"}},
      {"frobnicate", 2, {"unknown command 'frobnicate'"}},
      {"capture", 2, {"-i"}},
      {"capture -i lo --snaplen 0", 2, {"--snaplen must be 1..262144"}},
      {"capture -i lo --workers 0", 2, {"--workers must be 1..256"}},
      {"capture -i lo --tstamp sometimes", 2, {"sometimes", "auto"}},
      {"capture -i lo --filter 'udp port'", 2, {"bad filter 'udp port'", "syntax error"}},
      {"capture -i lo stray", 2, {"bad filter 'stray'", "syntax error"}},
      {"capture -i lo --filter udp tcp", 2, {"both in --filter and as trailing words"}},
      {"info -i lo --rate 5", 2, {"--rate", "ringstamp info --help"}},
      {"gen -i lo --dst-mac 02:00:00:00:00:0g --src-ip 10.0.0.1 --dst-ip 10.0.0.2",
       2,
       {"--dst-mac", "'02:00:00:00:00:0g'", "02:00:00:00:00:01"}},
      {"gen -i lo --dst-mac 02:00:00:00:00:01 --src-ip 10.0.0.300 --dst-ip 10.0.0.2",
       2,
       {"--src-ip", "'10.0.0.300'"}},
      {"gen -i lo --dst-mac 02:00:00:00:00:01 --src-ip 10.0.0.1 --dst-ip 10.0.0.2 --vlan 5000",
       2,
       {"--vlan", "'5000'", "1 to 4094"}},
      {"probe client -i lo --ip 10.0.0.1 --server 10.0.0.2 --interval 10parsecs",
       2,
       {"--interval", "'10parsecs'", "10ms"}},
      {"probe client -i lo --ip 10.0.0.1 --server nowhere", 2, {"--server", "'nowhere'"}},
  });
}

TEST_CASE("cli errors: an interface that does not exist is a runtime failure naming it") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to open packet sockets");
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  // Inside the testbed's namespace: the name is surely free there.
  const std::string in_a = absl::StrCat("ip netns exec ", tb.ns_a(), " ");
  CheckRows(
      {
          {"capture -i rsnosuch0 -c 1", 1, {"rsnosuch0", "ip link"}},
          {"info -i rsnosuch0", 1, {"rsnosuch0", "ip link"}},
          {"gen -i rsnosuch0 --dst-mac 02:00:00:00:00:01 --src-ip 10.0.0.1 --dst-ip 10.0.0.2 "
           "--count 1",
           1,
           {"rsnosuch0", "ip link"}},
          {"probe server -i rsnosuch0 --ip 10.0.0.1 --duration 1", 1, {"rsnosuch0", "ip link"}},
      },
      in_a);
}

TEST_CASE("cli errors: without CAP_NET_RAW the command exits 1 and says which capability") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to drop to another user");
  if (access("/usr/bin/setpriv", X_OK) != 0) return SkipTest("tool", "setpriv is missing");
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  // nobody, no groups, no capabilities; in the testbed's namespace so the interface exists.
  const std::string as_nobody = absl::StrCat(
      "ip netns exec ", tb.ns_a(), " setpriv --reuid 65534 --regid 65534 --clear-groups ");
  CheckRows(
      {
          {absl::StrCat("capture -i ", tb.if_a(), " -c 1"), 1, {"CAP_NET_RAW", "root"}},
          {absl::StrCat("gen -i ", tb.if_a(), " --dst-mac ", tb.mac_b(), " --src-ip ", tb.ip4_a(),
                        " --dst-ip ", tb.ip4_b(), " --count 1"),
           1,
           {"CAP_NET_RAW", "root"}},
          {absl::StrCat("probe server -i ", tb.if_a(), " --ip ", tb.ip4_extra(3), " --duration 1"),
           1,
           {"CAP_NET_RAW", "root"}},
      },
      as_nobody);
}

TEST_CASE("cli errors: a -w or --plot file that cannot be written exits 1 naming the path") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to open packet sockets");
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  const std::string in_a = absl::StrCat("ip netns exec ", tb.ns_a(), " ");
  const std::string dir = absl::StrCat("/tmp/rs-nodir-", tb.suffix());
  CheckRows(
      {
          {absl::StrCat("capture -i ", tb.if_a(), " -c 1 --duration 1 -w ", dir, "/x.pcap"),
           1,
           {dir + "/x.pcap", "its directory does not exist"}},
          {absl::StrCat("capture -i ", tb.if_a(), " -c 1 --duration 1 --pcapng -w ", dir,
                        "/x.pcapng"),
           1,
           {dir + "/x.pcapng", "its directory does not exist"}},
          // sysfs refuses new files even to root: the plain "no permission" case.
          {absl::StrCat("capture -i ", tb.if_a(), " -c 1 --duration 1 -w /sys/rs-x.pcap"),
           1,
           {"/sys/rs-x.pcap", "no permission to write there"}},
          // probe client --plot: refused before probing starts (a run of 100 probes at 1 s
          // would outlast RunHost's 30 s bound), not after the run is over.
          {absl::StrCat("probe client -i ", tb.if_a(), " --ip ", tb.ip4_extra(5), " --server ",
                        tb.ip4_b(), " --count 100 --interval 1s --plot ", dir, "/run.svg"),
           1,
           {dir + "/run.svg", "its directory does not exist"}},
          // A directory is not a file (root may write anywhere, so permissions cannot show it).
          {absl::StrCat("capture -i ", tb.if_a(), " -c 1 --duration 1 -w /tmp"),
           1,
           {"/tmp: open for writing", "give a file name"}},
      },
      in_a);
}

TEST_CASE("cli: ringstamp --version and ringstamp version print the version and exit 0") {
  for (const char* arg : {"--version", "version"}) {
    auto r = RunHost(absl::StrCat(kBin, " ", arg, " < /dev/null"), 30);
    CAPTURE(arg);
    CHECK(r.exit_code == 0);
    CHECK(r.output.starts_with("ringstamp "));
    CHECK(r.output.find("unknown command") == std::string::npos);
  }
}
