#include "ringstamp/timestamp/tx_stamp_tracker.h"

#include <algorithm>
#include <bit>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ringstamp {

std::string TxWantsToString(TxWants wants) {
  if (wants == 0) return "none";
  std::string out;
  auto add = [&](TxWants bit, const char* name) {
    if (!(wants & bit)) return;
    if (!out.empty()) out += '|';
    out += name;
  };
  add(kWantSoftware, "software");
  add(kWantHardware, "hardware");
  add(kWantSched, "sched");
  return out;
}

std::optional<TxStampEvent> TxStampEvent::FromCmsgs(const ParsedCmsgs& p) {
  if (!p.tx || !p.has_timestamping) return std::nullopt;
  TxStampEvent ev;
  ev.key = p.tx->key;
  ev.kind = p.tx->kind;
  ev.software_ns = p.stamps.software_ns;
  // Only a raw NIC stamp (ts[2]) counts; the legacy ts[1] is not requested by us.
  if (p.stamps.hardware_ns && p.stamps.hardware_source == StampSource::kHardwareRaw) {
    ev.hardware_ns = p.stamps.hardware_ns;
  }
  return ev;
}

std::string_view TxMatchName(TxMatch m) {
  switch (m) {
    case TxMatch::kPartial:
      return "partial";
    case TxMatch::kCompleted:
      return "completed";
    case TxMatch::kUnwanted:
      return "unwanted";
    case TxMatch::kDuplicate:
      return "duplicate";
    case TxMatch::kLate:
      return "late";
    case TxMatch::kUnknownKey:
      return "unknown-key";
    case TxMatch::kEmpty:
      return "empty";
  }
  return "unknown";
}

TxStampTracker::TxStampTracker(Options options) {
  uint32_t cap = std::max<uint32_t>(options.capacity, 16);
  if (cap > (1u << 30)) cap = 1u << 30;
  cap = std::bit_ceil(cap);
  slots_ = std::make_unique<Slot[]>(cap);
  mask_ = cap - 1;
  timeout_ns_ = std::max<int64_t>(options.timeout_ns, 0);
  next_key_ = options.first_key;
  oldest_ = options.first_key;
}

TxCompletion TxStampTracker::MakeCompletion(const Slot& s) const {
  TxCompletion c;
  c.key = s.key;
  c.cookie = s.cookie;
  c.wanted = s.wanted;
  c.missing = s.wanted & ~s.got;
  c.deadline_ns = s.deadline_ns;
  c.stamps.userspace_ns = s.user_ns;
  if (s.got & kWantSoftware) c.stamps.software_ns = s.software_ns;
  if (s.got & kWantHardware) {
    c.stamps.hardware_ns = s.hardware_ns;
    c.stamps.hardware_source = StampSource::kHardwareRaw;
  }
  if (s.got & kWantSched) c.sched_ns = s.sched_ns;
  return c;
}

// Closes an open record whose stamps did not all come.
void TxStampTracker::Retire(Slot& s, absl::FunctionRef<void(const TxCompletion&)> report) {
  TxWants missing = s.wanted & ~s.got;
  s.state = State::kExpired;
  --pending_;
  ++stats_.expired;
  if (missing & kWantSoftware) ++stats_.missed_software;
  if (missing & kWantHardware) ++stats_.missed_hardware;
  if (missing & kWantSched) ++stats_.missed_sched;
  report(MakeCompletion(s));
}

uint32_t TxStampTracker::OnSend(TxWants wants, int64_t user_ns, int64_t now_mono_ns,
                                uint64_t cookie, uint64_t kick) {
  const uint32_t key = next_key_++;
  ++stats_.sends;
  // Keep the window [oldest_, next_key_) within capacity: the slot this key
  // takes belonged to key - capacity.
  while (next_key_ - oldest_ > mask_ + 1) {
    Slot& old = slots_[oldest_ & mask_];
    if (old.state == State::kOpen) {
      ++stats_.overflowed;
      Retire(old, [](const TxCompletion&) {});
    }
    ++oldest_;
  }
  Slot& s = slots_[key & mask_];
  s.key = key;
  s.wanted = wants & (kWantSoftware | kWantHardware | kWantSched);
  s.got = 0;
  s.user_ns = user_ns;
  s.deadline_ns = now_mono_ns + timeout_ns_;
  s.cookie = cookie;
  s.kick = kick;
  if (s.wanted == 0) {
    s.state = State::kDone;
  } else {
    s.state = State::kOpen;
    ++pending_;
  }
  return key;
}

bool TxStampTracker::Holds(uint32_t key) const {
  const Slot& s = slots_[key & mask_];
  return next_key_ - 1u - key <= mask_ && s.state != State::kFree && s.key == key;
}

namespace {
constexpr uint32_t kResyncSearch = 64;
}  // namespace

uint32_t TxStampTracker::FitKey(uint32_t key, int64_t t) const {
  const Slot& s = slots_[key & mask_];
  if (t < s.user_ns) {
    // Stamped before this frame was committed: an earlier frame's stamp. The
    // nearest earlier record committed by then.
    for (uint32_t d = 1; d <= kResyncSearch; ++d) {
      const uint32_t k = key - d;
      if (!Holds(k)) break;
      if (slots_[k & mask_].user_ns <= t) return k;
    }
    return key;
  }
  // Stamped after a frame of a later kick was committed: a later frame's stamp.
  // The first record of a later kick committed by then (the smallest shift).
  const uint32_t next = key + 1;
  if (!Holds(next)) return key;
  const Slot& n = slots_[next & mask_];
  if (n.kick == s.kick || n.user_ns > t) return key;  // the common case: O(1)
  for (uint32_t d = 1; d <= kResyncSearch; ++d) {
    const uint32_t k = key + d;
    if (!Holds(k)) break;
    const Slot& c = slots_[k & mask_];
    if (c.user_ns > t) break;
    if (c.kick != s.kick) return k;
  }
  return key;
}

TxMatch TxStampTracker::OnStamp(const TxStampEvent& raw, TxCompletion* done) {
  ++stats_.stamps;
  if (!raw.software_ns && !raw.hardware_ns) {
    ++stats_.empty;
    return TxMatch::kEmpty;
  }
  TxStampEvent event = raw;
  event.key = raw.key + shift_;  // the kernel's key → ours
  if (event.software_ns && Holds(event.key)) {
    const uint32_t fit = FitKey(event.key, *event.software_ns);
    if (fit != event.key) {
      shift_ += fit - event.key;
      event.key = fit;
      ++stats_.resyncs;
    }
  }
  Slot& s = slots_[event.key & mask_];
  if (!Holds(event.key)) {
    ++stats_.unknown_key;
    return TxMatch::kUnknownKey;
  }
  TxWants bits = 0;
  if (event.kind == TxStampKind::kSnd) {
    if (event.software_ns) bits |= kWantSoftware;
    if (event.hardware_ns) bits |= kWantHardware;
  } else if (event.kind == TxStampKind::kSched && event.software_ns) {
    bits |= kWantSched;  // SCHED is a software stamp: ts[0]
  }
  if (bits == 0) {  // ACK or an unknown kind
    ++stats_.unwanted;
    return TxMatch::kUnwanted;
  }
  const TxWants fresh = bits & ~s.got;
  if (fresh == 0) {
    ++stats_.duplicate;
    return TxMatch::kDuplicate;
  }
  if (s.state == State::kExpired) {
    if (fresh & s.wanted) {
      ++stats_.late;
      return TxMatch::kLate;
    }
    ++stats_.unwanted;
    return TxMatch::kUnwanted;
  }
  if (s.state == State::kDone) {  // everything wanted came already: this one was not asked for
    ++stats_.unwanted;
    return TxMatch::kUnwanted;
  }
  // Open record: keep what came, even if not asked for.
  if (fresh & kWantSoftware) s.software_ns = *event.software_ns;
  if (fresh & kWantHardware) s.hardware_ns = *event.hardware_ns;
  if (fresh & kWantSched) s.sched_ns = *event.software_ns;
  s.got |= fresh;
  if ((fresh & s.wanted) == 0) {
    ++stats_.unwanted;
    return TxMatch::kUnwanted;
  }
  if ((s.got & s.wanted) != s.wanted) return TxMatch::kPartial;
  s.state = State::kDone;
  --pending_;
  ++stats_.completed;
  if (done != nullptr) *done = MakeCompletion(s);
  return TxMatch::kCompleted;
}

size_t TxStampTracker::Expire(int64_t now_mono_ns,
                              absl::FunctionRef<void(const TxCompletion&)> on_expired) {
  if (pending_ == 0) {
    oldest_ = next_key_;
    return 0;
  }
  size_t n = 0;
  while (oldest_ != next_key_) {
    Slot& s = slots_[oldest_ & mask_];
    if (s.state == State::kOpen) {
      if (s.deadline_ns > now_mono_ns) break;
      Retire(s, on_expired);
      ++n;
    }
    ++oldest_;
  }
  return n;
}

void TxStampTracker::Reset(uint32_t next_key,
                           absl::FunctionRef<void(const TxCompletion&)> on_dropped) {
  for (; oldest_ != next_key_; ++oldest_) {
    Slot& s = slots_[oldest_ & mask_];
    if (s.state == State::kOpen) Retire(s, on_dropped);
  }
  for (uint32_t i = 0; i <= mask_; ++i) slots_[i].state = State::kFree;
  pending_ = 0;
  next_key_ = next_key;
  oldest_ = next_key;
  shift_ = 0;
}

std::optional<int64_t> TxStampTracker::NextDeadline() const {
  if (pending_ == 0) return std::nullopt;
  // The oldest open record lies at or after oldest_; Expire keeps that walk short.
  for (uint32_t k = oldest_; k != next_key_; ++k) {
    const Slot& s = slots_[k & mask_];
    if (s.state == State::kOpen) return s.deadline_ns;
  }
  return std::nullopt;
}

std::string TxTimeoutMessage(const TxCompletion& c, int64_t timeout_ns) {
  std::string which;
  if (c.missing & kWantHardware) which = "hardware";
  if (c.missing & kWantSoftware) which += which.empty() ? "software" : " and software";
  if (c.missing & kWantSched) which += which.empty() ? "sched" : " and sched";
  if (which.empty()) which = "expected";
  std::string within = timeout_ns % 1'000'000 == 0
                           ? absl::StrCat(timeout_ns / 1'000'000, " ms")
                           : absl::StrFormat("%.3f ms", static_cast<double>(timeout_ns) / 1e6);
  return absl::StrCat(
      "tx stamp key ", c.key, " (sent ", FormatStampNs(c.stamps.userspace_ns), "): no ", which,
      " stamp within ", within, ": timed out while polling for tx timestamp; increase --tx-timeout",
      (c.missing & kWantHardware) ? " (the driver may also drop TX stamps under load or lack them)"
                                  : "");
}

}  // namespace ringstamp
