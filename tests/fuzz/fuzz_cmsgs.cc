// Fuzz: ParseCmsgs over an arbitrary control buffer (as recvmsg hands it over), and the
// TX stamp event made from what it found.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "ringstamp/timestamp/cmsg_parse.h"
#include "ringstamp/timestamp/tx_stamp_tracker.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // cmsghdr alignment, as the kernel's buffer has.
  std::vector<uint64_t> aligned((size + 7) / 8);
  if (size > 0) std::memcpy(aligned.data(), data, size);
  const std::span<const std::byte> control(reinterpret_cast<const std::byte*>(aligned.data()),
                                           size);
  const ringstamp::ParsedCmsgs p = ringstamp::ParseCmsgs(control);
  (void)ringstamp::TxStampEvent::FromCmsgs(p);
  ringstamp::Timestamps ts;
  (void)ringstamp::DecodeScmTimestamping(control, ts);
  return 0;
}
