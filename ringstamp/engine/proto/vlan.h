// vlan.h — VlanTag (802.1Q / 802.1ad) and VlanStack, the up-to-8 tags of a frame.
//
// Example:
//   VlanStack stack;
//   stack.Push(VlanTag::Make(kEtherTypeQinQ, 100));  // outer S-tag, VID 100
//   stack.Push(VlanTag::Make(kEtherTypeVlan, 200, /*pcp=*/5));  // inner C-tag
//   VlanStack key = stack.WithoutPriority();        // a map key: TPIDs + VIDs (==, Hash())
//
// Tags are kept outermost first, as they appear on the wire. A VlanTag is the
// TPID plus the TCI (PCP 3 bits, DEI 1 bit, VID 12 bits), 4 bytes. VlanStack
// is a fixed array of kMaxTags tags plus a count: no allocation, trivially
// copyable, usable as a hash-map key (operator== and Hash() look only at the
// first size() tags). Plain values: any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "ringstamp/engine/proto/hash_mix.h"

namespace ringstamp {

inline constexpr uint16_t kEtherTypeVlan = 0x8100;        // 802.1Q C-tag
inline constexpr uint16_t kEtherTypeQinQ = 0x88a8;        // 802.1ad S-tag
inline constexpr uint16_t kEtherTypeQinQLegacy = 0x9100;  // pre-802.1ad double tagging

// True for the TPIDs that ParseEthernet treats as a VLAN tag.
constexpr bool IsVlanTpid(uint16_t ethertype) {
  // The first test turns away the common types (IPv4, ARP) at once: every tag TPID is above.
  return ethertype >= kEtherTypeVlan &&
         (ethertype == kEtherTypeVlan || ethertype == kEtherTypeQinQ ||
          ethertype == kEtherTypeQinQLegacy);
}

struct VlanTag {
  uint16_t tpid = kEtherTypeVlan;
  uint16_t tci = 0;

  // VID is masked to 12 bits and PCP to 3.
  static constexpr VlanTag Make(uint16_t tpid, uint16_t vid, uint8_t pcp = 0, bool dei = false) {
    return {tpid,
            static_cast<uint16_t>(((pcp & 0x7u) << 13) | (dei ? 0x1000u : 0u) | (vid & 0x0fffu))};
  }

  constexpr uint16_t vid() const { return tci & 0x0fff; }
  constexpr uint8_t pcp() const { return static_cast<uint8_t>(tci >> 13); }
  constexpr bool dei() const { return (tci & 0x1000) != 0; }

  friend constexpr bool operator==(const VlanTag&, const VlanTag&) = default;
};

class VlanStack {
 public:
  static constexpr size_t kMaxTags = 8;

  constexpr VlanStack() = default;

  constexpr size_t size() const { return size_; }
  constexpr bool empty() const { return size_ == 0; }
  constexpr bool full() const { return size_ == kMaxTags; }
  // Tag `i`, 0 = outermost; `i` < size().
  constexpr const VlanTag& operator[](size_t i) const { return tags_[i]; }
  constexpr const VlanTag* begin() const { return tags_.data(); }
  constexpr const VlanTag* end() const { return tags_.data() + size_; }

  // Appends an inner tag; false (and no change) when the stack is full.
  constexpr bool Push(VlanTag tag) {
    if (full()) return false;
    tags_[size_++] = tag;
    return true;
  }
  // Inserts an outer tag (e.g. the one the kernel stripped into the ring
  // header); false (and no change) when the stack is full.
  constexpr bool PushFront(VlanTag tag) {
    if (full()) return false;
    for (size_t i = size_; i > 0; --i) tags_[i] = tags_[i - 1];
    tags_[0] = tag;
    ++size_;
    return true;
  }
  // Tags past size() are never read (==, Hash, iteration stop at size()).
  constexpr void Clear() { size_ = 0; }

  // The same stack with PCP and DEI cleared: the identity a relay keys on
  // (frames of one VLAN arrive with any priority).
  constexpr VlanStack WithoutPriority() const {
    VlanStack out = *this;
    for (size_t i = 0; i < size_; ++i) out.tags_[i].tci &= 0x0fff;
    return out;
  }

  // Bytes the tags take on the wire.
  constexpr size_t WireSize() const { return size_ * 4; }

  constexpr uint64_t Hash() const {
    uint64_t h = HashMix(size_);
    for (size_t i = 0; i < size_; ++i) {
      h = HashCombine(h, (uint64_t{tags_[i].tpid} << 16) | tags_[i].tci);
    }
    return h;
  }

  friend constexpr bool operator==(const VlanStack& a, const VlanStack& b) {
    if (a.size_ != b.size_) return false;
    for (size_t i = 0; i < a.size_; ++i) {
      if (!(a.tags_[i] == b.tags_[i])) return false;
    }
    return true;
  }

 private:
  std::array<VlanTag, kMaxTags> tags_{};
  uint8_t size_ = 0;
};

static_assert(sizeof(VlanTag) == 4);
static_assert(sizeof(VlanStack) <= 34);

}  // namespace ringstamp
