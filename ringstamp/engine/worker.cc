#include "ringstamp/engine/worker.h"

#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <poll.h>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ringstamp/common/clock.h"
#include "ringstamp/common/errno_status.h"
#include "ringstamp/common/status_macros.h"
#include "ringstamp/engine/engine.h"
#include "ringstamp/timestamp/so_timestamping.h"

namespace ringstamp {
namespace {

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Split a per-worker budget into an RX ring and a TX ring.
RingConfig RxConfig(const EngineOptions& o, bool with_tx) {
  const uint64_t budget = with_tx ? o.ring_budget_bytes / 8 * 7 : o.ring_budget_bytes;
  if (o.rx_mode == RxMode::kImmediate) {
    RingConfig c;
    c.block_size = 1u << 16;
    c.frame_size = o.immediate_frame_size;
    c.block_count = static_cast<uint32_t>(std::max<uint64_t>(2, budget / c.block_size));
    c.block_timeout_ms = 0;
    return c;
  }
  RingConfig c;
  // At least 16 blocks: at low rates every block retires on its timeout however
  // empty, so the block count is how many timeouts the worker may sleep through
  // (descheduled, say) before the kernel drops. Blocks of 64 KiB to 4 MiB.
  uint64_t bs = 1u << 16;
  while (bs < (1u << 22) && bs * 2 * 16 <= budget) bs *= 2;
  c.block_size = static_cast<uint32_t>(bs);
  c.frame_size = 2048;
  c.block_count = static_cast<uint32_t>(std::max<uint64_t>(2, budget / c.block_size));
  c.block_timeout_ms = o.block_timeout_ms;
  return c;
}

RingConfig TxConfig(const EngineOptions& o, bool with_rx) {
  const uint64_t budget = with_rx ? o.ring_budget_bytes / 8 : o.ring_budget_bytes;
  return RingConfig::ForTx(std::max<uint64_t>(budget, 2u << 16), o.tx_frame_size);
}

}  // namespace

Worker::Worker(Engine* engine, int index, int cpu, const EngineOptions& options,
               std::unique_ptr<FrameHandler> handler)
    : engine_(engine), index_(index), cpu_(cpu), options_(options), handler_(std::move(handler)) {}

Worker::~Worker() {
  if (thread_.joinable()) {
    Wake();
    thread_.join();
  }
}

absl::StatusOr<std::unique_ptr<Worker>> Worker::Create(Engine* engine, int index, int cpu,
                                                       const EngineOptions& options,
                                                       std::unique_ptr<FrameHandler> handler) {
  std::unique_ptr<Worker> w(new Worker(engine, index, cpu, options, std::move(handler)));
  RS_RETURN_IF_ERROR(w->Open());
  return w;
}

void Worker::NoteWaitFallback() {
  // Said once per process, not once per worker.
  static std::atomic<bool> said{false};
  if (waiter_ && waiter_->polling() && !said.exchange(true)) {
    absl::StrAppend(&warnings_, "io_uring unavailable (", waiter_->fallback_reason(),
                    "): waiting with poll()\n");
  }
}

absl::Status Worker::Open() {
  wake_fd_.Reset(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake_fd_.valid()) return ErrnoStatus(errno, "eventfd");
  if (options_.tap != nullptr) {
    if (static_cast<uint32_t>(index_) >= options_.tap->queue_count()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "TAP %s has %d queue(s); worker %d has none (create the port with one queue per worker)",
          options_.tap->name(), options_.tap->queue_count(), index_));
    }
    tap_queue_ = &options_.tap->queue(index_);
    if (options_.tx) tx_port_.emplace(&tap_queue_->tx());
    if (options_.wait_mode == WaitMode::kIoUring) {
      RS_ASSIGN_OR_RETURN(
          waiter_,
          UringWaiter::Create(options_.rx ? tap_queue_->rx().wait_fd() : -1, -1, wake_fd_.get()));
      NoteWaitFallback();
    }
    return absl::OkStatus();
  }
  const bool separate_tx = options_.tx && (!options_.rx || options_.rx_mode == RxMode::kImmediate);
  if (options_.rx) {
    RS_ASSIGN_OR_RETURN(
        PacketSocket s,
        PacketSocket::Open(options_.ifname, {.protocol = options_.protocol,
                                             .ignore_outgoing = options_.ignore_outgoing}));
    rx_sock_.emplace(std::move(s));
    if (!options_.bpf.empty()) RS_RETURN_IF_ERROR(rx_sock_->AttachFilter(options_.bpf));
    if (options_.promiscuous) RS_RETURN_IF_ERROR(rx_sock_->SetPromiscuous(true));
    if (options_.rx_software_stamps || options_.hardware_stamps) {
      TsFlags flags = kTsRxSoftware | kTsSoftware;
      if (options_.hardware_stamps) flags |= kTsRxHardware | kTsRawHardware;
      RS_RETURN_IF_ERROR(EnableSocketTimestamping(rx_sock_->fd(), flags, options_.ifname));
      if (options_.hardware_stamps) {
        // The ring reports one stamp per frame: hardware when the NIC gave one, else software.
        RS_RETURN_IF_ERROR(
            SetPacketTimestamp(rx_sock_->fd(), kTsRawHardware | kTsSoftware, options_.ifname));
      }
    }
    const bool shared_tx = options_.tx && !separate_tx;
    if (shared_tx) RS_RETURN_IF_ERROR(rx_sock_->SetQdiscBypass(options_.qdisc_bypass));
    RingSetupOptions ro;
    ro.rx = RxConfig(options_, options_.tx);
    ro.rx_kind = options_.rx_mode == RxMode::kImmediate ? RingKind::kRxV2 : RingKind::kRxV3;
    if (shared_tx) ro.tx = TxConfig(options_, true);
    ro.lock_memory = options_.lock_memory;
    RS_ASSIGN_OR_RETURN(rings_, SetupRings(*rx_sock_, ro));
    warnings_ += rings_.warnings;
    RS_RETURN_IF_ERROR(rx_sock_->Bind());
  }
  if (separate_tx) {
    // Protocol 0: the TX socket receives nothing.
    RS_ASSIGN_OR_RETURN(PacketSocket s, PacketSocket::Open(options_.ifname, {.protocol = 0}));
    tx_sock_.emplace(std::move(s));
    RS_RETURN_IF_ERROR(tx_sock_->SetQdiscBypass(options_.qdisc_bypass));
    RingSetupOptions ro;
    ro.tx = TxConfig(options_, options_.rx);
    ro.lock_memory = options_.lock_memory;
    RS_ASSIGN_OR_RETURN(tx_rings_, SetupRings(*tx_sock_, ro));
    warnings_ += tx_rings_.warnings;
    RS_RETURN_IF_ERROR(tx_sock_->Bind());
  }
  if (rings_.tx) tx_port_.emplace(&*rings_.tx);
  if (tx_rings_.tx) tx_port_.emplace(&*tx_rings_.tx);
  if (options_.wait_mode == WaitMode::kIoUring) {
    RS_ASSIGN_OR_RETURN(waiter_,
                        UringWaiter::Create(rx_sock_ ? rx_sock_->fd() : -1, -1, wake_fd_.get()));
    NoteWaitFallback();
  }
  return absl::OkStatus();
}

int Worker::tx_fd() const {
  if (tap_queue_ != nullptr) return -1;  // TAP writes get no TX stamps
  if (tx_sock_) return tx_sock_->fd();
  if (options_.tx && rx_sock_) return rx_sock_->fd();
  return -1;
}

absl::StatusOr<TxStampSource*> Worker::OpenTxStamps(std::optional<TxTransport> transport) {
  if (tx_stamps_) return tx_stamps_.get();
  const int fd = tx_fd();
  if (fd < 0) {
    return absl::FailedPreconditionError(
        "TX stamps need a packet socket that transmits (this worker has no TX ring, or it "
        "writes to a TAP)");
  }
  TxTransport want = transport.value_or(options_.tx_stamp_transport);
  if (want == TxTransport::kAuto && options_.wait_mode == WaitMode::kBusyPoll) {
    // A spinning worker reads the error queue without waking anyone, while the
    // io_uring command runs task work on this thread after each send: measured
    // on veth, the probe's RX overhead went from 0.9 to 18 us p50 with it.
    want = TxTransport::kErrorQueue;
  }
  RS_ASSIGN_OR_RETURN(tx_stamps_, OpenTxStampSource(fd, want));
  if (waiter_) {
    // Wake for stamps only from now on: a TX socket polled for POLLERR when
    // nobody wants stamps costs a wake-up per freed frame.
    if (tx_stamps_->transport() == TxTransport::kIoUring) {
      waiter_->WatchStampFd(tx_stamps_->wait_fd(),
                            static_cast<uint32_t>(tx_stamps_->wait_events()));
    } else if (tx_sock_) {
      waiter_->WatchStampFd(tx_sock_->fd(), POLLERR);
    }  // else the RX socket's poll reports POLLERR already
  }
  return tx_stamps_.get();
}

void Worker::SetTxStampCounts(uint64_t pending, uint64_t missed_total) {
  tx_stamps_pending_.store(pending, std::memory_order_relaxed);
  tx_stamps_missed_.store(missed_total, std::memory_order_relaxed);
}

WorkerStats Worker::Stats() const {
  WorkerStats s;
  const RxRingCounters* rx = rings_.rx             ? &rings_.rx->counters()
                             : rings_.rx_immediate ? &rings_.rx_immediate->counters()
                                                   : nullptr;
  if (rx != nullptr) {
    s.frames = rx->frames.Get();
    s.bytes = rx->bytes.Get();
    s.truncated = rx->truncated.Get();
    s.malformed_blocks = rx->malformed_blocks.Get();
    s.foreign_frames = rx->foreign.Get();
  }
  s.kernel_packets = kernel_packets_.Get();
  s.kernel_drops = kernel_drops_.Get();
  s.freezes = freezes_.Get();
  s.handler_drops = handler_drops_.Get();
  s.hw_stamps_missing = hw_missing_.Get();
  s.socket_errors = socket_errors_.Get();
  s.last_socket_error = last_socket_error_.load(std::memory_order_relaxed);
  if (tap_queue_ != nullptr) {
    const TapRxCounters& r = tap_queue_->rx().counters();
    s.frames = r.frames.Get();
    s.bytes = r.bytes.Get();
    s.truncated = r.truncated.Get();
    const TapTxCounters& t = tap_queue_->tx().counters();
    s.tx_sent = t.committed.Get();
    s.tx_bytes = t.bytes.Get();
    s.tx_kicks = t.kicks.Get();
    s.tx_ring_full = t.ring_full.Get();
    s.tx_wrong_format = t.write_errors.Get();
    s.tx_rejected = t.rejected.Get();
  }
  const TxRing* tx = rings_.tx ? &*rings_.tx : tx_rings_.tx ? &*tx_rings_.tx : nullptr;
  if (tx != nullptr) {
    s.tx_sent = tx->counters().committed.Get();
    s.tx_bytes = tx->counters().bytes.Get();
    s.tx_kicks = tx->counters().kicks.Get();
    s.tx_kicks_failed = tx->counters().kicks_failed.Get();
    s.tx_ring_full = tx->counters().ring_full.Get();
    s.tx_wrong_format = tx->counters().wrong_format.Get();
    s.tx_rejected = tx->counters().rejected.Get();
  }
  s.tx_stamps_pending = tx_stamps_pending_.load(std::memory_order_relaxed);
  s.tx_stamps_missed = tx_stamps_missed_.load(std::memory_order_relaxed);
  return s;
}

uint32_t Worker::outstanding_blocks() const {
  return rings_.rx ? rings_.rx->outstanding_blocks() : 0;
}

void Worker::Wake() {
  uint64_t one = 1;
  (void)!write(wake_fd_.get(), &one, sizeof(one));
}

absl::Status Worker::Start() {
  thread_ = std::thread([this] { Run(); });
  if (options_.pin && cpu_ >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu_, &set);
    int rc = pthread_setaffinity_np(thread_.native_handle(), sizeof(set), &set);
    if (rc != 0) {
      return ErrnoStatus(rc, absl::StrFormat("worker %d: pin to CPU %d", index_, cpu_),
                         "the CPU is offline or outside this process's allowed set (taskset)");
    }
  }
  return absl::OkStatus();
}

void Worker::Join() {
  if (thread_.joinable()) thread_.join();
}

bool Worker::StopRequested() const { return engine_->stop_requested(); }

size_t Worker::PollRx() {
  auto on_batch = [this](std::span<Frame> frames) {
    if (options_.hardware_stamps) {
      // Hardware asked: count frames that came without it, and put the ones
      // that have it on the system clock through the PHC mapping of their time.
      const PhcClockMap* map = options_.phc_map.get();
      for (Frame& f : frames) {
        if (!f.stamps.hardware_ns) {
          hw_missing_.Add();
        } else if (map != nullptr) {
          map->MapInto(f.stamps);
        }
      }
    }
    handler_->OnFrames(*this, frames);
  };
  if (rings_.rx) return rings_.rx->PollBatches(on_batch, 16);
  if (rings_.rx_immediate) return rings_.rx_immediate->PollBatches(on_batch, 256);
  if (tap_queue_ != nullptr && options_.rx) {
    return tap_queue_->rx().Poll(
        [&](const Frame& f) {
          Frame copy = f;
          on_batch(std::span<Frame>(&copy, 1));
        },
        256);
  }
  return 0;
}

void Worker::FlushTx() {
  TxPort* t = tx();
  if (t != nullptr && t->pending() > 0) (void)t->Flush();
}

void Worker::ReadKernelStats() {
  if (!rx_sock_) return;
  auto st = rx_sock_->ReadStats();
  if (!st.ok()) return;
  kernel_packets_.Add(st->delta.packets);
  kernel_drops_.Add(st->delta.drops);
  freezes_.Add(st->delta.freezes);
}

void Worker::ReadSocketErrors() {
  for (PacketSocket* sock : {rx_socket(), tx_sock_ ? &*tx_sock_ : nullptr}) {
    if (sock == nullptr) continue;
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(sock->fd(), SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0) {
      socket_errors_.Add();
      last_socket_error_.store(err, std::memory_order_relaxed);
    }
  }
}

void Worker::Run() {
  handler_->OnStart(*this);
  const int64_t stats_every =
      static_cast<int64_t>(std::max(options_.stats_interval_ms, 10)) * 1'000'000;
  next_stats_ns_ = MonotonicNs() + stats_every;
  // The error queue is looked at only when the handler opened TX stamps (in OnStart).
  const int err_fd = tx_stamps_ ? tx_fd() : -1;
  uint32_t idle_spins = 0;
  uint64_t stamp_messages_at_wake = 0;  // TX stamp messages read up to the last error-queue wake
  while (!StopRequested()) {
    size_t n = PollRx();
    PollResult pr = handler_->OnPoll(*this);
    FlushTx();
    const int64_t now = MonotonicNs();
    if (now >= next_stats_ns_) {
      ReadKernelStats();
      ReadSocketErrors();
      next_stats_ns_ = now + stats_every;
    }
    if (n > 0 || pr.busy) {
      idle_spins = 0;
      continue;
    }
    int64_t wake = next_stats_ns_;
    if (pr.wake_at_ns > 0 && pr.wake_at_ns < wake) wake = pr.wake_at_ns;
    if (options_.wait_mode == WaitMode::kBusyPoll) {
      if (tx_stamps_ && tx_stamps_->transport() == TxTransport::kIoUring) {
        // Stamps arrive in a completion ring: spin on it like on the RX ring.
        // Now and then regardless, so that an ended command is re-armed.
        if (tx_stamps_->MayHaveStamps() || (++idle_spins & 1023) == 0) {
          handler_->OnErrorQueue(*this);
        }
      } else if (err_fd >= 0 && (++idle_spins & 1023) == 0) {
        // The error queue has no ring to spin on: look at it now and then.
        pollfd p{err_fd, 0, 0};
        if (poll(&p, 1, 0) > 0 && (p.revents & POLLERR)) handler_->OnErrorQueue(*this);
      }
      CpuRelax();
      continue;
    }
    const uint32_t ev = waiter_->Wait(wake - now);
    if (ev & UringWaiter::kErrQueue) {
      // TX stamps to drain, or on the error-queue transport a POLLERR that was a socket error
      // (the link went down): SO_ERROR is read only when the wake brought no message, and at
      // every stats tick, not for each stamp (two system calls per stamp, ~2 µs of each
      // probe's round trip on a VM whose system calls cost ~1 µs). Messages the handler read
      // since the last such wake count too: a handler that drains stamps while busy (the
      // relay) has often read the ones this wake is for before the wait began.
      handler_->OnErrorQueue(*this);
      const uint64_t messages = tx_stamps_ ? tx_stamps_->stats().messages : 0;
      if (!tx_stamps_ || messages == stamp_messages_at_wake) ReadSocketErrors();
      stamp_messages_at_wake = messages;
    }
  }
  // Nothing is left in userspace: Poll's guards return every block they took.
  FlushTx();
  ReadKernelStats();
  handler_->OnStop(*this);
}

}  // namespace ringstamp
