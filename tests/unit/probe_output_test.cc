// Probe output: the JSON keys issue 6 fixes, exactly; text lines that show
// absent stamps as "-" and never a negative count; summaries; plot input.
//
// apps/ is not a library: the output's source is compiled into this test.

#include "apps/probe_output.h"
#include <doctest/doctest.h>
#include <fcntl.h>
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ringstamp/common/clock.h"
#include "ringstamp/common/errno_status.h"

#include <limits>
#include <set>
#include <string>
#include <vector>

#include "ringstamp/engine/probe/probe_session.h"

using namespace ringstamp;
using namespace ringstamp::app;

namespace {

constexpr int64_t kT = 1'700'000'000'000'000'000;

std::set<std::string> Keys(const nlohmann::json& j) {
  std::set<std::string> k;
  for (auto it = j.begin(); it != j.end(); ++it) k.insert(it.key());
  return k;
}

ProbeResult Answered() {
  ProbeResult r;
  r.seq = 12;
  r.send_mono_ns = 5'000;
  r.t1 = Stamp{kT, StampSource::kSoftware};
  r.t2 = Stamp{kT + 20'000, StampSource::kHardwareRaw};
  r.t3 = Stamp{kT + 25'100, StampSource::kEstimate};
  r.t4 = Stamp{kT + 41'234, StampSource::kSoftware};
  r.rtt_ns = 41'234;
  r.dwell_ns = 5'100;
  r.network_rtt_ns = 36'134;
  r.offset_ns = -1'300;
  r.forward_ttl = 64;
  r.reply_ttl = 63;
  r.reflector_seq = 3;
  r.reflector_sources_reported = true;
  return r;
}

ProbeResult Lost(uint32_t seq, int64_t mono) {
  ProbeResult r;
  r.seq = seq;
  r.status = ProbeStatus::kLost;
  r.send_mono_ns = mono;
  r.t1 = Stamp{kT, StampSource::kUserspace};
  return r;
}

const std::set<std::string> kSources = {"hardware", "software", "userspace", "estimate"};

// True when `text` has `prefix` followed by '-' and a digit (a negative number).
// (std::regex trips GCC 12's -Wmaybe-uninitialized under the sanitizers.)
bool HasNegativeNumber(const std::string& text, std::string_view prefix = "") {
  const std::string needle = std::string(prefix) + "-";
  for (size_t i = text.find(needle); i != std::string::npos; i = text.find(needle, i + 1)) {
    const size_t d = i + needle.size();
    if (d < text.size() && text[d] >= '0' && text[d] <= '9') return true;
  }
  return false;
}

}  // namespace

TEST_CASE("probe output: per-probe JSON has the issue's keys with stamps as {ns, source}") {
  const nlohmann::json j = ProbeResultToJson(Answered(), false);
  const std::set<std::string> required = {"seq", "t1",     "t2",       "t3",
                                          "t4",  "rtt_ns", "dwell_ns", "network_rtt_ns"};
  for (const std::string& k : required) CHECK_MESSAGE(j.contains(k), k);
  CHECK(Keys(j) == std::set<std::string>{"type", "seq", "status", "t1", "t2", "t3", "t3_estimate",
                                         "t4", "rtt_ns", "dwell_ns", "network_rtt_ns", "offset_ns",
                                         "rests_on", "reordered", "forward_ttl", "reply_ttl",
                                         "reflector_seq", "reflector_sources", "reflector_clock"});
  CHECK(j["type"] == "probe");
  CHECK(j["seq"] == 12);
  CHECK(j["status"] == "ok");
  for (const char* t : {"t1", "t2", "t3", "t4"}) {
    CHECK(Keys(j[t]) == std::set<std::string>{"ns", "source"});
    CHECK(kSources.contains(j[t]["source"].get<std::string>()));
  }
  CHECK(j["t1"]["ns"] == kT);
  CHECK(j["t1"]["source"] == "software");
  CHECK(j["t2"]["source"] == "hardware");
  CHECK(j["t3"]["source"] == "estimate");
  CHECK(j["rtt_ns"] == 41'234);
  CHECK(j["dwell_ns"] == 5'100);
  CHECK(j["network_rtt_ns"] == 36'134);
  CHECK(j["offset_ns"] == -1'300);
  CHECK(j["reflector_sources"] == "reported");
  CHECK(j["reflector_clock"] == nlohmann::json{{"synchronized", false}, {"error_ns", 0}});
  // One line, and it parses back to the same object.
  const std::string line = j.dump();
  CHECK(line.find('\n') == std::string::npos);
  CHECK(nlohmann::json::parse(line) == j);

  // Synchronised clocks: one-way delays instead of the offset; a follow-up object when present.
  ProbeResult r = Answered();
  r.offset_ns.reset();
  r.forward_ns = 20'000;
  r.reverse_ns = 16'134;
  r.follow_up = ProbeFollowUp{.reflector_seq = 2,
                              .seq = 11,
                              .t3_actual = {kT - 900'000, StampSource::kSoftware},
                              .t3_error_ns = 700};
  nlohmann::json s = ProbeResultToJson(r, true);
  CHECK_FALSE(s.contains("offset_ns"));
  CHECK(s["forward_ns"] == 20'000);
  CHECK(s["reverse_ns"] == 16'134);
  CHECK(Keys(s["follow_up"]) == std::set<std::string>{"reflector_seq", "seq", "t3", "t3_error_ns"});
  CHECK(s["follow_up"]["t3"]["source"] == "software");
  CHECK(s["follow_up"]["t3_error_ns"] == 700);
}

TEST_CASE("probe output: a lost probe's JSON has null stamps and figures, no numbers invented") {
  const nlohmann::json j = ProbeResultToJson(Lost(5, 0), false);
  CHECK(j["status"] == "lost");
  CHECK(j["t1"]["source"] == "userspace");
  for (const char* k : {"t2", "t3", "t4", "rtt_ns", "dwell_ns", "network_rtt_ns", "offset_ns",
                        "forward_ttl", "reply_ttl"}) {
    CHECK_MESSAGE(j[k].is_null(), k);
  }
  CHECK_FALSE(j.contains("reflector_seq"));
}

TEST_CASE("probe output: summary JSON keys and distributions exactly as issue 6 lists them") {
  ProbeSummary s;
  s.counters.sent = 10;
  s.counters.received = 8;
  s.counters.lost = 1;
  s.counters.late = 1;
  s.counters.duplicated = 2;
  s.counters.reordered = 1;
  LatencyStats st;
  for (int64_t v : {30'000, 31'000, 45'000}) st.Add(v);
  s.rtt = st.Summarize();
  s.network_rtt = st.Summarize();
  s.sources[0][static_cast<size_t>(StampSource::kSoftware)] = 9;
  s.sources[1][static_cast<size_t>(StampSource::kHardwareRaw)] = 4;
  s.sources[1][static_cast<size_t>(StampSource::kHardwareSys)] = 5;
  const nlohmann::json j = ProbeSummaryToJson(s);
  for (const char* k : {"type", "sent", "received", "lost", "late", "duplicated", "reordered",
                        "rtt_ns", "network_rtt_ns", "dwell_ns"}) {
    CHECK_MESSAGE(j.contains(k), k);
  }
  CHECK(j["type"] == "summary");
  CHECK(j["sent"] == 10);
  CHECK(j["received"] == 8);
  CHECK(j["lost"] == 1);
  CHECK(j["late"] == 1);
  CHECK(j["duplicated"] == 2);
  CHECK(j["reordered"] == 1);
  const std::set<std::string> dist = {"count", "min", "p50",  "p90",    "p99",
                                      "p999",  "max", "mean", "stddev", "exact"};
  std::set<std::string> figure = dist;
  figure.insert("rests_on");  // what the samples rest on, per stamp source
  for (const char* k : {"rtt_ns", "network_rtt_ns", "dwell_ns", "offset_ns"}) {
    CHECK_MESSAGE(Keys(j[k]) == figure, k);
    CHECK_MESSAGE(Keys(j[k]["rests_on"]) == kSources, k);
  }
  CHECK(Keys(j["t3_error_ns"]) == dist);
  // Three samples hold no p90, p99 or p99.9: null, not the maximum under another name.
  CHECK(j["rtt_ns"]["p90"].is_null());
  CHECK(j["rtt_ns"]["p99"].is_null());
  CHECK(j["rtt_ns"]["p999"].is_null());
  CHECK(j["rtt_ns"]["max"] == 45'000);
  CHECK(j["rtt_ns"]["min"] == 30'000);
  CHECK(j["rtt_ns"]["p50"] == 31'000);
  CHECK(j["rtt_ns"]["max"] == 45'000);
  CHECK(j["rtt_ns"]["mean"].get<double>() == doctest::Approx(35'333.333));
  // An empty distribution says so with nulls, not zeros.
  CHECK(j["dwell_ns"]["count"] == 0);
  CHECK(j["dwell_ns"]["p50"].is_null());
  CHECK(j["dwell_ns"]["mean"].is_null());
  CHECK(Keys(j["sources"]) == std::set<std::string>{"t1", "t2", "t3", "t4"});
  CHECK(Keys(j["sources"]["t1"]) == kSources);
  CHECK(j["sources"]["t1"]["software"] == 9);
  CHECK(j["sources"]["t2"]["hardware"] == 9);  // both hardware kinds
  s.clocks_synchronised = true;
  const nlohmann::json k = ProbeSummaryToJson(s);
  CHECK(k.contains("forward_ns"));
  CHECK(k.contains("reverse_ns"));
  CHECK_FALSE(k.contains("offset_ns"));
}

TEST_CASE("probe output: text line with sources, µs figures and the legend's formulas") {
  const std::string line = FormatProbeLine(Answered());
  CHECK(line ==
        "seq=12 t1=1700000000.000000000(sw) t2=1700000000.000020000(hw) "
        "t3=1700000000.000025100(est) t4=1700000000.000041234(sw) rtt=41.234µs dwell=5.100µs "
        "net=36.134µs offset=-1.300µs ttl=64/63");
  ProbeResult r = Answered();
  r.status = ProbeStatus::kLate;
  r.reordered = true;
  CHECK(FormatProbeLine(r).ends_with(" late reordered"));
  r.status = ProbeStatus::kDuplicate;
  r.reordered = false;
  CHECK(FormatProbeLine(r).ends_with(" duplicate"));
  const std::string legend = FormatProbeLegend(false);
  CHECK(legend.find("rtt = t4 - t1") != std::string::npos);
  CHECK(legend.find("dwell = t3 - t2") != std::string::npos);
  CHECK(legend.find("net = rtt - dwell") != std::string::npos);
  CHECK(legend.find("offset = ((t2 - t1) + (t3 - t4)) / 2") != std::string::npos);
  CHECK(legend.find("positive: the reflector's clock is ahead") != std::string::npos);
  CHECK(FormatProbeLegend(true).find("fwd = t2 - t1") != std::string::npos);
}

TEST_CASE("probe output: absent stamps and figures are '-', never a negative nanosecond count") {
  const std::string lost = FormatProbeLine(Lost(7, 0));
  CHECK(lost ==
        "seq=7 t1=1700000000.000000000(user) t2=- t3=- t4=- lost (no reply within the "
        "timeout)");
  ProbeResult partial = Answered();
  partial.t2.reset();
  partial.t3.reset();
  partial.dwell_ns.reset();
  partial.network_rtt_ns.reset();
  partial.offset_ns.reset();
  partial.forward_ttl.reset();
  const std::string line = FormatProbeLine(partial);
  CHECK(line.find(" t2=- t3=- ") != std::string::npos);
  CHECK(line.find(" dwell=- net=- offset=- ttl=-/63") != std::string::npos);
  // No "=-<digit>" anywhere: nothing absent printed as a negative number.
  for (const std::string& l : {lost, line}) {
    CHECK_FALSE(HasNegativeNumber(l, "="));
  }
}

TEST_CASE("probe output: durations keep every nanosecond, sign only when negative") {
  CHECK(HasNegativeNumber("offset=-1.300µs", "="));  // the checker itself can fail
  CHECK_FALSE(HasNegativeNumber("t2=- t3=-", "="));
  CHECK(FormatDurationUs(0) == "0.000µs");
  CHECK(FormatDurationUs(999) == "0.999µs");
  CHECK(FormatDurationUs(41'234) == "41.234µs");
  CHECK(FormatDurationUs(-1) == "-0.001µs");
  CHECK(FormatDurationUs(-1'300) == "-1.300µs");
  CHECK(FormatDurationUs(12'345'678'901) == "12345678.901µs");
  CHECK(FormatDurationUs(std::numeric_limits<int64_t>::min()) == "-9223372036854775.808µs");
}

TEST_CASE("probe output: the text summary from a real sender run") {
  auto sender =
      ProbeSender::Create({.count = 3, .interval_ns = 1'000'000, .timeout_ns = 5'000'000}).value();
  std::array<std::byte, 128> buf{};
  std::vector<ProbeResult> results;
  auto sink = [&](const ProbeResult& r) { results.push_back(r); };
  for (int i = 0; i < 3; ++i) sender.BuildProbe(buf, i * 1'000'000, kT + i * 1'000'000);
  sender.Expire(std::numeric_limits<int64_t>::max(), sink);
  const ProbeSummary s = sender.Summary();
  const std::string text = FormatProbeSummary(s, "probe 10.0.0.2");
  CHECK(text.starts_with("--- probe 10.0.0.2 summary ---\n"));
  CHECK(text.find("sent 3, received 0, lost 3, late 0, duplicated 0, reordered 0") !=
        std::string::npos);
  CHECK(text.find("p99.9") != std::string::npos);
  CHECK(text.find("network RTT (rtt - dwell)") != std::string::npos);
  CHECK(text.find("offset (reflector - ours)") != std::string::npos);
  CHECK(text.find("sources: t1 none; t2 none; t3 none; t4 none") != std::string::npos);
  CHECK_FALSE(HasNegativeNumber(text));  // empty rows show "-"
  CHECK(results.size() == 3);
}

TEST_CASE("probe output: probes the relay refused are named in the summary text and JSON") {
  auto sender =
      ProbeSender::Create({.count = 3, .interval_ns = 1'000'000, .timeout_ns = 5'000'000}).value();
  std::array<std::byte, 128> buf{};
  std::vector<ProbeResult> results;
  auto sink = [&](const ProbeResult& r) { results.push_back(r); };
  for (int i = 0; i < 3; ++i) {
    const BuiltProbe b = sender.BuildProbe(buf, i * 1'000'000, kT + i * 1'000'000);
    REQUIRE(b.size > 0);
    if (i == 1) sender.OnSendFailed(b.seq);
  }
  sender.Expire(std::numeric_limits<int64_t>::max(), sink);
  const ProbeSummary s = sender.Summary();
  const std::string text = FormatProbeSummary(s, "probe 10.0.0.2");
  CHECK(text.find("sent 3, received 0, lost 2,") != std::string::npos);
  CHECK(text.find("not sent 1 of the 3 (refused by the relay, never on the wire") !=
        std::string::npos);
  const nlohmann::json j = ProbeSummaryToJson(s);
  CHECK(j["sent"] == 3);
  CHECK(j["lost"] == 2);
  CHECK(j["send_failures"] == 1);
  // Without refusals the line is not there.
  auto clean = ProbeSender::Create({.count = 1, .interval_ns = 1'000'000}).value();
  REQUIRE(clean.BuildProbe(buf, 0, kT).size > 0);
  CHECK(FormatProbeSummary(clean.Summary(), "p").find("not sent") == std::string::npos);
}

TEST_CASE("probe output: a figure on an estimate is marked in the line, the JSON and the summary") {
  ProbeResult r = Answered();  // t3 is the reflector's estimate: dwell and net rest on it
  r.t3_estimate = r.t3;
  r.basis[static_cast<size_t>(ProbeFigure::kRtt)] = StampSource::kSoftware;
  r.basis[static_cast<size_t>(ProbeFigure::kDwell)] = StampSource::kEstimate;
  r.basis[static_cast<size_t>(ProbeFigure::kNetworkRtt)] = StampSource::kEstimate;
  r.basis[static_cast<size_t>(ProbeFigure::kOffset)] = StampSource::kEstimate;
  const std::string line = FormatProbeLine(r);
  CHECK(line.find(" rtt=41.234µs dwell=5.100µs(est) net=36.134µs(est) offset=-1.300µs(est)") !=
        std::string::npos);
  CHECK(line.find("t3est=") == std::string::npos);  // t3 is the estimate itself
  const nlohmann::json j = ProbeResultToJson(r, false);
  CHECK(j["rests_on"] == nlohmann::json{{"rtt_ns", "software"},
                                        {"dwell_ns", "estimate"},
                                        {"network_rtt_ns", "estimate"},
                                        {"offset_ns", "estimate"}});
  CHECK(j["t3_estimate"] == j["t3"]);
  // The real t3 came: both are shown, and nothing is marked.
  ProbeResult real = Answered();
  real.t3_estimate = real.t3;
  real.t3 = Stamp{kT + 25'800, StampSource::kSoftware};
  real.basis[static_cast<size_t>(ProbeFigure::kNetworkRtt)] = StampSource::kSoftware;
  const std::string real_line = FormatProbeLine(real);
  CHECK(real_line.find("t3=1700000000.000025800(sw) t4=") != std::string::npos);
  CHECK(real_line.find(" t3est=1700000000.000025100(est) ") != std::string::npos);
  CHECK(real_line.find(" dwell=5.100µs ") != std::string::npos);
  CHECK(real_line.find("net=36.134µs ") != std::string::npos);

  ProbeSummary s;
  s.counters.sent = s.counters.received = 300;
  s.counters.t3_real = 288;
  s.counters.t3_estimated = 12;
  s.counters.t3_wait_expired = 12;
  LatencyStats st;
  for (int i = 0; i < 300; ++i) st.Add(30'000 + i);
  s.rtt = s.network_rtt = st.Summarize();
  const size_t net = static_cast<size_t>(ProbeFigure::kNetworkRtt);
  s.basis[net][static_cast<size_t>(StampSource::kSoftware)] = 288;
  s.basis[net][static_cast<size_t>(StampSource::kEstimate)] = 12;
  const std::string text = FormatProbeSummary(s, "probe");
  CHECK(text.find("figures rest on (their weakest stamp): network RTT software 288, estimate 12") !=
        std::string::npos);
  CHECK(text.find("t3: the reflector's real TX time for 288 of 300 answered probes, its estimate "
                  "for 12") != std::string::npos);
  // 300 samples hold a p99 but no p99.9.
  CHECK(text.find("n/a (n=300") == std::string::npos);
  CHECK(text.find("(n/a: n=300 is too few for p99.9)") != std::string::npos);
  const nlohmann::json sj = ProbeSummaryToJson(s);
  CHECK(sj["network_rtt_ns"]["rests_on"]["estimate"] == 12);
  CHECK(sj["network_rtt_ns"]["rests_on"]["software"] == 288);
  CHECK(sj["network_rtt_ns"]["p99"] == s.network_rtt.p99);
  CHECK(sj["network_rtt_ns"]["p999"].is_null());
  CHECK(sj["t3"]["estimated"] == 12);
  const ProbePlotData plot = MakeProbePlotData({}, s, "t");
  CHECK(plot.network_rtt_name == "network RTT (on an estimate or userspace stamp for 12 of 300)");
}

TEST_CASE("probe output: 50 samples hold a p90 but no p99 or p99.9") {
  LatencyStats st;
  for (int i = 1; i <= 50; ++i) st.Add(i * 1'000);
  const LatencySummary l = st.Summarize();
  const nlohmann::json j = LatencyToJson(l);
  CHECK(j["count"] == 50);
  CHECK(j["p50"] == l.p50);
  CHECK(j["p90"] == l.p90);
  CHECK(j["p99"].is_null());
  CHECK(j["p999"].is_null());
  CHECK(j["max"] == 50'000);
  ProbeSummary s;
  s.rtt = l;
  const std::string text = FormatProbeSummary(s, "probe");
  CHECK(text.find("(n/a: n=50 is too few for p99, p99.9)") != std::string::npos);
}

TEST_CASE("probe output: reflector summary text and JSON") {
  ReflectorSummary s;
  s.reflected = 5;
  s.dropped[static_cast<size_t>(ReflectorDrop::kTruncated)] = 2;
  s.t2_sources[static_cast<size_t>(StampSource::kSoftware)] = 5;
  s.tx_stamps = 4;
  s.tx_sources[static_cast<size_t>(StampSource::kSoftware)] = 4;
  LatencyStats e;
  for (int64_t v : {600, 700, 800, 2'000}) e.Add(v);
  s.t3_error = e.Summarize();
  const std::string text = FormatReflectorSummary(s, "reflector");
  CHECK(text.starts_with("--- reflector summary ---\n"));
  CHECK(text.find("reflected 5, dropped 2 (truncated 2, output_too_small 0)") != std::string::npos);
  CHECK(text.find("TX stamps 4 (software 4)") != std::string::npos);
  CHECK(text.find("t3 error (real TX - t3)") != std::string::npos);
  CHECK(text.find("2.000µs") != std::string::npos);
  const nlohmann::json j = ReflectorSummaryToJson(s);
  CHECK(j["type"] == "server_summary");
  CHECK(j["reflected"] == 5);
  CHECK(j["dropped"]["truncated"] == 2);
  CHECK(j["t3_error_ns"]["max"] == 2'000);
  CHECK(j["t2_sources"]["software"] == 5);
}

TEST_CASE("probe output: plot data keeps answered probes, lost ones once, no duplicates") {
  std::vector<ProbeResult> rs;
  ProbeResult a = Answered();
  a.seq = 0;
  a.send_mono_ns = 100;
  rs.push_back(a);
  rs.push_back(Lost(1, 200));  // later answered late
  rs.push_back(Lost(2, 300));  // never answered
  ProbeResult late = Answered();
  late.seq = 1;
  late.send_mono_ns = 200;
  late.status = ProbeStatus::kLate;
  rs.push_back(late);
  ProbeResult dup = Answered();
  dup.status = ProbeStatus::kDuplicate;
  rs.push_back(dup);
  ProbeSummary s;
  s.rtt.count = 2;
  s.rtt.p50 = 41'234;
  const ProbePlotData d = MakeProbePlotData(rs, s, "ringstamp probe", "software stamps on veth");
  CHECK(d.title == "ringstamp probe");
  CHECK(d.subtitle == "software stamps on veth");
  CHECK(d.rtt.p50 == 41'234);
  REQUIRE(d.points.size() == 3);
  CHECK(d.points[0].time_ns == 100);
  CHECK(d.points[0].rtt_ns == 41'234);
  CHECK(*d.points[0].network_rtt_ns == 36'134);
  CHECK(d.points[1].lost);
  CHECK(d.points[1].time_ns == 300);
  CHECK_FALSE(d.points[2].lost);
  CHECK(d.points[2].time_ns == 200);
  // The time origin on the system clock: the first probe with a TX time, shifted back to the
  // earliest point (its send time 100 ns before).
  REQUIRE(rs[0].t1.has_value());
  REQUIRE(d.origin_realtime_ns.has_value());
  CHECK(*d.origin_realtime_ns == rs[0].t1->ns);
  ProbeResult no_stamp = Answered();
  no_stamp.t1.reset();
  const std::vector<ProbeResult> unstamped = {no_stamp};
  CHECK_FALSE(MakeProbePlotData(unstamped, s, "t").origin_realtime_ns.has_value());
  s.sources[0][static_cast<size_t>(StampSource::kSoftware)] = 2;
  s.sources[1][static_cast<size_t>(StampSource::kSoftware)] = 1;
  s.sources[1][static_cast<size_t>(StampSource::kUserspace)] = 1;
  s.sources[2][static_cast<size_t>(StampSource::kEstimate)] = 2;
  s.sources[3][static_cast<size_t>(StampSource::kHardwareSys)] = 2;
  CHECK(MakeProbePlotData(rs, s, "t").subtitle ==
        "stamps: t1 software, t2 software+userspace, t3 estimate, t4 hardware");
}
