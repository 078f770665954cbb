// Fuzz: operation sequences on a small TxStampTracker — sends, stamps with any key and kind
// (the kernel's OPT_ID counter can jump), expiry, resets — checking that completions add up:
// nothing completes twice, and what is open never exceeds the capacity.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "ringstamp/timestamp/tx_stamp_tracker.h"
#include "tests/fuzz/fuzz_input.h"

using namespace ringstamp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::FuzzInput in(data, size);
  TxStampTracker tracker(TxStampTracker::Options{.capacity = 64, .timeout_ns = 1000});
  int64_t now = 0;
  uint64_t sent = 0, finished = 0;
  auto count = [&](const TxCompletion&) { ++finished; };
  for (int ops = 0; ops < 4096 && !in.done(); ++ops) {
    now += in.Take<uint8_t>();
    switch (in.Take<uint8_t>() & 3) {
      case 0:
        tracker.OnSend(static_cast<TxWants>(in.Take<uint8_t>() & 3), now, now, sent);
        ++sent;
        break;
      case 1: {
        TxStampEvent ev;
        ev.key = in.Take<uint16_t>();
        ev.kind = static_cast<TxStampKind>(in.Take<uint8_t>() % 3);
        if (in.Take<uint8_t>() & 1) ev.software_ns = in.Take<int32_t>();
        if (in.Take<uint8_t>() & 1) ev.hardware_ns = in.Take<int32_t>();
        TxCompletion done;
        if (tracker.OnStamp(ev, &done) == TxMatch::kCompleted) ++finished;
        break;
      }
      case 2:
        tracker.Expire(now, count);
        break;
      case 3:
        tracker.Reset(in.Take<uint16_t>(), count);
        break;
    }
    if (finished > sent) std::abort();  // something completed twice
  }
  return 0;
}
