// Fuzz: ParseFrame over arbitrary bytes, with and without a stripped VLAN tag and checksum
// checks; every view it returns must lie inside the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "ringstamp/engine/proto/frame.h"

namespace {
void Inside(std::span<const std::byte> all, std::span<const std::byte> part) {
  if (part.empty()) return;
  if (part.data() < all.data() || part.data() + part.size() > all.data() + all.size()) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  for (int variant = 0; variant < 2; ++variant) {
    ringstamp::FrameParseOptions o;
    o.l4_checksum =
        variant == 0 ? ringstamp::ChecksumCheck::kVerify : ringstamp::ChecksumCheck::kSkip;
    const ringstamp::FrameSummary f = ringstamp::ParseFrame(bytes, o);
    if (f.l4 == ringstamp::L4Kind::kUdp) Inside(bytes, f.udp.payload);
    (void)f.src_ip();
    (void)f.dst_ip();
    (void)f.ip_protocol();
  }
  return 0;
}
