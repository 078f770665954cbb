// ProbeSender (+ ProbeReflector): STAMP exchanges simulated end to end with
// synthetic clocks, every figure checked exactly; loss, late, duplicate and
// reordered replies; sequence wrap; TX stamps after the reply; bad options.
#include "ringstamp/engine/probe/probe_session.h"

#include <doctest/doctest.h>

#include <array>
#include <cstring>
#include <limits>
#include <vector>

#include "ringstamp/engine/probe/probe_reflector.h"
#include "ringstamp/engine/probe/probe_tlv.h"
#include "ringstamp/engine/proto/byte_order.h"
#include "tests/support/probe_clock.h"

using namespace ringstamp;
using namespace ringstamp::testing;

namespace {

constexpr int64_t kForward = 10'000;  // one-way delay to the reflector
constexpr int64_t kDwell = 4'000;     // reflector: t3 estimate − t2
constexpr int64_t kT3Error = 700;     // reflector: real TX − t3 estimate
constexpr int64_t kReverse = 12'000;  // one-way delay back

// A client and a reflector joined by a perfect wire; the reflector's clock is
// `offset` ns ahead of the client's.
struct World {
  ProbeSender sender;
  ProbeReflector reflector;
  int64_t offset = 0;
  std::vector<ProbeResult> results;
  std::array<std::byte, 2048> probe{};
  std::array<std::byte, 2048> reply{};

  // The reflector writes the plain clock read as t3 (no learned TX latency): these tests tell
  // the real t3 from the estimate by the kT3Error between them.
  explicit World(ProbeSenderOptions so, int64_t reflector_offset = 0,
                 ProbeReflectorOptions ro = {.learn_t3_latency = false})
      : sender(ProbeSender::Create(so).value()),
        reflector(ProbeReflector::Create(ro).value()),
        offset(reflector_offset) {}

  auto Sink() {
    return [this](const ProbeResult& r) { results.push_back(r); };
  }

  // Sends probe number i at client time kBase + i ms; returns its seq and the reply bytes.
  struct Flight {
    uint32_t seq = 0;
    std::vector<std::byte> reply;  // the reflector's answer, delivered by Land
    int64_t t1 = 0, t4 = 0, mono = 0;
    uint64_t reflection_id = 0;
  };
  Flight Fly(int i, bool reflector_tx_stamp = true) {
    Flight f;
    f.mono = kMonoBase + i * kMs;
    const int64_t t1_est = kBase + i * kMs;
    BuiltProbe b = sender.BuildProbe(probe, f.mono, t1_est);
    REQUIRE(b.size == sender.options().packet_size);
    f.seq = b.seq;
    f.t1 = t1_est + kTxLag;
    sender.OnSent(b.seq, Sw(f.t1), Sink());
    const int64_t t2 = f.t1 + kForward + offset;  // reflector clock
    const int64_t t3 = t2 + kDwell;
    Reflection r = reflector.Reflect(std::span(probe).first(b.size), Sw(t2), 63, 42, t3, reply);
    REQUIRE(r.size == b.size);
    f.reply.assign(reply.begin(), reply.begin() + static_cast<ptrdiff_t>(r.size));
    f.reflection_id = r.id;
    if (reflector_tx_stamp) reflector.OnSent(r.id, Sw(t3 + kT3Error));
    f.t4 = t3 + kT3Error - offset + kReverse;  // client clock
    return f;
  }
  // Delivers the reply at monotonic time `mono`; `wire_delay` holds it that much longer on
  // the way back, so its RX stamp (t4) is later too (a late reply is late by its stamp).
  ReplyMatch Land(const Flight& f, int64_t mono, int64_t wire_delay = 0) {
    return sender.OnReply(f.reply, Sw(f.t4 + wire_delay), 61, mono, Sink());
  }
};

}  // namespace

TEST_CASE("probe: exchange through our reflector, clocks not synchronised: every figure exact") {
  // Every figure is computed from the reflector's real t3, which comes in its next reply's
  // Follow-Up TLV: result i is reported when reply i + 1 lands, the last one with the
  // uncounted closing probe's reply. (With t3 taken one probe off, or left at the
  // estimate, dwell and network RTT below are off by kT3Error.)
  constexpr int64_t kOffset = 2'500;
  World w({.count = 3, .interval_ns = kMs}, kOffset);
  CHECK(w.sender.requests_reflector_info());
  CHECK(w.sender.options().timeout_ns == 1'000 * kMs);  // max(1 s, 3 × interval)
  CHECK(w.sender.options().t3_wait_ns == 2 * kMs + 50 * kMs);
  std::vector<World::Flight> flights;
  for (int i = 0; i < 3; ++i) {
    flights.push_back(w.Fly(i));
    CHECK(flights.back().seq == static_cast<uint32_t>(i));
    CHECK(w.Land(flights.back(), flights.back().mono + kMs / 10) == ReplyMatch::kMatched);
    // The reply to probe i finishes probe i − 1: its real t3 came with it.
    CHECK(w.results.size() == static_cast<size_t>(i));
  }
  CHECK_FALSE(w.sender.Done());
  // The closing probe: due one interval after the last, not counted, no result of its own.
  REQUIRE(w.sender.NextSendAt().has_value());
  CHECK(*w.sender.NextSendAt() == kMonoBase + 3 * kMs);
  World::Flight closing = w.Fly(3);
  CHECK(w.sender.IsClosingProbe(closing.seq));
  CHECK(w.Land(closing, closing.mono + kMs / 10) == ReplyMatch::kMatched);
  REQUIRE(w.results.size() == 3);
  CHECK_FALSE(w.sender.NextSendAt().has_value());
  CHECK(w.sender.Done());
  for (int i = 0; i < 3; ++i) {
    const World::Flight& f = flights[static_cast<size_t>(i)];
    const ProbeResult& r = w.results[static_cast<size_t>(i)];
    CHECK(r.seq == f.seq);
    CHECK(r.status == ProbeStatus::kOk);
    CHECK_FALSE(r.reordered);
    const int64_t t2 = f.t1 + kForward + kOffset;
    CHECK(*r.t1 == Stamp{f.t1, StampSource::kSoftware});
    CHECK(*r.t2 == Stamp{t2, StampSource::kSoftware});
    CHECK(*r.t3 == Stamp{t2 + kDwell + kT3Error, StampSource::kSoftware});  // the real one
    CHECK(*r.t3_estimate == Stamp{t2 + kDwell, StampSource::kEstimate});    // as written
    CHECK(*r.t4 == Stamp{f.t4, StampSource::kSoftware});
    CHECK(*r.rtt_ns == kForward + kDwell + kT3Error + kReverse);
    CHECK(*r.rtt_ns == r.t4->ns - r.t1->ns);
    // What sockperf would measure: our userspace RX stamp (Sw: software + 3 µs) minus our
    // userspace send time (the t1 estimate, kTxLag before the kernel's TX stamp).
    CHECK(*r.user_rtt_ns == f.t4 + 3'000 - (f.t1 - kTxLag));
    CHECK(*r.dwell_ns == kDwell + kT3Error);
    CHECK(*r.dwell_ns == r.t3->ns - r.t2->ns);
    CHECK(*r.network_rtt_ns == kForward + kReverse);
    CHECK(*r.network_rtt_ns == *r.rtt_ns - *r.dwell_ns);
    // ((t2 − t1) + (t3 − t4)) / 2 = ((F + O) + (O − R)) / 2
    CHECK(*r.offset_ns == (2 * kOffset + kForward - kReverse) / 2);
    CHECK_FALSE(r.forward_ns.has_value());
    CHECK_FALSE(r.reverse_ns.has_value());
    for (ProbeFigure fig :
         {ProbeFigure::kRtt, ProbeFigure::kDwell, ProbeFigure::kNetworkRtt, ProbeFigure::kOffset}) {
      CHECK(r.basis[static_cast<size_t>(fig)] == StampSource::kSoftware);
    }
    CHECK(*r.forward_ttl == 63);
    CHECK(*r.reply_ttl == 61);
    CHECK(r.reflector_seq == static_cast<uint32_t>(i));
    CHECK(r.reflector_sources_reported);
    CHECK_FALSE(r.reflector_synchronized);
    CHECK(r.reflector_error_ns >= 1'000'000);
    if (i == 0) {
      CHECK_FALSE(r.follow_up.has_value());
    } else {
      // The reflector's real TX time of its previous reply, and the error of that reply's t3.
      REQUIRE(r.follow_up.has_value());
      CHECK(r.follow_up->reflector_seq == static_cast<uint32_t>(i - 1));
      CHECK(*r.follow_up->seq == static_cast<uint32_t>(i - 1));
      CHECK(r.follow_up->t3_actual.source == StampSource::kSoftware);
      CHECK(*r.follow_up->t3_error_ns == kT3Error);
    }
  }
  ProbeSummary s = w.sender.Summary();
  CHECK(s.counters.sent == 3);
  CHECK(s.counters.received == 3);
  CHECK(s.counters.lost + s.counters.late + s.counters.duplicated + s.counters.reordered == 0);
  CHECK(s.counters.in_flight == 0);
  CHECK(s.counters.unmatched == 0);
  CHECK(s.counters.t3_real == 3);
  CHECK(s.counters.t3_estimated == 0);
  CHECK(s.counters.closing_probes == 1);
  CHECK(s.counters.closing_replies == 1);
  CHECK(s.rtt.count == 3);
  CHECK(s.rtt.min == kForward + kDwell + kT3Error + kReverse);
  CHECK(s.rtt.max == s.rtt.min);
  CHECK(s.network_rtt.p50 == kForward + kReverse);
  CHECK(s.dwell.p50 == kDwell + kT3Error);
  CHECK(s.offset.count == 3);
  CHECK(s.forward.count == 0);
  CHECK(s.t3_error.count == 3);  // the closing reply brought the last one's
  CHECK(s.t3_error.p50 == kT3Error);
  for (size_t i : {0u, 1u, 2u, 3u}) {
    CHECK(s.sources[i][static_cast<size_t>(StampSource::kSoftware)] == 3);
  }
  CHECK(s.basis[static_cast<size_t>(ProbeFigure::kNetworkRtt)]
               [static_cast<size_t>(StampSource::kSoftware)] == 3);
  CHECK(s.basis[static_cast<size_t>(ProbeFigure::kNetworkRtt)]
               [static_cast<size_t>(StampSource::kEstimate)] == 0);
  CHECK(s.reflector_sources_reported == 3);
  ReflectorSummary rs = w.reflector.Summary();
  CHECK(rs.reflected == 4);
  CHECK(rs.tlv_requests == 4);
  CHECK(rs.t3_error.count == 4);
  CHECK(rs.t3_error.min == kT3Error);
  CHECK(rs.t3_error.max == kT3Error);
}

TEST_CASE("probe: without a follow-up in time, t3 stays the estimate and every figure says so") {
  // The reflector's TX stamp of reply 0 never comes, so no Follow-Up names it: the result
  // waits t3_wait_ns, then is reported on the estimate, marked as resting on it.
  World w({.count = 2, .interval_ns = kMs, .t3_wait_ns = 5 * kMs});
  World::Flight f0 = w.Fly(0, /*reflector_tx_stamp=*/false);
  CHECK(w.Land(f0, f0.mono + 1) == ReplyMatch::kMatched);
  World::Flight f1 = w.Fly(1);
  CHECK(w.Land(f1, f1.mono + 1) == ReplyMatch::kMatched);
  CHECK(w.results.empty());
  CHECK(w.sender.NextDeadline() == f0.mono + 1 + 5 * kMs);
  w.sender.Expire(f0.mono + 1 + 5 * kMs, w.Sink());
  REQUIRE(w.results.size() == 1);
  const ProbeResult& r = w.results[0];
  CHECK(r.t3->source == StampSource::kEstimate);
  CHECK(*r.t3 == *r.t3_estimate);
  CHECK(*r.dwell_ns == kDwell);
  CHECK(r.basis[static_cast<size_t>(ProbeFigure::kDwell)] == StampSource::kEstimate);
  CHECK(r.basis[static_cast<size_t>(ProbeFigure::kNetworkRtt)] == StampSource::kEstimate);
  CHECK(r.basis[static_cast<size_t>(ProbeFigure::kRtt)] == StampSource::kSoftware);
  // Probe 1 gets its real t3 from the closing probe's reply.
  World::Flight closing = w.Fly(2);
  CHECK(w.Land(closing, closing.mono + 1) == ReplyMatch::kMatched);
  REQUIRE(w.results.size() == 2);
  CHECK(w.results[1].t3->source == StampSource::kSoftware);
  CHECK(w.sender.Done());
  ProbeSummary s = w.sender.Summary();
  CHECK(s.counters.t3_real == 1);
  CHECK(s.counters.t3_estimated == 1);
  CHECK(s.counters.t3_wait_expired == 1);
  CHECK(s.basis[static_cast<size_t>(ProbeFigure::kNetworkRtt)]
               [static_cast<size_t>(StampSource::kEstimate)] == 1);
  CHECK(s.basis[static_cast<size_t>(ProbeFigure::kNetworkRtt)]
               [static_cast<size_t>(StampSource::kSoftware)] == 1);
}

TEST_CASE("probe: a stop waits for open probes within their timeout, then counts them unanswered") {
  World w({.count = 0, .interval_ns = kMs, .timeout_ns = 10 * kMs, .t3_wait_ns = 0});
  World::Flight f0 = w.Fly(0);
  World::Flight f1 = w.Fly(1);
  (void)f1;
  CHECK(w.Land(f0, f0.mono + 1) == ReplyMatch::kMatched);
  w.sender.StopSending();
  CHECK_FALSE(w.sender.NextSendAt().has_value());
  CHECK_FALSE(w.sender.Done());  // probe 1 is still within its timeout
  w.sender.AbandonAtStop(w.Sink());
  CHECK(w.sender.Done());
  ProbeSummary s = w.sender.Summary();
  CHECK(s.counters.sent == 2);
  CHECK(s.counters.received == 1);
  CHECK(s.counters.lost == 0);
  CHECK(s.counters.unanswered_at_stop == 1);
  CHECK(s.counters.sent == s.counters.received + s.counters.late + s.counters.lost +
                               s.counters.in_flight + s.counters.unanswered_at_stop);
  REQUIRE(w.results.size() == 2);
  CHECK(w.results[1].status == ProbeStatus::kUnanswered);
}

TEST_CASE("probe: late or on time is judged from the reply's RX stamp, not its processing time") {
  World w({.count = 2, .interval_ns = kMs, .timeout_ns = 10 * kMs, .t3_wait_ns = 0});
  World::Flight f0 = w.Fly(0);
  // Processed 20 ms after sending (a slow worker), but the RX stamp says it came in 27 µs.
  CHECK(w.Land(f0, f0.mono + 20 * kMs) == ReplyMatch::kMatched);
  // Expire reported probe 1 lost at its deadline; its reply's RX stamp shows it in time.
  World::Flight f1 = w.Fly(1);
  w.sender.Expire(f1.mono + 10 * kMs, w.Sink());
  CHECK(w.sender.counters().lost == 1);
  CHECK(w.Land(f1, f1.mono + 30 * kMs) == ReplyMatch::kMatched);
  ProbeSummary s = w.sender.Summary();
  CHECK(s.counters.received == 2);
  CHECK(s.counters.late == 0);
  CHECK(s.counters.lost == 0);
}

TEST_CASE("probe: synchronised clocks give one-way delays and no offset") {
  World w({.count = 1, .interval_ns = kMs, .clocks_synchronised = true});
  World::Flight f = w.Fly(0);
  CHECK(w.Land(f, f.mono + 1) == ReplyMatch::kMatched);
  World::Flight closing = w.Fly(1);
  CHECK(w.Land(closing, closing.mono + 1) == ReplyMatch::kMatched);
  REQUIRE(w.results.size() == 1);
  const ProbeResult& r = w.results[0];
  CHECK(*r.forward_ns == kForward);
  CHECK(*r.reverse_ns == kReverse);  // from the real t3: the reflector's send lag is not in it
  CHECK(*r.forward_ns + *r.reverse_ns == *r.network_rtt_ns);
  CHECK_FALSE(r.offset_ns.has_value());
  ProbeSummary s = w.sender.Summary();
  CHECK(s.clocks_synchronised);
  CHECK(s.forward.p50 == kForward);
  CHECK(s.reverse.p50 == kReverse);
  CHECK(s.offset.count == 0);
}

TEST_CASE("probe: without a TX stamp t1 is the userspace estimate written into the probe") {
  World w({.count = 1, .interval_ns = kMs, .t3_wait_ns = 0});
  const int64_t mono = kMonoBase;
  BuiltProbe b = w.sender.BuildProbe(w.probe, mono, kBase);
  REQUIRE(b.size == kProbeTlvPacketSize);
  Reflection r = w.reflector.Reflect(std::span(w.probe).first(b.size), Sw(kBase + 100), 64, 1,
                                     kBase + 200, w.reply);
  REQUIRE(w.sender.OnReply(std::span(w.reply).first(r.size), Sw(kBase + 1'000), 64, mono + 10,
                           w.Sink()) == ReplyMatch::kMatched);
  REQUIRE(w.results.size() == 1);
  CHECK(*w.results[0].t1 == Stamp{kBase, StampSource::kUserspace});
  CHECK(*w.results[0].rtt_ns == 1'000);
  // A TX stamp that comes after the result changes nothing and is counted.
  w.sender.OnSent(b.seq, Sw(kBase + 5), w.Sink());
  CHECK(w.results.size() == 1);
  CHECK(w.sender.counters().tx_stamps_after_result == 1);
}

TEST_CASE("probe: hardware TX and RX stamps mapped to system time win over software") {
  World w({.count = 1, .interval_ns = kMs, .t3_wait_ns = 0});
  BuiltProbe b = w.sender.BuildProbe(w.probe, kMonoBase, kBase);
  Timestamps tx = Sw(kBase + 900);
  tx.hardware_ns = 123;  // raw PHC time
  tx.hardware_system_ns = kBase + 800;
  w.sender.OnSent(b.seq, tx, w.Sink());
  Timestamps rx_refl;
  rx_refl.hardware_ns = 77;
  rx_refl.hardware_system_ns = kBase + 5'000;
  rx_refl.software_ns = kBase + 5'100;
  Reflection r =
      w.reflector.Reflect(std::span(w.probe).first(b.size), rx_refl, 64, 1, kBase + 6'000, w.reply);
  Timestamps rx = Sw(kBase + 11'000);
  rx.hardware_ns = 99;
  rx.hardware_system_ns = kBase + 10'900;
  REQUIRE(w.sender.OnReply(std::span(w.reply).first(r.size), rx, 64, kMonoBase + 1, w.Sink()) ==
          ReplyMatch::kMatched);
  const ProbeResult& p = w.results.at(0);
  CHECK(*p.t1 == Stamp{kBase + 800, StampSource::kHardwareRaw});
  CHECK(*p.t2 == Stamp{kBase + 5'000, StampSource::kHardwareRaw});  // reflector said HW assist
  CHECK(p.t3->source == StampSource::kEstimate);
  CHECK(*p.t4 == Stamp{kBase + 10'900, StampSource::kHardwareRaw});
  CHECK(*p.rtt_ns == 10'100);
  CHECK(*p.dwell_ns == 1'000);
  CHECK(*p.network_rtt_ns == 9'100);
}

TEST_CASE("probe: a foreign reflector's 44-byte answer: t2 userspace, t3 estimate") {
  World w({.count = 1, .interval_ns = kMs, .packet_size = kStampPacketSize});
  CHECK_FALSE(w.sender.requests_reflector_info());
  BuiltProbe b = w.sender.BuildProbe(w.probe, kMonoBase, kBase);
  REQUIRE(b.size == kStampPacketSize);
  StampSenderPacket sp = *ParseStampSender(std::span(w.probe).first(b.size));
  StampReflectorPacket rp =
      MakeStampReflection(sp, 60, 900, UnixNsToNtp(kBase + 4'000), UnixNsToNtp(kBase + 4'300),
                          StampErrorEstimate::FromNs(10'000, true));
  REQUIRE(BuildStampReflector(w.reply, rp) == kStampPacketSize);
  REQUIRE(w.sender.OnReply(std::span(w.reply).first(kStampPacketSize), Sw(kBase + 9'000), 60,
                           kMonoBase + 1, w.Sink()) == ReplyMatch::kMatched);
  const ProbeResult& r = w.results.at(0);
  CHECK(*r.t2 == Stamp{kBase + 4'000, StampSource::kUserspace});
  CHECK(*r.t3 == Stamp{kBase + 4'300, StampSource::kEstimate});
  CHECK(*r.dwell_ns == 300);
  CHECK(*r.rtt_ns == 9'000);
  CHECK(*r.network_rtt_ns == 8'700);
  CHECK_FALSE(r.reflector_sources_reported);
  CHECK(r.reflector_synchronized);
  CHECK(r.reflector_seq == 900);
  CHECK(*r.forward_ttl == 60);
}

TEST_CASE("probe: a reply that says nothing about t2/t3 (zero fields) leaves them absent") {
  World w({.count = 1, .interval_ns = kMs, .packet_size = kStampPacketSize});
  BuiltProbe b = w.sender.BuildProbe(w.probe, kMonoBase, kBase);
  StampSenderPacket sp = *ParseStampSender(std::span(w.probe).first(b.size));
  StampReflectorPacket rp = MakeStampReflection(sp, 64, 0, 0, 0, {});
  REQUIRE(BuildStampReflector(w.reply, rp) == kStampPacketSize);
  REQUIRE(w.sender.OnReply(std::span(w.reply).first(kStampPacketSize), Sw(kBase + 9'000), 64,
                           kMonoBase + 1, w.Sink()) == ReplyMatch::kMatched);
  const ProbeResult& r = w.results.at(0);
  CHECK_FALSE(r.t2.has_value());
  CHECK_FALSE(r.t3.has_value());
  CHECK(*r.rtt_ns == 9'000);
  CHECK_FALSE(r.dwell_ns.has_value());
  CHECK_FALSE(r.network_rtt_ns.has_value());
  CHECK_FALSE(r.offset_ns.has_value());
  ProbeSummary s = w.sender.Summary();
  CHECK(s.rtt.count == 1);
  CHECK(s.network_rtt.count == 0);
}

TEST_CASE("probe: loss, late after loss, late before Expire, duplicate and reordering") {
  World w({.count = 6, .interval_ns = kMs, .timeout_ns = 100 * kMs, .t3_wait_ns = 0});
  std::vector<World::Flight> f;
  for (int i = 0; i < 6; ++i) f.push_back(w.Fly(i));
  CHECK(w.sender.counters().in_flight == 6);
  // Replies: 0 on time; 2 on time twice (duplicate); 4 then 3 (3 reordered).
  CHECK(w.Land(f[0], f[0].mono + kMs) == ReplyMatch::kMatched);
  CHECK(w.Land(f[2], f[2].mono + kMs) == ReplyMatch::kMatched);
  CHECK(w.Land(f[2], f[2].mono + 2 * kMs) == ReplyMatch::kDuplicate);
  CHECK(w.Land(f[4], f[4].mono + kMs) == ReplyMatch::kMatched);
  CHECK(w.Land(f[3], f[3].mono + 2 * kMs) == ReplyMatch::kMatched);
  REQUIRE(w.results.size() == 5);
  CHECK(w.results[2].status == ProbeStatus::kDuplicate);
  CHECK(w.results[2].seq == 2);
  CHECK_FALSE(w.results[3].reordered);
  CHECK(w.results[4].reordered);
  CHECK(w.results[4].seq == 3);
  CHECK(w.sender.counters().in_flight == 2);  // 1 and 5

  // The deadline of 1 passes: Expire reports it lost (5 is due 4 ms later).
  w.results.clear();
  CHECK(w.sender.NextDeadline() == f[1].mono + 100 * kMs);
  CHECK(w.sender.Expire(f[1].mono + 100 * kMs, w.Sink()) == 1);
  REQUIRE(w.results.size() == 1);
  CHECK(w.results[0].seq == 1);
  CHECK(w.results[0].status == ProbeStatus::kLost);
  CHECK(*w.results[0].t1 == Stamp{f[1].t1, StampSource::kSoftware});
  CHECK_FALSE(w.results[0].t4.has_value());
  CHECK(w.sender.counters().lost == 1);
  CHECK(w.sender.NextDeadline() == f[5].mono + 100 * kMs);

  // 1 answers after all: it moves from lost to late (and is reordered behind 4).
  CHECK(w.Land(f[1], f[1].mono + 150 * kMs, 150 * kMs) == ReplyMatch::kLate);
  CHECK(w.results.back().status == ProbeStatus::kLate);
  CHECK(w.results.back().reordered);
  CHECK(*w.results.back().rtt_ns == kForward + kDwell + kT3Error + kReverse + 150 * kMs);
  CHECK(w.sender.counters().lost == 0);
  CHECK(w.sender.counters().late == 1);

  // 5 answers after its deadline but before any Expire: late, never lost.
  CHECK(w.Land(f[5], f[5].mono + 100 * kMs + 1, 100 * kMs + 1) == ReplyMatch::kLate);
  CHECK(w.sender.Expire(f[5].mono + 500 * kMs, w.Sink()) == 0);
  // A second reply to the late probe is a duplicate.
  CHECK(w.Land(f[1], f[1].mono + 151 * kMs) == ReplyMatch::kDuplicate);

  const ProbeCounters& c = w.sender.counters();
  CHECK(c.sent == 6);
  CHECK(c.received == 4);
  CHECK(c.late == 2);
  CHECK(c.lost == 0);
  CHECK(c.duplicated == 2);
  CHECK(c.reordered == 2);
  CHECK(c.in_flight == 0);
  CHECK(c.sent == c.received + c.late + c.lost + c.in_flight);
  CHECK(w.sender.Done());
  // Statistics: every first reply (4 on time, 2 late), no duplicates.
  CHECK(w.sender.Summary().rtt.count == 6);
}

TEST_CASE("probe: a reflector that never answers: all lost after Expire, summary consistent") {
  World w({.count = 4, .interval_ns = kMs, .timeout_ns = 10 * kMs});
  for (int i = 0; i < 4; ++i) w.Fly(i);
  CHECK_FALSE(w.sender.Done());
  CHECK(w.sender.Expire(kMonoBase + 12 * kMs, w.Sink()) == 3);  // 0..2 due, 3 at +13 ms
  CHECK(w.sender.Expire(std::numeric_limits<int64_t>::max(), w.Sink()) == 1);
  CHECK(w.results.size() == 4);
  CHECK(w.sender.Done());
  CHECK_FALSE(w.sender.NextDeadline().has_value());
  ProbeSummary s = w.sender.Summary();
  CHECK(s.counters.lost == 4);
  CHECK(s.counters.received == 0);
  CHECK(s.rtt.count == 0);
  CHECK(s.rtt.p50 == 0);
}

TEST_CASE("probe: a probe the relay refused is counted apart: never in flight, never lost") {
  World w({.count = 4, .interval_ns = kMs, .timeout_ns = 10 * kMs});
  std::array<std::byte, 128> buf{};
  std::vector<uint32_t> seqs;
  for (int i = 0; i < 4; ++i) {
    const BuiltProbe b = w.sender.BuildProbe(buf, kMonoBase + i * kMs, kBase + i * kMs);
    REQUIRE(b.size > 0);
    seqs.push_back(b.seq);
  }
  w.sender.OnSendFailed(seqs[2]);
  w.sender.OnSendFailed(seqs[2]);       // once only
  w.sender.OnSendFailed(seqs[3] + 10);  // never built: nothing
  CHECK(w.sender.counters().sent == 4);
  CHECK(w.sender.counters().send_failures == 1);
  CHECK(w.sender.counters().in_flight == 3);
  CHECK_FALSE(w.sender.NextSendAt().has_value());  // `count` counts the attempt: no extra probe
  CHECK(w.sender.Expire(std::numeric_limits<int64_t>::max(), w.Sink()) == 3);
  REQUIRE(w.results.size() == 3);
  for (const ProbeResult& r : w.results) CHECK(r.seq != seqs[2]);
  CHECK(w.sender.counters().lost == 3);
  CHECK(w.sender.counters().in_flight == 0);
  CHECK(w.sender.Done());
}

TEST_CASE("probe: sequence numbers wrap at 2^32, reordering across the wrap") {
  World w({.count = 4, .interval_ns = kMs, .first_seq = 0xffff'fffe, .t3_wait_ns = 0});
  std::vector<World::Flight> f;
  for (int i = 0; i < 4; ++i) f.push_back(w.Fly(i));
  CHECK(f[0].seq == 0xffff'fffeu);
  CHECK(f[1].seq == 0xffff'ffffu);
  CHECK(f[2].seq == 0u);
  CHECK(f[3].seq == 1u);
  CHECK(w.Land(f[0], f[0].mono + 1) == ReplyMatch::kMatched);
  CHECK(w.Land(f[2], f[2].mono + 1) == ReplyMatch::kMatched);  // 0 after 0xfffffffe: in order
  CHECK(w.Land(f[1], f[1].mono + 1) == ReplyMatch::kMatched);  // 0xffffffff after 0: reordered
  CHECK(w.Land(f[3], f[3].mono + 1) == ReplyMatch::kMatched);
  REQUIRE(w.results.size() == 4);
  CHECK_FALSE(w.results[0].reordered);
  CHECK_FALSE(w.results[1].reordered);
  CHECK(w.results[2].reordered);
  CHECK(w.results[2].seq == 0xffff'ffffu);
  CHECK_FALSE(w.results[3].reordered);
  CHECK(w.sender.counters().reordered == 1);
  CHECK(w.sender.Done());
  CHECK(SeqBefore(0xffff'ffffu, 0u));
  CHECK_FALSE(SeqBefore(0u, 0xffff'ffffu));
}

TEST_CASE("probe: replies to no probe of ours are unmatched, short ones malformed") {
  World w({.count = 2, .interval_ns = kMs, .ssid = 7});
  World::Flight f = w.Fly(0);
  // Echoed t1 differs (an old session's reply with the same seq).
  std::vector<std::byte> bad = f.reply;
  StoreBe64(bad.data() + 28, LoadBe64(bad.data() + 28) + 1);
  CHECK(w.sender.OnReply(bad, Sw(f.t4), 64, f.mono, w.Sink()) == ReplyMatch::kUnmatched);
  // Another session's SSID.
  bad = f.reply;
  StoreBe16(bad.data() + 14, 8);
  CHECK(w.sender.OnReply(bad, Sw(f.t4), 64, f.mono, w.Sink()) == ReplyMatch::kUnmatched);
  // A seq never sent.
  bad = f.reply;
  StoreBe32(bad.data() + 24, 77);
  CHECK(w.sender.OnReply(bad, Sw(f.t4), 64, f.mono, w.Sink()) == ReplyMatch::kUnmatched);
  CHECK(w.sender.OnReply(std::span(f.reply).first(43), Sw(f.t4), 64, f.mono, w.Sink()) ==
        ReplyMatch::kMalformed);
  CHECK(w.results.empty());
  CHECK(w.sender.counters().unmatched == 3);
  CHECK(w.sender.counters().malformed == 1);
  // The reflector copied our SSID; the genuine reply still matches.
  CHECK(LoadBe16(f.reply.data() + 14) == 7);
  CHECK(w.Land(f, f.mono + 1) == ReplyMatch::kMatched);
  w.sender.OnSent(12345, Sw(1), w.Sink());
  CHECK(w.sender.counters().tx_stamps_unknown == 1);
}

TEST_CASE("probe: a reply waits for its TX stamp, or for tx_stamp_wait_ns") {
  World w({.count = 2, .interval_ns = kMs, .tx_stamp_wait_ns = kMs, .t3_wait_ns = 0});
  // Probe 0: the TX stamp arrives after the reply.
  BuiltProbe b0 = w.sender.BuildProbe(w.probe, kMonoBase, kBase);
  Reflection r0 = w.reflector.Reflect(std::span(w.probe).first(b0.size), Sw(kBase + 10'000), 64, 1,
                                      kBase + 12'000, w.reply);
  CHECK(w.sender.OnReply(std::span(w.reply).first(r0.size), Sw(kBase + 30'000), 64, kMonoBase + 100,
                         w.Sink()) == ReplyMatch::kMatched);
  CHECK(w.results.empty());
  CHECK(w.sender.NextDeadline() == kMonoBase + 100 + kMs);
  CHECK_FALSE(w.sender.Done());
  // A duplicate while held is still a duplicate.
  CHECK(w.sender.OnReply(std::span(w.reply).first(r0.size), Sw(kBase + 31'000), 64, kMonoBase + 200,
                         w.Sink()) == ReplyMatch::kDuplicate);
  CHECK(w.results.size() == 1);
  w.results.clear();
  w.sender.OnSent(b0.seq, Sw(kBase + 1'000), w.Sink());
  REQUIRE(w.results.size() == 1);
  CHECK(*w.results[0].t1 == Stamp{kBase + 1'000, StampSource::kSoftware});
  CHECK(*w.results[0].rtt_ns == 29'000);

  // Probe 1: the TX stamp never comes; Expire reports it after the wait with the estimate.
  w.results.clear();
  BuiltProbe b1 = w.sender.BuildProbe(w.probe, kMonoBase + kMs, kBase + kMs);
  Reflection r1 = w.reflector.Reflect(std::span(w.probe).first(b1.size), Sw(kBase + kMs + 10'000),
                                      64, 1, kBase + kMs + 12'000, w.reply);
  w.sender.OnReply(std::span(w.reply).first(r1.size), Sw(kBase + kMs + 30'000), 64,
                   kMonoBase + kMs + 100, w.Sink());
  CHECK(w.sender.Expire(kMonoBase + kMs + 100 + kMs - 1, w.Sink()) == 0);
  CHECK(w.results.empty());
  CHECK(w.sender.Expire(kMonoBase + kMs + 100 + kMs, w.Sink()) == 0);
  REQUIRE(w.results.size() == 1);
  CHECK(*w.results[0].t1 == Stamp{kBase + kMs, StampSource::kUserspace});
  CHECK(*w.results[0].rtt_ns == 30'000);
  CHECK(w.sender.counters().tx_stamp_wait_expired == 1);
  CHECK(w.sender.Done());

  // OnSent without a kernel stamp (the tracker gave up) releases a held reply at once.
  World v({.count = 1, .interval_ns = kMs, .tx_stamp_wait_ns = kMs, .t3_wait_ns = 0});
  BuiltProbe b = v.sender.BuildProbe(v.probe, kMonoBase, kBase);
  Reflection r = v.reflector.Reflect(std::span(v.probe).first(b.size), Sw(kBase + 10), 64, 1,
                                     kBase + 20, v.reply);
  v.sender.OnReply(std::span(v.reply).first(r.size), Sw(kBase + 50), 64, kMonoBase + 1, v.Sink());
  CHECK(v.results.empty());
  Timestamps user_only;
  user_only.userspace_ns = kBase;
  v.sender.OnSent(b.seq, user_only, v.Sink());
  REQUIRE(v.results.size() == 1);
  CHECK(v.results[0].t1->source == StampSource::kUserspace);
}

TEST_CASE("probe: schedule advances by the interval, re-anchors after a slip, stops at count") {
  auto s = ProbeSender::Create({.count = 3, .interval_ns = 10 * kMs}).value();
  std::array<std::byte, 128> buf{};
  CHECK(*s.NextSendAt() == 0);  // due at once
  CHECK(s.BuildProbe(buf, 1'000 * kMs, kBase).size == kProbeTlvPacketSize);
  CHECK(*s.NextSendAt() == 1'010 * kMs);
  CHECK(s.BuildProbe(buf, 1'011 * kMs, kBase).size > 0);  // 1 ms late: keeps the grid
  CHECK(*s.NextSendAt() == 1'020 * kMs);
  CHECK(s.BuildProbe(buf, 1'045 * kMs, kBase).size > 0);  // 25 ms late: slip
  CHECK(s.counters().schedule_slips == 1);
  CHECK_FALSE(s.NextSendAt().has_value());
  CHECK(s.BuildProbe(buf, 1'100 * kMs, kBase).size == 0);
  CHECK(s.counters().sent == 3);
  // Too small a buffer builds nothing.
  auto t = ProbeSender::Create({.interval_ns = kMs, .packet_size = 100}).value();
  CHECK(t.BuildProbe(std::span(buf).first(99), 0, kBase).size == 0);
  CHECK(t.counters().sent == 0);
}

TEST_CASE("probe: back to back, the next probe is due when the latest is answered or lost") {
  World w({.count = 0, .interval_ns = 0, .timeout_ns = 100 * kMs});
  CHECK(*w.sender.NextSendAt() == 0);  // the first at once
  World::Flight f0 = w.Fly(0);
  CHECK(*w.sender.NextSendAt() == f0.mono + 100 * kMs);  // in flight: not before its deadline
  CHECK(w.Land(f0, f0.mono + 30'000) == ReplyMatch::kMatched);
  CHECK(*w.sender.NextSendAt() == f0.mono + 30'000);  // answered: due from then on
  World::Flight f1 = w.Fly(1);
  CHECK(*w.sender.NextSendAt() == f1.mono + 100 * kMs);
  // A duplicate of the earlier reply does not make one due.
  CHECK(w.Land(f0, f1.mono + 1) == ReplyMatch::kDuplicate);
  CHECK(*w.sender.NextSendAt() == f1.mono + 100 * kMs);
  // Probe 1 is lost: the next one is due at its deadline, whether Expire ran or not.
  CHECK(w.sender.Expire(f1.mono + 100 * kMs, w.Sink()) == 1);
  CHECK(*w.sender.NextSendAt() == f1.mono + 100 * kMs);
  World::Flight f2 = w.Fly(2);
  // A late reply to probe 1, no longer the latest, does not either.
  CHECK(w.Land(f1, f2.mono + 1, 200 * kMs) == ReplyMatch::kLate);
  CHECK(*w.sender.NextSendAt() == f2.mono + 100 * kMs);
  CHECK(w.Land(f2, f2.mono + 40'000) == ReplyMatch::kMatched);
  CHECK(*w.sender.NextSendAt() == f2.mono + 40'000);
  CHECK(w.sender.counters().schedule_slips == 0);
  CHECK(w.sender.counters().sent == 3);
}

TEST_CASE("probe: back to back, the closing probe is due when the last reply comes") {
  World w({.count = 1, .interval_ns = 0, .timeout_ns = 100 * kMs});
  World::Flight f0 = w.Fly(0);
  CHECK(w.Land(f0, f0.mono + 30'000) == ReplyMatch::kMatched);
  CHECK(w.results.empty());  // held for its real t3, which the closing probe's reply brings
  CHECK(*w.sender.NextSendAt() == f0.mono + 30'000);
  World::Flight closing = w.Fly(1);
  CHECK(w.Land(closing, closing.mono + 1) == ReplyMatch::kMatched);
  REQUIRE(w.results.size() == 1);
  CHECK(w.results[0].t3->source == StampSource::kSoftware);
  CHECK_FALSE(w.sender.NextSendAt().has_value());
  CHECK(w.sender.Done());
}

TEST_CASE("probe: a refused closing probe is not built again, the held result goes at its wait") {
  World w({.count = 1, .interval_ns = 0, .timeout_ns = 100 * kMs});
  World::Flight f0 = w.Fly(0);
  CHECK(w.Land(f0, f0.mono + 30'000) == ReplyMatch::kMatched);
  CHECK(w.results.empty());  // held for the closing probe's reply
  std::array<std::byte, 128> buf{};
  const BuiltProbe closing = w.sender.BuildProbe(buf, f0.mono + 30'000, kBase + kMs);
  REQUIRE(closing.size > 0);
  REQUIRE(w.sender.IsClosingProbe(closing.seq));
  w.sender.OnSendFailed(closing.seq);
  CHECK_FALSE(w.sender.NextSendAt().has_value());  // not asked for again
  CHECK(w.sender.counters().send_failures == 0);   // the closing probe is not one of `sent`
  CHECK(w.sender.counters().sent == 1);
  w.sender.Expire(std::numeric_limits<int64_t>::max(), w.Sink());
  REQUIRE(w.results.size() == 1);
  CHECK(w.results[0].t3->source == StampSource::kEstimate);
  CHECK(w.sender.Done());
}

TEST_CASE("probe: the window refuses to overwrite an open probe until Expire runs") {
  auto s = ProbeSender::Create({.interval_ns = kMs, .timeout_ns = 1'000 * kMs}).value();
  REQUIRE(s.options().window == 2048);  // 2 × (1000 + 2), rounded up
  std::array<std::byte, 128> buf{};
  std::vector<ProbeResult> lost;
  auto sink = [&](const ProbeResult& r) { lost.push_back(r); };
  for (int i = 0; i < 2048; ++i) REQUIRE(s.BuildProbe(buf, i * kMs, kBase).size > 0);
  CHECK(s.BuildProbe(buf, 2'048 * kMs, kBase).size == 0);
  CHECK(s.counters().window_full == 1);
  CHECK(s.Expire(2'048 * kMs, sink) == 1'049);  // probes 0..1048 are past their deadline
  CHECK(s.BuildProbe(buf, 2'048 * kMs, kBase).seq == 2048);
  CHECK(lost.size() == 1'049);
  CHECK(s.counters().sent == s.counters().lost + s.counters().in_flight);
}

TEST_CASE("probe: the probe packet carries seq, t1, SSID and the RFC 8972 TLV request") {
  auto s = ProbeSender::Create({.interval_ns = kMs,
                                .packet_size = 100,
                                .ssid = 0x1234,
                                .error_estimate = StampErrorEstimate::FromNs(500, true),
                                .first_seq = 9})
               .value();
  std::array<std::byte, 100> p{};
  p.fill(std::byte{0xee});
  REQUIRE(s.BuildProbe(p, 0, kBase).size == 100);
  StampSenderPacket sp = *ParseStampSender(p);
  CHECK(sp.seq == 9);
  CHECK(NtpToUnixNs(sp.timestamp) == kBase);
  CHECK(sp.ssid == 0x1234);
  CHECK(sp.error_estimate == StampErrorEstimate::FromNs(500, true));
  for (size_t i = 16; i < 44; ++i) CHECK(p[i] == std::byte{0});  // MBZ
  CHECK(LoadBe32(p.data() + 44) == 0x80'03'0004u);               // U | Timestamp Information | 4
  CHECK(LoadBe32(p.data() + 52) == 0x80'07'0010u);               // U | Follow-Up | 16
  CHECK(LoadBe32(p.data() + 72) == 0x80'01'0018u);               // U | Extra Padding | 24
  for (size_t i = 76; i < 100; ++i) CHECK(p[i] == std::byte{0});
  // 60 bytes: too small for the TLVs, plain zero padding.
  auto t = ProbeSender::Create({.interval_ns = kMs, .packet_size = 60}).value();
  CHECK_FALSE(t.requests_reflector_info());
  p.fill(std::byte{0xee});
  REQUIRE(t.BuildProbe(p, 0, kBase).size == 60);
  for (size_t i = 16; i < 60; ++i) CHECK(p[i] == std::byte{0});
  CHECK(p[60] == std::byte{0xee});  // nothing written past the packet
  // PTP format when the error estimate's Z bit is set.
  auto u = ProbeSender::Create(
               {.interval_ns = kMs, .error_estimate = StampErrorEstimate::FromNs(1, false, true)})
               .value();
  REQUIRE(u.BuildProbe(p, 0, kBase).size > 0);
  CHECK(PtpTruncatedToUnixNs(ParseStampSender(p)->timestamp) == kBase);
}

TEST_CASE("probe: PTP-format reflector timestamps are read in that format") {
  ProbeReflectorOptions ro{.learn_t3_latency = false};
  ro.error_estimate = StampErrorEstimate::FromNs(1'000, false, /*ptp_format=*/true);
  World w({.count = 1, .interval_ns = kMs, .t3_wait_ns = 0}, 0, ro);
  World::Flight f = w.Fly(0);
  CHECK(w.Land(f, f.mono) == ReplyMatch::kMatched);
  const ProbeResult& r = w.results.at(0);
  CHECK(r.t2->ns == f.t1 + kForward);
  CHECK(*r.dwell_ns == kDwell);
}

TEST_CASE("probe: unusable options are refused with a message that says what to change") {
  auto msg = [](ProbeSenderOptions o) {
    auto s = ProbeSender::Create(o);
    REQUIRE_FALSE(s.ok());
    return std::string(s.status().message());
  };
  CHECK(msg({.interval_ns = -1}).find("--interval") != std::string::npos);
  CHECK(msg({.packet_size = 43}).find("STAMP minimum of 44") != std::string::npos);
  CHECK(msg({.packet_size = 70'000}).find("largest UDP payload") != std::string::npos);
  CHECK(msg({.packet_size = 74}).find("use --size 72 or 76") != std::string::npos);
  CHECK(msg({.timeout_ns = -1}).find("negative") != std::string::npos);
  CHECK(msg({.tx_stamp_wait_ns = -1}).find("negative") != std::string::npos);
  CHECK(msg({.interval_ns = 1, .timeout_ns = 1'000'000'000}).find("lengthen --interval") !=
        std::string::npos);
  CHECK(msg({.interval_ns = kMs, .window = 64}).find("smaller than the 1002") != std::string::npos);
  // 74 bytes without the request is fine (plain padding).
  CHECK(ProbeSender::Create({.packet_size = 74, .request_reflector_info = false}).ok());
  CHECK(ProbeSender::Create({.interval_ns = 2'000'000'000}).value().options().timeout_ns ==
        6'000'000'000);
  // Back to back: one probe in flight, so the smallest window and the 1 s timeout.
  const ProbeSenderOptions b2b = ProbeSender::Create({.interval_ns = 0}).value().options();
  CHECK(b2b.timeout_ns == 1'000'000'000);
  CHECK(b2b.window == 1024);
}
