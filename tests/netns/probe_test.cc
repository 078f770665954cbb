// Integration: `ringstamp probe` between two namespaces — 1,000 probes, back to back
// (--interval 0, STAMP and ICMP), a reflector killed mid-run, a kernel UDP socket as STAMP
// sender, and the server-1/server-2 scripts.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "ringstamp/common/clock.h"
#include "tests/support/child_process.h"
#include "tests/support/netns_test_setup.h"
#include "tests/support/netns_testbed.h"
#include "tests/support/pcap_records.h"
#include "tests/support/probe_json_checks.h"

using namespace ringstamp;
using namespace ringstamp::testing;

namespace {

const std::string kBin = RINGSTAMP_BIN;

std::string ServerCmd(const Testbed& tb, const std::string& ip, const std::string& out,
                      int duration, const std::string& flags = "") {
  return absl::StrCat("ip netns exec ", tb.ns_b(), " ", kBin, " probe server -i ", tb.if_b(),
                      " --ip ", ip, " --duration ", duration, " ", flags, " > ", out, " 2>&1");
}

// tcpdump in `ns` on `ifname`, nanosecond stamps, STAMP packets only, to `path`; waits
// until it says it listens. Stop it with StopTcpdump.
pid_t StartTcpdump(const std::string& ns, const std::string& ifname, const std::string& path) {
  pid_t pid =
      SpawnShell(absl::StrCat("ip netns exec ", ns, " tcpdump -i ", ifname,
                              " --time-stamp-precision=nano --immediate-mode -U -Z root -w ", path,
                              " udp port 862 2> ", path, ".err"));
  CHECK_MESSAGE(WaitForFile(path + ".err", "listening on", 0, 20), ReadFile(path + ".err"));
  return pid;
}

void StopTcpdump(pid_t pid) {
  kill(pid, SIGINT);
  WaitPid(pid, 10);
}

// First capture stamp per session-sender sequence number, sender or reflector packets.
std::map<uint32_t, int64_t> StampFramesBySeq(const std::string& path, bool reflector_packets) {
  std::map<uint32_t, int64_t> out;
  auto records = ReadPcapRecords(path);
  REQUIRE_MESSAGE(records.ok(), records.status().ToString());
  for (const PcapRecord& r : *records) {
    auto f = StampFrameOf(r);
    if (f && f->reflector_packet == reflector_packets) out.emplace(f->sender_seq, r.ns);
  }
  return out;
}

}  // namespace

TEST_CASE(
    "probe: 1,000 probes across the veth pair: each line exact on one clock, tcpdump agrees") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  const std::string srv_ip = tb.ip4_extra(10), cli_ip = tb.ip4_extra(20);
  const std::string tmp = absl::StrCat("/tmp/rs-probe-", tb.suffix());
  const std::string srv_log = tmp + "-srv", cap_a = tmp + "-a.pcap", cap_b = tmp + "-b.pcap";
  struct Cleanup {
    std::string tmp;
    ~Cleanup() { RunHost("rm -f " + tmp + "-srv " + tmp + "-a.pcap* " + tmp + "-b.pcap*"); }
  } cleanup{tmp};
  // Outside witnesses: tcpdump on both ends (the namespaces share one clock).
  pid_t dump_a = StartTcpdump(tb.ns_a(), tb.if_a(), cap_a);
  pid_t dump_b = StartTcpdump(tb.ns_b(), tb.if_b(), cap_b);
  // The estimate as the plain clock read before the send, so that its order against the real
  // stamp and the capture can be checked (the learned one is centred on the real t3:
  // probe_continuous_test and the reflector's unit tests).
  pid_t srv = SpawnShell(ServerCmd(tb, srv_ip, srv_log, 60, "--t3-estimate clock"),
                         /*own_process_group=*/true);
  CHECK_MESSAGE(WaitForFile(srv_log, "STAMP reflector on", 0, 20), ReadFile(srv_log));
  const int64_t before = RealtimeNs();
  auto r = tb.Run(tb.ns_a(),
                  absl::StrCat(kBin, " probe client -i ", tb.if_a(), " --ip ", cli_ip, " --server ",
                               srv_ip, " --count 1000 --interval 1ms --json --clocks-synchronised"),
                  120);
  const int64_t after = RealtimeNs();
  kill(srv, SIGINT);
  CHECK(WaitPid(srv, 20) == 0);
  StopTcpdump(dump_a);
  StopTcpdump(dump_b);
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);

  ProbeJson out = ParseProbeJson(r.output);
  CHECK(out.bad_lines.empty());
  REQUIRE(out.summary.is_object());
  CHECK(out.summary["sent"] == 1000);
  CHECK_MESSAGE(CountersBalanceViolation(out.summary) == "", CountersBalanceViolation(out.summary));
  CHECK(out.summary["duplicated"] == 0);
  const int64_t received = out.summary["received"].get<int64_t>();
  CHECK(received > 0);
  for (const char* k : {"rtt_ns", "network_rtt_ns", "dwell_ns"}) {
    for (const char* q : {"min", "p50", "p90", "p99", "p999", "max", "mean", "stddev"}) {
      CHECK_MESSAGE(out.summary[k].contains(q), k, " ", q);
    }
  }

  // Reflector side: the kernel stamps a probe once as it arrives; the reflector's ring and
  // tcpdump's ring both read that stamp, so a software t2 is the capture's time exactly.
  // Client side likewise for the reply and t4. Frames sent through PACKET_QDISC_BYPASS pass
  // no tap, so our own TX frames appear only if bypass is off: then the tap's stamp comes
  // before the driver's TX stamp (capture ≤ t1; for the reply, capture ≤ a real TX stamp and
  // ≥ an estimate written before sending).
  const auto probe_in_b = StampFramesBySeq(cap_b, /*reflector_packets=*/false);
  const auto reply_in_a = StampFramesBySeq(cap_a, /*reflector_packets=*/true);
  const auto probe_out_a = StampFramesBySeq(cap_a, /*reflector_packets=*/false);
  const auto reply_out_b = StampFramesBySeq(cap_b, /*reflector_packets=*/true);
  std::map<int64_t, std::pair<int64_t, int64_t>> t1_t2;  // by seq, answered probes
  int probes = 0, answered = 0, t2_witnessed = 0, t4_witnessed = 0, real_t3 = 0;
  for (const nlohmann::json& p : out.probes) {
    ++probes;
    if (p["status"] != "ok") continue;
    ++answered;
    const int64_t seq = p["seq"].get<int64_t>();
    CAPTURE(seq);
    for (const std::string& v : ProbeLineViolations(p, {.one_clock = true})) FAIL_CHECK(v);
    CHECK(p["t1"]["source"] == "software");
    CHECK(p["t2"]["source"] == "software");
    CHECK(p["t4"]["source"] == "software");
    // t3 may wait for the next reply's Follow-Up (probe_json_checks.h); absent, its checks wait.
    const bool has_t3 = p["t3"].is_object();
    const std::string t3_source = has_t3 ? p["t3"]["source"].get<std::string>() : "";
    if (has_t3) CHECK_MESSAGE((t3_source == "estimate" || t3_source == "software"), t3_source);
    const int64_t t1 = p["t1"]["ns"], t2 = p["t2"]["ns"], t4 = p["t4"]["ns"];
    const int64_t t3 = has_t3 ? p["t3"]["ns"].get<int64_t>() : 0;
    // t3 is the reflector's real TX stamp (software on veth), from its next reply; where that
    // never came it is the estimate, and the figures on it say so.
    if (t3_source == "software") {
      ++real_t3;
      // The estimate is read before the send, the real stamp inside it: one clock.
      CHECK(t3 >= p["t3_estimate"]["ns"].get<int64_t>());
      CHECK(p["rests_on"]["network_rtt_ns"] == "software");
    } else if (t3_source == "estimate") {
      CHECK(p["rests_on"]["network_rtt_ns"] == "estimate");
    }
    CHECK((before <= t1 && t4 <= after));
    t1_t2[seq] = {t1, t2};
    const uint32_t s = static_cast<uint32_t>(seq);
    if (auto it = probe_in_b.find(s); it != probe_in_b.end()) {
      ++t2_witnessed;
      CHECK(it->second == t2);
    }
    if (auto it = reply_in_a.find(s); it != reply_in_a.end()) {
      ++t4_witnessed;
      CHECK(it->second == t4);
    }
    if (auto it = probe_out_a.find(s); it != probe_out_a.end()) CHECK(it->second <= t1);
    if (auto it = reply_out_b.find(s); it != reply_out_b.end()) {
      CHECK((t2 <= it->second && it->second <= t4));
      if (has_t3) CHECK((t3_source == "estimate" ? t3 <= it->second : it->second <= t3));
    }
  }
  CHECK(probes == 1000);
  CHECK(answered == received);
  CHECK(real_t3 > 0);
  CHECK(out.summary["t3"]["real"] == real_t3);
  CHECK(out.summary["t3"]["real"].get<int64_t>() + out.summary["t3"]["estimated"].get<int64_t>() ==
        received + out.summary["late"].get<int64_t>());
  // t1 belongs to its own probe, not the one before: probes leave one after another from one
  // worker, and the reflector's kernel stamps probe k - 1 inside its transmit (prequeue
  // stamping), before probe k's transmit (and its TX stamp) begins.
  if (RxStampedAtEnqueue()) {
    for (const auto& [seq, stamps] : t1_t2) {
      auto prev = t1_t2.find(seq - 1);
      if (prev == t1_t2.end()) continue;
      CAPTURE(seq);
      CHECK(prev->second.second < stamps.first);  // t2(k - 1) < t1(k)
    }
  } else {
    MESSAGE("netdev_tstamp_prequeue is 0: t1 not checked against the previous probe's t2");
  }
  // tcpdump's own drops are the machine's business; that it saw some of each is not.
  INFO(ReadFile(cap_a + ".err"), ReadFile(cap_b + ".err"));
  MESSAGE("tcpdump witnessed t2 of ", t2_witnessed, " and t4 of ", t4_witnessed, " of ", answered,
          " answered probes; our outgoing frames seen: ", probe_out_a.size(), " + ",
          reply_out_b.size());
  CHECK(t2_witnessed > 0);
  CHECK(t4_witnessed > 0);
  const std::string srv_out = ReadFile(srv_log);
  int reflected = -1;
  const size_t at = srv_out.find("reflected ");
  if (at != std::string::npos) std::sscanf(srv_out.c_str() + at, "reflected %d", &reflected);
  CHECK_MESSAGE(reflected >= received, srv_out);
  // The 1000 probes and at most one closing probe (not counted) that fetched the last real t3.
  CHECK(reflected <= 1000 + out.summary["t3"]["closing_probes"].get<int>());
  CHECK(out.summary["t3"]["closing_probes"] <= 1);
  CHECK_MESSAGE(srv_out.find("t3 estimate: the clock read before the send (--t3-estimate clock)") !=
                    std::string::npos,
                srv_out);
}

TEST_CASE(
    "probe: --interval 0 sends each probe once the one before it is answered, STAMP and ICMP") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  const std::string srv_ip = tb.ip4_extra(10), cli_ip = tb.ip4_extra(20);
  const std::string srv_log = absl::StrCat("/tmp/rs-probe-b2b-", tb.suffix());
  RemoveAtEnd rm{{srv_log}};
  pid_t srv = SpawnShell(ServerCmd(tb, srv_ip, srv_log, 120), /*own_process_group=*/true);
  struct StopServer {
    pid_t pid;
    ~StopServer() {
      kill(pid, SIGINT);
      WaitPid(pid, 20);
    }
  } stop_server{srv};
  REQUIRE_MESSAGE(WaitForFile(srv_log, "STAMP reflector on", 0, 20), ReadFile(srv_log));
  // The reply to each probe wakes the sender: 2,000 round trips take about a second here. A
  // sender that waited for each probe's timeout (1 s) instead would outlast the 120 s bound.
  constexpr int kCount = 2000;
  const std::string client = absl::StrCat(kBin, " probe client -i ", tb.if_a(), " --ip ", cli_ip);
  for (const std::string& target :
       {absl::StrCat("--server ", srv_ip), absl::StrCat("--mode icmp --server ", tb.ip4_b())}) {
    CAPTURE(target);
    auto r =
        tb.Run(tb.ns_a(),
               absl::StrCat(client, " ", target, " --count ", kCount, " --interval 0 --json"), 120);
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    ProbeJson out = ParseProbeJson(r.output);
    CHECK(out.bad_lines.empty());
    REQUIRE(out.summary.is_object());
    CHECK(out.summary["sent"] == kCount);
    CHECK_MESSAGE(CountersBalanceViolation(out.summary) == "",
                  CountersBalanceViolation(out.summary));
    // Never two in flight: probe k + 1 leaves (its kernel TX stamp, t1) after the reply to
    // probe k arrived (its kernel RX stamp, t4); the namespaces share one clock.
    std::map<int64_t, std::pair<int64_t, int64_t>> t1_t4;  // by seq, answered probes
    for (const nlohmann::json& p : out.probes) {
      if (p["status"] != "ok" || p["t1"]["source"] != "software" ||
          p["t4"]["source"] != "software") {
        continue;
      }
      t1_t4[p["seq"].get<int64_t>()] = {p["t1"]["ns"].get<int64_t>(), p["t4"]["ns"].get<int64_t>()};
    }
    int pairs = 0;
    for (const auto& [seq, stamps] : t1_t4) {
      auto next = t1_t4.find(seq + 1);
      if (next == t1_t4.end()) continue;
      CAPTURE(seq);
      CHECK(next->second.first > stamps.second);  // t1(k + 1) > t4(k)
      ++pairs;
    }
    CHECK(pairs > kCount / 2);
  }
  // The text header says how the probes are paced.
  auto r =
      tb.Run(tb.ns_a(), absl::StrCat(client, " --server ", srv_ip, " --count 3 --interval 0"), 30);
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  CHECK_MESSAGE(r.output.find(absl::StrCat("from ", cli_ip, " back to back")) != std::string::npos,
                r.output);
}

TEST_CASE("probe: a reflector killed mid-run gives counted losses and a summary") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  const std::string srv_ip = tb.ip4_extra(10), cli_ip = tb.ip4_extra(20);
  const std::string srv_log = absl::StrCat("/tmp/rs-probe-kill-", tb.suffix());
  const std::string cli_out = srv_log + "-cli";
  struct Cleanup {
    std::string a, b;
    ~Cleanup() {
      std::remove(a.c_str());
      std::remove(b.c_str());
    }
  } cleanup{srv_log, cli_out};
  pid_t srv = SpawnShell(ServerCmd(tb, srv_ip, srv_log, 60), /*own_process_group=*/true);
  REQUIRE_MESSAGE(WaitForFile(srv_log, "STAMP reflector on", 0, 20), ReadFile(srv_log));
  pid_t cli = SpawnShell(absl::StrCat(
      "ip netns exec ", tb.ns_a(), " ", kBin, " probe client -i ", tb.if_a(), " --ip ", cli_ip,
      " --server ", srv_ip, " --count 300 --interval 10ms --timeout 200ms > ", cli_out, " 2>&1"));
  // Kill the reflector once replies came back, with most of the 3 s run still ahead.
  const bool answered = WaitForFile(cli_out, " rtt=", 0, 30);
  kill(srv, SIGKILL);
  WaitPid(srv, 5);
  const int rc = WaitPid(cli, 60);
  const std::string out = ReadFile(cli_out);
  REQUIRE_MESSAGE(answered, out);
  CHECK_MESSAGE(rc == 0, out);
  CHECK(out.find("summary") != std::string::npos);
  // Some probes answered before the kill, the rest lost; nothing counted twice.
  const size_t pos = out.find("sent 300, received ");
  REQUIRE_MESSAGE(pos != std::string::npos, out);
  int received = 0, lost = 0, late = 0;
  REQUIRE(std::sscanf(out.c_str() + pos, "sent 300, received %d, lost %d, late %d", &received,
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
  CHECK_MESSAGE(WaitForFile(srv_log, "STAMP reflector on", 0, 20), ReadFile(srv_log));
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

TEST_CASE("probe: a bad --t3-estimate is refused with exit 2 and says what fits") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  auto r = RunHost(kBin + " probe server -i lo --ip 10.0.0.1 --t3-estimate soon");
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(
      r.output.find("--t3-estimate must be learned or clock, not \"soon\"") != std::string::npos,
      r.output);
}
