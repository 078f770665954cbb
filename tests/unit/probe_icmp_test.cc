// IcmpEchoSender: echo exchanges simulated with synthetic clocks (a perfect
// kernel echoes the data back); matching by identifier, ICMP sequence,
// sequence number and t1; malformed replies counted; loss, late, duplicates,
// reordering and TX stamps through the shared ProbeTracker; and what the probe
// output prints for ICMP results (no reflector figures).
#include "ringstamp/engine/probe/probe_icmp_session.h"

#include <doctest/doctest.h>

#include <array>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/probe_output.h"
#include "ringstamp/engine/proto/byte_order.h"
#include "tests/support/probe_clock.h"

using namespace ringstamp;
using namespace ringstamp::testing;

namespace {

constexpr int64_t kRtt = 23'000;  // request out, reply back, peer stack included
constexpr uint16_t kId = 0x5253;

// A client and a perfect peer stack that echoes every request unchanged.
struct World {
  IcmpEchoSender sender;
  std::vector<ProbeResult> results;
  std::array<std::byte, 2048> data{};

  explicit World(IcmpEchoSenderOptions o) : sender(IcmpEchoSender::Create(o).value()) {}

  auto Sink() {
    return [this](const ProbeResult& r) { results.push_back(r); };
  }

  struct Flight {
    uint32_t seq = 0;
    uint16_t icmp_seq = 0;
    std::vector<std::byte> reply;  // the echoed data
    int64_t t1 = 0, t4 = 0, mono = 0;
  };
  // Sends probe number i at client time kBase + i ms, with its TX stamp when `stamp`.
  Flight Fly(int i, bool stamp = true) {
    Flight f;
    f.mono = kMonoBase + i * kMs;
    const int64_t t1_est = kBase + i * kMs;
    BuiltEcho e = sender.BuildProbe(data, f.mono, t1_est);
    REQUIRE(e.size == sender.options().data_size);
    f.seq = e.seq;
    f.icmp_seq = e.icmp_seq;
    f.t1 = t1_est + kTxLag;
    if (stamp) sender.OnSent(e.seq, Sw(f.t1), Sink());
    f.reply.assign(data.begin(), data.begin() + static_cast<ptrdiff_t>(e.size));
    f.t4 = f.t1 + kRtt;
    return f;
  }
  // `wire_delay` holds the reply that much longer: its RX stamp is later too.
  ReplyMatch Land(const Flight& f, int64_t mono, uint16_t id = kId, int64_t wire_delay = 0) {
    return sender.OnReply(id, f.icmp_seq, f.reply, Sw(f.t4 + wire_delay), 63, mono, Sink());
  }
};

}  // namespace

TEST_CASE("probe icmp: echo exchange gives t1, t4, RTT = network RTT, and no reflector figures") {
  World w({.count = 3, .interval_ns = kMs, .identifier = kId});
  CHECK(w.sender.options().timeout_ns == 1'000 * kMs);  // max(1 s, 3 × interval)
  for (int i = 0; i < 3; ++i) {
    World::Flight f = w.Fly(i);
    CHECK(f.seq == static_cast<uint32_t>(i));
    CHECK(f.icmp_seq == static_cast<uint16_t>(i));
    // The data carries magic, sequence number and t1 (the userspace estimate).
    CHECK(LoadBe32(f.reply.data()) == kIcmpProbeMagic);
    CHECK(LoadBe32(f.reply.data() + 4) == f.seq);
    CHECK(static_cast<int64_t>(LoadBe64(f.reply.data() + 8)) == kBase + i * kMs);
    CHECK(w.Land(f, f.mono + kMs / 10) == ReplyMatch::kMatched);
    REQUIRE(w.results.size() == static_cast<size_t>(i + 1));
    const ProbeResult& r = w.results.back();
    CHECK(r.mode == ProbeMode::kIcmpEcho);
    CHECK(r.status == ProbeStatus::kOk);
    CHECK(r.t1 == Stamp{f.t1, StampSource::kSoftware});
    CHECK(r.t4 == Stamp{f.t4, StampSource::kSoftware});
    CHECK(*r.rtt_ns == kRtt);
    CHECK(*r.network_rtt_ns == kRtt);
    CHECK_FALSE(r.t2.has_value());
    CHECK_FALSE(r.t3.has_value());
    CHECK_FALSE(r.dwell_ns.has_value());
    CHECK_FALSE(r.offset_ns.has_value());
    CHECK_FALSE(r.forward_ns.has_value());
    CHECK_FALSE(r.reverse_ns.has_value());
    CHECK_FALSE(r.forward_ttl.has_value());
    CHECK(*r.reply_ttl == 63);
  }
  CHECK(w.sender.Done());
  const ProbeSummary s = w.sender.Summary();
  CHECK(s.mode == ProbeMode::kIcmpEcho);
  CHECK(s.counters.sent == 3);
  CHECK(s.counters.received == 3);
  CHECK(s.rtt.count == 3);
  CHECK(s.rtt.p50 == kRtt);
  CHECK(s.network_rtt.count == 3);
  CHECK(s.dwell.count == 0);
  CHECK(s.offset.count == 0);
  CHECK(s.sources[0][static_cast<size_t>(StampSource::kSoftware)] == 3);
  CHECK(s.sources[3][static_cast<size_t>(StampSource::kSoftware)] == 3);
  for (size_t i : {size_t{1}, size_t{2}}) {
    for (uint64_t n : s.sources[i]) CHECK(n == 0);
  }
}

TEST_CASE("probe icmp: a reply with another identifier is ignored (counted unmatched)") {
  World w({.count = 1, .interval_ns = kMs, .identifier = kId});
  World::Flight f = w.Fly(0);
  CHECK(w.Land(f, f.mono, kId + 1) == ReplyMatch::kUnmatched);
  CHECK(w.results.empty());
  CHECK(w.sender.counters().unmatched == 1);
  CHECK(w.sender.counters().received == 0);
  CHECK(w.sender.counters().in_flight == 1);
  // The right identifier still matches afterwards.
  CHECK(w.Land(f, f.mono) == ReplyMatch::kMatched);
  CHECK(w.sender.counters().received == 1);
}

TEST_CASE("probe icmp: a duplicate reply is counted and reported, not in the statistics") {
  World w({.count = 2, .interval_ns = kMs, .identifier = kId});
  World::Flight f = w.Fly(0);
  CHECK(w.Land(f, f.mono + 10) == ReplyMatch::kMatched);
  CHECK(w.Land(f, f.mono + 20) == ReplyMatch::kDuplicate);
  REQUIRE(w.results.size() == 2);
  CHECK(w.results[1].status == ProbeStatus::kDuplicate);
  CHECK(w.results[1].mode == ProbeMode::kIcmpEcho);
  const ProbeSummary s = w.sender.Summary();
  CHECK(s.counters.received == 1);
  CHECK(s.counters.duplicated == 1);
  CHECK(s.rtt.count == 1);
}

TEST_CASE("probe icmp: short, foreign and altered payloads are counted malformed, never matched") {
  World w({.count = 1, .interval_ns = kMs, .data_size = 40, .identifier = kId});
  World::Flight f = w.Fly(0);
  auto land = [&](std::span<const std::byte> d, uint16_t icmp_seq = 0) {
    return w.sender.OnReply(kId, icmp_seq, d, Sw(f.t4), 64, f.mono, w.Sink());
  };
  // Empty and short (below the 16-byte header).
  CHECK(land({}) == ReplyMatch::kMalformed);
  CHECK(land(std::span(f.reply).first(8)) == ReplyMatch::kMalformed);
  CHECK(land(std::span(f.reply).first(15)) == ReplyMatch::kMalformed);
  // Header complete but shorter than the probe (a truncated echo).
  CHECK(land(std::span(f.reply).first(16)) == ReplyMatch::kMalformed);
  // Someone else's ping data with our identifier: no magic.
  std::vector<std::byte> foreign(40, std::byte{0x42});
  CHECK(land(foreign) == ReplyMatch::kMalformed);
  // The fill pattern altered on the way.
  std::vector<std::byte> altered = f.reply;
  altered[30] ^= std::byte{0xff};
  CHECK(land(altered) == ReplyMatch::kMalformed);
  // Longer than the probe.
  std::vector<std::byte> longer = f.reply;
  longer.push_back(std::byte{40});
  CHECK(land(longer) == ReplyMatch::kMalformed);
  CHECK(w.sender.counters().malformed == 7);
  CHECK(w.results.empty());
  CHECK(w.sender.counters().in_flight == 1);
  CHECK(land(f.reply) == ReplyMatch::kMatched);
}

TEST_CASE("probe icmp: a reply naming another sequence or t1 than it carries is unmatched") {
  World w({.count = 2, .interval_ns = kMs, .identifier = kId});
  World::Flight f0 = w.Fly(0);
  World::Flight f1 = w.Fly(1);
  // ICMP sequence field that disagrees with the sequence number in the data.
  CHECK(w.sender.OnReply(kId, 7, f0.reply, Sw(f0.t4), 64, f0.mono, w.Sink()) ==
        ReplyMatch::kUnmatched);
  // t1 in the data that is not the one sent with that sequence number.
  std::vector<std::byte> wrong_t1 = f1.reply;
  StoreBe64(wrong_t1.data() + 8, static_cast<uint64_t>(kBase + 12'345));
  CHECK(w.sender.OnReply(kId, f1.icmp_seq, wrong_t1, Sw(f1.t4), 64, f1.mono, w.Sink()) ==
        ReplyMatch::kUnmatched);
  // A sequence number never sent.
  std::vector<std::byte> unsent = f1.reply;
  StoreBe32(unsent.data() + 4, 99);
  CHECK(w.sender.OnReply(kId, 99, unsent, Sw(f1.t4), 64, f1.mono, w.Sink()) ==
        ReplyMatch::kUnmatched);
  CHECK(w.sender.counters().unmatched == 3);
  CHECK(w.results.empty());
}

TEST_CASE("probe icmp: lost, late, and reordered replies as in the STAMP mode") {
  World w({.count = 3, .interval_ns = kMs, .timeout_ns = 10 * kMs, .identifier = kId});
  World::Flight f0 = w.Fly(0), f1 = w.Fly(1), f2 = w.Fly(2);
  // Probe 1 answered first; probe 0 after it (reordered); probe 2 never in time.
  CHECK(w.Land(f1, f1.mono + kMs) == ReplyMatch::kMatched);
  CHECK(w.Land(f0, f0.mono + 2 * kMs) == ReplyMatch::kMatched);
  REQUIRE(w.results.size() == 2);
  CHECK(w.results[1].seq == 0);
  CHECK(w.results[1].reordered);
  CHECK(w.sender.Expire(f2.mono + 11 * kMs, w.Sink()) == 1);
  REQUIRE(w.results.size() == 3);
  CHECK(w.results[2].status == ProbeStatus::kLost);
  CHECK(w.results[2].mode == ProbeMode::kIcmpEcho);
  CHECK(w.results[2].t1.has_value());
  CHECK_FALSE(w.results[2].rtt_ns.has_value());
  CHECK(w.sender.counters().lost == 1);
  // Its reply comes after all: late, moved out of lost.
  CHECK(w.Land(f2, f2.mono + 20 * kMs, kId, 20 * kMs) == ReplyMatch::kLate);
  const ProbeCounters& c = w.sender.counters();
  CHECK(c.lost == 0);
  CHECK(c.late == 1);
  CHECK(c.received == 2);
  CHECK(c.reordered == 1);
  CHECK(c.sent == c.received + c.late + c.lost + c.in_flight);
}

TEST_CASE("probe icmp: a reply waits for its TX stamp, ICMP sequence wraps at 16 bits") {
  World w({.count = 2,
           .interval_ns = kMs,
           .identifier = kId,
           .first_seq = 0xffff,
           .tx_stamp_wait_ns = 5 * kMs});
  World::Flight f = w.Fly(0, /*stamp=*/false);
  CHECK(f.seq == 0xffff);
  CHECK(f.icmp_seq == 0xffff);
  CHECK(w.Land(f, f.mono + 10) == ReplyMatch::kMatched);
  CHECK(w.results.empty());  // held for the TX stamp
  w.sender.OnSent(f.seq, Sw(f.t1), w.Sink());
  REQUIRE(w.results.size() == 1);
  CHECK(w.results[0].t1->source == StampSource::kSoftware);
  CHECK(*w.results[0].rtt_ns == kRtt);
  World::Flight g = w.Fly(1);
  CHECK(g.seq == 0x10000);
  CHECK(g.icmp_seq == 0);
  CHECK(w.Land(g, g.mono + 10) == ReplyMatch::kMatched);
  CHECK(w.results.size() == 2);
}

TEST_CASE("probe icmp: unusable options are refused with a message that says what to change") {
  auto msg = [](IcmpEchoSenderOptions o) {
    auto s = IcmpEchoSender::Create(o);
    REQUIRE_FALSE(s.ok());
    return std::string(s.status().message());
  };
  CHECK(msg({.data_size = 15}).find("--size 16 or more") != std::string::npos);
  CHECK(msg({.data_size = 70'000}).find("smaller --size") != std::string::npos);
  CHECK(msg({.interval_ns = -1}).find("--interval") != std::string::npos);
  CHECK(IcmpEchoSender::Create({.interval_ns = 0}).ok());  // back to back
  CHECK(msg({.timeout_ns = -1}).find("negative") != std::string::npos);
  // A buffer smaller than the data builds nothing.
  auto s = IcmpEchoSender::Create({.count = 1, .data_size = 64}).value();
  std::array<std::byte, 32> small{};
  CHECK(s.BuildProbe(small, 0, kBase).size == 0);
  CHECK(s.counters().sent == 0);
}

TEST_CASE("probe icmp: output lines, JSON and summary say there is no reflector, never print 0") {
  World w({.count = 2, .interval_ns = kMs, .timeout_ns = 5 * kMs, .identifier = kId});
  World::Flight f = w.Fly(0);
  CHECK(w.Land(f, f.mono + 10) == ReplyMatch::kMatched);
  w.Fly(1);
  w.sender.Expire(kMonoBase + 100 * kMs, w.Sink());
  REQUIRE(w.results.size() == 2);

  const std::string line = app::FormatProbeLine(w.results[0]);
  CHECK(line.find("icmp_seq=0") != std::string::npos);
  CHECK(line.find("(sw)") != std::string::npos);
  CHECK(line.find("rtt=23.000µs") != std::string::npos);
  for (const char* absent : {"t2=", "t3=", "dwell", "offset", "fwd", "net="}) {
    CHECK_MESSAGE(line.find(absent) == std::string::npos, absent);
  }
  CHECK(app::FormatProbeLine(w.results[1]).find("lost") != std::string::npos);

  const std::string legend = app::FormatProbeLegend(false, ProbeMode::kIcmpEcho);
  CHECK(legend.find("no reflector stamps") != std::string::npos);
  CHECK(legend.find("network RTT") != std::string::npos);

  const std::set<std::string> reflector_keys = {"t2",          "t3",         "dwell_ns",
                                                "offset_ns",   "forward_ns", "reverse_ns",
                                                "forward_ttl", "t3_error_ns"};
  const nlohmann::json j = app::ProbeResultToJson(w.results[0], false);
  CHECK(j["mode"] == "icmp");
  CHECK(j["rtt_ns"] == kRtt);
  CHECK(j["network_rtt_ns"] == kRtt);
  CHECK(j["t1"]["source"] == "software");
  CHECK(j["t4"]["source"] == "software");
  for (const std::string& k : reflector_keys) CHECK_MESSAGE(!j.contains(k), k);
  CHECK(nlohmann::json::parse(j.dump()) == j);
  const nlohmann::json lost = app::ProbeResultToJson(w.results[1], false);
  CHECK(lost["status"] == "lost");
  CHECK(lost["rtt_ns"].is_null());
  CHECK(lost["t4"].is_null());

  const ProbeSummary s = w.sender.Summary();
  const nlohmann::json sj = app::ProbeSummaryToJson(s);
  CHECK(sj["mode"] == "icmp");
  CHECK(sj["sent"] == 2);
  CHECK(sj["received"] == 1);
  CHECK(sj["lost"] == 1);
  CHECK(sj["rtt_ns"]["count"] == 1);
  CHECK(sj["sources"]["t1"]["software"] == 1);
  CHECK_FALSE(sj["sources"].contains("t2"));
  for (const std::string& k : reflector_keys) CHECK_MESSAGE(!sj.contains(k), k);
  const std::string text = app::FormatProbeSummary(s, "probe icmp 10.0.0.2");
  CHECK(text.find("sent 2, received 1, lost 1") != std::string::npos);
  CHECK(text.find("RTT = network RTT") != std::string::npos);
  CHECK(text.find("no dwell") != std::string::npos);
  CHECK(text.find("dwell (t3 - t2)") == std::string::npos);

  const app::ProbePlotData d = app::MakeProbePlotData(w.results, s, "icmp");
  CHECK(d.network_rtt.count == 0);  // one curve: RTT
  CHECK(d.rtt.count == 1);
  CHECK(d.subtitle.find("ICMP echo") != std::string::npos);
  REQUIRE(d.points.size() == 2);
  CHECK_FALSE(d.points[0].network_rtt_ns.has_value());
  CHECK(d.points[1].lost);
}
