// ProbeReflector: a plain 44-byte STAMP packet (as a kernel UDP socket sends
// it) answered field by field at RFC 8762 offsets; stateful and stateless
// sequence numbers per session; TLVs answered; t3 estimate error from OnSent;
// the t3 estimate's learned TX latency; drops, session eviction and pending overflow counted.
#include "ringstamp/engine/probe/probe_reflector.h"

#include <doctest/doctest.h>

#include <array>
#include <vector>

#include "ringstamp/engine/probe/probe_tlv.h"
#include "ringstamp/engine/proto/byte_order.h"

using namespace ringstamp;

namespace {

constexpr int64_t kT = 1'700'000'000'123'456'789;

Timestamps Sw(int64_t ns) {
  Timestamps t;
  t.software_ns = ns;
  t.userspace_ns = ns + 2'000;
  return t;
}

// What a python3 socket sender would put on the wire: struct.pack("!IQH", seq, ntp, err) + 30 zero
// bytes.
std::vector<std::byte> KernelSenderPacket(uint32_t seq, uint64_t ntp, uint16_t err,
                                          size_t size = 44) {
  std::vector<std::byte> p(size, std::byte{0});
  StoreBe32(p.data(), seq);
  StoreBe64(p.data() + 4, ntp);
  StoreBe16(p.data() + 12, err);
  return p;
}

}  // namespace

TEST_CASE("reflector: a 44-byte packet from a plain UDP socket gets every field right") {
  auto r = ProbeReflector::Create({}).value();
  const uint64_t sender_ntp = 0xE8E0'0000'8000'0000ull;  // some NTP time
  std::vector<std::byte> req = KernelSenderPacket(7, sender_ntp, 0x8101);
  std::array<std::byte, 64> out;
  out.fill(std::byte{0xaa});
  const int64_t t2 = kT;
  const int64_t t3 = kT + 4'321;
  Reflection x = r.Reflect(req, Sw(t2), 57, 99, t3, out);
  REQUIRE(x.drop == ReflectorDrop::kNone);
  REQUIRE(x.size == 44);
  CHECK(x.reflector_seq == 0);
  CHECK(x.sender_seq == 7);
  const std::byte* p = out.data();
  CHECK(LoadBe32(p) == 0);                    // reflector seq (stateful, first)
  CHECK(NtpToUnixNs(LoadBe64(p + 4)) == t3);  // t3
  CHECK(LoadBe16(p + 12) == StampErrorEstimate::FromNs(1'000'000, false).Encode());
  CHECK(LoadBe16(p + 14) == 0);                // SSID / MBZ copied
  CHECK(NtpToUnixNs(LoadBe64(p + 16)) == t2);  // t2: the software RX stamp
  CHECK(LoadBe32(p + 24) == 7);                // sender seq
  CHECK(LoadBe64(p + 28) == sender_ntp);       // sender timestamp, raw
  CHECK(LoadBe16(p + 36) == 0x8101);           // sender error estimate
  CHECK(LoadBe16(p + 38) == 0);                // MBZ
  CHECK(Load8(p + 40) == 57);                  // sender TTL
  CHECK(Load8(p + 41) == 0);                   // MBZ
  CHECK(LoadBe16(p + 42) == 0);
  CHECK(out[44] == std::byte{0xaa});  // nothing past the reply
  // The library parser agrees.
  StampReflectorPacket parsed = *ParseStampReflector(std::span(out).first(44));
  CHECK(parsed.sender_seq == 7);
  CHECK(parsed.sender_ttl == 57);
  // Second packet of the same sender: reflector seq 1.
  req = KernelSenderPacket(8, sender_ntp + 1, 0x0001);
  CHECK(r.Reflect(req, Sw(t2 + 1'000), 57, 99, t3 + 1'000, out).reflector_seq == 1);
  ReflectorSummary s = r.Summary();
  CHECK(s.reflected == 2);
  CHECK(s.sessions == 1);
  CHECK(s.tlv_requests == 0);
  CHECK(s.t2_sources[static_cast<size_t>(StampSource::kSoftware)] == 2);
}

TEST_CASE("reflector: padding is reflected at the request's length, zeros stay zeros") {
  auto r = ProbeReflector::Create({}).value();
  std::vector<std::byte> req = KernelSenderPacket(1, 1, 1, 200);
  std::array<std::byte, 256> out;
  out.fill(std::byte{0xaa});
  Reflection x = r.Reflect(req, Sw(kT), 64, 1, kT + 1, out);
  REQUIRE(x.size == 200);
  for (size_t i = 44; i < 200; ++i) CHECK(out[i] == std::byte{0});
  CHECK(out[200] == std::byte{0xaa});
  CHECK(r.Summary().tlv_requests == 0);
}

TEST_CASE("reflector: sessions by peer and SSID, stateless mode echoes the sender's seq") {
  auto r = ProbeReflector::Create({}).value();
  std::array<std::byte, 64> out;
  std::vector<std::byte> a = KernelSenderPacket(100, 1, 1);
  std::vector<std::byte> b = KernelSenderPacket(200, 1, 1);
  StoreBe16(b.data() + 14, 5);  // SSID 5
  CHECK(r.Reflect(a, Sw(kT), 64, 1, kT, out).reflector_seq == 0);
  CHECK(r.Reflect(a, Sw(kT), 64, 2, kT, out).reflector_seq == 0);  // other peer
  CHECK(r.Reflect(b, Sw(kT), 64, 1, kT, out).reflector_seq == 0);  // same peer, other SSID
  CHECK(LoadBe16(out.data() + 14) == 5);
  CHECK(r.Reflect(a, Sw(kT), 64, 1, kT, out).reflector_seq == 1);
  CHECK(r.Summary().sessions == 3);

  auto stateless = ProbeReflector::Create({.stateful = false}).value();
  CHECK(stateless.Reflect(a, Sw(kT), 64, 1, kT, out).reflector_seq == 100);
  CHECK(LoadBe32(out.data()) == 100);
}

TEST_CASE("reflector: the least recently used session is evicted when the table is full") {
  auto r = ProbeReflector::Create({.max_sessions = 2}).value();
  std::array<std::byte, 64> out;
  std::vector<std::byte> a = KernelSenderPacket(1, 1, 1);
  r.Reflect(a, Sw(kT), 64, 1, kT, out);  // peer 1: seq 0
  r.Reflect(a, Sw(kT), 64, 2, kT, out);  // peer 2: seq 0
  r.Reflect(a, Sw(kT), 64, 1, kT, out);  // peer 1: seq 1 (peer 2 is now the oldest)
  r.Reflect(a, Sw(kT), 64, 3, kT, out);  // peer 3 evicts peer 2
  CHECK(r.Summary().sessions_evicted == 1);
  CHECK(r.Reflect(a, Sw(kT), 64, 1, kT, out).reflector_seq == 2);  // peer 1 kept its state
  CHECK(r.Reflect(a, Sw(kT), 64, 2, kT, out).reflector_seq == 0);  // peer 2 starts again
  CHECK(r.Summary().sessions == 2);
}

TEST_CASE("reflector: short requests and short reply buffers are dropped with a reason") {
  auto r = ProbeReflector::Create({}).value();
  std::array<std::byte, 64> out;
  std::vector<std::byte> shortreq = KernelSenderPacket(1, 1, 1, 43);
  Reflection x = r.Reflect(shortreq, Sw(kT), 64, 1, kT, out);
  CHECK(x.size == 0);
  CHECK(x.drop == ReflectorDrop::kTruncated);
  std::vector<std::byte> big = KernelSenderPacket(1, 1, 1, 65);
  x = r.Reflect(big, Sw(kT), 64, 1, kT, out);
  CHECK(x.drop == ReflectorDrop::kOutputTooSmall);
  ReflectorSummary s = r.Summary();
  CHECK(s.reflected == 0);
  CHECK(s.dropped[static_cast<size_t>(ReflectorDrop::kTruncated)] == 1);
  CHECK(s.dropped[static_cast<size_t>(ReflectorDrop::kOutputTooSmall)] == 1);
  CHECK(ReflectorDropName(ReflectorDrop::kTruncated) == "truncated");
}

TEST_CASE("reflector: without any RX stamp t2 is the clock read, reported as control plane") {
  auto r = ProbeReflector::Create({}).value();
  std::vector<std::byte> req(kProbeTlvPacketSize);
  REQUIRE(WriteProbeRequestTlvs(req));
  StoreBe32(req.data(), 3);
  std::array<std::byte, 128> out;
  Reflection x = r.Reflect(req, Timestamps{}, 64, 1, kT, out);
  REQUIRE(x.size == kProbeTlvPacketSize);
  CHECK(NtpToUnixNs(LoadBe64(out.data() + 16)) == kT);
  ReflectorTlvs t = ParseReflectorTlvs(std::span(out).first(x.size));
  REQUIRE(t.info.has_value());
  CHECK(t.info->method_in == static_cast<uint8_t>(StampTimestampMethod::kControlPlane));
  CHECK(r.Summary().rx_stamp_missing == 1);
  CHECK(r.Summary().t2_sources[static_cast<size_t>(StampSource::kUserspace)] == 1);
}

TEST_CASE("reflector: TLVs answered, Follow-Up carries the latest real TX stamp, t3 error kept") {
  ProbeReflectorOptions o{.learn_t3_latency = false};  // t3 = the clock read given
  o.sync_source = StampSyncSource::kPtp;
  auto r = ProbeReflector::Create(o).value();
  std::vector<std::byte> req(100);
  REQUIRE(WriteProbeRequestTlvs(req));
  std::array<std::byte, 128> out;

  Timestamps hw_rx;
  hw_rx.hardware_ns = 5;
  hw_rx.hardware_system_ns = kT;
  hw_rx.software_ns = kT + 300;
  Reflection a = r.Reflect(req, hw_rx, 64, 1, kT + 1'000, out);
  REQUIRE(a.size == 100);
  ReflectorTlvs t = ParseReflectorTlvs(std::span(out).first(a.size));
  REQUIRE(t.info.has_value());
  CHECK(t.info->sync_in == static_cast<uint8_t>(StampSyncSource::kPtp));
  CHECK(t.info->method_in == static_cast<uint8_t>(StampTimestampMethod::kHardwareAssist));
  CHECK(t.info->sync_out == static_cast<uint8_t>(StampSyncSource::kPtp));
  CHECK(t.info->method_out == static_cast<uint8_t>(StampTimestampMethod::kControlPlane));
  REQUIRE(t.follow_up.has_value());
  CHECK(t.follow_up->timestamp == 0);  // nothing sent before
  CHECK(t.unrecognized == 0);
  CHECK_FALSE(t.malformed);
  CHECK(NtpToUnixNs(LoadBe64(out.data() + 16)) == kT);  // hardware mapped wins

  // The first reply's TX stamp arrives: 800 ns after its estimate.
  r.OnSent(a.id, Sw(kT + 1'800));
  Reflection b = r.Reflect(req, Sw(kT + 10'000), 64, 1, kT + 11'000, out);
  t = ParseReflectorTlvs(std::span(out).first(b.size));
  CHECK(t.info->method_in == static_cast<uint8_t>(StampTimestampMethod::kSoftwareLocal));
  REQUIRE(t.follow_up.has_value());
  CHECK(t.follow_up->seq == a.reflector_seq);
  CHECK(NtpToUnixNs(t.follow_up->timestamp) == kT + 1'800);
  CHECK(t.follow_up->method == static_cast<uint8_t>(StampTimestampMethod::kSoftwareLocal));
  // b's stamp comes; then a stale OnSent for an old id and one without a kernel stamp.
  r.OnSent(b.id, Sw(kT + 11'500));
  r.OnSent(a.id, Sw(kT + 99));  // already consumed
  Reflection c = r.Reflect(req, Sw(kT + 20'000), 64, 1, kT + 21'000, out);
  Timestamps user_only;
  user_only.userspace_ns = kT + 21'100;
  r.OnSent(c.id, user_only);
  Reflection d = r.Reflect(req, Sw(kT + 30'000), 64, 1, kT + 31'000, out);
  t = ParseReflectorTlvs(std::span(out).first(d.size));
  CHECK(t.follow_up->seq == b.reflector_seq);  // c never got a real stamp
  CHECK(NtpToUnixNs(t.follow_up->timestamp) == kT + 11'500);

  ReflectorSummary s = r.Summary();
  CHECK(s.tlv_requests == 4);
  CHECK(s.tx_stamps == 2);
  CHECK(s.tx_stamps_missing == 1);
  CHECK(s.tx_stamps_unknown == 1);
  CHECK(s.tx_sources[static_cast<size_t>(StampSource::kSoftware)] == 2);
  CHECK(s.t3_error.count == 2);
  CHECK(s.t3_error.min == 500);
  CHECK(s.t3_error.max == 800);
}

TEST_CASE("reflector: the t3 error of each window, once windows are on, and since the start") {
  auto r = ProbeReflector::Create({.learn_t3_latency = false}).value();  // t3 = the clock read
  std::vector<std::byte> req(44, std::byte{0});
  std::array<std::byte, 64> out;
  // Each reply's real TX stamp comes `late` ns after its t3 estimate.
  const auto reflect_sent = [&](int64_t at, int64_t late) {
    const Reflection x = r.Reflect(req, Sw(at), 64, 1, at + 1'000, out);
    REQUIRE(x.size > 0);
    r.OnSent(x.id, Sw(at + 1'000 + late));
  };
  reflect_sent(kT, 300);  // before any window: in the run's distribution only
  LatencySummary w = r.TakeT3ErrorWindow();
  CHECK(w.count == 0);

  reflect_sent(kT + 10'000, 700);
  reflect_sent(kT + 20'000, 900);
  w = r.TakeT3ErrorWindow();
  CHECK(w.count == 2);
  CHECK(w.min == 700);
  CHECK(w.max == 900);

  CHECK(r.TakeT3ErrorWindow().count == 0);  // nothing sent in between
  Timestamps user_only;                     // no kernel stamp: no error to record
  user_only.userspace_ns = kT + 40'000;
  const Reflection u = r.Reflect(req, Sw(kT + 30'000), 64, 1, kT + 31'000, out);
  r.OnSent(u.id, user_only);
  reflect_sent(kT + 50'000, 100);
  w = r.TakeT3ErrorWindow();
  CHECK(w.count == 1);
  CHECK(w.max == 100);

  const ReflectorSummary s = r.Summary();
  CHECK(s.t3_error.count == 4);
  CHECK(s.t3_error.min == 100);
  CHECK(s.t3_error.max == 900);
}

TEST_CASE("reflector: the t3 estimate is the clock read plus the median TX latency learned") {
  auto r = ProbeReflector::Create({}).value();
  std::vector<std::byte> req(44, std::byte{0});
  std::array<std::byte, 64> out;
  const auto written_t3 = [&] { return NtpToUnixNs(LoadBe64(out.data() + kStampTimestampOffset)); };
  int64_t clock = kT;
  // A reply read at `clock` whose kernel TX stamp comes `latency` ns after that read.
  const auto reflect_sent = [&](int64_t latency) {
    clock += 10'000;
    const Reflection x = r.Reflect(req, Sw(clock - 5'000), 64, 1, clock, out);
    REQUIRE(x.size > 0);
    r.OnSent(x.id, Sw(clock + latency));
  };

  // Before any TX stamp: the clock read as it is.
  Reflection x = r.Reflect(req, Sw(kT - 5'000), 64, 1, kT, out);
  CHECK(written_t3() == kT);
  ReflectorSummary s = r.Summary();
  CHECK(s.t3_offset_learned);
  CHECK(s.t3_offset_ns == 0);
  CHECK(s.t3_offset_samples == 0);
  r.OnSent(x.id, Sw(kT + 1'900));  // the first latency: 1.9 µs, its error the same

  // The median, not the mean: one stamp 50 µs late does not move it.
  for (const int64_t latency : {2'100, 1'800, 50'000, 2'000}) reflect_sent(latency);
  CHECK(r.T3Offset() == 2'000);  // of 1'800 1'900 2'000 2'100 50'000
  r.TakeT3ErrorWindow();         // windows on: the next reply's error alone
  clock += 10'000;
  x = r.Reflect(req, Sw(clock - 5'000), 64, 1, clock, out);
  CHECK(written_t3() == clock + 2'000);
  // RestampT3, the later read right before the send, adds it too; the error is the stamp
  // against what the reply carries, the latency against the read.
  r.RestampT3(x, out, clock + 300);
  CHECK(written_t3() == clock + 2'300);
  r.OnSent(x.id, Sw(clock + 300 + 2'150));
  const LatencySummary w = r.TakeT3ErrorWindow();
  CHECK(w.count == 1);
  CHECK(w.min == 150);
  s = r.Summary();
  CHECK(s.t3_offset_samples == 6);
  CHECK(s.t3_offset_ns == 2'100);  // the upper median of 1'800 1'900 2'000 2'100 2'150 50'000
  // Each error against the offset learned before it: 1'900 (none), 200, -300, 48'100, ...
  CHECK(s.t3_error.count == 6);
  CHECK(s.t3_error.min == -300);    // 1'800 against the 2'100 of {1'900, 2'100}
  CHECK(s.t3_error.max == 48'100);  // the outlier against 1'900

  // The window holds the last 64: once they are all 3 µs, then all 0.5 µs, so is the offset.
  for (int i = 0; i < 64; ++i) reflect_sent(3'000);
  CHECK(r.T3Offset() == 3'000);
  CHECK(r.Summary().t3_offset_samples == ProbeReflector::kT3LatencyWindow);
  for (int i = 0; i < 64; ++i) reflect_sent(500);
  CHECK(r.T3Offset() == 500);
  // Stamps before the reads they follow (the clock stepped back): never an estimate earlier
  // than the read.
  for (int i = 0; i < 64; ++i) reflect_sent(-1'000);
  CHECK(r.T3Offset() == 0);
  clock += 10'000;
  r.Reflect(req, Sw(clock - 5'000), 64, 1, clock, out);
  CHECK(written_t3() == clock);
}

TEST_CASE("reflector: with learn_t3_latency off the estimate stays the clock read") {
  auto r = ProbeReflector::Create({.learn_t3_latency = false}).value();
  std::vector<std::byte> req(44, std::byte{0});
  std::array<std::byte, 64> out;
  for (int i = 0; i < 10; ++i) {
    const Reflection x = r.Reflect(req, Sw(kT + i * 10'000), 64, 1, kT + i * 10'000 + 500, out);
    r.OnSent(x.id, Sw(kT + i * 10'000 + 2'500));
  }
  const Reflection x = r.Reflect(req, Sw(kT + 200'000), 64, 1, kT + 200'500, out);
  CHECK(NtpToUnixNs(LoadBe64(out.data() + kStampTimestampOffset)) == kT + 200'500);
  CHECK(x.size > 0);
  const ReflectorSummary s = r.Summary();
  CHECK_FALSE(s.t3_offset_learned);
  CHECK(s.t3_offset_ns == 0);
  CHECK(s.t3_error.p50 == 2'000);
}

TEST_CASE("reflector: unknown TLVs come back with U set, an overrunning one with M") {
  auto r = ProbeReflector::Create({}).value();
  std::vector<std::byte> req(44 + 8 + 8, std::byte{0});
  // Unknown type 200 with 4 value bytes, then a TLV claiming 100 bytes with 4 present.
  StoreBe32(req.data() + 44, 0x80'c8'0004u);
  StoreBe32(req.data() + 48, 0xdeadbeefu);
  StoreBe32(req.data() + 52, 0x80'03'0064u);
  std::array<std::byte, 128> out;
  Reflection x = r.Reflect(req, Sw(kT), 64, 1, kT, out);
  REQUIRE(x.size == req.size());
  CHECK(LoadBe32(out.data() + 44) == 0x80'c8'0004u);
  CHECK(LoadBe32(out.data() + 48) == 0xdeadbeefu);
  CHECK(Load8(out.data() + 52) == (kStampTlvFlagUnrecognized | kStampTlvFlagMalformed));
  ReflectorSummary s = r.Summary();
  CHECK(s.tlv_unrecognized == 1);
  CHECK(s.tlv_malformed == 1);
}

TEST_CASE("reflector: replies whose TX stamp never came are counted when their slot is reused") {
  auto r = ProbeReflector::Create({.pending_tx = 16}).value();
  std::array<std::byte, 64> out;
  std::vector<std::byte> a = KernelSenderPacket(1, 1, 1);
  std::vector<uint64_t> ids;
  for (int i = 0; i < 20; ++i) ids.push_back(r.Reflect(a, Sw(kT), 64, 1, kT, out).id);
  CHECK(r.Summary().tx_pending_overwritten == 4);
  r.OnSent(ids[0], Sw(kT + 1));  // its slot now belongs to a later reply
  CHECK(r.Summary().tx_stamps_unknown == 1);
  r.OnSent(ids[19], Sw(kT + 1));
  CHECK(r.Summary().tx_stamps == 1);
}

TEST_CASE("reflector: bad options are refused") {
  CHECK_FALSE(ProbeReflector::Create({.max_sessions = 0}).ok());
  ProbeReflectorOptions o;
  o.error_estimate.multiplier = 0;
  CHECK_FALSE(ProbeReflector::Create(o).ok());
  CHECK_FALSE(ProbeReflector::Create({.pending_tx = (1u << 24) + 1}).ok());
}
