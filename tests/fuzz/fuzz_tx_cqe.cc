// Fuzz: DecodeTxTimestampCqe over arbitrary 32-byte completions (CQE32).
#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "ringstamp/timestamp/uring_tx_stamps.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  alignas(16) uint8_t cqe[32] = {};
  std::memcpy(cqe, data, size < sizeof(cqe) ? size : sizeof(cqe));
  const ringstamp::TxCqe c =
      ringstamp::DecodeTxTimestampCqe(reinterpret_cast<const io_uring_cqe*>(cqe));
  if (c.event && c.malformed) __builtin_trap();  // a stamp is either good or flagged
  (void)ringstamp::TxTimestampCmdUnsupported(c.res);
  return 0;
}
