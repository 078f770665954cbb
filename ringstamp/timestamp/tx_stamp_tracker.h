// tx_stamp_tracker.h — matches TX stamps to the sends they belong to through the OPT_ID key.
//
// Example:
// Given: #include "ringstamp/common/clock.h"
// Given: uint64_t probe_seq; const TxStampEvent& event; void Report(const TxCompletion& c)
// Given: void Warn(const std::string& message)
//   TxStampTracker tracker({.capacity = 16384, .timeout_ns = 50'000'000});
//   uint32_t key = tracker.OnSend(kWantSoftware, RealtimeNs(), MonotonicNs(), probe_seq);
//   ...  // the error-queue reader feeds stamps:
//   TxCompletion done;
//   if (tracker.OnStamp(event, &done) == TxMatch::kCompleted) Report(done);
//   tracker.Expire(MonotonicNs(), [](const TxCompletion& c) { Warn(TxTimeoutMessage(c, 50'000'000)); });
//
// The kernel numbers every send that asks for a TX stamp with a per-socket
// counter (SOF_TIMESTAMPING_OPT_ID, starting at 0 when OPT_ID is switched on);
// it is a u32 and wraps at 2^32. Keys are consecutive, so a record lives in a
// ring of `capacity` slots at index key % capacity: a stamp finds its send in
// O(1), whatever the number outstanding. A record stays until every stamp it
// asked for (software and/or hardware SND, optionally SCHED) arrived, or until
// its deadline (send time + timeout) passes; Expire() then reports it with the
// stamps that never came. After that the slot keeps a tombstone, so a stamp
// that comes late or twice is told apart from one for a key never sent.
//
// Key drift. The kernel may refuse a committed frame before it takes a key
// (a TX ring frame longer than the MTU, lowered mid-run, allows) or take keys
// for frames this tracker never saw; every later stamp would then land on a
// neighbour's record. OnStamp checks each stamp that carries a software time
// against the commit times: a stamp before its record's commit time belongs to
// an earlier frame; a stamp at or after the commit time of a frame handed to
// the kernel by a later kick (the `kick` of OnSend) belongs to a later one. The
// tracker then shifts its key mapping to the nearest record the stamp fits
// (searching at most 64 keys), counts it in `resyncs`, and matches there. The
// later-kick test assumes a frame is stamped before the next kick's frames are
// committed: true with qdisc bypass (the engine's default) and an idle qdisc;
// a qdisc that holds a frame across kicks can cause one false shift, which the
// next stamp undoes (both counted). Callers that pass no kick (always 0) get
// the earlier-frame test only.
//
// Ownership: owns its slot array (allocated once in the constructor).
// Thread-safety: none; one thread sends and drains (the worker that owns the
// socket). Cost: OnSend, OnStamp O(1), no allocation; Expire amortised O(1)
// per send. Memory: 56 bytes × capacity.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/functional/function_ref.h"
#include "ringstamp/timestamp/cmsg_parse.h"
#include "ringstamp/timestamp/timestamps.h"

namespace ringstamp {

// What a send asks for (bit set).
using TxWants = uint8_t;
inline constexpr TxWants kWantSoftware = 1 << 0;  // SND software stamp (ts[0])
inline constexpr TxWants kWantHardware = 1 << 1;  // SND hardware stamp (ts[2])
inline constexpr TxWants kWantSched = 1 << 2;     // SCHED software stamp (entered the qdisc)

// "software|hardware|sched", "none".
std::string TxWantsToString(TxWants wants);

// One TX stamp as a transport delivers it (error-queue message or io_uring CQE).
struct TxStampEvent {
  uint32_t key = 0;
  TxStampKind kind = TxStampKind::kSnd;
  std::optional<int64_t> software_ns;
  std::optional<int64_t> hardware_ns;  // raw NIC clock

  // The TX stamp in a parsed error-queue message; nullopt when `p` holds none
  // (no TX report, or no SCM_TIMESTAMPING beside it).
  static std::optional<TxStampEvent> FromCmsgs(const ParsedCmsgs& p);
  friend bool operator==(const TxStampEvent&, const TxStampEvent&) = default;
};

// A send whose record is finished: complete, or expired with stamps missing.
struct TxCompletion {
  uint32_t key = 0;
  uint64_t cookie = 0;  // the caller's tag from OnSend
  // software_ns / hardware_ns: the SND stamps that arrived; userspace_ns: the
  // send time given to OnSend.
  Timestamps stamps;
  std::optional<int64_t> sched_ns;  // SCHED stamp, when it arrived
  TxWants wanted = 0;
  TxWants missing = 0;  // wanted but never arrived (non-zero only from Expire)
  int64_t deadline_ns = 0;
  bool timed_out() const { return missing != 0; }
};

enum class TxMatch : uint8_t {
  kPartial,     // recorded; the send still waits for other stamps
  kCompleted,   // the send has all it asked for: *done filled
  kUnwanted,    // a stamp the send did not ask for (kept if the record is open)
  kDuplicate,   // this stamp kind already arrived for this key
  kLate,        // the send already expired: arrived after its timeout
  kUnknownKey,  // no send with this key is known (never sent, or long gone)
  kEmpty,       // the event carries no stamp at all
};

std::string_view TxMatchName(TxMatch m);

struct TxTrackerStats {
  uint64_t sends = 0;
  uint64_t completed = 0;
  uint64_t expired = 0;          // records that timed out with stamps missing
  uint64_t missed_software = 0;  // per kind: stamps asked for that never came
  uint64_t missed_hardware = 0;
  uint64_t missed_sched = 0;
  uint64_t stamps = 0;  // events fed to OnStamp
  uint64_t unknown_key = 0;
  uint64_t duplicate = 0;
  uint64_t late = 0;
  uint64_t unwanted = 0;
  uint64_t empty = 0;
  uint64_t overflowed = 0;  // open records overwritten because more than capacity were in flight
  uint64_t resyncs = 0;     // key mapping shifted: a stamp's time did not fit its record
};

class TxStampTracker {
 public:
  struct Options {
    // Slots; rounded up to a power of two (≥ 16). Must exceed the sends in
    // flight within one timeout, else the oldest open records are dropped
    // (counted in `overflowed` and as missed).
    uint32_t capacity = 16384;
    // How long a send waits for its stamps (monotonic ns).
    int64_t timeout_ns = 100'000'000;
    // The first key the kernel will assign (0 right after OPT_ID is enabled).
    uint32_t first_key = 0;
  };

  explicit TxStampTracker(Options options);
  TxStampTracker() : TxStampTracker(Options{}) {}
  TxStampTracker(TxStampTracker&&) noexcept = default;
  TxStampTracker& operator=(TxStampTracker&&) noexcept = default;

  // Records a send that asked the kernel for TX stamps and returns its key
  // (the next consecutive one). Call it once per successful send that carried
  // a TX stamp request, in send order, before draining its stamps. `user_ns`:
  // the userspace time of the send (CLOCK_REALTIME); `now_mono_ns`: for the
  // deadline. A send with wants == 0 is not recorded but still takes a key.
  // `kick`: a number that changes between kicks of the socket (e.g. the TX
  // ring's kick counter at commit time); frames of one kick share it.
  uint32_t OnSend(TxWants wants, int64_t user_ns, int64_t now_mono_ns, uint64_t cookie = 0,
                  uint64_t kick = 0);

  // Feeds one stamp. On kCompleted, *done (if not null) receives the record.
  TxMatch OnStamp(const TxStampEvent& event, TxCompletion* done);

  // Retires records whose deadline is ≤ now_mono_ns, oldest first, calling
  // `on_expired` for each one that still missed stamps. Records expire in key
  // order (deadlines follow send order). Returns the number expired.
  size_t Expire(int64_t now_mono_ns, absl::FunctionRef<void(const TxCompletion&)> on_expired);

  // Drops every open record (each reported to `on_dropped` as missed) and
  // restarts the key sequence at `next_key` (after re-enabling OPT_ID).
  void Reset(uint32_t next_key, absl::FunctionRef<void(const TxCompletion&)> on_dropped);

  // The deadline of the oldest open record, for a poll timeout; nullopt if none.
  std::optional<int64_t> NextDeadline() const;

  uint32_t next_key() const { return next_key_; }
  // Tracker key minus kernel key, as the last resync left it (0: never shifted).
  int32_t key_shift() const { return static_cast<int32_t>(shift_); }
  size_t pending() const { return pending_; }
  uint32_t capacity() const { return mask_ + 1; }
  int64_t timeout_ns() const { return timeout_ns_; }
  const TxTrackerStats& stats() const { return stats_; }

 private:
  enum class State : uint8_t { kFree, kOpen, kDone, kExpired };
  struct Slot {
    uint32_t key = 0;
    State state = State::kFree;
    TxWants wanted = 0;
    TxWants got = 0;
    int64_t user_ns = 0;
    int64_t deadline_ns = 0;
    uint64_t cookie = 0;
    uint64_t kick = 0;
    int64_t software_ns = 0;
    int64_t hardware_ns = 0;
    int64_t sched_ns = 0;
  };

  TxCompletion MakeCompletion(const Slot& s) const;
  // True when `key` is among the last `capacity` keys handed out and its slot holds it.
  bool Holds(uint32_t key) const;
  // The key whose frame a stamp taken at `t` (software time) fits, starting
  // from `key`; `key` itself when it fits or no other one does.
  uint32_t FitKey(uint32_t key, int64_t t) const;
  void Retire(Slot& s, absl::FunctionRef<void(const TxCompletion&)> report);

  std::unique_ptr<Slot[]> slots_;
  uint32_t mask_ = 0;
  int64_t timeout_ns_ = 0;
  uint32_t next_key_ = 0;
  uint32_t oldest_ = 0;  // keys [oldest_, next_key_) may hold open records
  uint32_t shift_ = 0;   // tracker key = kernel key + shift_ (mod 2^32)
  size_t pending_ = 0;
  TxTrackerStats stats_;
};

// linuxptp-style advice for an expired record, e.g.
// "tx stamp key 7 (sent 1700000000.000000001): no hardware stamp within 1 ms: timed out
//  while polling for tx timestamp; increase --tx-timeout (the driver may also drop TX stamps
//  under load)".
std::string TxTimeoutMessage(const TxCompletion& c, int64_t timeout_ns);

}  // namespace ringstamp
