// Integration: a TX ring survives a link outage. While the link is down the
// kernel refuses the kick (ENETDOWN) and keeps every frame in the ring; the ring
// keeps them pending, counts the refused kicks, and kicks again until they leave
// once the link is back. `ringstamp gen` across an outage sends every frame asked.
#include <doctest/doctest.h>

#include <signal.h>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ringstamp/common/clock.h"
#include "ringstamp/ring/packet_socket.h"
#include "ringstamp/ring/ring_setup.h"
#include "tests/support/child_process.h"
#include "tests/support/netns_test_setup.h"
#include "tests/support/netns_testbed.h"
#include "tests/support/ringstamp_cli.h"
#include "tests/support/test_frames.h"
#include "tests/support/v3_block_builder.h"

using namespace ringstamp;
using namespace ringstamp::testing;

namespace {

const std::string kBin = RINGSTAMP_BIN;

int64_t RxPackets(const Testbed& tb) {
  auto r = tb.Run(tb.ns_b(), "cat /sys/class/net/" + tb.if_b() + "/statistics/rx_packets");
  return r.exit_code == 0 ? std::stoll(r.output) : -1;
}

}  // namespace

TEST_CASE("tx outage: frames committed while the link is down leave once it is up again") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  LinkUpAtEnd restore(tb, tb.ns_a(), tb.if_a());
  uint8_t mac_a[6], mac_b[6];
  ParseMacInto(tb.mac_a(), mac_a);
  ParseMacInto(tb.mac_b(), mac_b);
  NetnsScope in(tb.ns_a());
  REQUIRE(in.ok());
  auto sock = PacketSocket::Open(tb.if_a(), {.protocol = 0});
  REQUIRE(sock.ok());
  auto rings = SetupRings(*sock, {.tx = RingConfig::ForTx(1 << 18, 2048)});
  REQUIRE_MESSAGE(rings.ok(), rings.status().ToString());
  REQUIRE(sock->Bind().ok());
  TxRing& tx = *rings->tx;
  const uint32_t slots = tx.frame_count();
  REQUIRE(slots >= 16);
  const int64_t rx_before = RxPackets(tb);

  REQUIRE(tb.Run(tb.ns_a(), "ip link set " + tb.if_a() + " down").exit_code == 0);
  // Fill the whole ring while the link is down, kicking after every frame as a worker would.
  std::vector<std::byte> frame(200, std::byte{0});
  std::memcpy(frame.data(), mac_b, 6);
  std::memcpy(frame.data() + 6, mac_a, 6);
  frame[12] = std::byte{0x88};
  frame[13] = std::byte{0xb5};
  uint32_t committed = 0;
  for (uint32_t i = 0; i < slots; ++i) {
    if (tx.Write(frame) != TxResult::kOk) break;
    ++committed;
    CHECK(tx.Flush().ok());
  }
  CHECK(committed == slots);
  CHECK(tx.counters().kicks_failed.Get() >= committed);
  CHECK(tx.pending() == committed);  // nothing counted as taken by the kernel
  CHECK(tx.InFlight() == committed);
  CHECK(tx.Reserve().empty());  // full
  CHECK_FALSE(tx.WaitWritable(10));

  REQUIRE(tb.Run(tb.ns_a(), "ip link set " + tb.if_a() + " up").exit_code == 0);
  // The caller of a full ring waits for a free slot: that wait must kick, or it
  // waits forever. Bounded: 2000 rounds and 20 s.
  const int64_t deadline = MonotonicNs() + 20'000'000'000;
  for (int round = 0; round < 2000 && tx.InFlight() > 0 && MonotonicNs() < deadline; ++round) {
    tx.WaitWritable(10);
    (void)tx.Flush();
  }
  CHECK(tx.InFlight() == 0);
  CHECK(tx.pending() == 0);
  CHECK_FALSE(tx.Reserve().empty());
  // The peer's own counter is the witness: every frame arrived.
  int64_t rx_after = rx_before;
  for (int i = 0; i < 100 && rx_after - rx_before < committed; ++i) {
    rx_after = RxPackets(tb);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(rx_after - rx_before >= committed);
}

TEST_CASE("tx outage: gen resumes after the link was down a moment, and the counts balance") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  LinkUpAtEnd restore(tb, tb.ns_a(), tb.if_a());
  constexpr int kFrames = 300000;
  const std::string out = absl::StrCat("/tmp/rs-genout-", tb.suffix(), ".json");
  struct RmAtEnd {
    std::string path;
    ~RmAtEnd() {
      std::remove(path.c_str());
      std::remove((path + ".err").c_str());
    }
  } rm{out};
  const int64_t rx_before = RxPackets(tb);
  pid_t gen = SpawnShell(
      absl::StrCat("ip netns exec ", tb.ns_a(), " ",
                   GenCommand(kBin, tb, absl::StrCat("--count ", kFrames, " --rate 150000 --json")),
                   " > ", out, " 2> ", out, ".err"));
  // Take the link down once frames flow (bounded wait), long enough for the
  // paced generator to fill its ring, then bring it back.
  bool flowing = false;
  for (int i = 0; i < 200 && !flowing; ++i) {
    flowing = RxPackets(tb) - rx_before > 1000;
    if (!flowing) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(flowing);
  REQUIRE(tb.Run(tb.ns_a(), "ip link set " + tb.if_a() + " down").exit_code == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  REQUIRE(tb.Run(tb.ns_a(), "ip link set " + tb.if_a() + " up").exit_code == 0);
  const int rc = WaitPid(gen, 60);
  INFO(ReadFile(out), ReadFile(out + ".err"));
  REQUIRE(rc == 0);
  const std::string text = ReadFile(out);
  auto j = nlohmann::json::parse(text.substr(text.find('{')));
  CHECK(j["kicks_failed"].get<int64_t>() > 0);  // the outage was seen
  CHECK(j["packets_sent"].get<int64_t>() + j["packets_unsent"].get<int64_t>() == kFrames);
  CHECK(j["packets_sent"] == kFrames);  // sending resumed: nothing left behind
}

TEST_CASE("tx outage: a probe client answers again once the link is back") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  LinkUpAtEnd restore(tb, tb.ns_a(), tb.if_a());
  const std::string srv_ip = tb.ip4_extra(10), cli_ip = tb.ip4_extra(20);
  const std::string out = absl::StrCat("/tmp/rs-probeflap-", tb.suffix());
  struct RmAtEnd {
    std::string path;
    ~RmAtEnd() {
      std::remove(path.c_str());
      std::remove((path + ".srv").c_str());
    }
  } rm{out};
  pid_t srv =
      SpawnShell(absl::StrCat("ip netns exec ", tb.ns_b(), " ", kBin, " probe server -i ",
                              tb.if_b(), " --ip ", srv_ip, " --duration 60 > ", out, ".srv 2>&1"),
                 /*own_process_group=*/true);
  REQUIRE(WaitForFile(out + ".srv", srv_ip, 0, 20));
  constexpr int kProbes = 3000;
  pid_t cli =
      SpawnShell(absl::StrCat("ip netns exec ", tb.ns_a(), " ", kBin, " probe client -i ",
                              tb.if_a(), " --ip ", cli_ip, " --server ", srv_ip, " --count ",
                              kProbes, " --interval 1ms --json > ", out, " 2>&1"),
                 /*own_process_group=*/true);
  // Once probes are answered, take the link down long enough for the probe's
  // TX ring (512 slots at 1 ms) to fill, then bring it back.
  CHECK(WaitForFile(out, "\"status\":\"ok\"", 0, 20));
  REQUIRE(tb.Run(tb.ns_a(), "ip link set " + tb.if_a() + " down").exit_code == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  REQUIRE(tb.Run(tb.ns_a(), "ip link set " + tb.if_a() + " up").exit_code == 0);
  const int rc = WaitPid(cli, 60);
  kill(srv, SIGINT);
  CHECK(WaitPid(srv, 20) == 0);
  const std::string text = ReadFile(out);
  REQUIRE(rc == 0);
  int answered_late_in_run = 0;
  nlohmann::json summary;
  std::vector<std::string> link_events;
  const std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  for (const std::string& line : lines) {
    if (line.empty() || line[0] != '{') continue;
    auto j = nlohmann::json::parse(line);
    if (j["type"] == "summary") summary = j;
    if (j["type"] == "link") link_events.push_back(j["event"]);
    if (j["type"] == "probe" && j["status"] == "ok" && j["seq"].get<int>() >= kProbes - 500) {
      ++answered_late_in_run;
    }
  }
  INFO(text.substr(text.size() > 2000 ? text.size() - 2000 : 0));
  // The last 500 probes went out well after the link came back: they are answered.
  CHECK(answered_late_in_run > 400);
  REQUIRE(summary.is_object());
  CHECK(summary["sent"] == kProbes);
  // The outage was reported as it happened, once each way, and counted.
  CHECK(link_events == std::vector<std::string>{"down", "up"});
  CHECK(summary["link_outages"] == 1);
}
