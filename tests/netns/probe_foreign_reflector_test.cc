// Integration: `ringstamp probe client` against a STAMP reflector we did not write — a
// Python one packed straight from RFC 8762 §4.3 and RFC 8972's TLV figures
// (tests/support/stamp_reflector.py) — in the peer namespace, with and without TLVs.
// Replies are matched, counts balance, and t2/t3 are the values the Python reflector
// logged from its own clock.
#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "ringstamp/common/clock.h"
#include "ringstamp/engine/proto/stamp.h"
#include "tests/support/child_process.h"
#include "tests/support/netns_test_setup.h"
#include "tests/support/netns_testbed.h"
#include "tests/support/probe_json_checks.h"

using namespace ringstamp;
using namespace ringstamp::testing;

namespace {

const std::string kBin = RINGSTAMP_BIN;
const std::string kPython = "/usr/bin/python3";
const std::string kReflector =
    std::string(RINGSTAMP_SOURCE_DIR) + "/tests/support/stamp_reflector.py";
constexpr int kProbes = 40;

struct LoggedReply {
  uint32_t ref_seq = 0;
  int64_t t2_ns = 0, t3_ns = 0;
  uint32_t follow_up_seq = 0;
  int64_t follow_up_ns = 0;  // 0: no Follow-Up value in this reply
  int length = 0;
};

// "reply <ref_seq> <sender_seq> <t2_ntp> <t3_ntp> <followup_seq> <followup_ntp> <len>" lines,
// by sender sequence number.
std::map<uint32_t, LoggedReply> ReadReflectorLog(const std::string& text, int* replies) {
  std::map<uint32_t, LoggedReply> by_sender_seq;
  std::istringstream in(text);
  std::string word;
  *replies = 0;
  while (in >> word) {
    if (word != "reply") continue;
    uint64_t ref = 0, sseq = 0, t2 = 0, t3 = 0, fseq = 0, fts = 0;
    int len = 0;
    in >> ref >> sseq >> t2 >> t3 >> fseq >> fts >> len;
    ++*replies;
    by_sender_seq[static_cast<uint32_t>(sseq)] = {static_cast<uint32_t>(ref),
                                                  NtpToUnixNs(t2),
                                                  NtpToUnixNs(t3),
                                                  static_cast<uint32_t>(fseq),
                                                  fts ? NtpToUnixNs(fts) : 0,
                                                  len};
  }
  return by_sender_seq;
}

void RunAgainstPythonReflector(bool tlvs) {
  if (access(kPython.c_str(), X_OK) != 0) {
    return SkipTest("tool", "/usr/bin/python3 is missing (the foreign STAMP reflector)");
  }
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  const std::string log = absl::StrCat("/tmp/rs-pyrefl-", tb.suffix(), ".log");
  struct Cleanup {
    std::string path;
    ~Cleanup() {
      std::remove(path.c_str());
      std::remove((path + ".err").c_str());
    }
  } cleanup{log};
  pid_t refl = SpawnShell(absl::StrCat("ip netns exec ", tb.ns_b(), " ", kPython, " ", kReflector,
                                       " --bind ", tb.ip4_b(), " --port 862 --log ", log,
                                       tlvs ? " --tlvs" : "", " --duration 60 2> ", log, ".err"),
                          /*own_process_group=*/true);
  const bool ready = WaitForFile(log, "ready", 0, 20);
  if (!ready) {
    kill(refl, SIGTERM);
    WaitPid(refl, 5);
    FAIL("the Python reflector did not start: ", ReadFile(log + ".err"));
  }
  const int64_t before = RealtimeNs();
  auto r = tb.Run(tb.ns_a(),
                  absl::StrCat(kBin, " probe client -i ", tb.if_a(), " --ip ", tb.ip4_extra(20),
                               " --server ", tb.ip4_b(), " --count ", kProbes,
                               " --interval 10ms --timeout 2s --json --clocks-synchronised"),
                  60);
  const int64_t after = RealtimeNs();
  kill(refl, SIGTERM);
  WaitPid(refl, 10);
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);

  int logged_replies = 0;
  const std::map<uint32_t, LoggedReply> logged = ReadReflectorLog(ReadFile(log), &logged_replies);
  // The Follow-Up times the reflector sent, by the reflector sequence number they describe.
  std::map<uint32_t, int64_t> follow_up_of;
  for (const auto& [sseq, l] : logged) {
    if (l.follow_up_ns != 0) follow_up_of[l.follow_up_seq] = l.follow_up_ns;
  }
  CHECK_MESSAGE(logged_replies > 0, ReadFile(log + ".err"));

  ProbeJson out = ParseProbeJson(r.output);
  CHECK(out.bad_lines.empty());
  REQUIRE_MESSAGE(out.summary.is_object(), r.output);
  CHECK(out.summary["sent"] == kProbes);
  CHECK_MESSAGE(CountersBalanceViolation(out.summary) == "", CountersBalanceViolation(out.summary));
  const int64_t received = out.summary["received"].get<int64_t>();
  const int64_t late = out.summary["late"].get<int64_t>();
  CHECK(received > 0);
  // Every answer the client counted was sent by the reflector, and it answered only what
  // it was sent.
  CHECK(received + late <= logged_replies);
  // With TLVs the client sends one closing probe (not counted) to fetch the last real t3.
  CHECK(logged_replies <= kProbes + (tlvs ? 1 : 0));
  CHECK(out.summary["t3"]["closing_probes"] <= (tlvs ? 1 : 0));

  int matched = 0;
  std::set<int64_t> seen_seq;
  for (const nlohmann::json& p : out.probes) {
    if (p.value("status", "ok") != "ok") continue;
    const int64_t seq = p["seq"].get<int64_t>();
    CAPTURE(seq);
    CHECK(seen_seq.insert(seq).second);
    for (const std::string& v : ProbeLineViolations(p, {.one_clock = true})) FAIL_CHECK(v);
    auto it = logged.find(static_cast<uint32_t>(seq));
    if (it == logged.end()) {
      FAIL_CHECK("probe ", seq, " answered but the reflector logged no reply to it");
      continue;
    }
    const LoggedReply& l = it->second;
    CHECK(l.length == (tlvs ? 72 : 44));
    // t2 is the reflector's clock read, exactly as it wrote it.
    CHECK(p["t2"]["ns"].get<int64_t>() == l.t2_ns);
    // The reflector's stamps are program clock reads: never hardware, never "software".
    CHECK(p["t2"]["source"] == "userspace");
    // t3: what the reply carried, or (where the client takes the Follow-Up value) the
    // time the reflector reported for this reply in its next one. Absent only while a
    // client waits for that Follow-Up (probe_json_checks.h).
    if (p["t3"].is_object()) {
      const int64_t t3 = p["t3"]["ns"].get<int64_t>();
      const auto fu = follow_up_of.find(l.ref_seq);
      CHECK_MESSAGE((t3 == l.t3_ns || (fu != follow_up_of.end() && t3 == fu->second)), "t3 ", t3,
                    " is neither the reply's ", l.t3_ns, " nor its Follow-Up");
      const std::string t3_source = p["t3"]["source"];
      CHECK_MESSAGE((t3_source == "estimate" || t3_source == "userspace"), t3_source);
    }
    CHECK(p["reflector_sources"] == (tlvs ? "reported" : "unknown"));
    for (const char* k : {"t1", "t2", "t3", "t4"}) {
      if (!p[k].is_object()) continue;
      const int64_t ns = p[k]["ns"].get<int64_t>();
      CHECK_MESSAGE((before <= ns && ns <= after), k, " ", ns, " outside the run [", before, ", ",
                    after, "]");
    }
    ++matched;
  }
  CHECK(matched == received);
}

}  // namespace

TEST_CASE("probe foreign reflector: a Python RFC 8762/8972 reflector answering the TLVs") {
  RunAgainstPythonReflector(/*tlvs=*/true);
}

TEST_CASE(
    "probe foreign reflector: a Python RFC 8762 reflector that knows no TLVs (44-byte replies)") {
  RunAgainstPythonReflector(/*tlvs=*/false);
}
