// Probe truth against an outside witness: a bridge in a middle namespace between the
// client and the reflector, with tcpdump on the client's bridge port taking nanosecond
// stamps of each probe (m1) and each reply (m2) on the same clock as the probe's own.
// Every probe whose real t3 came must be ordered t1 ≤ m1 ≤ t2 ≤ t3 ≤ m2 ≤ t4, and the two
// transmit legs (client TX stamp → bridge, reflector TX stamp → bridge) must agree at the
// median: with the reflector's pre-send estimate as t3, its leg read 4× the client's.
// tshark decodes the same packets as STAMP (twamp.test) and its sequence numbers agree
// with the JSON lines.
#include <doctest/doctest.h>
#include <signal.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/support/child_process.h"
#include "tests/support/netns_crash_cleanup.h"
#include "tests/support/netns_testbed.h"

using namespace ringstamp::testing;

namespace {

const std::string kBin = RINGSTAMP_BIN;

// Three namespaces: client (A) and reflector (B), each joined by a veth pair to a bridge
// in the middle (M). Removed on destruction, or on a fatal signal before (netns_crash_cleanup.h).
class BridgeBed {
 public:
  BridgeBed() : suffix_(UniqueSuffix()) {
    a_ = "rsa" + suffix_;
    b_ = "rsb" + suffix_;
    m_ = "rs-br" + suffix_;
    for (const std::string* ns : {&a_, &b_, &m_}) RegisterNetns(*ns);
    const std::string script = absl::StrCat(
        "set -e; ip netns add ", a_, "; ip netns add ", b_, "; ip netns add ", m_, "; for n in ",
        a_, " ", b_, " ", m_, "; do ip -n $n link set lo up; done", "; ip -n ", a_,
        " link add a0 type veth peer name pa netns ", m_,                  //
        "; ip -n ", b_, " link add b0 type veth peer name pb netns ", m_,  //
        "; ip -n ", m_, " link add br0 type bridge stp_state 0",           //
        "; ip -n ", m_, " link set pa master br0; ip -n ", m_, " link set pb master br0",
        "; for d in pa pb br0; do ip -n ", m_, " link set $d up; done",  //
        "; ip -n ", a_, " link set a0 up; ip -n ", b_, " link set b0 up");
    const auto r = RunHost(script);
    ok_ = r.exit_code == 0;
    setup_output_ = r.output;
  }
  ~BridgeBed() {
    for (const std::string* ns : {&a_, &b_, &m_}) DeleteNetns(*ns);
  }
  BridgeBed(const BridgeBed&) = delete;
  BridgeBed& operator=(const BridgeBed&) = delete;

  bool ok() const { return ok_; }
  const std::string& setup_output() const { return setup_output_; }
  const std::string& a() const { return a_; }
  const std::string& b() const { return b_; }
  const std::string& m() const { return m_; }
  const std::string& suffix() const { return suffix_; }

 private:
  std::string suffix_, a_, b_, m_, setup_output_;
  bool ok_ = false;
};

int64_t Median(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// "1796425761.154805465" → ns, exactly.
int64_t EpochNs(const std::string& s) {
  const size_t dot = s.find('.');
  int64_t sec = 0, frac = 0;
  if (dot == std::string::npos) return absl::SimpleAtoi(s, &sec) ? sec * 1'000'000'000 : -1;
  std::string f = s.substr(dot + 1);
  f.resize(9, '0');
  if (!absl::SimpleAtoi(s.substr(0, dot), &sec) || !absl::SimpleAtoi(f, &frac)) return -1;
  return sec * 1'000'000'000 + frac;
}

}  // namespace

TEST_CASE("probe truth: a bridge in the middle brackets every probe, real t3, equal TX legs") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  BridgeBed bed;
  REQUIRE_MESSAGE(bed.ok(), bed.setup_output());
  const std::string base = absl::StrCat("/tmp/rs-truth-", bed.suffix());
  const std::string pcap = base + ".pcap", dump_log = base + ".tcpdump", srv_log = base + ".srv";
  struct Cleanup {
    std::string base;
    ~Cleanup() { RunHost("rm -f " + base + ".*"); }
  } cleanup{base};

  pid_t dump = SpawnShell(
      absl::StrCat("ip netns exec ", bed.m(),
                   " tcpdump -i pa -nn -U --immediate-mode -c 402 --time-stamp-precision=nano -w ",
                   pcap, " udp port 862 2>", dump_log));
  REQUIRE_MESSAGE(WaitForFile(dump_log, "listening on", 0, 20), ReadFile(dump_log));
  pid_t srv = SpawnShell(absl::StrCat("ip netns exec ", bed.b(), " ", kBin,
                                      " probe server -i b0 --ip 10.201.0.2 --duration 60 > ",
                                      srv_log, " 2>&1"));
  REQUIRE_MESSAGE(WaitForFile(srv_log, "STAMP reflector on", 0, 20), ReadFile(srv_log));
  const auto r = RunHost(absl::StrCat("ip netns exec ", bed.a(), " ", kBin,
                                      " probe client -i a0 --ip 10.201.0.1 --server 10.201.0.2",
                                      " --count 200 --interval 5ms --json --clocks-synchronised"),
                         120);
  kill(srv, SIGINT);
  CHECK(WaitPid(srv, 20) == 0);
  // tcpdump ends by itself after 200 probes, the closing probe and their 201 replies.
  CHECK_MESSAGE(WaitPid(dump, 20) == 0, ReadFile(dump_log));
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);

  // The witness: tshark decodes our packets as STAMP; per probe seq its m1 (the probe
  // passing the bridge port) and m2 (the reply passing it back).
  const auto ts = RunHost(absl::StrCat(
      "tshark -r ", pcap,
      " -d udp.port==862,twamp.test -T fields -E separator=, -e frame.time_epoch -e udp.dstport "
      "-e twamp.test.seq_number -e twamp.test.sender_seq_number 2>&1"));
  REQUIRE(ts.exit_code == 0);
  std::map<uint32_t, int64_t> m1, m2;
  std::map<uint32_t, uint32_t> reflector_seq_of;
  const std::vector<std::string> ts_lines = absl::StrSplit(ts.output, '\n', absl::SkipEmpty());
  for (const std::string& line : ts_lines) {
    std::vector<std::string> f = absl::StrSplit(line, ',');
    if (f.size() < 3) continue;
    uint32_t seq = 0, sender_seq = 0;
    const int64_t t = EpochNs(f[0]);
    if (f[1] == "862") {  // client → reflector: a STAMP sender packet
      if (absl::SimpleAtoi(f[2], &seq)) m1[seq] = t;
    } else if (f.size() >= 4 && absl::SimpleAtoi(f[2], &seq) &&
               absl::SimpleAtoi(f[3], &sender_seq)) {  // reflector → client
      m2[sender_seq] = t;
      reflector_seq_of[sender_seq] = seq;
    }
  }

  int probes = 0, witnessed = 0, real = 0, bracketed = 0, misordered = 0, tshark_disagrees = 0;
  std::vector<int64_t> client_leg, reflector_leg, reflector_leg_from_estimate;
  const std::vector<std::string> lines = absl::StrSplit(r.output, '\n', absl::SkipEmpty());
  for (const std::string& line : lines) {
    if (line.empty() || line[0] != '{') continue;
    const auto j = nlohmann::json::parse(line);
    if (j["type"] != "probe" || j["status"] != "ok") continue;
    ++probes;
    const uint32_t seq = j["seq"];
    if (!m1.contains(seq) || !m2.contains(seq)) continue;
    ++witnessed;
    if (reflector_seq_of[seq] != j["reflector_seq"].get<uint32_t>()) ++tshark_disagrees;
    if (j["t3"]["source"] != "software") continue;  // no real t3: nothing to bracket
    ++real;
    const int64_t t1 = j["t1"]["ns"], t2 = j["t2"]["ns"], t3 = j["t3"]["ns"], t4 = j["t4"]["ns"],
                  t3_est = j["t3_estimate"]["ns"];
    const int64_t a = m1[seq], b = m2[seq];
    if (t1 <= a && a <= t2 && t2 <= t3 && t3 <= b && b <= t4) {
      ++bracketed;
    } else {
      ++misordered;
      MESSAGE("seq ", seq, ": t1 ", t1, " m1 ", a, " t2 ", t2, " t3 ", t3, " m2 ", b, " t4 ", t4);
    }
    client_leg.push_back(a - t1);
    reflector_leg.push_back(b - t3);
    reflector_leg_from_estimate.push_back(b - t3_est);
  }
  MESSAGE("probes ", probes, ", seen by tcpdump both ways ", witnessed, ", real t3 ", real);
  CHECK(probes > 0);
  CHECK(tshark_disagrees == 0);
  // The reflector sends its real TX time for every reply; a few may come too late.
  CHECK(real * 10 >= witnessed * 9);
  CHECK(witnessed * 10 >= probes * 9);
  CHECK(misordered == 0);
  CHECK(bracketed == real);
  const int64_t c = Median(client_leg), f = Median(reflector_leg);
  MESSAGE("transmit legs to the bridge, median: client ", c, " ns, reflector ", f,
          " ns (from the reflector's estimate it would read ", Median(reflector_leg_from_estimate),
          " ns)");
  const int64_t diff = std::abs(c - f);
  const bool legs_agree = diff <= 3'000 || diff * 10 <= 3 * std::max(c, f);
  CHECK_MESSAGE(legs_agree, "client ", c, " reflector ", f);
}
