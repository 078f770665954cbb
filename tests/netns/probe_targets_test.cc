// Integration: many targets (issue 14 point 2). One client probes reflectors from a targets
// file, one session each on the same relay: a reflector stopped halfway shows its loss in
// its own lines only, a SIGHUP re-reads the file (a new target starts, a removed one ends with
// its summary, the others go on without a gap in their sequence numbers), a file that no
// longer parses on SIGHUP leaves the run as it was, and bad targets are usage errors.
#include <doctest/doctest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/support/child_process.h"
#include "tests/support/netns_test_setup.h"
#include "tests/support/netns_testbed.h"

using namespace ringstamp::testing;

namespace {

const std::string kBin = RINGSTAMP_BIN;

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}

// A target's lines, by type.
struct TargetLines {
  std::vector<nlohmann::json> probes, intervals, summaries;
  size_t summary_line = 0;  // the summary's line number in the output
};

std::map<std::string, TargetLines> ByTarget(const std::string& text) {
  std::map<std::string, TargetLines> out;
  std::istringstream in(text);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    if (line.empty() || line[0] != '{') continue;
    nlohmann::json j = nlohmann::json::parse(line);
    if (!j.contains("target")) continue;
    TargetLines& t = out[j["target"].get<std::string>()];
    if (j["type"] == "probe") t.probes.push_back(j);
    if (j["type"] == "interval") t.intervals.push_back(j);
    if (j["type"] == "summary") {
      t.summaries.push_back(j);
      t.summary_line = n;
    }
  }
  return out;
}

// Sequence numbers 0, 1, 2, ... without a gap or a repeat.
bool Contiguous(const std::vector<nlohmann::json>& probes) {
  std::vector<uint64_t> seqs;
  for (const auto& p : probes) seqs.push_back(p["seq"].get<uint64_t>());
  std::sort(seqs.begin(), seqs.end());
  for (size_t i = 0; i < seqs.size(); ++i) {
    if (seqs[i] != i) return false;
  }
  return !seqs.empty();
}

}  // namespace

TEST_CASE("probe --targets: one session per reflector, loss in its own series, SIGHUP re-reads") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  const std::string base = absl::StrCat("/tmp/rs-targets-", tb.suffix());
  const std::string file = base + ".txt", out = base + ".out", err = base + ".err";
  RemoveAtEnd rm{{file, out, err, base + ".s1", base + ".s2", base + ".s3", base + ".s4"}};
  // Four reflectors, each a host of its own on the wire (its own MAC and address).
  std::vector<pid_t> servers;
  for (int k = 1; k <= 4; ++k) {
    const std::string log = absl::StrCat(base, ".s", k);
    servers.push_back(SpawnShell(absl::StrCat(
        "ip netns exec ", tb.ns_b(), " ", kBin, " probe server -i ", tb.if_b(), " --ip ",
        tb.ip4_extra(10 + k), " --mac 02:72:73:00:0a:0", k, " --duration 60 > ", log, " 2>&1")));
  }
  struct Reap {
    std::vector<pid_t>& pids;
    ~Reap() {
      for (pid_t p : pids) {
        if (p > 0) kill(p, SIGINT);
      }
      for (pid_t p : pids) {
        if (p > 0) WaitPid(p, 20);
      }
    }
  } reap{servers};
  for (int k = 1; k <= 4; ++k) {
    REQUIRE_MESSAGE(WaitForFile(absl::StrCat(base, ".s", k), "STAMP reflector on", 0, 20),
                    ReadFile(absl::StrCat(base, ".s", k)));
  }
  const std::string r1 = absl::StrCat(tb.ip4_extra(11), ":862");
  const std::string r2 = absl::StrCat(tb.ip4_extra(12), ":862");
  const std::string r3 = absl::StrCat(tb.ip4_extra(13), ":862");
  const std::string r4 = absl::StrCat(tb.ip4_extra(14), ":862");
  WriteText(file, absl::StrCat("# three reflectors\n", tb.ip4_extra(11), " name=r1\n", r2,
                               " name=r2\n", tb.ip4_extra(13), "  name=r3 # stopped halfway\n"));
  pid_t client = SpawnShell(absl::StrCat(
      "ip netns exec ", tb.ns_a(), " ", kBin, " probe client -i ", tb.if_a(), " --ip ",
      tb.ip4_extra(20), " --targets ", file,
      " -i 20ms --timeout 300ms --duration 7 --report-every 500ms --json --label site=t > ", out,
      " 2> ", err));
  struct ReapClient {
    pid_t& pid;
    ~ReapClient() {
      if (pid > 0) {
        kill(pid, SIGINT);
        WaitPid(pid, 20);
      }
    }
  } reap_client{client};
  REQUIRE(WaitForFile(out, "\"target\":\"" + r3 + "\"", 0, 20));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  kill(servers[2], SIGINT);  // r3 goes away: its probes are lost from now on
  CHECK(WaitPid(servers[2], 20) == 0);
  servers[2] = 0;
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  // A file that does not parse: the run goes on as it was.
  WriteText(file, "10.0.0.300 name=broken\n");
  kill(client, SIGHUP);
  REQUIRE_MESSAGE(WaitForFile(err, "probing the targets as they were", 0, 10), ReadFile(err));
  // r2 out, r4 in; r1 and r3 kept.
  WriteText(file, absl::StrCat(tb.ip4_extra(11), " name=r1\n", tb.ip4_extra(13), " name=r3\n",
                               tb.ip4_extra(14), " name=r4\n"));
  kill(client, SIGHUP);
  REQUIRE_MESSAGE(WaitForFile(err, "1 added, 1 removed, 2 kept", 0, 10), ReadFile(err));
  const int rc = WaitPid(client, 30);
  client = 0;
  const std::string text = ReadFile(out);
  CHECK_MESSAGE(rc == 0, ReadFile(err));  // every target answered something

  auto t = ByTarget(text);
  REQUIRE(t.size() == 4);
  for (const std::string& name : {r1, r2, r3, r4}) {
    CAPTURE(name);
    REQUIRE(t[name].summaries.size() == 1);
    CHECK(Contiguous(t[name].probes));  // one sequence space per target, nothing shared
    CHECK_FALSE(t[name].intervals.empty());
    CHECK(t[name].summaries[0]["labels"]["site"] == "t");  // --label and the file's labels
  }
  CHECK(t[r1].summaries[0]["labels"]["name"] == "r1");
  CHECK(t[r4].summaries[0]["labels"]["name"] == "r4");
  // The stopped reflector's loss is in its own series only.
  CHECK(t[r3].summaries[0]["lost"].get<uint64_t>() > 10);
  CHECK(t[r3].summaries[0]["received"].get<uint64_t>() > 10);
  for (const std::string& name : {r1, r2, r4}) {
    CAPTURE(name);
    CHECK(t[name].summaries[0]["lost"] == 0);
    CHECK(t[name].summaries[0]["received"].get<uint64_t>() > 10);
  }
  // r1 ran the whole time; r2 was removed and r4 added at the SIGHUP, so both probed less.
  const uint64_t sent1 = t[r1].summaries[0]["sent"];
  CHECK(t[r2].summaries[0]["sent"].get<uint64_t>() + 20 < sent1);
  CHECK(t[r4].summaries[0]["sent"].get<uint64_t>() + 20 < sent1);
  // r2's summary came when it was removed, before the end of the run (r1's summary).
  CHECK(t[r2].summary_line < t[r1].summary_line);
}

TEST_CASE("probe client: bad targets are usage errors that say what to fix") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  const std::string file = absl::StrCat("/tmp/rs-targets-bad-", tb.suffix(), ".txt");
  RemoveAtEnd rm{{file}};
  WriteText(file, absl::StrCat(tb.ip4_extra(11), "\n", tb.ip4_extra(11), ":862 x=1\n"));
  const std::string client =
      absl::StrCat(kBin, " probe client -i ", tb.if_a(), " --ip ", tb.ip4_extra(20), " -c 1 ");
  struct Case {
    std::string args, says;
  };
  for (const Case& c : std::vector<Case>{
           {"--targets " + file, file + ":2: " + tb.ip4_extra(11) +
                                     ":862 is already the target "
                                     "of line 1"},
           {"--targets /nonexistent/t.txt", "--targets /nonexistent/t.txt: cannot read it"},
           {"--targets " + file + " --server " + tb.ip4_extra(11), "--server and --targets both"},
           {"--server " + tb.ip4_extra(11) + " --server " + tb.ip4_extra(11) + ":862",
            "given twice"},
           {"--server " + tb.ip4_extra(11) + ":99999", "port '99999' is not 1..65535"},
           {"--server " + tb.ip4_extra(11) + " --server " + tb.ip4_extra(12) + " --plot /tmp/x.svg",
            "--plot draws one target"},
           {"--mode icmp --server " + tb.ip4_extra(11) + ":862", "--mode icmp takes addresses"},
       }) {
    CAPTURE(c.args);
    auto r = tb.Run(tb.ns_a(), client + c.args + " 2>&1");
    CHECK(r.exit_code == 2);
    CHECK_MESSAGE(r.output.find(c.says) != std::string::npos, r.output);
  }
}

TEST_CASE("probe --metrics: a malformed address is a usage error, a port in use a runtime one") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  const std::string client =
      absl::StrCat(kBin, " probe client -i ", tb.if_a(), " --ip ", tb.ip4_extra(20), " --server ",
                   tb.ip4_extra(11), " -c 1 --metrics ");
  for (const char* bad : {"9862", "localhost:9862", "127.0.0.1:0"}) {
    CAPTURE(bad);
    auto r = tb.Run(tb.ns_a(), client + bad + " 2>&1");
    CHECK(r.exit_code == 2);
    CHECK_MESSAGE(r.output.find("give ADDR:PORT") != std::string::npos, r.output);
  }
  // Something listens on the port already (nc, in the same namespace): exit 1, said why, and
  // nothing was probed.
  pid_t nc = SpawnShell(absl::StrCat("ip netns exec ", tb.ns_a(), " nc -l 127.0.0.1 19870"));
  struct Reap {
    pid_t pid;
    ~Reap() {
      kill(pid, SIGTERM);
      WaitPid(pid, 10);
    }
  } reap{nc};
  bool listening = false;
  for (int i = 0; i < 100 && !listening; ++i) {
    listening = tb.Run(tb.ns_a(), "ss -Hltn 'sport = :19870' | grep -q 19870").exit_code == 0;
    if (!listening) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE(listening);
  auto r = tb.Run(tb.ns_a(), client + "127.0.0.1:19870 2>&1");
  CHECK(r.exit_code == 1);
  CHECK_MESSAGE(r.output.find("another program listens there") != std::string::npos, r.output);
  CHECK(r.output.find("probing") == std::string::npos);
  // An address this namespace does not have.
  auto r2 = tb.Run(tb.ns_a(), client + "192.0.2.77:19871 2>&1");
  CHECK(r2.exit_code == 1);
  CHECK_MESSAGE(r2.output.find("not on this host") != std::string::npos, r2.output);
}
