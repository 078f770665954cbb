// checksum.h — the Internet checksum (RFC 1071) and its pseudo-headers.
//
// Example:
// Given: #include "ringstamp/engine/proto/byte_order.h"
// Given: #include "ringstamp/engine/proto/ip_proto.h"
// Given: std::span<const std::byte> ip_header; const IpAddress& src; const IpAddress& dst
// Given: std::span<std::byte> udp; uint16_t udp_len
//   uint16_t c = InternetChecksum(ip_header);            // ready for StoreBe16
//   ChecksumAccumulator acc;
//   AddPseudoHeader(acc, src, dst, kIpProtoUdp, udp_len);
//   acc.Add(udp);  StoreBe16(udp.data() + 6, acc.Checksum());
//
// The sum runs over 8 bytes at a time in native byte order with an
// end-around carry and is swapped once at the end (RFC 1071 §2(B)); roughly
// 0.1 ns per byte. The accumulator takes the data in any number of pieces of
// any lengths (an odd piece shifts the next one's byte lanes, which is
// handled), so headers and payload can be summed where they lie.
// All values given and returned are host-order numbers as they appear on the
// wire (store them with StoreBe16). Any thread, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "ringstamp/engine/proto/ip_address.h"

namespace ringstamp {

// Whether a parser verifies an upper-layer checksum. kSkip is for frames whose
// checksum the kernel has not filled in yet (AF_PACKET TP_STATUS_CSUMNOTREADY:
// a local sender's checksum offload) or has already verified
// (TP_STATUS_CSUM_VALID).
enum class ChecksumCheck : uint8_t { kVerify, kSkip };

class ChecksumAccumulator {
 public:
  // Adds the next `data.size()` bytes of the checksummed stream.
  void Add(std::span<const std::byte> data);
  // Adds a 16/32-bit field (host value, as it would be stored big-endian)
  // as the next 2/4 bytes of the stream.
  void AddBe16(uint16_t value);
  void AddBe32(uint32_t value);

  // The one's complement sum folded to 16 bits. A message that carries a
  // correct checksum folds to 0xffff.
  uint16_t Fold() const;
  // The checksum to store: ~Fold().
  uint16_t Checksum() const { return static_cast<uint16_t>(~Fold()); }

 private:
  uint64_t sum_ = 0;  // native-order one's complement sum (end-around carry)
  bool odd_ = false;  // an odd number of bytes has been added so far
};

// ~(one's complement sum of `data`), host order: the value a header's
// checksum field holds. Over bytes that include a correct checksum it is 0.
uint16_t InternetChecksum(std::span<const std::byte> data);

// RFC 1624 eqn. 3: the new checksum after one 16-bit word of the covered data
// changed from `old_word` to `new_word`, without summing the data again.
uint16_t ChecksumAdjust(uint16_t checksum, uint16_t old_word, uint16_t new_word);

// Adds the IPv4 (RFC 768) or IPv6 (RFC 8200 §8.1) pseudo-header for an
// upper-layer message of `upper_length` bytes. `src` and `dst` must be of the
// same family (the caller checks; with kNone nothing is added for them).
void AddPseudoHeader(ChecksumAccumulator& acc, const IpAddress& src, const IpAddress& dst,
                     uint8_t protocol, uint32_t upper_length);

// Checksum of an upper-layer message (UDP, ICMPv6, ...) with its pseudo-header:
// over a message whose checksum field is zero it is the value to store; over
// one that carries its checksum it is 0 when the checksum is right.
uint16_t UpperLayerChecksum(const IpAddress& src, const IpAddress& dst, uint8_t protocol,
                            std::span<const std::byte> message);

}  // namespace ringstamp
