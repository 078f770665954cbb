// Integration: `ringstamp probe` between two namespaces — 1,000 probes, a reflector killed
// mid-run, a kernel UDP socket as STAMP sender, and the server-1/server-2 scripts.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "tests/support/child_process.h"
#include "tests/support/netns_test_setup.h"
#include "tests/support/netns_testbed.h"

using namespace ringstamp::testing;

namespace {

const std::string kBin = RINGSTAMP_BIN;

std::string ServerCmd(const Testbed& tb, const std::string& ip, const std::string& out,
                      int duration) {
  return absl::StrCat("ip netns exec ", tb.ns_b(), " ", kBin, " probe server -i ", tb.if_b(),
                      " --ip ", ip, " --duration ", duration, " > ", out, " 2>&1");
}

}  // namespace

TEST_CASE(
    "probe: 1,000 probes across the veth pair, all answered, software stamps, network RTT ≤ RTT") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  const std::string srv_ip = tb.ip4_extra(10), cli_ip = tb.ip4_extra(20);
  const std::string srv_log = absl::StrCat("/tmp/rs-probe-srv-", tb.suffix());
  pid_t srv = SpawnShell(ServerCmd(tb, srv_ip, srv_log, 60), /*own_process_group=*/true);
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  auto r = tb.Run(tb.ns_a(),
                  absl::StrCat(kBin, " probe client -i ", tb.if_a(), " --ip ", cli_ip, " --server ",
                               srv_ip, " --count 1000 --interval 1ms --json --clocks-synchronised"),
                  120);
  kill(srv, SIGINT);
  CHECK(WaitPid(srv, 20) == 0);
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  std::vector<std::string> lines = absl::StrSplit(r.output, '\n', absl::SkipEmpty());
  int probes = 0, bad_rtt = 0, wrong_source = 0, real_t3 = 0, t3_before_estimate = 0,
      wrong_basis = 0;
  nlohmann::json summary;
  for (const std::string& line : lines) {
    if (line.empty() || line[0] != '{') continue;
    auto j = nlohmann::json::parse(line);
    if (j["type"] == "summary") {
      summary = j;
      continue;
    }
    ++probes;
    if (j["network_rtt_ns"].is_null() || j["rtt_ns"].is_null() ||
        j["network_rtt_ns"].get<int64_t>() > j["rtt_ns"].get<int64_t>()) {
      ++bad_rtt;
    }
    if (j["t1"]["source"] != "software" || j["t2"]["source"] != "software" ||
        j["t4"]["source"] != "software") {
      ++wrong_source;
    }
    // t3 is the reflector's real TX stamp (software on veth), from its next reply; where
    // that never came it is the estimate, and the figures on it say so.
    if (j["t3"]["source"] == "software") {
      ++real_t3;
      // The estimate is read before the send, the real stamp inside it: one clock.
      if (j["t3"]["ns"].get<int64_t>() < j["t3_estimate"]["ns"].get<int64_t>())
        ++t3_before_estimate;
      if (j["rests_on"]["network_rtt_ns"] != "software") ++wrong_basis;
    } else if (j["t3"]["source"] == "estimate") {
      if (j["rests_on"]["network_rtt_ns"] != "estimate") ++wrong_basis;
    } else {
      ++wrong_source;
    }
  }
  CHECK(probes == 1000);
  CHECK(bad_rtt == 0);
  CHECK(wrong_source == 0);
  CHECK(t3_before_estimate == 0);
  CHECK(wrong_basis == 0);
  CHECK(real_t3 > 0);
  REQUIRE(summary.is_object());
  CHECK(summary["t3"]["real"] == real_t3);
  CHECK(summary["t3"]["real"].get<int>() + summary["t3"]["estimated"].get<int>() == 1000);
  CHECK(summary["sent"] == 1000);
  CHECK(summary["received"] == 1000);
  CHECK(summary["lost"] == 0);
  CHECK(summary["late"] == 0);
  CHECK(summary["duplicated"] == 0);
  for (const char* k : {"rtt_ns", "network_rtt_ns", "dwell_ns"}) {
    for (const char* q : {"min", "p50", "p90", "p99", "p999", "max", "mean", "stddev"}) {
      CHECK_MESSAGE(summary[k].contains(q), k, " ", q);
    }
  }
  const std::string srv_out = ReadFile(srv_log);
  // 1000 probes and the closing probe that fetched the last one's real t3.
  CHECK_MESSAGE(srv_out.find("reflected 1001") != std::string::npos, srv_out);
  std::remove(srv_log.c_str());
}

TEST_CASE("probe: a reflector killed mid-run gives counted losses and a summary") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  const std::string srv_ip = tb.ip4_extra(10), cli_ip = tb.ip4_extra(20);
  const std::string srv_log = absl::StrCat("/tmp/rs-probe-kill-", tb.suffix());
  pid_t srv = SpawnShell(ServerCmd(tb, srv_ip, srv_log, 60), /*own_process_group=*/true);
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  std::thread killer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    kill(srv, SIGKILL);
  });
  auto r = tb.Run(tb.ns_a(),
                  absl::StrCat(kBin, " probe client -i ", tb.if_a(), " --ip ", cli_ip, " --server ",
                               srv_ip, " --count 300 --interval 10ms --timeout 200ms"),
                  60);
  killer.join();
  WaitPid(srv, 5);
  std::remove(srv_log.c_str());
  CHECK_MESSAGE(r.exit_code == 0, r.output);
  CHECK(r.output.find("summary") != std::string::npos);
  // Some probes answered before the kill, the rest lost; nothing counted twice.
  const size_t pos = r.output.find("sent 300, received ");
  REQUIRE_MESSAGE(pos != std::string::npos, r.output);
  int received = 0, lost = 0, late = 0;
  REQUIRE(std::sscanf(r.output.c_str() + pos, "sent 300, received %d, lost %d, late %d", &received,
                      &lost, &late) == 3);
  CHECK(received > 0);
  CHECK(lost > 0);
  CHECK(received + lost + late == 300);
}

TEST_CASE("probe: a plain kernel UDP socket as STAMP sender gets replies with the right fields") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  const std::string srv_ip = tb.ip4_extra(10);
  const std::string srv_log = absl::StrCat("/tmp/rs-probe-py-", tb.suffix());
  pid_t srv = SpawnShell(ServerCmd(tb, srv_ip, srv_log, 60), /*own_process_group=*/true);
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  // RFC 8762 §4.2.1 sender packet: seq(4) ts(8) err(2) MBZ(30) = 44 bytes. The reply (§4.3.1):
  // seq(4) ts(8) err(2) mbz(2) rx_ts(8) sender_seq(4) sender_ts(8) sender_err(2) mbz(2) ttl(1)
  // mbz(3).
  const std::string code = absl::StrFormat(
      "import socket,struct,time,sys\n"
      "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(2)\n"
      "s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 17)\n"
      "ok=0\n"
      "for seq in range(5):\n"
      "  ts=(int(time.time())+2208988800)<<32\n"
      "  pkt=struct.pack(\"!IQH\",seq+100,ts,0x8001)+bytes(30)\n"
      "  s.sendto(pkt,(\"%s\",862))\n"
      "  d,a=s.recvfrom(2048)\n"
      "  rseq,rts,rerr,_,rx,sseq,sts,serr,_,ttl=struct.unpack(\"!IQHHQIQHHB\",d[:41])\n"
      "  now=int(time.time())+2208988800\n"
      "  good=(len(d)==44 and a[1]==862 and sseq==seq+100 and sts==ts and serr==0x8001 and ttl==17 "
      "and abs((rx>>32)-now)<=2 and rx<=rts)\n"
      "  print(seq,len(d),rseq,sseq,ttl,good)\n"
      "  ok+=good\n"
      "sys.exit(0 if ok==5 else 1)\n",
      srv_ip);
  auto r = tb.Run(tb.ns_a(), "/usr/bin/python3 -c '" + code + "'", 30);
  kill(srv, SIGINT);
  CHECK(WaitPid(srv, 20) == 0);
  CHECK_MESSAGE(r.exit_code == 0, r.output);
  const std::string srv_out = ReadFile(srv_log);
  CHECK_MESSAGE(srv_out.find("reflected 5") != std::string::npos, srv_out);
  std::remove(srv_log.c_str());
}

TEST_CASE("probe: scripts/server-1.sh and server-2.sh run unchanged in the testbed") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  const std::string src = RINGSTAMP_SOURCE_DIR;
  const std::string out1 = absl::StrCat("/tmp/rs-pair1-", tb.suffix()),
                    out2 = absl::StrCat("/tmp/rs-pair2-", tb.suffix());
  auto env = [&](int side) {
    const bool a = side == 1;
    return absl::StrCat(
        "env BIN=", kBin, " IFACE=", a ? tb.if_a() : tb.if_b(),
        " NETNS=", a ? tb.ns_a() : tb.ns_b(), " MY_IP=", tb.ip4_extra(a ? 21 : 22),
        " CLIENT_IP=", tb.ip4_extra(a ? 31 : 32), " PEER_IP=", tb.ip4_extra(a ? 22 : 21),
        " COUNT=50 INTERVAL=10ms DURATION=6 START_DELAY=1.5", " OUT=", a ? out1 : out2);
  };
  pid_t s1 =
      SpawnShell(absl::StrCat(env(1), " ", src, "/scripts/server-1.sh > ", out1, ".log 2>&1"),
                 /*own_process_group=*/true);
  pid_t s2 =
      SpawnShell(absl::StrCat(env(2), " ", src, "/scripts/server-2.sh > ", out2, ".log 2>&1"),
                 /*own_process_group=*/true);
  const int rc1 = WaitPid(s1, 60), rc2 = WaitPid(s2, 60);
  const std::string l1 = ReadFile(out1 + ".log"), l2 = ReadFile(out2 + ".log");
  CHECK_MESSAGE(rc1 == 0, l1);
  CHECK_MESSAGE(rc2 == 0, l2);
  for (const std::string& l : {l1, l2}) {
    const size_t p = l.find("{");
    REQUIRE_MESSAGE(p != std::string::npos, l);
    auto j = nlohmann::json::parse(l.substr(p));
    CHECK(j["type"] == "summary");
    CHECK(j["sent"] == 50);
    CHECK(j["received"].get<int>() >= 45);  // both sides report probes
  }
  RunHost(absl::StrCat("rm -rf ", out1, " ", out2, " ", out1, ".log ", out2, ".log"));
}

TEST_CASE("probe: a bad --tx-stamps-via is refused with exit 2 and says what fits") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  auto r = RunHost(kBin +
                   " probe client -i lo --ip 10.0.0.1 --server 10.0.0.2 --count 1"
                   " --tx-stamps-via bogus");
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(r.output.find("use auto, io_uring or errqueue") != std::string::npos, r.output);
}
