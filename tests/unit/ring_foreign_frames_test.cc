// The ring's belt against frames of another interface: sll_ifindex is read from
// beside each frame, and Poll / PollBatches skip and count every frame whose
// interface is not the ring's (a capture must never record them).
#include <doctest/doctest.h>
#include <sys/mman.h>

#include <cstring>
#include <memory>
#include <vector>

#include "ringstamp/ring/rx_ring.h"
#include "ringstamp/ring/v3_block.h"
#include "tests/support/v3_block_builder.h"

using namespace ringstamp;
using ringstamp::testing::PatternFrame;
using ringstamp::testing::V3BlockBuilder;

namespace {

constexpr uint32_t kBlock = 4096;

// One V3 block holding frames from interfaces 7, 9, 7, 3, 7 (sizes 60, 61, ...),
// copied into anonymous memory an RxRing can own.
std::unique_ptr<RxRing> RingWithMixedFrames() {
  V3BlockBuilder b(kBlock);
  const int32_t ifindex[] = {7, 9, 7, 3, 7};
  for (int k = 0; k < 5; ++k) {
    REQUIRE(b.Add(PatternFrame(60 + k, k), {.ifindex = ifindex[k]}));
  }
  b.Finish();
  void* mem = mmap(nullptr, kBlock, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(mem != MAP_FAILED);
  std::memcpy(mem, b.data(), kBlock);
  auto mapping = std::make_shared<RingMapping>(static_cast<std::byte*>(mem), kBlock);
  RingConfig cfg{.block_size = kBlock, .block_count = 1, .frame_size = 2048};
  return std::make_unique<RxRing>(mapping, mapping->base(), cfg);
}

}  // namespace

TEST_CASE("ring foreign frames: the walker reads sll_ifindex from beside each frame") {
  V3BlockBuilder b(kBlock);
  REQUIRE(b.Add(PatternFrame(60, 1), {.ifindex = 42}));
  REQUIRE(b.Add(PatternFrame(70, 2), {.ifindex = 5}));
  b.Finish();
  V3BlockWalker w(b.data(), b.size(), 0);
  Frame f;
  REQUIRE(w.Next(&f));
  CHECK(f.ifindex == 42);
  REQUIRE(w.Next(&f));
  CHECK(f.ifindex == 5);
  CHECK(f.snap_len == 70);
}

TEST_CASE("ring foreign frames: Poll skips and counts frames of another interface") {
  auto ring = RingWithMixedFrames();
  ring->set_only_ifindex(7);
  std::vector<uint32_t> lens;
  const size_t n = ring->Poll([&](const Frame& f) {
    CHECK(f.ifindex == 7);
    lens.push_back(f.snap_len);
  });
  CHECK(n == 3);
  CHECK(lens == std::vector<uint32_t>{60, 62, 64});
  CHECK(ring->counters().frames.Get() == 3);
  CHECK(ring->counters().foreign.Get() == 2);
  CHECK(ring->counters().bytes.Get() == 60 + 62 + 64);
}

TEST_CASE("ring foreign frames: PollBatches skips and counts frames of another interface") {
  auto ring = RingWithMixedFrames();
  ring->set_only_ifindex(7);
  std::vector<uint32_t> lens;
  const size_t n = ring->PollBatches([&](std::span<Frame> batch) {
    for (const Frame& f : batch) {
      CHECK(f.ifindex == 7);
      lens.push_back(f.snap_len);
    }
  });
  CHECK(n == 3);
  CHECK(lens == std::vector<uint32_t>{60, 62, 64});
  CHECK(ring->counters().foreign.Get() == 2);
}

TEST_CASE("ring foreign frames: without an interface set every frame is handed over") {
  auto ring = RingWithMixedFrames();
  CHECK(ring->Poll([](const Frame&) {}) == 5);
  CHECK(ring->counters().foreign.Get() == 0);
}
