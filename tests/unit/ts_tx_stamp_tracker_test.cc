#include "ringstamp/timestamp/tx_stamp_tracker.h"

#include <doctest/doctest.h>

#include <vector>

using namespace ringstamp;

namespace {

TxStampEvent Sw(uint32_t key, int64_t ns, TxStampKind kind = TxStampKind::kSnd) {
  return TxStampEvent{key, kind, ns, std::nullopt};
}
TxStampEvent Hw(uint32_t key, int64_t ns) {
  return TxStampEvent{key, TxStampKind::kSnd, std::nullopt, ns};
}

constexpr int64_t kMs = 1'000'000;

}  // namespace

TEST_CASE("tracker: software stamps complete their sends through consecutive keys") {
  TxStampTracker t({.capacity = 16, .timeout_ns = 10 * kMs});
  for (int i = 0; i < 5; ++i) {
    CHECK(t.OnSend(kWantSoftware, 1000 + i, 0, 500 + i) == static_cast<uint32_t>(i));
  }
  CHECK(t.pending() == 5);
  for (int i = 4; i >= 0; --i) {  // out of order is fine
    TxCompletion done;
    REQUIRE(t.OnStamp(Sw(i, 2000 + i), &done) == TxMatch::kCompleted);
    CHECK(done.key == static_cast<uint32_t>(i));
    CHECK(done.cookie == static_cast<uint64_t>(500 + i));
    CHECK(*done.stamps.userspace_ns == 1000 + i);
    CHECK(*done.stamps.software_ns == 2000 + i);
    CHECK_FALSE(done.stamps.hardware_ns.has_value());
    CHECK_FALSE(done.timed_out());
  }
  CHECK(t.pending() == 0);
  CHECK(t.stats().completed == 5);
  CHECK(t.stats().unknown_key == 0);
}

TEST_CASE("tracker: a send asking software and hardware waits for both") {
  TxStampTracker t({.capacity = 16, .timeout_ns = 10 * kMs});
  uint32_t k = t.OnSend(kWantSoftware | kWantHardware | kWantSched, 1, 0);
  TxCompletion done;
  CHECK(t.OnStamp(Sw(k, 5, TxStampKind::kSched), &done) == TxMatch::kPartial);
  CHECK(t.OnStamp(Hw(k, 77), &done) == TxMatch::kPartial);
  CHECK(t.OnStamp(Hw(k, 78), &done) == TxMatch::kDuplicate);
  CHECK(t.OnStamp(Sw(k, 10), &done) == TxMatch::kCompleted);
  CHECK(*done.stamps.hardware_ns == 77);
  CHECK(done.stamps.hardware_source == StampSource::kHardwareRaw);
  CHECK(*done.stamps.software_ns == 10);
  CHECK(*done.sched_ns == 5);
  // After completion: the same stamp again is a duplicate, not unknown.
  CHECK(t.OnStamp(Sw(k, 10), &done) == TxMatch::kDuplicate);
  CHECK(t.stats().duplicate == 2);
  CHECK(t.stats().unknown_key == 0);
}

TEST_CASE("tracker: stamps not asked for are counted as unwanted") {
  TxStampTracker t({.capacity = 16, .timeout_ns = 10 * kMs});
  uint32_t k = t.OnSend(kWantSoftware, 1, 0);
  TxCompletion done;
  CHECK(t.OnStamp(Sw(k, 3, TxStampKind::kSched), &done) == TxMatch::kUnwanted);
  CHECK(t.OnStamp(Sw(k, 4, TxStampKind::kAck), &done) == TxMatch::kUnwanted);
  CHECK(t.OnStamp(Sw(k, 5), &done) == TxMatch::kCompleted);
  CHECK(*done.sched_ns == 3);  // kept because the record was still open
  CHECK(t.OnStamp(Hw(k, 6), &done) == TxMatch::kUnwanted);
  CHECK(t.OnStamp(TxStampEvent{k, TxStampKind::kSnd, std::nullopt, std::nullopt}, &done) ==
        TxMatch::kEmpty);
  CHECK(t.stats().unwanted == 3);
  CHECK(t.stats().empty == 1);
}

TEST_CASE("tracker: unknown keys: never sent, or long overwritten") {
  TxStampTracker t({.capacity = 16, .timeout_ns = 10 * kMs});
  TxCompletion done;
  CHECK(t.OnStamp(Sw(0, 1), &done) == TxMatch::kUnknownKey);  // nothing sent yet
  t.OnSend(kWantSoftware, 1, 0);
  CHECK(t.OnStamp(Sw(1, 1), &done) == TxMatch::kUnknownKey);   // key 1 not yet sent
  CHECK(t.OnStamp(Sw(17, 1), &done) == TxMatch::kUnknownKey);  // aliases slot 1
  CHECK(t.OnStamp(Sw(0xffffffff, 1), &done) == TxMatch::kUnknownKey);
  CHECK(t.stats().unknown_key == 4);
  CHECK(t.pending() == 1);
}

TEST_CASE("tracker: keys wrap at 2^32") {
  TxStampTracker t({.capacity = 16, .timeout_ns = 10 * kMs, .first_key = 0xfffffffc});
  std::vector<uint32_t> keys;
  for (int i = 0; i < 8; ++i) keys.push_back(t.OnSend(kWantSoftware, i, 0, i));
  CHECK(keys.front() == 0xfffffffcu);
  CHECK(keys[3] == 0xffffffffu);
  CHECK(keys[4] == 0u);
  CHECK(keys.back() == 3u);
  TxCompletion done;
  for (int i = 0; i < 8; ++i) {
    REQUIRE(t.OnStamp(Sw(keys[i], 100 + i), &done) == TxMatch::kCompleted);
    CHECK(done.cookie == static_cast<uint64_t>(i));
  }
  CHECK(t.pending() == 0);
  // Expire walks across the wrap without reporting anything.
  CHECK(t.Expire(1'000 * kMs, [](const TxCompletion&) { FAIL("nothing should expire"); }) == 0);
  // A stale key from before the wrap is unknown.
  CHECK(t.OnStamp(Sw(0xfffffff0, 1), &done) == TxMatch::kUnknownKey);
}

TEST_CASE("tracker: timeouts report missing stamps once, later stamps are late") {
  TxStampTracker t({.capacity = 16, .timeout_ns = 10 * kMs});
  uint32_t a = t.OnSend(kWantSoftware | kWantHardware, 111, 0 * kMs);
  uint32_t b = t.OnSend(kWantSoftware, 222, 5 * kMs);
  uint32_t c = t.OnSend(kWantHardware, 333, 6 * kMs);
  TxCompletion done;
  CHECK(t.OnStamp(Sw(a, 1), &done) == TxMatch::kPartial);
  CHECK(t.OnStamp(Sw(b, 2), &done) == TxMatch::kCompleted);
  CHECK(t.NextDeadline() == 10 * kMs);

  std::vector<TxCompletion> expired;
  auto collect = [&](const TxCompletion& x) { expired.push_back(x); };
  CHECK(t.Expire(9 * kMs, collect) == 0);
  CHECK(t.Expire(10 * kMs, collect) == 1);
  REQUIRE(expired.size() == 1);
  CHECK(expired[0].key == a);
  CHECK(expired[0].missing == kWantHardware);
  CHECK(*expired[0].stamps.software_ns == 1);  // what came is reported
  CHECK(*expired[0].stamps.userspace_ns == 111);
  CHECK(t.NextDeadline() == 16 * kMs);
  CHECK(t.Expire(100 * kMs, collect) == 1);
  CHECK(expired[1].key == c);
  CHECK(expired[1].missing == kWantHardware);
  CHECK(t.Expire(200 * kMs, collect) == 0);  // each record expires once
  CHECK(t.pending() == 0);
  CHECK_FALSE(t.NextDeadline().has_value());

  CHECK(t.stats().expired == 2);
  CHECK(t.stats().missed_hardware == 2);
  CHECK(t.stats().missed_software == 0);
  // The hardware stamp shows up after the timeout: late, not unknown.
  CHECK(t.OnStamp(Hw(a, 9), &done) == TxMatch::kLate);
  CHECK(t.stats().late == 1);

  std::string msg = TxTimeoutMessage(expired[0], 10 * kMs);
  CHECK(msg.find("no hardware stamp within 10 ms") != std::string::npos);
  CHECK(msg.find("timed out while polling for tx timestamp; increase --tx-timeout") !=
        std::string::npos);
}

TEST_CASE("tracker: more sends in flight than capacity drop the oldest, counted") {
  TxStampTracker t({.capacity = 16, .timeout_ns = 10 * kMs});
  for (int i = 0; i < 20; ++i) t.OnSend(kWantSoftware, i, 0);
  CHECK(t.pending() == 16);
  CHECK(t.stats().overflowed == 4);
  CHECK(t.stats().missed_software == 4);
  TxCompletion done;
  CHECK(t.OnStamp(Sw(2, 1), &done) == TxMatch::kUnknownKey);  // slot now holds key 18
  CHECK(t.OnStamp(Sw(18, 1), &done) == TxMatch::kCompleted);
  CHECK(t.OnStamp(Sw(4, 1), &done) == TxMatch::kCompleted);
}

TEST_CASE("tracker: 10,000 outstanding sends, matched in O(1) each, none missed") {
  TxStampTracker t({.capacity = 16384, .timeout_ns = 10 * kMs});
  for (int i = 0; i < 10000; ++i) t.OnSend(kWantSoftware, i, 0, i);
  CHECK(t.pending() == 10000);
  TxCompletion done;
  int completed = 0;
  for (int i = 0; i < 10000; ++i) {
    uint32_t key = static_cast<uint32_t>((i * 7919) % 10000);  // scrambled order
    if (t.OnStamp(Sw(key, 1 + key), &done) == TxMatch::kCompleted && done.cookie == key) {
      ++completed;
    }
  }
  CHECK(completed == 10000);
  CHECK(t.pending() == 0);
  CHECK(t.Expire(1000 * kMs, [](const TxCompletion&) {}) == 0);
}

TEST_CASE("tracker: Reset drops open records as missed and restarts the keys") {
  TxStampTracker t({.capacity = 16, .timeout_ns = 10 * kMs});
  t.OnSend(kWantSoftware, 1, 0);
  t.OnSend(kWantSoftware, 2, 0);
  int dropped = 0;
  t.Reset(100, [&](const TxCompletion& c) {
    ++dropped;
    CHECK(c.missing == kWantSoftware);
  });
  CHECK(dropped == 2);
  CHECK(t.pending() == 0);
  CHECK(t.next_key() == 100u);
  TxCompletion done;
  CHECK(t.OnStamp(Sw(0, 1), &done) == TxMatch::kUnknownKey);
  CHECK(t.OnSend(kWantSoftware, 3, 0) == 100u);
}

TEST_CASE("tracker: names") {
  CHECK(TxWantsToString(kWantSoftware | kWantHardware) == "software|hardware");
  CHECK(TxWantsToString(0) == "none");
  CHECK(TxMatchName(TxMatch::kLate) == "late");
}

// Key drift: frames sent one per kick, committed at f ms, stamped 0.1 ms later.
// `kernel_key(f)` is the OPT_ID the kernel gave frame f (nullopt: refused
// before it took one). Returns, per frame, the cookie of the completion that
// received its stamp (-1: none).
namespace {
std::vector<int64_t> RunDrift(TxStampTracker& t, int frames, int per_kick,
                              std::optional<uint32_t> (*kernel_key)(int)) {
  std::vector<int64_t> got(frames, -1);
  for (int f = 0; f < frames; ++f) {
    t.OnSend(kWantSoftware, f * kMs, 0, static_cast<uint64_t>(f),
             static_cast<uint64_t>(f / per_kick));
  }
  for (int f = 0; f < frames; ++f) {
    const std::optional<uint32_t> key = kernel_key(f);
    if (!key) continue;
    // A kick's frames are all stamped after the kick's last commit.
    const int last_of_kick = (f / per_kick + 1) * per_kick - 1;
    TxCompletion done;
    if (t.OnStamp(Sw(*key, last_of_kick * kMs + kMs / 10 + f), &done) == TxMatch::kCompleted) {
      got[f] = static_cast<int64_t>(done.cookie);
    }
  }
  return got;
}
}  // namespace

TEST_CASE(
    "tracker: a frame refused before the kernel took its key: resync, later stamps on their own "
    "frames") {
  TxStampTracker t({.capacity = 64, .timeout_ns = 10 * kMs});
  // Frame 3 was refused (the MTU lowered under it) without a key: the kernel
  // numbers frame 4 as 3, frame 5 as 4, ...
  auto got = RunDrift(t, 12, 1, [](int f) -> std::optional<uint32_t> {
    if (f == 3) return std::nullopt;
    return f < 3 ? f : f - 1;
  });
  for (int f = 0; f < 12; ++f) {
    if (f == 3) continue;
    CHECK_MESSAGE(got[f] == f, "frame ", f);
  }
  CHECK(t.stats().resyncs == 1);
  CHECK(t.key_shift() == 1);
  CHECK(t.pending() == 1);  // frame 3's record: never sent, it expires as missed
  size_t expired = t.Expire(1'000 * kMs, [](const TxCompletion& c) { CHECK(c.cookie == 3); });
  CHECK(expired == 1);
}

TEST_CASE("tracker: the kernel took a key the tracker never handed out: resync backwards") {
  TxStampTracker t({.capacity = 64, .timeout_ns = 10 * kMs});
  // A send the tracker did not see took key 4 between frames 3 and 4.
  auto got = RunDrift(t, 12, 1, [](int f) -> std::optional<uint32_t> { return f < 4 ? f : f + 1; });
  for (int f = 0; f < 12; ++f) CHECK_MESSAGE(got[f] == f, "frame ", f);
  CHECK(t.stats().resyncs == 1);
  CHECK(t.key_shift() == -1);
  CHECK(t.pending() == 0);
}

TEST_CASE("tracker: bursts of frames in one kick are not mistaken for drift") {
  TxStampTracker t({.capacity = 64, .timeout_ns = 10 * kMs});
  auto got = RunDrift(t, 32, 8, [](int f) -> std::optional<uint32_t> { return f; });
  for (int f = 0; f < 32; ++f) CHECK_MESSAGE(got[f] == f, "frame ", f);
  CHECK(t.stats().resyncs == 0);
}

TEST_CASE("tracker: a key skipped inside a burst is resynced at the next kick") {
  TxStampTracker t({.capacity = 64, .timeout_ns = 10 * kMs});
  // Kicks of 4 frames; frame 5 refused without a key. Inside its kick the
  // stamps of frames 6 and 7 cannot be told from frames 5 and 6 (same commit
  // window); from the next kick on every stamp is on its own frame.
  auto got = RunDrift(t, 16, 4, [](int f) -> std::optional<uint32_t> {
    if (f == 5) return std::nullopt;
    return f < 5 ? f : f - 1;
  });
  for (int f = 0; f < 5; ++f) CHECK_MESSAGE(got[f] == f, "frame ", f);
  for (int f = 8; f < 16; ++f) CHECK_MESSAGE(got[f] == f, "frame ", f);
  CHECK(t.stats().resyncs == 1);
}
