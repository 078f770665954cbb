// ptr_table.h — PtrTable: the relay's open-addressing hash table from a 24-byte key to a pointer,
// in 32-byte slots (two to a cache line), so that a lookup usually touches one line and a batch
// can prefetch exactly that line before it probes.
//
// Example:
// Given: #include "ringstamp/engine/conn/ether_conn.h"
// Given: EtherConn* conn; const L2Key& key
//   PtrTable<L2Key, L2KeyHash, EtherConn> table;
//   table.Set(key, conn);
//   const size_t h = table.HashOf(key);
//   table.Prefetch(h);                  // a few frames ahead
//   EtherConn* owner = table.Find(key, h);
//
// Why not absl::flat_hash_map: its prefetch fetches the control bytes of a group and a probe then
// reads a slot in another line, so at 100,000 endpoints a lookup misses twice; here the slot a key
// hashes to holds the key itself. Linear probing, capacity a power of two, at most 3/4 full; Erase
// shifts the entries after the hole back (no tombstones), so churn does not lengthen probe runs.
// A slot is empty when its value is null: null values cannot be stored. Slot arrays of 2 MiB
// and more (from ~50,000 entries) live in their own huge-page mappings (HugePageAllocator): a
// random probe into 8-16 MiB of 4 KiB pages misses the TLB as well as the cache (relay_bench
// at 100,000 endpoints, UDP 87 -> 80 ns per frame).
// Threads: none of its own — each relay worker has its own tables, written between batches and
// read on the frame path. Cost: Find is one hash (two 64×64 multiplies) and, at 3/4 load, about
// 2.5 slot compares on average, mostly in the home slot's line; Set and Erase may rehash (O(n),
// allocates): control path only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "ringstamp/common/huge_page_allocator.h"

namespace ringstamp {

template <typename Key, typename Hash, typename Value>
class PtrTable {
  static_assert(sizeof(Key) == 24 && std::is_trivially_copyable_v<Key>,
                "PtrTable keys are three words: a slot is the key and the pointer");

 public:
  size_t HashOf(const Key& k) const { return Hash{}(k); }

  // Starts fetching the line of the slot a key with hash `h` starts at.
  void Prefetch(size_t h) const {
    if (mask_ != 0) __builtin_prefetch(&slots_[h & mask_]);
  }

  // The value stored for `k` (whose hash is `h`), or nullptr.
  Value* Find(const Key& k, size_t h) const {
    if (size_ == 0) return nullptr;
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.value == nullptr) return nullptr;
      if (s.key == k) return s.value;
    }
  }
  Value* Find(const Key& k) const { return Find(k, HashOf(k)); }

  // Inserts `k` → `v` (v not null) unless `k` is there; returns the value now stored for `k`.
  Value* Insert(const Key& k, Value* v) {
    Reserve(size_ + 1);
    Slot& s = Probe(k);
    if (s.value == nullptr) {
      s.key = k;
      s.value = v;
      ++size_;
    }
    return s.value;
  }
  // Inserts or overwrites (v not null).
  void Set(const Key& k, Value* v) {
    Reserve(size_ + 1);
    Slot& s = Probe(k);
    if (s.value == nullptr) ++size_;
    s.key = k;
    s.value = v;
  }
  // Removes `k`; false when it was not there.
  bool Erase(const Key& k) {
    if (size_ == 0) return false;
    size_t hole = static_cast<size_t>(&Probe(k) - slots_.data());
    if (slots_[hole].value == nullptr) return false;
    // Backward shift: an entry after the hole moves into it unless its home slot lies
    // (cyclically) after the hole and at or before the entry's own slot.
    for (size_t j = (hole + 1) & mask_; slots_[j].value != nullptr; j = (j + 1) & mask_) {
      const size_t home = HashOf(slots_[j].key) & mask_;
      const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
      if (stays) continue;
      slots_[hole] = slots_[j];
      hole = j;
    }
    slots_[hole].value = nullptr;
    --size_;
    return true;
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t capacity() const { return slots_.size(); }

  // Calls f(key, value) for every entry, in slot order.
  template <typename F>
  void ForEach(F&& f) const {
    for (const Slot& s : slots_) {
      if (s.value != nullptr) f(s.key, s.value);
    }
  }

 private:
  struct alignas(32) Slot {
    Key key;
    Value* value = nullptr;
  };
  static_assert(sizeof(Slot) == 32);

  // The slot holding `k`, or the empty slot where it would go. Needs a free slot.
  Slot& Probe(const Key& k) {
    for (size_t i = HashOf(k) & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.value == nullptr || s.key == k) return s;
    }
  }

  // Room for `n` entries at most 3/4 full.
  void Reserve(size_t n) {
    if (!slots_.empty() && n * 4 <= slots_.size() * 3) return;
    size_t cap = slots_.empty() ? 16 : slots_.size();
    while (n * 4 > cap * 3) cap *= 2;
    std::vector<Slot, HugePageAllocator<Slot>> old(cap);
    old.swap(slots_);
    mask_ = cap - 1;
    size_ = 0;
    for (const Slot& s : old) {
      if (s.value == nullptr) continue;
      Slot& to = Probe(s.key);
      to = s;
      ++size_;
    }
  }

  std::vector<Slot, HugePageAllocator<Slot>> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace ringstamp
