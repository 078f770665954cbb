// TxRing slot layout in anonymous memory (no kernel): the frame area Reserve hands
// out, what Commit writes before it (virtio_net_hdr with PACKET_VNET_HDR) and the
// slot indices a template-keeping producer relies on.
#include <doctest/doctest.h>
#include <sys/mman.h>

#include <cstring>
#include <memory>
#include <vector>

#include "ringstamp/ring/ring_config.h"
#include "ringstamp/ring/tx_ring.h"

using namespace ringstamp;

namespace {

struct HeapRing {
  explicit HeapRing(const RingConfig& c) : cfg(c) {
    void* mem =
        mmap(nullptr, cfg.bytes(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(mem != MAP_FAILED);
    mapping = std::make_shared<RingMapping>(static_cast<std::byte*>(mem), cfg.bytes());
  }
  tpacket3_hdr* Slot(uint32_t i) const {
    const uint32_t per = cfg.frames_per_block();
    return reinterpret_cast<tpacket3_hdr*>(mapping->base() +
                                           static_cast<size_t>(i / per) * cfg.block_size +
                                           static_cast<size_t>(i % per) * cfg.frame_size);
  }
  const std::byte* SlotBytes(uint32_t i) const { return reinterpret_cast<std::byte*>(Slot(i)); }
  RingConfig cfg;
  std::shared_ptr<RingMapping> mapping;
};

std::vector<std::byte> Frame(size_t len, uint8_t seed) {
  std::vector<std::byte> f(len);
  for (size_t i = 0; i < len; ++i) f[i] = static_cast<std::byte>(seed + i);
  return f;
}

uint16_t HdrLenAt(const std::byte* vnet) {
  uint16_t v = 0;
  std::memcpy(&v, vnet + 2, sizeof(v));
  return v;
}

}  // namespace

TEST_CASE("ring tx vnet: ForTx asks for whole-frame copies, other kinds leave it off") {
  CHECK(RingConfig::ForTx(1 << 20).tx_linear_bytes == kDefaultTxLinearBytes);
  CHECK(RingConfig::ForRx(8 << 20).tx_linear_bytes == 0);
  CHECK(RingConfig{}.tx_linear_bytes == 0);
}

TEST_CASE("ring tx vnet: with a vnet header the frame follows it and Commit fills in hdr_len") {
  RingConfig cfg{.block_size = 1 << 16, .block_count = 2, .frame_size = 128, .block_timeout_ms = 0};
  cfg.tx_linear_bytes = 64;
  HeapRing heap(cfg);
  TxRing tx(heap.mapping, heap.mapping->base(), cfg, /*fd=*/-1, /*mtu=*/1500, /*vnet_hdr=*/true);
  CHECK(tx.frame_offset() == TxRing::kDataOffset + TxRing::kVnetHdrLen);
  CHECK(tx.frame_offset() == 58);
  CHECK(tx.capacity() == 128 - 58);
  CHECK(tx.linear_bytes() == 64);
  CHECK(tx.frame_count() == 1024);

  // A 60-byte frame: copied whole (hdr_len 60), tp_len counts the vnet header.
  CHECK(tx.next_slot() == 0);
  std::span<std::byte> s = tx.Reserve();
  REQUIRE(s.size() == 70);
  CHECK(s.data() == heap.SlotBytes(0) + 58);
  auto f60 = Frame(60, 1);
  std::memcpy(s.data(), f60.data(), f60.size());
  REQUIRE(tx.Commit(60) == TxResult::kOk);
  CHECK(heap.Slot(0)->tp_len == 70);
  CHECK(heap.Slot(0)->tp_snaplen == 70);
  CHECK(heap.Slot(0)->tp_status == TP_STATUS_SEND_REQUEST);
  const std::byte* vnet = heap.SlotBytes(0) + TxRing::kDataOffset;
  CHECK(vnet[0] == std::byte{0});  // flags: no checksum offload
  CHECK(vnet[1] == std::byte{0});  // gso_type: VIRTIO_NET_HDR_GSO_NONE
  CHECK(HdrLenAt(vnet) == 60);
  for (int i = 4; i < 10; ++i) CHECK(vnet[i] == std::byte{0});
  CHECK(std::memcmp(heap.SlotBytes(0) + 58, f60.data(), 60) == 0);
  CHECK(tx.counters().bytes.Get() == 60);  // frame bytes, not the header

  // A frame longer than linear_bytes: hdr_len stops there (the rest stays in the ring page).
  CHECK(tx.next_slot() == 1);
  auto f70 = Frame(70, 2);
  REQUIRE(tx.Write(f70) == TxResult::kOk);
  CHECK(HdrLenAt(heap.SlotBytes(1) + TxRing::kDataOffset) == 64);
  CHECK(heap.Slot(1)->tp_len == 80);

  // Too long for the slot: refused, nothing written, the same slot is offered again.
  auto f71 = Frame(71, 3);
  CHECK(tx.Write(f71) == TxResult::kTooLong);
  CHECK(tx.next_slot() == 2);
  CHECK(heap.Slot(2)->tp_status == TP_STATUS_AVAILABLE);
}

TEST_CASE("ring tx vnet: without a vnet header frames start at the ring header's end") {
  RingConfig cfg = RingConfig::ForTx(1 << 17, 2048);
  HeapRing heap(cfg);
  TxRing tx(heap.mapping, heap.mapping->base(), cfg, /*fd=*/-1, /*mtu=*/1500);
  CHECK(tx.frame_offset() == TxRing::kDataOffset);
  CHECK(tx.linear_bytes() == 14);
  CHECK(tx.capacity() == 1518);
  auto f = Frame(100, 4);
  REQUIRE(tx.Write(f) == TxResult::kOk);
  CHECK(heap.Slot(0)->tp_len == 100);
  CHECK(std::memcmp(heap.SlotBytes(0) + TxRing::kDataOffset, f.data(), 100) == 0);
}

TEST_CASE("ring tx vnet: linear bytes are clamped to hdr_len's range and at least a header") {
  RingConfig cfg{
      .block_size = 1 << 16, .block_count = 2, .frame_size = 2048, .block_timeout_ms = 0};
  HeapRing heap(cfg);
  cfg.tx_linear_bytes = 1;
  CHECK(TxRing(heap.mapping, heap.mapping->base(), cfg, -1, 1500, true).linear_bytes() == 14);
  cfg.tx_linear_bytes = 1u << 20;
  CHECK(TxRing(heap.mapping, heap.mapping->base(), cfg, -1, 1500, true).linear_bytes() == 65535);
}

TEST_CASE("ring tx vnet: next_slot walks the ring in order and wraps after frame_count") {
  RingConfig cfg{
      .block_size = 1 << 12, .block_count = 2, .frame_size = 1024, .block_timeout_ms = 0};
  HeapRing heap(cfg);
  TxRing tx(heap.mapping, heap.mapping->base(), cfg, -1, 1500, true);
  REQUIRE(tx.frame_count() == 8);
  auto f = Frame(60, 5);
  for (uint32_t i = 0; i < 8; ++i) {
    CHECK(tx.next_slot() == i);
    REQUIRE(tx.Write(f) == TxResult::kOk);
  }
  // Full: every slot waits for the kernel.
  CHECK(tx.Reserve().empty());
  CHECK(tx.counters().ring_full.Get() == 1);
  // Play the kernel for slot 0 only: the ring offers slot 0 again.
  heap.Slot(0)->tp_status = TP_STATUS_AVAILABLE;
  CHECK(tx.next_slot() == 0);
  CHECK(!tx.Reserve().empty());
}
