#include <doctest/doctest.h>

#include <string>

#include "ringstamp/ring/ring_config.h"

using namespace ringstamp;

namespace {
std::string Msg(const absl::Status& s) { return std::string(s.message()); }
}  // namespace

TEST_CASE("ring config: defaults are valid for every ring kind") {
  CHECK(RingConfig::ForRx(64 << 20).Validate(RingKind::kRxV3).ok());
  CHECK(RingConfig::ForTx(4 << 20).Validate(RingKind::kTxV3).ok());
  RingConfig v2 = RingConfig::ForTx(4 << 20);
  CHECK(v2.Validate(RingKind::kRxV2).ok());
}

TEST_CASE("ring config: frame_nr arithmetic matches the kernel's rule") {
  RingConfig c{.block_size = 1 << 16, .block_count = 8, .frame_size = 2048, .block_timeout_ms = 0};
  tpacket_req3 r = c.ToReq3(RingKind::kTxV3);
  CHECK(r.tp_frame_nr == (r.tp_block_size / r.tp_frame_size) * r.tp_block_nr);
  CHECK(r.tp_frame_nr == 256);
  CHECK(r.tp_retire_blk_tov == 0);
  c.block_timeout_ms = 5;
  CHECK(c.ToReq3(RingKind::kRxV3).tp_retire_blk_tov == 5);
}

TEST_CASE("ring config: a block size off the page grid is named with a size that fits") {
  RingConfig c = RingConfig::ForRx(8 << 20);
  c.block_size = 10000;
  absl::Status s = c.Validate(RingKind::kRxV3);
  REQUIRE_FALSE(s.ok());
  CHECK(Msg(s).find("block size 10000 is not a multiple of the page size") != std::string::npos);
  CHECK(Msg(s).find("try 8192") != std::string::npos);
}

TEST_CASE("ring config: frame alignment, frame larger than block, zero blocks") {
  RingConfig c = RingConfig::ForTx(1 << 20);
  c.frame_size = 2050;
  absl::Status s = c.Validate(RingKind::kTxV3);
  REQUIRE_FALSE(s.ok());
  CHECK(Msg(s).find("not a multiple of TPACKET_ALIGNMENT") != std::string::npos);
  CHECK(Msg(s).find("try 2064") != std::string::npos);

  c = RingConfig::ForTx(1 << 20);
  c.frame_size = 1 << 17;
  s = c.Validate(RingKind::kTxV3);
  REQUIRE_FALSE(s.ok());
  CHECK(Msg(s).find("larger than the block size") != std::string::npos);

  c = RingConfig::ForTx(1 << 20);
  c.block_count = 0;
  s = c.Validate(RingKind::kTxV3);
  REQUIRE_FALSE(s.ok());
  CHECK(Msg(s).find("block count is 0") != std::string::npos);

  c = RingConfig::ForTx(1 << 20);
  c.frame_size = 32;
  s = c.Validate(RingKind::kTxV3);
  REQUIRE_FALSE(s.ok());
  CHECK(Msg(s).find("smaller than the ring header") != std::string::npos);
}

TEST_CASE("ring config: TX needs a zero timeout, V3 RX caps it") {
  RingConfig c = RingConfig::ForTx(1 << 20);
  c.block_timeout_ms = 10;
  absl::Status s = c.Validate(RingKind::kTxV3);
  REQUIRE_FALSE(s.ok());
  CHECK(Msg(s).find("must be 0 for a TX ring") != std::string::npos);

  c = RingConfig::ForRx(8 << 20);
  c.block_timeout_ms = 70000;
  s = c.Validate(RingKind::kRxV3);
  REQUIRE_FALSE(s.ok());
  CHECK(Msg(s).find("above the kernel's limit") != std::string::npos);
}

TEST_CASE("ring config: absurd totals and oversize blocks are refused before any syscall") {
  RingConfig c = RingConfig::ForRx(8 << 20);
  c.block_count = 1u << 30;
  absl::Status s = c.Validate(RingKind::kRxV3);
  REQUIRE_FALSE(s.ok());
  CHECK(Msg(s).find("use fewer blocks") != std::string::npos);

  c = RingConfig::ForRx(8 << 20);
  c.block_size = 1u << 26;
  s = c.Validate(RingKind::kRxV3);
  REQUIRE_FALSE(s.ok());
  CHECK(Msg(s).find("larger than the kernel allows for one block") != std::string::npos);
}

TEST_CASE("ring config: Halved shrinks to two blocks and then refuses") {
  RingConfig c = RingConfig::ForRx(32 << 20);
  REQUIRE(c.block_count == 8);
  auto h = c.Halved();
  REQUIRE(h.ok());
  CHECK(h->block_count == 4);
  h = h->Halved();
  REQUIRE(h.ok());
  CHECK(h->block_count == 2);
  CHECK_FALSE(h->Halved().ok());
}
