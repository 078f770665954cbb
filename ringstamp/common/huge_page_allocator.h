// huge_page_allocator.h — HugePageAllocator: a std allocator that puts arrays of 2 MiB and more
// in their own 2 MiB-aligned anonymous mappings marked MADV_HUGEPAGE.
//
// Example:
// Given: #include <vector>
//   std::vector<uint64_t, HugePageAllocator<uint64_t>> slots(1 << 20);  // 8 MiB: 4 huge pages
//
// For the relay's dispatch tables: at 100,000 endpoints a table is 8-16 MiB probed at random,
// and with 4 KiB pages nearly every probe also misses the TLB. Transparent huge pages set to
// "madvise" (Debian's default) give such a mapping 2 MiB pages; with "never" it is plain memory.
// Smaller arrays come from the ordinary heap. Any thread; the cost is one mmap per allocation.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>

namespace ringstamp {

template <typename T>
class HugePageAllocator {
 public:
  using value_type = T;
  static constexpr size_t kHugePage = size_t{2} << 20;

  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT: allocators convert implicitly

  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kHugePage) return std::allocator<T>().allocate(n);
    // Map one huge page more than needed and trim both ends to 2 MiB alignment.
    const size_t len = RoundUp(bytes);
    void* raw =
        mmap(nullptr, len + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) throw std::bad_alloc();
    const uintptr_t start = reinterpret_cast<uintptr_t>(raw);
    const uintptr_t aligned = (start + kHugePage - 1) & ~(kHugePage - 1);
    if (aligned > start) munmap(raw, aligned - start);
    const uintptr_t end = start + len + kHugePage;
    if (end > aligned + len) munmap(reinterpret_cast<void*>(aligned + len), end - aligned - len);
    (void)madvise(reinterpret_cast<void*>(aligned), len, MADV_HUGEPAGE);  // best effort
    return reinterpret_cast<T*>(aligned);
  }

  void deallocate(T* p, size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kHugePage) {
      std::allocator<T>().deallocate(p, n);
      return;
    }
    munmap(p, RoundUp(bytes));
  }

  template <typename U>
  friend bool operator==(const HugePageAllocator&, const HugePageAllocator<U>&) {
    return true;
  }

 private:
  static size_t RoundUp(size_t bytes) { return (bytes + kHugePage - 1) & ~(kHugePage - 1); }
};

}  // namespace ringstamp
