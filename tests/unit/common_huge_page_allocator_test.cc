// HugePageAllocator: large arrays in their own 2 MiB-aligned mappings, small ones from the heap;
// both usable end to end and given back. Whether the kernel backs a mapping with huge pages
// depends on the machine's transparent_hugepage setting, so that is not asserted.
#include <doctest/doctest.h>

#include <cstdint>
#include <numeric>
#include <vector>

#include "ringstamp/common/huge_page_allocator.h"

using namespace ringstamp;

TEST_CASE("huge page allocator: a 5 MiB array is 2 MiB-aligned and usable, a small one too") {
  constexpr size_t kHuge = HugePageAllocator<char>::kHugePage;
  for (uint64_t round = 0; round < 3; ++round) {  // mapped and unmapped again each round
    std::vector<uint64_t, HugePageAllocator<uint64_t>> big(5 * (kHuge / 8) / 2);
    CHECK(reinterpret_cast<uintptr_t>(big.data()) % kHuge == 0);
    CHECK(big.front() == 0);
    CHECK(big.back() == 0);
    std::iota(big.begin(), big.end(), round);
    CHECK(big[big.size() - 1] == big.size() - 1 + round);
    std::vector<uint64_t, HugePageAllocator<uint64_t>> small(100, 7);
    CHECK(small[99] == 7);
    // Growing past the threshold moves a heap array into a mapping.
    small.resize(kHuge / 8 + 1, 9);
    CHECK(reinterpret_cast<uintptr_t>(small.data()) % kHuge == 0);
    CHECK(small[99] == 7);
    CHECK(small.back() == 9);
  }
}
