// Block walk and TX ring fill: the two per-frame costs of the ring layer, in userspace only.
// Target (issue 2): walk ≤ 5 ns per 64-byte frame; TX fill + commit ≤ 20 ns per frame
// (the kick, one syscall per burst, is not here: scripts/bench.sh's tx section measures the
// whole path). TX rows with and without the virtio_net_hdr TX-only sockets carry, and with
// the frame kept in its slot from the lap before.
#include <benchmark/benchmark.h>
#include <sys/mman.h>

#include <cstring>
#include <memory>
#include <vector>

#include "ringstamp/ring/rx_ring.h"
#include "ringstamp/ring/tx_ring.h"
#include "ringstamp/ring/v3_block.h"
#include "tests/support/v3_block_builder.h"

using namespace ringstamp;

namespace {

std::unique_ptr<testing::V3BlockBuilder> MakeBlock(uint32_t block_size, uint32_t frame_len) {
  auto b = std::make_unique<testing::V3BlockBuilder>(block_size);
  auto frame = testing::PatternFrame(frame_len, 1);
  while (b->Add(frame, {.status = TP_STATUS_TS_SOFTWARE, .sec = 1, .nsec = 2})) {
  }
  b->Finish();
  return b;
}

void BM_BlockWalk64(benchmark::State& state) {
  auto b = MakeBlock(1 << 20, 64);
  const uint32_t n = b->header().hdr.bh1.num_pkts;
  uint64_t sum = 0;
  for (auto _ : state) {
    V3BlockWalker w(b->data(), b->size(), 123);
    Frame f;
    while (w.Next(&f)) sum += f.snap_len;
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["frames_per_block"] = n;
}
BENCHMARK(BM_BlockWalk64);

// A TX ring in anonymous memory: Reserve + 64-byte copy + Commit, slots recycled by
// hand (no kernel), so only the userspace cost is measured. Arguments: whether the
// slots carry a virtio_net_hdr (PACKET_VNET_HDR, as TX-only sockets get: Commit
// writes it), and whether the frame is copied each time or kept in the slot from
// the lap before (as TrafficGenerator does: Commit's stores alone).
void BM_TxFillCommit64(benchmark::State& state) {
  const bool vnet_hdr = state.range(0) != 0;
  const bool copy = state.range(1) != 0;
  // 512 slots either way: 2048-byte slots, or 128-byte ones (a 64-byte frame after
  // the header and the virtio_net_hdr) as ringstamp gen sizes them.
  const uint32_t slot = vnet_hdr ? 128 : 2048;
  RingConfig cfg{
      .block_size = 4 * slot, .block_count = 128, .frame_size = slot, .block_timeout_ms = 0};
  cfg.tx_linear_bytes = kDefaultTxLinearBytes;
  const size_t bytes = cfg.bytes();
  void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  auto mapping = std::make_shared<RingMapping>(static_cast<std::byte*>(mem), bytes);
  TxRing tx(mapping, mapping->base(), cfg, /*fd=*/-1, /*mtu=*/1500, vnet_hdr);
  auto frame = testing::PatternFrame(64, 3);
  const uint32_t slots = cfg.frame_count();
  uint64_t done = 0;
  for (auto _ : state) {
    for (uint32_t i = 0; i < slots; ++i) {
      std::span<std::byte> s = tx.Reserve();
      if (copy || done == 0) std::memcpy(s.data(), frame.data(), frame.size());
      tx.Commit(static_cast<uint32_t>(frame.size()));
    }
    done += slots;
    state.PauseTiming();
    // Play the kernel: every slot sent.
    for (uint32_t i = 0; i < slots; ++i) {
      const uint32_t block = i / cfg.frames_per_block(), in = i % cfg.frames_per_block();
      auto* h = reinterpret_cast<tpacket3_hdr*>(mapping->base() +
                                                static_cast<size_t>(block) * cfg.block_size +
                                                static_cast<size_t>(in) * cfg.frame_size);
      h->tp_status = TP_STATUS_AVAILABLE;
    }
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(done));
  state.counters["slots"] = slots;
}
BENCHMARK(BM_TxFillCommit64)
    ->ArgNames({"vnet_hdr", "copy"})
    ->Args({0, 1})
    ->Args({1, 1})
    ->Args({1, 0});

}  // namespace

BENCHMARK_MAIN();
