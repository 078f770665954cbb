// RFC 8972 TLVs of the probe: request layout by size, reflection of known,
// unknown, short and overrunning TLVs, parsing of the reply, source mapping.
#include "ringstamp/engine/probe/probe_tlv.h"

#include <doctest/doctest.h>

#include <vector>

#include "ringstamp/engine/proto/byte_order.h"

using namespace ringstamp;

TEST_CASE("probe tlv: which probe sizes carry the request") {
  CHECK_FALSE(ProbeTlvsFit(44));
  CHECK_FALSE(ProbeTlvsFit(71));
  CHECK(ProbeTlvsFit(72));
  CHECK_FALSE(ProbeTlvsFit(73));
  CHECK_FALSE(ProbeTlvsFit(75));
  CHECK(ProbeTlvsFit(76));
  CHECK(ProbeTlvsFit(1472));
  std::vector<std::byte> small(74, std::byte{0x11});
  CHECK_FALSE(WriteProbeRequestTlvs(small));
  CHECK(small[44] == std::byte{0x11});  // untouched
}

TEST_CASE("probe tlv: 72-byte request is exactly Timestamp Information + Follow-Up") {
  std::vector<std::byte> p(72, std::byte{0x11});
  REQUIRE(WriteProbeRequestTlvs(p));
  for (size_t i = 0; i < 44; ++i) CHECK(p[i] == std::byte{0x11});  // base packet untouched
  CHECK(LoadBe32(p.data() + 44) == 0x8003'0004u);
  CHECK(LoadBe32(p.data() + 48) == 0u);
  CHECK(LoadBe32(p.data() + 52) == 0x8007'0010u);
  for (size_t i = 56; i < 72; ++i) CHECK(p[i] == std::byte{0});
  // A reflector that does not know TLVs echoes them: nothing is trusted.
  ReflectorTlvs t = ParseReflectorTlvs(p);
  CHECK_FALSE(t.info.has_value());
  CHECK_FALSE(t.follow_up.has_value());
  CHECK(t.unrecognized == 2);
  CHECK_FALSE(t.malformed);
}

TEST_CASE("probe tlv: the reflector fills known TLVs, keeps padding, clears U") {
  std::vector<std::byte> req(80);
  REQUIRE(WriteProbeRequestTlvs(req));
  CHECK(LoadBe32(req.data() + 72) == 0x8001'0004u);  // Extra Padding of 4
  std::vector<std::byte> reply(80, std::byte{0xee});
  ReflectorTlvFill fill{.sync_source = StampSyncSource::kNtp,
                        .t2_method = StampTimestampMethod::kSoftwareLocal,
                        .t3_method = StampTimestampMethod::kControlPlane,
                        .follow_up = {.seq = 41, .timestamp = 0x1122334455667788ull, .method = 2}};
  TlvReflectResult r = ReflectTlvs(std::span(req).subspan(44), std::span(reply).subspan(44), fill);
  CHECK(r.tlvs == 3);
  CHECK(r.unrecognized == 0);
  CHECK_FALSE(r.malformed);
  CHECK(r.follow_up_requested);
  CHECK(LoadBe32(reply.data() + 44) == 0x0003'0004u);
  CHECK(LoadBe32(reply.data() + 48) == 0x01'02'01'03u);
  CHECK(LoadBe32(reply.data() + 52) == 0x0007'0010u);
  CHECK(LoadBe32(reply.data() + 56) == 41u);
  CHECK(LoadBe64(reply.data() + 60) == 0x1122334455667788ull);
  CHECK(LoadBe32(reply.data() + 68) == 0x02'00'00'00u);
  CHECK(LoadBe32(reply.data() + 72) == 0x0001'0004u);
  CHECK(LoadBe32(reply.data() + 76) == 0u);
  for (size_t i = 0; i < 44; ++i) CHECK(reply[i] == std::byte{0xee});  // base left to the caller

  ReflectorTlvs t = ParseReflectorTlvs(reply);
  REQUIRE(t.info.has_value());
  CHECK(*t.info == StampTimestampInfo{1, 2, 1, 3});
  REQUIRE(t.follow_up.has_value());
  CHECK(*t.follow_up == StampFollowUp{41, 0x1122334455667788ull, 2});
  CHECK(t.unrecognized == 0);
}

TEST_CASE("probe tlv: too-short known TLVs and trailing fragments are flagged malformed") {
  std::vector<std::byte> req(44 + 6 + 3, std::byte{0});
  StoreBe32(req.data() + 44, 0x8003'0002u);  // Timestamp Information with 2 value bytes
  StoreBe16(req.data() + 48, 0xabcd);
  Store8(req.data() + 50, 0x80);  // 3 bytes left: not even a header
  std::vector<std::byte> reply(req.size());
  TlvReflectResult r = ReflectTlvs(std::span(req).subspan(44), std::span(reply).subspan(44), {});
  CHECK(r.malformed);
  CHECK(r.tlvs == 2);
  CHECK(Load8(reply.data() + 44) == kStampTlvFlagMalformed);
  CHECK(LoadBe16(reply.data() + 48) == 0xabcd);  // value copied, not filled
  CHECK(Load8(reply.data() + 50) == (0x80 | kStampTlvFlagMalformed));
  ReflectorTlvs t = ParseReflectorTlvs(reply);
  CHECK(t.malformed);
  CHECK_FALSE(t.info.has_value());
}

TEST_CASE("probe tlv: an all-zero tail is plain padding on both sides") {
  std::vector<std::byte> req(100, std::byte{0});
  std::vector<std::byte> reply(100, std::byte{0x55});
  TlvReflectResult r = ReflectTlvs(std::span(req).subspan(44), std::span(reply).subspan(44), {});
  CHECK(r.tlvs == 0);
  for (size_t i = 44; i < 100; ++i) CHECK(reply[i] == std::byte{0});
  ReflectorTlvs t = ParseReflectorTlvs(req);
  CHECK_FALSE(t.info.has_value());
  CHECK_FALSE(t.malformed);
  CHECK(ParseReflectorTlvs(std::span(req).first(44)).unrecognized == 0);
}

TEST_CASE("probe tlv: stamp sources map to methods and back") {
  CHECK(MethodForSource(StampSource::kHardwareRaw) == StampTimestampMethod::kHardwareAssist);
  CHECK(MethodForSource(StampSource::kHardwareSys) == StampTimestampMethod::kHardwareAssist);
  CHECK(MethodForSource(StampSource::kSoftware) == StampTimestampMethod::kSoftwareLocal);
  CHECK(MethodForSource(StampSource::kUserspace) == StampTimestampMethod::kControlPlane);
  CHECK(ReceiveSourceForMethod(1) == StampSource::kHardwareRaw);
  CHECK(ReceiveSourceForMethod(2) == StampSource::kSoftware);
  CHECK(ReceiveSourceForMethod(3) == StampSource::kUserspace);
  CHECK(ReceiveSourceForMethod(0) == StampSource::kUserspace);
  CHECK(ReceiveSourceForMethod(200) == StampSource::kUserspace);
  CHECK(TransmitSourceForMethod(1) == StampSource::kHardwareRaw);
  CHECK(TransmitSourceForMethod(2) == StampSource::kEstimate);
  CHECK(TransmitSourceForMethod(3) == StampSource::kEstimate);
}
