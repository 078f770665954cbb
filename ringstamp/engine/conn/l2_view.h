// l2_view.h — L2View: a received frame's Ethernet layer with the full VLAN stack, and its dispatch
// key.
//
// Example:
// Given: const Frame& frame; uint64_t& malformed
//   L2View l2;
//   if (ParseL2(frame, &l2) != ParseError::kNone) { ++malformed; return absl::OkStatus(); }
//   const L2Key& key = l2.key;   // (dst MAC, VLAN IDs + TPIDs, EtherType): the relay's map key
//
// The kernel strips the outermost tag into the ring header on most paths
// (Frame::vlan_valid); ParseL2 puts it back in front of the tags still in the
// frame, so a stack reads the same whichever way it arrived. PCP and DEI are
// kept in `vlans` but left out of the key.
//
// L2Key is three words so that the relay's per-frame probe hashes and compares
// 24 bytes, whatever the stack: the MAC and EtherType share one word, and each
// tag takes 16 bits (VID and a code for its TPID), four to a word. Only the
// TPIDs a frame can carry as tags (IsVlanTpid) have a code; PacketRelay refuses
// endpoints with any other. Any thread; no allocation; ParseL2 is one pass over
// the header (a few ns).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "ringstamp/engine/proto/byte_order.h"
#include "ringstamp/engine/proto/checksum.h"
#include "ringstamp/engine/proto/ethernet.h"
#include "ringstamp/engine/proto/mac_address.h"
#include "ringstamp/engine/proto/parse_error.h"
#include "ringstamp/engine/proto/vlan.h"
#include "ringstamp/ring/frame.h"

namespace ringstamp {

// 16-bit key form of a tag: VID | TPID code << 12 (codes 1..3; 0xf for a TPID
// that is not a tag TPID, which no parsed frame carries). Never 0.
constexpr uint16_t VlanKeyTag(uint16_t tpid, uint16_t tci) {
  const uint16_t code = tpid == kEtherTypeVlan         ? 1
                        : tpid == kEtherTypeQinQ       ? 2
                        : tpid == kEtherTypeQinQLegacy ? 3
                                                       : 0xf;
  return static_cast<uint16_t>((tci & 0x0fffu) | (code << 12));
}

struct L2Key {
  uint64_t mac_type = 0;  // destination MAC << 16 | EtherType
  uint64_t vlans_lo = 0;  // tags 0..3 (outermost in the low bits), VlanKeyTag each, 0 = none
  uint64_t vlans_hi = 0;  // tags 4..7

  constexpr L2Key() = default;
  constexpr L2Key(uint64_t mac, const VlanStack& vlans, uint16_t ethertype)
      : mac_type((mac << 16) | ethertype) {
    for (size_t i = 0; i < vlans.size(); ++i) AddTag(i, VlanKeyTag(vlans[i].tpid, vlans[i].tci));
  }
  // Sets tag `i` (< VlanStack::kMaxTags).
  constexpr void AddTag(size_t i, uint16_t key_tag) {
    const uint64_t v = uint64_t{key_tag} << ((i & 3) * 16);
    if (i < 4) {
      vlans_lo |= v;
    } else {
      vlans_hi |= v;
    }
  }

  friend constexpr bool operator==(const L2Key&, const L2Key&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const L2Key& k) {
    return H::combine(std::move(h), k.mac_type, k.vlans_lo, k.vlans_hi);
  }
};

// The relay's hasher for L2Key: one 64×64→128 multiply of the MAC-and-type word by the tag
// words, each XORed with a constant, folded (high half XOR low half), so that every input bit
// reaches the high and low bits flat_hash_map and PtrTable use. The tag words are combined
// first (the upper four tags, rare, rotated so that they do not cancel the lower four). A factor
// is 0 only for contrived keys, which then share a hash: the tables compare whole keys, so that
// costs a longer probe, never a wrong owner. Not keyed (an attacker who picks MACs can pick
// colliding ones; so can one who floods a switch).
struct L2KeyHash {
  static constexpr uint64_t Fold(uint64_t a, uint64_t b) {
    const unsigned __int128 p = static_cast<unsigned __int128>(a) * b;
    return static_cast<uint64_t>(p) ^ static_cast<uint64_t>(p >> 64);
  }
  static constexpr uint64_t Rotl(uint64_t v, int r) { return (v << r) | (v >> (64 - r)); }
  constexpr size_t operator()(const L2Key& k) const {
    return Fold(k.mac_type ^ 0x9e3779b97f4a7c15ULL,
                k.vlans_lo ^ Rotl(k.vlans_hi, 29) ^ 0xc2b2ae3d27d4eb4fULL);
  }
};

struct L2View {
  MacAddress dst;
  MacAddress src;
  VlanStack vlans;  // outermost first, as on the wire
  uint16_t ethertype = 0;
  std::span<const std::byte> payload;
  L2Key key;  // filled by ParseL2

  const L2Key& Key() const { return key; }
};

// Fills *out; on failure returns the reason (too short, too many tags). Inline: the relay
// calls it once per received frame.
inline ParseError ParseL2(const Frame& frame, L2View* out) {
  const std::byte* p = frame.data;
  const size_t size = frame.snap_len;
  if (size < kEthernetHeaderSize) return ParseError::kEthernetTruncated;
  // Straight into the view: through MacAddress::Load's return value the compiler keeps
  // copies of both on the stack.
  std::memcpy(out->dst.bytes.data(), p, MacAddress::kSize);
  std::memcpy(out->src.bytes.data(), p + 6, MacAddress::kSize);
  out->vlans.Clear();
  L2Key key;
  size_t tag = 0;
  if (frame.vlan_valid) {
    const uint16_t tpid = frame.vlan_tpid != 0 ? frame.vlan_tpid : kEtherTypeVlan;
    out->vlans.Push(VlanTag{tpid, frame.vlan_tci});
    key.AddTag(tag++, VlanKeyTag(tpid, frame.vlan_tci));
  }
  size_t at = 12;
  uint16_t type = LoadBe16(p + at);
  while (IsVlanTpid(type)) {
    // TPID at `at`, TCI at `at + 2`, next EtherType at `at + 4`.
    if (size < at + kVlanTagSize + 2) return ParseError::kVlanTruncated;
    const uint16_t tci = LoadBe16(p + at + 2);
    if (!out->vlans.Push(VlanTag{type, tci})) return ParseError::kTooManyVlanTags;
    key.AddTag(tag++, VlanKeyTag(type, tci));
    at += kVlanTagSize;
    type = LoadBe16(p + at);
  }
  out->ethertype = type;
  out->payload = std::span<const std::byte>(p + at + 2, size - at - 2);
  // The destination MAC is the frame's first 48 bits: one load, no byte loop.
  key.mac_type = (LoadBe64(p) & ~uint64_t{0xffff}) | type;
  out->key = key;
  return ParseError::kNone;
}

// How the checksums inside `frame` are treated: skipped when the kernel verified them or
// has not filled them in yet (Frame::checksum_trusted), verified otherwise.
inline ChecksumCheck ChecksumCheckFor(const Frame& frame) {
  return frame.checksum_trusted() ? ChecksumCheck::kSkip : ChecksumCheck::kVerify;
}

}  // namespace ringstamp
