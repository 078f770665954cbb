// Integration: `ringstamp gen` → `ringstamp capture` across the veth pair, read back by
// tcpdump and tshark; filters; SIGINT during capture.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/support/child_process.h"
#include "tests/support/netns_test_setup.h"
#include "tests/support/netns_testbed.h"
#include "tests/support/ringstamp_cli.h"

using namespace ringstamp::testing;

namespace {

const std::string kBin = RINGSTAMP_BIN;

int CountLines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

}  // namespace

TEST_CASE(
    "capture/gen: gen → capture counts match, tcpdump and tshark read the pcap, checksums, VLAN, "
    "stamps") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  const std::string dir = absl::StrCat("/tmp/rs-capgen-", tb.suffix());
  RunHost("mkdir -p " + dir);
  const std::string pcap = dir + "/cap.pcap", json = dir + "/cap.json";
  constexpr int kFrames = 5000;
  // Two workers: one file per worker.
  pid_t cap =
      StartCapture(kBin, tb,
                   absl::StrCat("-w ", pcap, " --workers 2 --json --filter 'vlan 100 and udp' -c ",
                                kFrames, " --duration 30"),
                   json);
  CHECK(WaitForFile(json + ".err", "capturing on", 0, 20));
  auto gen =
      tb.Run(tb.ns_a(),
             GenCommand(kBin, tb,
                        absl::StrCat("--count ", kFrames,
                                     " --rate 20000 --vlan 100 --flows 16 --size 100 --json")),
             60);
  REQUIRE_MESSAGE(gen.exit_code == 0, gen.output);
  auto gj = nlohmann::json::parse(gen.output.substr(gen.output.find('{')));
  CHECK(gj["packets_sent"] == kFrames);
  CHECK(gj["wrong_format"] == 0);
  CHECK(WaitPid(cap, 30) == 0);
  const std::string out = ReadFile(json);
  INFO(out, ReadFile(json + ".err"));
  auto cj = nlohmann::json::parse(out);
  // Ring overflow is the machine's business; every frame captured or counted dropped is ours
  // (only gen's frames pass the filter, and the kernel counts drops after it).
  const int packets = cj["packets"].get<int>();
  CHECK(packets > 0);
  CHECK(packets + cj["kernel_drops"].get<int>() == kFrames);
  CHECK(cj["timestamp_source"] == "software");
  REQUIRE(cj["workers"].size() == 2);
  int total_tcpdump = 0, total_tshark = 0;
  for (int w = 0; w < 2; ++w) {
    const std::string f = absl::StrCat(dir, "/cap-w", w, ".pcap");
    const int records = cj["workers"][w]["records_written"];
    auto td = RunHost("tcpdump -r " + f + " -nn --nano -e 2>/dev/null");
    total_tcpdump += CountLines(td.output);
    CHECK(CountLines(td.output) == records);
    // Every frame shows its 802.1Q tag 100 (the kernel stripped it; capture put it back).
    CHECK(td.output.find("vlan 100") != std::string::npos);
    // Checksums as tshark validates them: IPv4 good (1 = good), UDP good.
    auto ts = RunHost(
        "tshark -r " + f +
        " -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE -T fields -e ip.checksum.status "
        "-e udp.checksum.status -e vlan.id -e frame.time_epoch 2>/dev/null");
    total_tshark += CountLines(ts.output);
    long double prev = 0;
    int bad = 0, nondecreasing_violations = 0;
    for (absl::string_view line : absl::StrSplit(ts.output, '\n', absl::SkipEmpty())) {
      std::vector<std::string> cols = absl::StrSplit(line, '\t');
      if (cols.size() < 4 || cols[0] != "1" || cols[1] != "1" || cols[2] != "100") ++bad;
      long double t = std::stold(cols.size() >= 4 ? cols[3] : "0");
      if (t < prev) ++nondecreasing_violations;
      prev = t;
      // Nanosecond resolution: nine digits after the point.
      if (cols.size() >= 4) CHECK(cols[3].size() - cols[3].find('.') - 1 == 9);
    }
    CHECK(bad == 0);
    CHECK(nondecreasing_violations == 0);
  }
  CHECK(total_tcpdump == packets);
  CHECK(total_tshark == packets);
  RunHost("rm -rf " + dir);
}

TEST_CASE(
    "capture/gen: a filter counts only matching packets, a bad expression is refused and starts "
    "nothing") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  const std::string json = absl::StrCat("/tmp/rs-filter-", tb.suffix(), ".json");
  pid_t cap = StartCapture(kBin, tb, "-q --json --filter 'udp dst port 5555' --duration 8", json);
  CHECK(WaitForFile(json + ".err", "capturing on", 0, 20));
  auto g1 = tb.Run(tb.ns_a(), GenCommand(kBin, tb, "--count 300 --dst-port 5555 --rate 10000"));
  auto g2 = tb.Run(tb.ns_a(), GenCommand(kBin, tb, "--count 700 --dst-port 6666 --rate 10000"));
  REQUIRE(g1.exit_code == 0);
  REQUIRE(g2.exit_code == 0);
  CHECK(WaitPid(cap, 20) == 0);
  auto cj = nlohmann::json::parse(ReadFile(json));
  CHECK(cj["packets"] == 300);
  std::remove(json.c_str());
  std::remove((json + ".err").c_str());

  auto bad =
      tb.Run(tb.ns_b(), absl::StrCat(kBin, " capture -i ", tb.if_b(), " --filter 'udp port' -c 1"));
  CHECK(bad.exit_code != 0);
  CHECK_MESSAGE(bad.output.find("bad filter 'udp port'") != std::string::npos, bad.output);
  CHECK(bad.output.find("capturing on") == std::string::npos);
}

TEST_CASE("capture/gen: SIGINT during capture leaves a valid file with every counted packet") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  const std::string pcap = absl::StrCat("/tmp/rs-sigint-", tb.suffix(), ".pcap");
  const std::string json = pcap + ".json";
  pid_t cap = StartCapture(kBin, tb, absl::StrCat("-w ", pcap, " --json --filter udp"), json);
  CHECK(WaitForFile(json + ".err", "capturing on", 0, 20));
  std::thread gen(
      [&] { tb.Run(tb.ns_a(), GenCommand(kBin, tb, "--duration 6 --rate 50000"), 60); });
  // Mid-stream: once frames have reached the file (the writer flushes each MiB).
  CHECK(WaitForFile(pcap, "", 24, 20));
  kill(cap, SIGINT);
  const int rc = WaitPid(cap, 20);
  gen.join();
  CHECK(rc == 0);
  auto cj = nlohmann::json::parse(ReadFile(json));
  const int packets = cj["packets"];
  CHECK(packets > 0);
  CHECK(cj["records_written"] == packets);
  auto td =
      RunHost("tcpdump -r " + pcap + " -nn 2>&1 >/dev/null | grep -v 'reading from'; tcpdump -r " +
              pcap + " -nn 2>/dev/null | wc -l");
  CHECK_MESSAGE(
      std::stoi(td.output.substr(td.output.find_last_of(' ', td.output.size() - 2) + 1)) == packets,
      td.output);
  std::remove(pcap.c_str());
  std::remove(json.c_str());
  std::remove((json + ".err").c_str());
}
