#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "ringstamp/ring/v3_block.h"
#include "tests/support/v3_block_builder.h"

using namespace ringstamp;
using ringstamp::testing::PatternFrame;
using ringstamp::testing::V3BlockBuilder;

namespace {
std::vector<Frame> WalkAll(V3BlockBuilder& b, V3BlockError* err, int64_t user_ns = 7) {
  V3BlockWalker w(b.data(), b.size(), user_ns);
  std::vector<Frame> out;
  Frame f;
  while (w.Next(&f)) out.push_back(f);
  *err = w.error();
  return out;
}
}  // namespace

TEST_CASE("block walk: several frames come out intact, in order, with their metadata") {
  V3BlockBuilder b(1 << 16);
  std::vector<std::vector<std::byte>> sent;
  for (uint32_t k = 0; k < 20; ++k) {
    sent.push_back(PatternFrame(60 + k * 37, k));
    REQUIRE(
        b.Add(sent.back(), {.status = TP_STATUS_TS_SOFTWARE | (k % 2 ? TP_STATUS_VLAN_VALID : 0u),
                            .sec = 100 + k,
                            .nsec = k,
                            .vlan_tci = static_cast<uint16_t>(k),
                            .rxhash = 1000 + k}));
  }
  b.Finish();
  V3BlockError err;
  auto frames = WalkAll(b, &err);
  CHECK(err == V3BlockError::kNone);
  REQUIRE(frames.size() == sent.size());
  for (size_t k = 0; k < sent.size(); ++k) {
    CAPTURE(k);
    REQUIRE(frames[k].snap_len == sent[k].size());
    CHECK(std::memcmp(frames[k].data, sent[k].data(), sent[k].size()) == 0);
    CHECK(frames[k].wire_len == sent[k].size());
    CHECK(frames[k].rxhash == 1000 + k);
    CHECK(frames[k].vlan_valid == (k % 2 == 1));
    if (k % 2) {
      CHECK(frames[k].vlan_tci == k);
      CHECK(frames[k].vlan_tpid == 0x8100);  // TPID not flagged valid: the 802.1Q default
    }
    CHECK(frames[k].stamps.software_ns == int64_t(100 + k) * 1'000'000'000 + k);
    CHECK_FALSE(frames[k].stamps.hardware_ns.has_value());
    CHECK(frames[k].stamps.userspace_ns == 7);
  }
}

TEST_CASE("block walk: a truncated frame reports snap length and wire length") {
  V3BlockBuilder b(4096);
  auto f = PatternFrame(96, 1);
  REQUIRE(b.Add(f, {.wire_len = 1514}));
  b.Finish();
  V3BlockError err;
  auto frames = WalkAll(b, &err);
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].truncated());
  CHECK(frames[0].snap_len == 96);
  CHECK(frames[0].wire_len == 1514);
}

TEST_CASE("block walk: an empty block yields nothing and no error") {
  V3BlockBuilder b(4096);
  b.Finish();
  V3BlockError err;
  CHECK(WalkAll(b, &err).empty());
  CHECK(err == V3BlockError::kNone);
}

TEST_CASE("block walk: a bogus tp_next_offset stops the walk after the good frame") {
  for (uint32_t bogus : {0u, 3u, 40u, 1u << 20, 0xffffffffu}) {
    CAPTURE(bogus);
    V3BlockBuilder b(8192);
    for (int k = 0; k < 3; ++k) REQUIRE(b.Add(PatternFrame(100, k)));
    b.Finish();
    b.frame(0).tp_next_offset = bogus;
    V3BlockError err;
    auto frames = WalkAll(b, &err);
    CHECK(frames.size() == 1);
    CHECK(err == V3BlockError::kNextOffsetBad);
  }
}

TEST_CASE("block walk: a block whose length lies is clamped and never read past") {
  V3BlockBuilder b(4096);
  for (int k = 0; k < 3; ++k) REQUIRE(b.Add(PatternFrame(200, k)));
  b.Finish();
  SUBCASE("blk_len past the block") {
    b.header().hdr.bh1.blk_len = 1 << 20;
    V3BlockError err;
    auto frames = WalkAll(b, &err);
    CHECK(frames.size() == 3);  // every frame is inside the real block
    CHECK(err == V3BlockError::kBlockLengthLies);
  }
  SUBCASE("blk_len shorter than the frames") {
    b.header().hdr.bh1.blk_len = b.frame(1).tp_next_offset + 100;
    V3BlockError err;
    auto frames = WalkAll(b, &err);
    CHECK(frames.size() < 3);
    CHECK(err != V3BlockError::kNone);
  }
  SUBCASE("num_pkts larger than the frames present") {
    b.header().hdr.bh1.num_pkts = 1000;
    V3BlockError err;
    auto frames = WalkAll(b, &err);
    CHECK(frames.size() == 3);
    CHECK(err != V3BlockError::kNone);
  }
  SUBCASE("offset to first frame outside the block") {
    b.header().hdr.bh1.offset_to_first_pkt = 5000;
    V3BlockError err;
    CHECK(WalkAll(b, &err).empty());
    CHECK(err == V3BlockError::kFirstOffsetBad);
  }
  SUBCASE("snap length past the block") {
    b.frame(2).tp_snaplen = 4000;
    V3BlockError err;
    auto frames = WalkAll(b, &err);
    CHECK(frames.size() == 2);
    CHECK(err == V3BlockError::kFrameOutOfBlock);
  }
  SUBCASE("tp_mac inside the header") {
    b.frame(0).tp_mac = 4;
    V3BlockError err;
    CHECK(WalkAll(b, &err).empty());
    CHECK(err == V3BlockError::kFrameOutOfBlock);
  }
}

TEST_CASE("block walk: random corruption of header fields never reads out of bounds") {
  // Runs under ASan in CI: any read past the block is a failure there.
  uint32_t x = 12345;
  for (int round = 0; round < 2000; ++round) {
    V3BlockBuilder b(4096);
    for (int k = 0; k < 4; ++k) b.Add(PatternFrame(64 + k * 100, k));
    b.Finish();
    x = x * 1103515245u + 12345u;
    const uint32_t field = x % 6;
    const uint32_t value = (x >> 8) % 9000;
    switch (field) {
      case 0:
        b.header().hdr.bh1.num_pkts = value;
        break;
      case 1:
        b.header().hdr.bh1.blk_len = value;
        break;
      case 2:
        b.header().hdr.bh1.offset_to_first_pkt = value;
        break;
      case 3:
        b.frame(x % 4).tp_next_offset = value;
        break;
      case 4:
        b.frame(x % 4).tp_mac = static_cast<uint16_t>(value);
        break;
      case 5:
        b.frame(x % 4).tp_snaplen = value;
        break;
    }
    V3BlockWalker w(b.data(), b.size(), 0);
    Frame f;
    int n = 0;
    while (w.Next(&f) && n < 100) {
      ++n;
      const std::byte* end = b.data() + b.size();
      REQUIRE(f.data >= b.data());
      REQUIRE(f.data + f.snap_len <= end);
    }
    CHECK(n <= 4);
  }
}

TEST_CASE("ts status decoding: each TP_STATUS_TS_ bit names its source") {
  Timestamps t;
  DecodeRingStamp(TP_STATUS_TS_SOFTWARE, 5, 6, &t);
  CHECK(t.software_ns == 5'000'000'006);
  CHECK_FALSE(t.hardware_ns);

  t = {};
  DecodeRingStamp(TP_STATUS_TS_RAW_HARDWARE, 7, 8, &t);
  CHECK(t.hardware_ns == 7'000'000'008);
  CHECK(t.hardware_source == StampSource::kHardwareRaw);
  CHECK_FALSE(t.software_ns);

  t = {};
  DecodeRingStamp(TP_STATUS_TS_SYS_HARDWARE, 9, 1, &t);
  CHECK(t.hardware_ns == 9'000'000'001);
  CHECK(t.hardware_source == StampSource::kHardwareSys);

  t = {};
  DecodeRingStamp(0, 9, 1, &t);  // no TS bit: the kernel's copy-time clock read is not a stamp
  CHECK(t.empty());

  t = {};
  DecodeRingStamp(TP_STATUS_TS_RAW_HARDWARE, 0, 0,
                  &t);  // flagged but zero: never shown as hardware
  CHECK_FALSE(t.hardware_ns);
}

TEST_CASE("ts status decoding: a ring block with hardware stamps reaches the Frame") {
  V3BlockBuilder b(4096);
  REQUIRE(b.Add(PatternFrame(64, 1), {.status = TP_STATUS_TS_RAW_HARDWARE, .sec = 42, .nsec = 99}));
  REQUIRE(b.Add(PatternFrame(64, 2), {.status = TP_STATUS_TS_SOFTWARE, .sec = 43, .nsec = 1}));
  REQUIRE(b.Add(PatternFrame(64, 3), {.status = 0, .sec = 44, .nsec = 1}));
  b.Finish();
  V3BlockError err;
  auto frames = WalkAll(b, &err, 50);
  REQUIRE(frames.size() == 3);
  CHECK(frames[0].stamps.hardware_ns == 42'000'000'099);
  CHECK(frames[0].stamps.Best()->source == StampSource::kHardwareRaw);
  CHECK(frames[1].stamps.Best()->source == StampSource::kSoftware);
  CHECK(frames[2].stamps.Best()->source == StampSource::kUserspace);
  CHECK(frames[2].stamps.Best()->ns == 50);
}
