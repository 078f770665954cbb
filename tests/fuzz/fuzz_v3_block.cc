// Fuzz: V3BlockWalker over a block of arbitrary bytes (what a confused or hostile kernel
// block could hold): every frame it yields lies inside the block.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "ringstamp/ring/v3_block.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < sizeof(tpacket_block_desc)) return 0;
  // An aligned copy, as the kernel's block is.
  std::vector<std::byte> block(size);
  for (size_t i = 0; i < size; ++i) block[i] = static_cast<std::byte>(data[i]);
  ringstamp::V3BlockWalker walker(block.data(), static_cast<uint32_t>(size), 1);
  ringstamp::Frame f;
  for (int n = 0; n < 100000 && walker.Next(&f); ++n) {
    if (f.data < block.data() || f.data + f.snap_len > block.data() + block.size()) std::abort();
  }
  (void)walker.error();
  return 0;
}
