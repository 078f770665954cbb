// Integration: the command takes the spellings tcpdump and ping users type (issue 15 point 6):
// `capture -c5 -nn -s 96 -w FILE udp` (glued count, repeated -n, -s for the snap length, the
// filter as trailing words), -U and the 1 s flush that let `-w - | tcpdump -r -` see a slow
// capture's packets while it runs, `gen -c N` as --count, durations with units.
#include <doctest/doctest.h>

#include <signal.h>

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

}  // namespace

TEST_CASE("capture takes -c5 -nn -s 96 and a trailing filter as tcpdump does") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  const std::string base = absl::StrCat("/tmp/rs-habits-", tb.suffix());
  RemoveAtEnd rm{{base + ".pcap", base + ".out", base + ".out.err"}};
  pid_t cap =
      StartCapture(kBin, tb, "-c5 -nn -s 96 --duration 1m -w " + base + ".pcap udp", base + ".out");
  REQUIRE(WaitForFile(base + ".out.err", "capturing on", 0, 20));
  CHECK(tb.Run(tb.ns_a(), "ping -c 3 -i 0.2 " + tb.ip4_b()).exit_code == 0);  // not UDP
  auto gen = tb.Run(tb.ns_a(), GenCommand(kBin, tb, "-c10 --size 500 --rate 1000"), 60);
  CHECK_MESSAGE(gen.exit_code == 0, gen.output);
  const int rc = WaitPid(cap, 30);
  INFO(ReadFile(base + ".out.err"));
  CHECK(rc == 0);
  auto records = ReadPcapRecords(base + ".pcap");
  REQUIRE(records.ok());
  CHECK(records->size() == 5);
  for (const PcapRecord& r : *records) {
    CHECK(r.bytes.size() == 96);  // 500-byte frames cut to -s 96
    REQUIRE(r.bytes.size() > 23);
    CHECK(r.bytes[12] == 0x08);
    CHECK(r.bytes[23] == 17);  // UDP: the trailing filter kept the pings out
  }
}

TEST_CASE("capture -w - to a reader sees a slow capture's packets while it runs") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  for (const char* buffering : {"-U", ""}) {  // -U: each packet; without: within 1 s
    CAPTURE(std::string(buffering));
    const std::string out = absl::StrCat("/tmp/rs-habits-pipe-", tb.suffix(), ".out");
    RemoveAtEnd rm{{out, out + ".td"}};
    // tcpdump leaves after one packet; the capture then finds its pipe closed and ends
    // with 1 well before its 15 s. Had the packet sat in the buffer, the capture would
    // have run the 15 s and ended with 0.
    pid_t pipeline = SpawnShell(
        absl::StrCat("ip netns exec ", tb.ns_b(), " bash -c '", kBin, " capture -i ", tb.if_b(),
                     " ", buffering, " -w - --duration 15 icmp | tcpdump -r - -c 1 -nn > ", out,
                     ".td 2>/dev/null; echo capture=${PIPESTATUS[0]} > ", out, "'"));
    CHECK(tb.Run(tb.ns_a(), "ping -c 25 -i 0.2 " + tb.ip4_b(), 30).exit_code == 0);
    CHECK(WaitPid(pipeline, 30) == 0);
    CHECK(ReadFile(out) == "capture=1\n");
    CHECK(ReadFile(out + ".td").find("ICMP echo") != std::string::npos);
  }
}

TEST_CASE("gen -c N means --count N, and durations take units") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  auto gen = tb.Run(tb.ns_a(), GenCommand(kBin, tb, "-c7 --rate 1000 --json --duration 1m"), 60);
  INFO(gen.output);
  REQUIRE(gen.exit_code == 0);
  const size_t brace = gen.output.find('{');
  REQUIRE(brace != std::string::npos);
  auto j = nlohmann::json::parse(gen.output.substr(brace, gen.output.rfind('}') - brace + 1));
  CHECK(j["packets_sent"] == 7);
  auto bad = tb.Run(tb.ns_a(), GenCommand(kBin, tb, "-c7 --duration 2x 2>&1"), 30);
  CHECK(bad.exit_code == 2);
  CHECK(bad.output.find("10s, 250ms") != std::string::npos);
}

TEST_CASE(
    "probe client takes ping's -c -i -I -q -W and exits as ping does: 1 when nothing came back") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  const std::string srv_log = absl::StrCat("/tmp/rs-habits-ping-", tb.suffix(), ".srv");
  RemoveAtEnd rm{{srv_log}};
  pid_t srv = SpawnShell(
      absl::StrCat("ip netns exec ", tb.ns_b(), " ", kBin, " probe server -i ", tb.if_b(), " --ip ",
                   tb.ip4_extra(10), " --duration 60 > ", srv_log, " 2>&1"),
      /*own_process_group=*/true);
  REQUIRE_MESSAGE(WaitForFile(srv_log, "STAMP reflector on", 0, 20), ReadFile(srv_log));
  const std::string client = absl::StrCat(kBin, " probe client -I ", tb.if_a(), " --ip ",
                                          tb.ip4_extra(20), " --server ", tb.ip4_extra(10));
  // ping -c 5 -i 0.05 -W 1 -q: five probes 50 ms apart, a one-second timeout, no probe lines.
  auto quiet = tb.Run(tb.ns_a(), client + " -c5 -i 0.05 -W 1 -q", 60);
  INFO(quiet.output);
  CHECK(quiet.exit_code == 0);
  CHECK(quiet.output.find("every 0.05") != std::string::npos);  // the header names the interval
  CHECK(quiet.output.find("seq=") == std::string::npos);        // no per-probe line
  CHECK(quiet.output.find("sent 5, received 5") != std::string::npos);  // the summary
  // Without -q the five probe lines are there, and JSON -q keeps only the summary object.
  auto loud = tb.Run(tb.ns_a(), client + " -c 5 -i10ms", 60);
  CHECK(loud.exit_code == 0);
  CHECK(loud.output.find("seq=4") != std::string::npos);
  auto json = tb.Run(tb.ns_a(), client + " -c 3 -i 10ms -q --json", 60);
  CHECK(json.exit_code == 0);
  CHECK(json.output.find("\"type\":\"probe\"") == std::string::npos);
  CHECK(json.output.find("\"type\":\"summary\"") != std::string::npos);
  // Exit codes scripts branch on, as ping's: loss above --max-loss is 1 with the reason.
  auto strict = tb.Run(tb.ns_a(), client + " -c 3 -i 10ms -q --max-loss 0 2>&1", 60);
  CHECK(strict.exit_code == 0);  // nothing lost on a quiet veth pair
  auto bad = tb.Run(tb.ns_a(), client + " -c 3 --max-loss 120 2>&1", 60);
  CHECK(bad.exit_code == 2);
  CHECK(bad.output.find("--max-loss") != std::string::npos);
  kill(-srv, SIGINT);
  CHECK(WaitPid(srv, 20) == 0);
  // The peer's kernel answers ARP but no STAMP: nothing received is exit 1.
  auto none = tb.Run(tb.ns_a(),
                     absl::StrCat(kBin, " probe client -I ", tb.if_a(), " --ip ", tb.ip4_extra(20),
                                  " --server ", tb.ip4_b(), " -c 3 -i 10ms -W 0.2 -q 2>&1"),
                     60);
  CHECK(none.exit_code == 1);
  CHECK_MESSAGE(none.output.find("no reply to any of 3 probes") != std::string::npos, none.output);
}
