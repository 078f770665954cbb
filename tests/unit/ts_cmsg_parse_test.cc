#include "ringstamp/timestamp/cmsg_parse.h"

#include <doctest/doctest.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "ringstamp/timestamp/kernel_compat.h"
#include "ringstamp/timestamp/tx_stamp_tracker.h"

using namespace ringstamp;

namespace {

// Builds a control area the way the kernel lays it out (put_cmsg): header,
// payload, padding to 8 bytes.
class CmsgBuilder {
 public:
  CmsgBuilder& Add(int level, int type, const void* data, size_t len) {
    size_t start = buf_.size();
    size_t space = CMSG_SPACE(len);
    buf_.resize(start + space, std::byte{0});
    cmsghdr hdr{};
    hdr.cmsg_len = CMSG_LEN(len);
    hdr.cmsg_level = level;
    hdr.cmsg_type = type;
    std::memcpy(buf_.data() + start, &hdr, sizeof(hdr));
    if (len > 0) std::memcpy(buf_.data() + start + CMSG_LEN(0), data, len);
    return *this;
  }
  // scm_timestamping with ts[0] = sw, ts[1] = legacy, ts[2] = hw, as {sec, nsec}.
  CmsgBuilder& Scm(int64_t sw_s, int64_t sw_ns, int64_t hw_s, int64_t hw_ns,
                   int type = SO_TIMESTAMPING_OLD, int64_t legacy_s = 0, int64_t legacy_ns = 0) {
    int64_t v[6] = {sw_s, sw_ns, legacy_s, legacy_ns, hw_s, hw_ns};
    return Add(SOL_SOCKET, type, v, sizeof(v));
  }
  CmsgBuilder& Ee(int level, int type, uint32_t ee_errno, uint8_t origin, uint32_t info,
                  uint32_t data, size_t extra = 0) {
    std::vector<std::byte> payload(sizeof(sock_extended_err) + extra, std::byte{0});
    sock_extended_err ee{};
    ee.ee_errno = ee_errno;
    ee.ee_origin = origin;
    ee.ee_info = info;
    ee.ee_data = data;
    std::memcpy(payload.data(), &ee, sizeof(ee));
    return Add(level, type, payload.data(), payload.size());
  }
  CmsgBuilder& TxStamp(int level, int type, uint32_t info, uint32_t key) {
    return Ee(level, type, ENOMSG, SO_EE_ORIGIN_TIMESTAMPING, info, key,
              level == SOL_IP     ? sizeof(sockaddr_in)
              : level == SOL_IPV6 ? sizeof(sockaddr_in6)
                                  : 0);
  }
  std::vector<std::byte>& bytes() { return buf_; }
  std::span<const std::byte> span() const { return buf_; }

 private:
  std::vector<std::byte> buf_;
};

// Parses from an exact-size heap copy, so ASan sees any read past the end.
ParsedCmsgs ParseExact(std::span<const std::byte> bytes) {
  std::unique_ptr<std::byte[]> copy(new std::byte[bytes.size() + 1]);
  if (!bytes.empty()) std::memcpy(copy.get(), bytes.data(), bytes.size());
  return ParseCmsgs(std::span<const std::byte>(copy.get(), bytes.size()));
}

}  // namespace

TEST_CASE("cmsg: software stamp only: ts[0] is software, no hardware") {
  CmsgBuilder b;
  b.Scm(1700000000, 123456789, 0, 0);
  ParsedCmsgs p = ParseExact(b.span());
  CHECK(p.ok());
  CHECK(p.has_timestamping);
  Timestamps want;
  want.software_ns = 1700000000'123456789;
  CHECK(p.stamps == want);
  CHECK_FALSE(p.stamps.hardware_ns.has_value());
  CHECK_FALSE(p.tx.has_value());
  CHECK(p.cmsgs == 1);
}

TEST_CASE("cmsg: hardware stamp only: ts[2] is raw hardware, no software") {
  CmsgBuilder b;
  b.Scm(0, 0, 42, 7);  // PHC time near its epoch is a legal hardware stamp
  ParsedCmsgs p = ParseExact(b.span());
  CHECK(p.ok());
  Timestamps want;
  want.hardware_ns = 42'000000007;
  want.hardware_source = StampSource::kHardwareRaw;
  CHECK(p.stamps == want);
  CHECK_FALSE(p.stamps.software_ns.has_value());
}

TEST_CASE("cmsg: both stamps, and the 64-bit SCM_TIMESTAMPING_NEW variant") {
  for (int type : {SO_TIMESTAMPING_OLD, SO_TIMESTAMPING_NEW}) {
    CAPTURE(type);
    CmsgBuilder b;
    b.Scm(1700000001, 5, 1700000000, 999999999, type);
    ParsedCmsgs p = ParseExact(b.span());
    CHECK(p.ok());
    CHECK(*p.stamps.software_ns == 1700000001'000000005);
    CHECK(*p.stamps.hardware_ns == 1700000000'999999999);
    CHECK(p.stamps.hardware_source == StampSource::kHardwareRaw);
  }
}

TEST_CASE("cmsg: neither stamp: all-zero timespecs are absent, never labelled hardware") {
  CmsgBuilder b;
  b.Scm(0, 0, 0, 0);
  ParsedCmsgs p = ParseExact(b.span());
  CHECK(p.ok());
  CHECK(p.has_timestamping);
  CHECK(p.stamps.empty());
  CHECK(p.stamps == Timestamps{});
}

TEST_CASE("cmsg: legacy ts[1] is reported as driver-converted hardware only without ts[2]") {
  CmsgBuilder b;
  b.Scm(0, 0, 0, 0, SO_TIMESTAMPING_OLD, 10, 20);
  ParsedCmsgs p = ParseExact(b.span());
  REQUIRE(p.stamps.hardware_ns.has_value());
  CHECK(*p.stamps.hardware_ns == 10'000000020);
  CHECK(p.stamps.hardware_source == StampSource::kHardwareSys);
  CmsgBuilder b2;
  b2.Scm(0, 0, 30, 40, SO_TIMESTAMPING_OLD, 10, 20);
  p = ParseExact(b2.span());
  CHECK(*p.stamps.hardware_ns == 30'000000040);
  CHECK(p.stamps.hardware_source == StampSource::kHardwareRaw);
}

TEST_CASE("cmsg: TX stamp reports from packet, IPv4 and IPv6 sockets") {
  struct Case {
    int level, type;
  } cases[] = {{SOL_PACKET, PACKET_TX_TIMESTAMP}, {SOL_IP, IP_RECVERR}, {SOL_IPV6, IPV6_RECVERR}};
  for (const Case& c : cases) {
    CAPTURE(c.level);
    CmsgBuilder b;
    b.Scm(1700000000, 1, 0, 0).TxStamp(c.level, c.type, SCM_TSTAMP_SND, 0xfffffffe);
    ParsedCmsgs p = ParseExact(b.span());
    CHECK(p.ok());
    REQUIRE(p.tx.has_value());
    CHECK(p.tx->key == 0xfffffffeu);
    CHECK(p.tx->kind == TxStampKind::kSnd);
    CHECK(p.tx->level == c.level);
    CHECK_FALSE(p.error.has_value());
    auto ev = TxStampEvent::FromCmsgs(p);
    REQUIRE(ev.has_value());
    CHECK(*ev == TxStampEvent{0xfffffffe, TxStampKind::kSnd, 1700000000'000000001, std::nullopt});
  }
}

TEST_CASE("cmsg: ee_info selects SND / SCHED / ACK / other, order of cmsgs does not matter") {
  CmsgBuilder b;
  b.TxStamp(SOL_PACKET, PACKET_TX_TIMESTAMP, SCM_TSTAMP_SCHED, 9).Scm(5, 6, 0, 0);
  ParsedCmsgs p = ParseExact(b.span());
  REQUIRE(p.tx.has_value());
  CHECK(p.tx->kind == TxStampKind::kSched);
  CHECK(*p.stamps.software_ns == 5'000000006);
  CmsgBuilder b2;
  b2.TxStamp(SOL_IP, IP_RECVERR, SCM_TSTAMP_ACK, 1);
  CHECK(ParseExact(b2.span()).tx->kind == TxStampKind::kAck);
  CmsgBuilder b3;
  b3.TxStamp(SOL_IP, IP_RECVERR, 77, 1);
  p = ParseExact(b3.span());
  CHECK(p.tx->kind == TxStampKind::kOther);
  CHECK(p.tx->ee_info == 77u);
  // A TX report without SCM_TIMESTAMPING gives no event.
  CHECK_FALSE(TxStampEvent::FromCmsgs(p).has_value());
}

TEST_CASE("cmsg: a non-timestamp extended error (ICMP unreachable) is an error, not a stamp") {
  CmsgBuilder b;
  b.Ee(SOL_IP, IP_RECVERR, ECONNREFUSED, SO_EE_ORIGIN_ICMP, 0, 0, sizeof(sockaddr_in));
  ParsedCmsgs p = ParseExact(b.span());
  CHECK(p.ok());
  CHECK_FALSE(p.tx.has_value());
  REQUIRE(p.error.has_value());
  CHECK(p.error->ee_errno == uint32_t{ECONNREFUSED});
  CHECK(p.error->origin == SO_EE_ORIGIN_ICMP);
  // ENOMSG with another origin is not a timestamp either.
  CmsgBuilder b2;
  b2.Ee(SOL_PACKET, PACKET_TX_TIMESTAMP, ENOMSG, SO_EE_ORIGIN_ZEROCOPY, 0, 3);
  p = ParseExact(b2.span());
  CHECK_FALSE(p.tx.has_value());
  CHECK(p.error.has_value());
}

TEST_CASE("cmsg: OPT_STATS skipped, PKTINFO and SCM_TS_OPT_ID decoded, unknown ignored") {
  std::vector<std::byte> stats(37, std::byte{0xab});
  scm_ts_pktinfo info{};
  info.if_index = 4;
  info.pkt_length = 98;
  uint32_t key = 1234;
  uint32_t junk = 1;
  CmsgBuilder b;
  b.Add(SOL_SOCKET, SCM_TIMESTAMPING_OPT_STATS, stats.data(), stats.size())
      .Scm(1, 2, 0, 0)
      .Add(SOL_SOCKET, SCM_TIMESTAMPING_PKTINFO, &info, sizeof(info))
      .Add(SOL_SOCKET, SCM_TS_OPT_ID, &key, sizeof(key))
      .Add(SOL_IP, IP_TTL, &junk, sizeof(junk))
      .TxStamp(SOL_IP, IP_RECVERR, SCM_TSTAMP_SND, 3);
  ParsedCmsgs p = ParseExact(b.span());
  CHECK(p.ok());
  CHECK(p.has_opt_stats);
  CHECK(p.cmsgs == 6);
  CHECK(p.ignored == 1);
  CHECK(*p.stamps.software_ns == 1'000000002);
  CHECK(*p.pktinfo_ifindex == 4u);
  CHECK(p.pktinfo_length == 98u);
  CHECK(*p.opt_id == 1234u);
  CHECK(p.tx->key == 3u);
}

TEST_CASE("cmsg: truncated control area stops the walk and keeps what came before") {
  CmsgBuilder b;
  b.Scm(7, 8, 9, 10).TxStamp(SOL_PACKET, PACKET_TX_TIMESTAMP, SCM_TSTAMP_SND, 5);
  auto all = b.span();
  // Cut inside the second cmsg's payload: its header promises more than is there.
  ParsedCmsgs p = ParseExact(all.first(CMSG_SPACE(48) + 20));
  CHECK(p.truncated);
  CHECK_FALSE(p.ok());
  CHECK(*p.stamps.software_ns == 7'000000008);
  CHECK(*p.stamps.hardware_ns == 9'000000010);
  CHECK_FALSE(p.tx.has_value());
  // Cut inside the first cmsg: nothing decoded, nothing invented.
  p = ParseExact(all.first(40));
  CHECK(p.truncated);
  CHECK(p.stamps.empty());
  // Less than a header: nothing at all.
  p = ParseExact(all.first(10));
  CHECK(p.cmsgs == 0);
  CHECK(p.stamps.empty());
  // Missing final padding is fine (the kernel's last cmsg may end unpadded).
  CmsgBuilder b2;
  uint32_t key = 5;
  b2.Scm(1, 1, 0, 0).Add(SOL_SOCKET, SCM_TS_OPT_ID, &key, 4);
  p = ParseExact(b2.span().first(b2.span().size() - 4));
  CHECK(p.ok());
  CHECK(*p.opt_id == 5u);
}

TEST_CASE("cmsg: mislabelled cmsgs are skipped, never decoded as stamps") {
  SUBCASE("SCM_TIMESTAMPING with the payload size of a sock_extended_err") {
    sock_extended_err ee{};
    ee.ee_errno = ENOMSG;
    CmsgBuilder b;
    b.Add(SOL_SOCKET, SO_TIMESTAMPING_OLD, &ee, sizeof(ee));
    ParsedCmsgs p = ParseExact(b.span());
    CHECK(p.malformed == 1);
    CHECK_FALSE(p.has_timestamping);
    CHECK(p.stamps.empty());
  }
  SUBCASE("sock_extended_err too short") {
    uint32_t v = ENOMSG;
    CmsgBuilder b;
    b.Add(SOL_PACKET, PACKET_TX_TIMESTAMP, &v, sizeof(v));
    ParsedCmsgs p = ParseExact(b.span());
    CHECK(p.malformed == 1);
    CHECK_FALSE(p.tx.has_value());
  }
  SUBCASE("nanoseconds out of range, or negative seconds") {
    CmsgBuilder b;
    b.Scm(1, 1'000'000'000, 0, 0);
    CHECK(ParseExact(b.span()).malformed == 1);
    CHECK(ParseExact(b.span()).stamps.empty());
    CmsgBuilder b2;
    b2.Scm(0, 0, -1, 5);
    CHECK(ParseExact(b2.span()).malformed == 1);
    CHECK_FALSE(ParseExact(b2.span()).stamps.hardware_ns.has_value());
  }
  SUBCASE("cmsg_len smaller than a header stops the walk") {
    CmsgBuilder b;
    b.Scm(1, 1, 0, 0);
    size_t bad = 3;
    std::memcpy(b.bytes().data(), &bad, sizeof(bad));
    ParsedCmsgs p = ParseExact(b.span());
    CHECK(p.malformed == 1);
    CHECK(p.stamps.empty());
  }
  SUBCASE("a huge cmsg_len is truncation, not a read") {
    CmsgBuilder b;
    b.Scm(1, 1, 0, 0);
    size_t huge = SIZE_MAX;
    std::memcpy(b.bytes().data(), &huge, sizeof(huge));
    ParsedCmsgs p = ParseExact(b.span());
    CHECK(p.truncated);
    CHECK(p.stamps.empty());
  }
  SUBCASE("a second SCM_TIMESTAMPING does not overwrite the first") {
    CmsgBuilder b;
    b.Scm(1, 1, 0, 0).Scm(2, 2, 3, 3);
    ParsedCmsgs p = ParseExact(b.span());
    CHECK(p.ignored == 1);
    CHECK(*p.stamps.software_ns == 1'000000001);
    CHECK_FALSE(p.stamps.hardware_ns.has_value());
  }
}

TEST_CASE("cmsg: fuzz: random, mutated and truncated buffers never crash or invent stamps") {
  std::mt19937_64 rng(0x5eed1234);
  // Seeds: valid buffers to mutate.
  std::vector<std::vector<std::byte>> seeds;
  {
    CmsgBuilder a, b, c;
    a.Scm(1700000000, 1, 1700000000, 2).TxStamp(SOL_PACKET, PACKET_TX_TIMESTAMP, 0, 1);
    b.TxStamp(SOL_IPV6, IPV6_RECVERR, 1, 99).Scm(3, 4, 0, 0);
    std::vector<std::byte> stats(60, std::byte{1});
    c.Add(SOL_SOCKET, SCM_TIMESTAMPING_OPT_STATS, stats.data(), stats.size()).Scm(0, 0, 5, 6);
    seeds = {a.bytes(), b.bytes(), c.bytes()};
  }
  int parsed = 0;
  for (int iter = 0; iter < 200000; ++iter) {  // bounded; ~0.1 s
    std::vector<std::byte> buf;
    int mode = static_cast<int>(rng() % 3);
    if (mode == 0) {  // pure noise
      buf.resize(rng() % 300);
      for (auto& x : buf) x = static_cast<std::byte>(rng());
    } else {  // a seed, bytes flipped, cut at a random length
      buf = seeds[rng() % seeds.size()];
      int flips = static_cast<int>(rng() % 6);
      for (int f = 0; f < flips && !buf.empty(); ++f) {
        buf[rng() % buf.size()] = static_cast<std::byte>(rng());
      }
      if (mode == 2) buf.resize(rng() % (buf.size() + 1));
    }
    ParsedCmsgs p = ParseExact(buf);
    ++parsed;
    // Invariants: a present stamp is never zero and always within range.
    if (p.stamps.hardware_ns) REQUIRE(*p.stamps.hardware_ns > 0);
    if (p.stamps.software_ns) REQUIRE(*p.stamps.software_ns > 0);
    REQUIRE(p.cmsgs <= buf.size() / 16);
    REQUIRE_FALSE(p.stamps.userspace_ns.has_value());
  }
  CHECK(parsed == 200000);
}

TEST_CASE("cmsg: DecodeScmTimestamping rejects a payload of the wrong size") {
  std::byte buf[64] = {};
  Timestamps t;
  CHECK_FALSE(DecodeScmTimestamping(std::span<const std::byte>(buf, 47), t));
  CHECK_FALSE(DecodeScmTimestamping(std::span<const std::byte>(buf, 49), t));
  CHECK(DecodeScmTimestamping(std::span<const std::byte>(buf, 48), t));
  CHECK(t.empty());
}
