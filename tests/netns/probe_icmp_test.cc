// Integration: ICMP echo probes — `ringstamp probe client --mode icmp` against the peer
// namespace's kernel over the veth pair (IPv4 and IPv6), losses when the peer ignores echo
// requests, through --tap against the host's own stack; and the EtherConn echo-client API.
#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ringstamp/common/clock.h"
#include "ringstamp/engine/conn/ether_conn.h"
#include "ringstamp/engine/conn/packet_relay.h"
#include "tests/support/child_process.h"
#include "tests/support/netns_test_setup.h"
#include "tests/support/netns_testbed.h"
#include "tests/support/probe_json_checks.h"

using namespace ringstamp;
using namespace ringstamp::testing;

namespace {

const std::string kBin = RINGSTAMP_BIN;

struct JsonRun {
  std::vector<nlohmann::json> probes;
  nlohmann::json summary;
  int unparsed = 0;
};

// The JSON lines of a `probe client --json` run: per-probe objects and the summary.
JsonRun ParseJsonLines(const std::string& output) {
  JsonRun run;
  const std::vector<std::string> lines = absl::StrSplit(output, '\n', absl::SkipEmpty());
  for (const std::string& line : lines) {
    if (line[0] != '{') continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      ++run.unparsed;
    } else if (j["type"] == "summary") {
      run.summary = j;
    } else {
      run.probes.push_back(j);
    }
  }
  return run;
}

std::string IcmpClient(const Testbed& tb, const std::string& my_ip, const std::string& target,
                       const std::string& extra) {
  return absl::StrCat(kBin, " probe client --mode icmp -i ", tb.if_a(), " --ip ", my_ip,
                      " --server ", target, " ", extra);
}

}  // namespace

TEST_CASE(
    "probe icmp: probe client --mode icmp against the peer kernel, IPv4 and IPv6: all answered, "
    "stamps named, no reflector figures") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  constexpr int kCount = 50;
  struct Family {
    std::string mine, target;
  };
  for (const Family& f :
       {Family{tb.ip4_extra(20), tb.ip4_b()}, Family{tb.ip6_extra(20) + "/64", tb.ip6_b()}}) {
    CAPTURE(f.target);
    auto r = tb.Run(tb.ns_a(),
                    IcmpClient(tb, f.mine, f.target,
                               absl::StrCat("--count ", kCount, " --interval 5ms --json")),
                    60);
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    JsonRun run = ParseJsonLines(r.output);
    CHECK(run.unparsed == 0);
    CHECK(run.probes.size() == static_cast<size_t>(kCount));
    int bad = 0;
    for (const nlohmann::json& j : run.probes) {
      if (j["status"] == "lost") continue;  // how many the machine loses is its business
      const bool good = j["mode"] == "icmp" && j["status"] == "ok" &&
                        j["t1"]["source"] == "software" && j["t4"]["source"] == "software" &&
                        j["rtt_ns"].is_number_integer() && j["rtt_ns"].get<int64_t>() > 0 &&
                        j["network_rtt_ns"] == j["rtt_ns"] && !j.contains("dwell_ns") &&
                        !j.contains("t2") && !j.contains("t3") && !j.contains("offset_ns");
      if (!good) {
        ++bad;
        MESSAGE(j.dump());
      }
    }
    CHECK(bad == 0);
    REQUIRE(run.summary.is_object());
    CHECK(run.summary["mode"] == "icmp");
    CHECK(run.summary["sent"] == kCount);
    CHECK_MESSAGE(CountersBalanceViolation(run.summary) == "",
                  CountersBalanceViolation(run.summary));
    const int received = run.summary["received"].get<int>();
    CHECK(received > 0);
    CHECK(run.summary["duplicated"] == 0);
    CHECK(run.summary["rtt_ns"]["count"] == received);
    CHECK(run.summary["sources"]["t1"]["software"].get<int>() >= received);
    CHECK_FALSE(run.summary.contains("dwell_ns"));
    CHECK_FALSE(run.summary.contains("offset_ns"));
  }
  // Text: the header names the echo identifier the peer sees (tcpdump there), RTT lines with
  // their sources, and the summary saying what is not measured.
  const std::string dump = absl::StrCat("/tmp/rs-icmp-id-", tb.suffix());
  RemoveAtEnd rm{{dump, dump + ".err"}};
  const pid_t tcpdump =
      SpawnShell(absl::StrCat("ip netns exec ", tb.ns_b(), " tcpdump -i ", tb.if_b(),
                              " -nn -l -c 1 'icmp[icmptype] == 8' > ", dump, " 2> ", dump, ".err"));
  // tcpdump is reaped (killed when it outlasts its wait) before any REQUIRE can leave.
  const bool listening = WaitForFile(dump + ".err", "listening on", 0, 20);
  if (!listening) WaitPid(tcpdump, 0);
  REQUIRE_MESSAGE(listening, ReadFile(dump + ".err"));
  auto r = tb.Run(tb.ns_a(),
                  IcmpClient(tb, tb.ip4_extra(21), tb.ip4_b(), "--count 5 --interval 10ms"), 30);
  const int tcpdump_exit = WaitPid(tcpdump, 20);
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  CHECK(tcpdump_exit == 0);
  unsigned header_id = 0, seen_id = 1;
  const size_t header = r.output.find("(ICMP echo id ");
  REQUIRE_MESSAGE(header != std::string::npos, r.output);
  CHECK(std::sscanf(r.output.c_str() + header, "(ICMP echo id %u,", &header_id) == 1);
  const std::string seen = ReadFile(dump);
  const size_t id_at = seen.find("echo request, id ");
  REQUIRE_MESSAGE(id_at != std::string::npos, seen);
  CHECK(std::sscanf(seen.c_str() + id_at, "echo request, id %u,", &seen_id) == 1);
  CHECK(header_id == seen_id);
  int rtt_lines = 0;
  const std::vector<std::string> lines = absl::StrSplit(r.output, '\n');
  for (const std::string& line : lines) {
    if (line.rfind("seq=", 0) == 0 && line.find(" rtt=") != std::string::npos &&
        line.find("t1=") != std::string::npos && line.find("(sw)") != std::string::npos &&
        line.find("dwell") == std::string::npos) {
      ++rtt_lines;
    }
  }
  int received = -1, lost = -1, late = -1;
  const size_t at = r.output.find("sent 5, received ");
  REQUIRE_MESSAGE(at != std::string::npos, r.output);
  REQUIRE(std::sscanf(r.output.c_str() + at, "sent 5, received %d, lost %d, late %d", &received,
                      &lost, &late) == 3);
  CHECK(received + lost + late == 5);
  CHECK_MESSAGE((received <= rtt_lines && rtt_lines <= received + late), r.output);
  CHECK(r.output.find("no reflector stamps") != std::string::npos);
}

TEST_CASE(
    "probe icmp: a peer that ignores echo requests gives every probe counted lost, the summary, "
    "and exit status 1 as ping") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  const std::string opts = "--count 10 --interval 10ms --timeout 200ms --json";
  struct Family {
    std::string mine, target, sysctl;
  };
  for (const Family& f :
       {Family{tb.ip4_extra(22), tb.ip4_b(), "net.ipv4.icmp_echo_ignore_all"},
        Family{tb.ip6_extra(22) + "/64", tb.ip6_b(), "net.ipv6.icmp.echo_ignore_all"}}) {
    CAPTURE(f.target);
    // Answered while the peer answers...
    auto r = tb.Run(tb.ns_a(), IcmpClient(tb, f.mine, f.target, opts), 30);
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    JsonRun run = ParseJsonLines(r.output);
    REQUIRE(run.summary.is_object());
    CHECK(run.summary["received"].get<int>() > 0);
    CHECK_MESSAGE(CountersBalanceViolation(run.summary) == "",
                  CountersBalanceViolation(run.summary));
    // ...and all lost once its kernel drops echo requests.
    REQUIRE(tb.Run(tb.ns_b(), "sysctl -qw " + f.sysctl + "=1").exit_code == 0);
    r = tb.Run(tb.ns_a(), IcmpClient(tb, f.mine, f.target, opts), 30);
    tb.Run(tb.ns_b(), "sysctl -qw " + f.sysctl + "=0");
    CHECK_MESSAGE(r.exit_code == 1, r.output);  // nothing came back: ping's 1
    run = ParseJsonLines(r.output);
    REQUIRE_MESSAGE(run.summary.is_object(), r.output);
    CHECK(run.summary["sent"] == 10);
    CHECK(run.summary["received"] == 0);
    CHECK(run.summary["late"] == 0);
    CHECK(run.summary["lost"] == 10);
    CHECK(run.summary["rtt_ns"]["count"] == 0);
    CHECK(run.probes.size() == 10);
    for (const nlohmann::json& j : run.probes) {
      CHECK(j["status"] == "lost");
      CHECK(j["rtt_ns"].is_null());
    }
  }
}

TEST_CASE("probe icmp: probe client --tap --mode icmp pings the host's own stack through the TAP") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  BareNetns ns("rsicmp");
  auto r = ns.Run(absl::StrCat(kBin,
                               " probe client --tap rsitap0 --tap-ip 192.168.81.100/24 --ip "
                               "192.168.81.254 --server 192.168.81.100 --mode icmp --count 20 "
                               "--interval 10ms --json"),
                  60);
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  JsonRun run = ParseJsonLines(r.output);
  REQUIRE_MESSAGE(run.summary.is_object(), r.output);
  CHECK(run.summary["mode"] == "icmp");
  CHECK(run.summary["sent"] == 20);
  CHECK(run.summary["received"].get<int>() > 0);
  CHECK_MESSAGE(CountersBalanceViolation(run.summary) == "", CountersBalanceViolation(run.summary));
  CHECK(run.probes.size() == 20);
  for (const nlohmann::json& j : run.probes) {
    if (j["status"] == "lost") continue;
    CHECK(j["rtt_ns"].is_number_integer());
    CHECK(j["t4"]["source"].is_string());
  }
  CHECK(ns.Run("ip link show rsitap0").exit_code != 0);  // removed on exit
}

TEST_CASE(
    "probe icmp: EtherConn echo client gets its replies with RX stamps and its TX stamps, one "
    "client per identifier, unregistered replies go to the read queue") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  NetnsScope in(tb.ns_b());
  REQUIRE(in.ok());
  RelayOptions ro;
  ro.engine.ifname = tb.if_b();
  ro.engine.workers = 1;
  ro.engine.ring_budget_bytes = 8 << 20;
  ro.engine.rx_mode = RxMode::kImmediate;
  ro.tx_stamps = true;
  auto relay = PacketRelay::Create(ro);
  REQUIRE_MESSAGE(relay.ok(), relay.status().ToString());
  auto conn =
      (*relay)->NewEtherConn({.mac = *MacAddress::Parse("02:52:53:00:00:31"),
                              .addresses = {tb.ip4_extra(31) + "/24", tb.ip6_extra(31) + "/64"}});
  REQUIRE_MESSAGE(conn.ok(), conn.status().ToString());
  constexpr uint16_t kId = 0x4321;

  std::mutex mu;
  std::condition_variable cv;
  std::vector<EchoReply> replies;  // data span cleared: only valid during the call
  std::vector<std::vector<std::byte>> reply_data;
  std::vector<TxStampReport> stamps;
  auto wait_for = [&](size_t n_replies, size_t n_stamps) {
    std::unique_lock<std::mutex> l(mu);
    return cv.wait_for(l, std::chrono::seconds(3),
                       [&] { return replies.size() >= n_replies && stamps.size() >= n_stamps; });
  };
  REQUIRE((*conn)
              ->RegisterEchoClient(kId, {.on_reply =
                                             [&](const EchoReply& e) {
                                               std::lock_guard<std::mutex> l(mu);
                                               replies.push_back(e);
                                               replies.back().data = {};
                                               reply_data.emplace_back(e.data.begin(),
                                                                       e.data.end());
                                               cv.notify_all();
                                             },
                                         .on_tx_stamp =
                                             [&](const TxStampReport& r) {
                                               std::lock_guard<std::mutex> l(mu);
                                               stamps.push_back(r);
                                               cv.notify_all();
                                             }})
              .ok());
  auto again = (*conn)->RegisterEchoClient(kId, {.on_reply = [](const EchoReply&) {}});
  CHECK(again.code() == absl::StatusCode::kAlreadyExists);
  CHECK((*conn)->RegisterEchoClient(kId + 1, {}).code() == absl::StatusCode::kInvalidArgument);
  REQUIRE((*relay)->Start().ok());

  const std::string payload = "ringstamp echo client";
  const auto data = std::as_bytes(std::span(payload.data(), payload.size()));
  const IpAddress peers[] = {*IpAddress::Parse(tb.ip4_a()), *IpAddress::Parse(tb.ip6_a())};
  for (size_t i = 0; i < 2; ++i) {
    CAPTURE(peers[i].ToString());
    auto s = (*conn)->SendEchoRequest(
        {.dst = peers[i], .id = kId, .seq = static_cast<uint16_t>(100 + i)}, data,
        {.want_stamp = true, .tag = 7 + i});
    REQUIRE_MESSAGE(s.ok(), s.ToString());
    REQUIRE(wait_for(i + 1, i + 1));
    std::lock_guard<std::mutex> l(mu);
    const EchoReply& e = replies[i];
    CHECK(e.src == peers[i]);
    CHECK(e.dst == (*conn)->AddressOf(peers[i].family()));
    CHECK(e.id == kId);
    CHECK(e.seq == 100 + i);
    CHECK(e.ttl == 64);
    CHECK(e.stamps.software_ns.has_value());
    CHECK(reply_data[i] == std::vector<std::byte>(data.begin(), data.end()));
    CHECK(stamps[i].tag == 7 + i);
    CHECK(stamps[i].stamps.software_ns.has_value());
  }
  CHECK((*conn)->Stats().echo_replies == 2);

  // Unregistered: the next reply with that identifier is an ordinary frame for the read queue.
  (*conn)->UnregisterEchoClient(kId);
  std::array<std::byte, 2048> buf;
  (void)(*conn)->ReadFrom(buf, 0);  // allocates the read queue
  REQUIRE((*conn)->SendEchoRequest({.dst = peers[0], .id = kId, .seq = 200}, data).ok());
  bool queued = false;
  const int64_t end = MonotonicNs() + 3'000'000'000;
  while (!queued && MonotonicNs() < end) {
    auto got = (*conn)->ReadFrom(buf, MonotonicNs() + 500'000'000);
    queued = got.ok() && got->ethertype == 0x0800;
  }
  CHECK(queued);
  CHECK((*conn)->Stats().echo_replies == 2);
  {
    std::lock_guard<std::mutex> l(mu);
    CHECK(replies.size() == 2);
  }
  (*relay)->Stop();
}
