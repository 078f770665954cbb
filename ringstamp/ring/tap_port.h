// tap_port.h — TapPort: a TAP device whose far end is the host's own stack, behind the ring API.
//
// Example:
// Given: void Handle(const Frame& f); uint32_t BuildFrame(std::span<std::byte> slot)
//   RS_ASSIGN_OR_RETURN(auto port, TapPort::Create({.name = "tap00",
//                                                   .addresses = {"192.168.0.100/24"}}));
//   TapQueue& q = port->queue(0);               // one queue per worker thread
//   q.rx().Poll([](const Frame& f) { Handle(f); }, 256);   // frames the host sent on tap00
//   auto slot = q.tx().Reserve();               // into the host:
//   q.tx().Commit(BuildFrame(slot));
//   RS_RETURN_IF_ERROR(q.tx().Flush());
//
// What it owns: the TAP device (created with IFF_TAP | IFF_NO_PI, IFF_MULTI_QUEUE
// when queues > 1, never persistent), its MAC/MTU/addresses/up state (set over
// rtnetlink, ringstamp/ring/netlink_link.h), one TAP fd per queue, and per queue the RX
// and TX machinery below. The device is removed when the port is destroyed
// (RTM_DELLINK first, then every fd is closed, so it goes even if the delete
// fails) and from a signal handler with RemoveFromSignalHandler() /
// RemoveAllFromSignalHandler(). Create() refuses a name that exists already
// and never attaches to (or deletes) somebody else's device.
// Namespace: the device, the netlink socket and the packet sockets live in the
// network namespace of the thread that called Create().
//
// The TapRx / TapTx pair mirrors ImmediateRxRing / TxRing: Poll(fn, max) hands
// const Frame& views valid until fn returns; Reserve/Commit/Write/Flush/
// WaitWritable/pending/capacity/mtu/counters/Describe mean what they mean
// there. A higher layer written against those runs here unchanged.
//
// RX, TapRxSource::kTapRead (default): Poll posts up to `rx_depth` reads on the
// TAP fd in one io_uring_submit (registered file and buffers, RWF_NOWAIT so a
// read that finds no frame completes at once with EAGAIN instead of parking —
// parked reads all wake for one frame), hands over each frame read, and reuses
// the buffers for the next batch. The batch size adapts: it doubles while
// batches come back full and falls to (frames found + 1) when the queue ran
// dry. Each frame carries a USERSPACE stamp only (CLOCK_REALTIME, one read per
// batch, right after the reads completed). VLAN tags are in the frame bytes
// (vlan_valid is false). A frame longer than the buffer (frame_size) is cut:
// the TAP reports only what fit, so wire_len = frame_size + 1 marks it
// (counted in truncated).
//
// RX, TapRxSource::kPacketRing: a TPACKET_V2 (immediate) ring on the TAP
// interface that keeps only PACKET_OUTGOING frames (classic BPF on the packet
// type) — the frames the host hands to the TAP, copied by the kernel when they
// pass the device's taps (dev_queue_xmit_nit), before the TAP driver queues
// them — with SO_TIMESTAMPING on, so each frame carries a KERNEL SOFTWARE stamp
// (taken at that hand-over) plus the userspace stamp of the Poll. The TAP's
// own copy of each frame is then dropped inside the driver by a "drop all"
// socket filter on the TAP queues (TUNATTACHFILTER), so nothing is read twice
// (they show as TX drops in `ip -s link show`). This is sound where matching
// TAP reads against a capture is not: the ring IS the receive path, there is
// nothing to match. It is the cheaper path for the worker: no syscall per
// batch (the ring is shared memory) — tap_bench drains it ~30× faster than TAP
// reads — because the one copy per frame moves into the sender's context; on
// a single CPU the total (host send + receive) is about that of reads. The
// ring reports the outer VLAN tag in vlan_tci like RxRing does. Frames that
// bypass the device taps — another program's PACKET_QDISC_BYPASS sends or XDP
// redirects into the TAP — never reach this ring (and are dropped by the
// filter). With queues > 1 the rings form one PACKET_FANOUT_HASH group, so a
// flow always reaches the same queue.
//
// In both modes Frame::pkt_type is the port's view of the frame: PACKET_HOST,
// PACKET_BROADCAST or PACKET_MULTICAST by destination MAC (the host sent it to
// us), never PACKET_OUTGOING.
//
// TX: Commit() queues an io_uring write (registered buffer, RWF_NOWAIT) of the
// slot; Flush() submits every committed frame with one io_uring_submit; the
// TAP driver hands each frame to the host stack as if it came from a wire, in
// that same call, so the slots are free again when Flush returns. The TAP fd
// takes one frame per write (readv/writev gather one frame, they do not
// batch), so io_uring is the batching. A frame the driver refuses is counted
// in write_errors. With queues > 1 the driver (kTapRead) or the fanout hash
// (kPacketRing) picks the queue of each host frame: a reply does not reliably
// come back on the queue that wrote the request (seen in the tests), so a
// layer that owns flows per worker must hand frames across or use one queue.
//
// Threads: each TapQueue (its rx() and tx()) is used by one thread at a time,
// normally the worker that owns it; Create() and the destructor run on any
// one thread while no queue is in use; counters() may be read from any thread.
// Cost: setup does a few syscalls and netlink round trips (~1 ms); memory is
// (rx_depth + tx_depth) × frame_size per queue (kPacketRing: the ring instead
// of the RX buffers). Per frame: kTapRead ≈ one TAP read inside a batched
// io_uring_enter; kPacketRing ≈ a ring slot walk; TX ≈ one TAP write inside a
// batched io_uring_enter. bench/tap_bench.cc measures both against read()/write()
// on the same fd: on the project's VM kind (6.18) the batching gains ~1.15× on
// RX drain, ~1.04× RX end to end and nothing on TX, because the driver's own
// per-frame work (skb build and socket accounting, copy, host stack entry:
// ~190 ns of a 278 ns write) dominates and each io_uring request costs what
// the syscall it replaces did (~75–90 ns). The TAP has no batched input from
// userspace (its TUN_MSG_PTR batch path is vhost-net's only), IFF_NAPI makes
// each write dearer (0.6×), and multishot reads move the read into whichever
// thread runs io_uring's task work (the host sender, with COOP_TASKRUN) while
// costing more in total: docs/benchmarks.md lists what was measured. The
// packet-ring source is the cheap RX for the worker (~30× less per frame).
#pragma once

#include <linux/if_packet.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ringstamp/common/clock.h"
#include "ringstamp/common/fd.h"
#include "ringstamp/ring/frame.h"
#include "ringstamp/ring/netlink_link.h"
#include "ringstamp/ring/ring_counters.h"
#include "ringstamp/ring/ring_setup.h"
#include "ringstamp/ring/tx_ring.h"

namespace ringstamp {

class TapUring;  // tap_port.cc: one io_uring of RWF_NOWAIT reads or writes on a TAP fd

enum class TapRxSource : uint8_t {
  kTapRead,     // batched io_uring reads on the TAP fd; userspace stamps
  kPacketRing,  // V2 ring on the TAP, outgoing frames only; kernel software + userspace stamps
};

// "tap-read" / "packet-ring".
const char* TapRxSourceName(TapRxSource source);

struct TapOptions {
  std::string name;                           // the device name (required, < 16 characters)
  std::optional<std::array<uint8_t, 6>> mac;  // nullopt: the kernel's random address
  std::vector<std::string> addresses;         // "192.168.0.100/24", "fd00::100/64"
  uint32_t queues = 1;                        // > 1: IFF_MULTI_QUEUE, one fd per queue (≤ 256)
  uint32_t mtu = 0;                           // 0: the kernel's default (1500)
  TapRxSource rx_source = TapRxSource::kTapRead;
  uint32_t rx_depth = 64;       // kTapRead: most reads per batch (buffers per queue), 1..4096
  uint32_t tx_depth = 256;      // TX slots per queue (frames per Flush at most), 1..4096
  uint32_t frame_size = 0;      // bytes per RX/TX buffer; 0: MTU + 18 (Ethernet + one VLAN tag)
  uint32_t ring_frames = 1024;  // kPacketRing: ring slots per queue
  // kTapRead: frames the TAP driver holds per queue until the port reads them;
  // beyond it the host's sends are dropped (device TX drops). 0: the driver's 500.
  uint32_t queue_len = 0;
  // IPv6 addresses get IFA_F_NODAD: usable at once. Duplicate address detection
  // would only ask this program (the TAP's one neighbour) and delay the address ~1 s.
  bool ipv6_nodad = true;
  std::string tun_path = "/dev/net/tun";  // the clone device (tests point it elsewhere)
};

// Checks the options without touching the system (names, ranges, addresses).
absl::Status ValidateTapOptions(const TapOptions& options);

// PACKET_HOST / PACKET_BROADCAST / PACKET_MULTICAST by the frame's destination MAC.
uint8_t TapPacketType(std::span<const std::byte> frame);

struct TapRxCounters {
  RelaxedCounter blocks;       // batches that found frames (kTapRead: one io_uring_enter each)
  RelaxedCounter frames;       // frames handed to handlers
  RelaxedCounter bytes;        // their wire bytes
  RelaxedCounter truncated;    // frames longer than the buffer / ring slot (cut)
  RelaxedCounter read_errors;  // failed reads (kTapRead) or slots with bad offsets (kPacketRing)
  RelaxedCounter empty_reads;  // kTapRead: posted reads that found no frame (batching's cost)
  RelaxedCounter submits;      // kTapRead: io_uring_enter calls
};

struct TapTxCounters {
  RelaxedCounter committed;     // frames handed to the kernel
  RelaxedCounter bytes;         // their bytes
  RelaxedCounter kicks;         // Flush() calls that submitted work (one io_uring_enter each)
  RelaxedCounter ring_full;     // Reserve() calls that found every slot committed
  RelaxedCounter rejected;      // frames refused before the kernel (too long / too short)
  RelaxedCounter kick_errors;   // io_uring_enter failures (the frames are dropped, counted here)
  RelaxedCounter write_errors;  // frames the TAP driver refused (like TxRing's wrong_format)
};

class TapPort;

// One queue's receive side. See the banner for the two sources.
class TapRx {
 public:
  TapRx(const TapRx&) = delete;
  TapRx& operator=(const TapRx&) = delete;
  ~TapRx();

  // Hands up to `max_frames` frames to fn(const Frame&); each Frame is valid
  // until fn returns. Returns the number handled. Never blocks.
  template <class F>
  size_t Poll(F&& fn, uint32_t max_frames = UINT32_MAX) {
    if (ring_) return PollRing(fn, max_frames);
    size_t n = 0;
    while (n < max_frames) {
      const uint32_t want = static_cast<uint32_t>(std::min<size_t>(batch_hint_, max_frames - n));
      const uint32_t reaped = ReadBatch(want);
      for (uint32_t i = 0; i < reaped; ++i) {
        if (frames_[i].data != nullptr) fn(static_cast<const Frame&>(frames_[i]));
      }
      n += batch_frames_;
      if (batch_frames_ < want) break;  // the TAP queue ran dry (or a read failed)
    }
    return n;
  }

  // POLLIN when Poll would find frames: the TAP fd (kTapRead) or the ring's
  // packet socket (kPacketRing). For an io_uring multishot poll or epoll.
  int wait_fd() const;
  // True when a frame is waiting. kPacketRing: one load; kTapRead: one poll() syscall.
  bool Ready() const;
  TapRxSource source() const { return ring_ ? TapRxSource::kPacketRing : TapRxSource::kTapRead; }
  // kPacketRing: the ring's socket (ReadStats() gives kernel drops); nullptr for kTapRead.
  PacketSocket* packet_socket() { return sock_ ? &*sock_ : nullptr; }
  // Parity with RxRing: nothing stays held after Poll returns.
  uint32_t outstanding_blocks() const { return 0; }
  const TapRxCounters& counters() const { return counters_; }

 private:
  friend class TapPort;
  TapRx() = default;
  absl::Status InitRead(int tap_fd, const std::string& ifname, uint32_t depth, uint32_t frame_size);
  absl::Status InitRing(const std::string& ifname, uint32_t ring_frames, uint32_t mtu,
                        uint32_t queue_index, std::optional<uint16_t>* fanout_group);

  // Submits `want` reads and reaps them (one io_uring_enter); fills frames_
  // (data == nullptr for a read that found nothing). Returns the CQEs reaped
  // and sets batch_frames_ to the frames among them.
  uint32_t ReadBatch(uint32_t want);

  template <class F>
  size_t PollRing(F& fn, uint32_t max_frames) {
    const uint64_t bad_before = ring_->counters().malformed_blocks.Get();
    uint64_t bytes = 0, truncated = 0;
    const size_t n = ring_->Poll(
        [&](const Frame& f) {
          Frame g = f;
          g.pkt_type = TapPacketType(g.bytes());
          bytes += g.wire_len;
          truncated += g.truncated();
          fn(static_cast<const Frame&>(g));
        },
        max_frames);
    if (n > 0) {
      counters_.blocks.Add();
      counters_.frames.Add(n);
      counters_.bytes.Add(bytes);
      if (truncated) counters_.truncated.Add(truncated);
    }
    const uint64_t bad = ring_->counters().malformed_blocks.Get() - bad_before;
    if (bad) counters_.read_errors.Add(bad);
    return n;
  }

  // kTapRead
  int tap_fd_ = -1;
  std::unique_ptr<TapUring> uring_;
  uint32_t depth_ = 0;
  uint32_t frame_size_ = 0;  // largest frame kept whole; reads ask for one byte more
  uint32_t stride_ = 0;
  std::unique_ptr<std::byte[]> buffers_;
  std::unique_ptr<Frame[]> frames_;
  uint32_t batch_hint_ = 1;
  uint32_t batch_frames_ = 0;
  bool dead_ = false;  // the TAP fd stopped working (device deleted): no more reads

  // kPacketRing
  std::optional<PacketSocket> sock_;
  std::optional<Rings> rings_;
  ImmediateRxRing* ring_ = nullptr;

  TapRxCounters counters_;
};

// One queue's transmit side: the TxRing API over batched TAP writes.
class TapTx {
 public:
  TapTx(const TapTx&) = delete;
  TapTx& operator=(const TapTx&) = delete;
  ~TapTx();

  // The next free slot (capacity() bytes), or an empty span when tx_depth
  // frames are committed and not flushed yet (counted in ring_full: Flush and
  // retry). Calling Reserve again without Commit returns the same slot.
  std::span<std::byte> Reserve() {
    if (pending_ >= depth_) {
      counters_.ring_full.Add();
      reserved_ = false;
      return {};
    }
    reserved_ = true;
    return {SlotAt(pending_), capacity_};
  }

  // Queues the reserved slot's first `len` bytes (sent at the next Flush).
  TxResult Commit(uint32_t len) {
    if (!reserved_) return TxResult::kNotReserved;
    if (TxResult r = Check(SlotAt(pending_), len); r != TxResult::kOk) {
      counters_.rejected.Add();
      return r;
    }
    lengths_[pending_] = len;
    ++pending_;
    reserved_ = false;
    counters_.committed.Add();
    counters_.bytes.Add(len);
    return TxResult::kOk;
  }

  // Reserve + copy + Commit.
  TxResult Write(std::span<const std::byte> frame);

  // Writes every committed frame into the TAP with one io_uring_submit and
  // collects the results (write_errors counts refusals). All slots are free
  // afterwards. A Status only when io_uring itself fails (the frames are
  // dropped and counted in kick_errors).
  absl::Status Flush();

  // Slots free up at Flush, so this flushes when every slot is committed;
  // true when a slot is free. Never sleeps: timeout_ms exists for TxRing parity.
  bool WaitWritable(int timeout_ms);

  // Frames committed and not yet flushed.
  uint32_t pending() const { return pending_; }
  // Frames the kernel still owns: always 0 (Flush completes every write).
  uint32_t InFlight() const { return 0; }
  // Largest frame Commit accepts: min(frame_size, MTU + 18).
  uint32_t capacity() const { return capacity_; }
  uint32_t mtu() const { return mtu_; }
  // The TAP fd this side writes to.
  int fd() const { return tap_fd_; }
  const TapTxCounters& counters() const { return counters_; }
  // A message for a rejected Commit, as TxRing::Describe.
  absl::Status Describe(TxResult result, uint32_t len) const;

 private:
  friend class TapPort;
  TapTx() = default;
  absl::Status Init(int tap_fd, const std::string& ifname, uint32_t depth, uint32_t frame_size,
                    uint32_t mtu);
  std::byte* SlotAt(uint32_t i) const { return buffers_.get() + static_cast<size_t>(i) * stride_; }
  TxResult Check(const std::byte* data, uint32_t len) const {
    if (len < 14) return TxResult::kTooShort;
    if (len > capacity_) return TxResult::kTooLong;
    if (len > mtu_ + 14) {
      const uint16_t ethertype = static_cast<uint16_t>(static_cast<uint16_t>(data[12]) << 8 |
                                                       static_cast<uint16_t>(data[13]));
      const bool tagged = ethertype == 0x8100 || ethertype == 0x88a8;
      if (!tagged || len > mtu_ + 18) return TxResult::kTooLong;
    }
    return TxResult::kOk;
  }

  int tap_fd_ = -1;
  std::string ifname_;
  std::unique_ptr<TapUring> uring_;
  uint32_t depth_ = 0;
  uint32_t stride_ = 0;
  uint32_t frame_size_ = 0;
  uint32_t capacity_ = 0;
  uint32_t mtu_ = 0;
  std::unique_ptr<std::byte[]> buffers_;
  std::unique_ptr<uint32_t[]> lengths_;
  uint32_t pending_ = 0;
  bool reserved_ = false;
  TapTxCounters counters_;
};

// One TAP queue: its fd, receive side and transmit side. Owned by its TapPort.
class TapQueue {
 public:
  TapRx& rx() { return *rx_; }
  TapTx& tx() { return *tx_; }
  const TapRx& rx() const { return *rx_; }
  const TapTx& tx() const { return *tx_; }
  int fd() const { return fd_.get(); }
  uint32_t index() const { return index_; }

 private:
  friend class TapPort;
  TapQueue() = default;
  uint32_t index_ = 0;
  UniqueFd fd_;
  std::unique_ptr<TapRx> rx_;
  std::unique_ptr<TapTx> tx_;
};

class TapPort {
 public:
  // Creates the device and sets it up, in the calling thread's namespace.
  // Errors: bad options (InvalidArgument); the clone device missing
  // ("modprobe tun"); the name taken (AlreadyExists: "a device named tap00
  // already exists; pick another --tap name or remove it"); no CAP_NET_ADMIN
  // (PermissionDenied); any netlink or io_uring step (named). A failure after
  // the device appeared removes it again.
  static absl::StatusOr<std::unique_ptr<TapPort>> Create(const TapOptions& options);

  // Deletes the device (RTM_DELLINK), then closes every fd and io_uring.
  ~TapPort();
  TapPort(const TapPort&) = delete;
  TapPort& operator=(const TapPort&) = delete;

  const std::string& name() const { return options_.name; }
  int ifindex() const { return link_.index; }
  // The device's MAC (the one asked for, or the kernel's choice).
  const std::array<uint8_t, 6>& mac() const { return mac_; }
  uint32_t mtu() const { return mtu_; }
  // Bytes per RX/TX buffer in use (options.frame_size or MTU + 18).
  uint32_t frame_size() const { return frame_size_; }
  const TapOptions& options() const { return options_; }
  uint32_t queue_count() const { return static_cast<uint32_t>(queues_.size()); }
  TapQueue& queue(uint32_t i) { return *queues_[i]; }

  // The device's counters (one netlink round trip). On a TAP the directions are
  // the driver's: tx_* is host → port (tx_packets: frames the port read;
  // tx_dropped: frames dropped before the port read them — its queue was full
  // (raise queue_len, poll more often) — and, with kPacketRing, every frame,
  // since the driver's copy is dropped by design); rx_* is port → host.
  // One caller at a time (it uses the port's netlink socket); not on the hot path.
  absl::StatusOr<LinkCounters> ReadDeviceCounters();

  // Async-signal-safe: removes the device now — sends the prepared RTM_DELLINK
  // on a netlink socket opened at Create() in the device's namespace, then
  // replaces every TAP fd by /dev/null with dup2() (the TAP files are released,
  // the fd numbers stay owned by the port, so the destructor still closes
  // exactly its own fds). No allocation, no locks. After it the port's
  // reads/writes fail (counted); destroying it is still required and safe.
  // Use from a SIGINT/SIGTERM handler, or in a handler of your own before _exit():
  // Example:
  // Given: #include "ringstamp/engine/engine.h"
  //   AddStopCallback(&TapPort::RemoveAllFromSignalHandler);   // ringstamp/engine/engine.h
  void RemoveFromSignalHandler() noexcept;
  // The same for every live TapPort of the process (up to 64 at once are
  // tracked; Create() refuses more). A port being destroyed concurrently is
  // either removed here or by its destructor, never touched after its fds close.
  static void RemoveAllFromSignalHandler() noexcept;

 private:
  explicit TapPort(const TapOptions& options) : options_(options) {}
  absl::Status OpenQueue(uint32_t index, short flags);
  absl::Status Configure();
  absl::Status SetUpQueues();
  absl::Status PrepareSignalRemoval();
  void Unregister() noexcept;

  TapOptions options_;
  std::optional<NetlinkLink> nl_;
  LinkRef link_;
  std::array<uint8_t, 6> mac_{};
  uint32_t mtu_ = 0;
  uint32_t frame_size_ = 0;
  bool own_device_ = false;  // the device is ours to delete
  std::vector<std::unique_ptr<TapQueue>> queues_;

  // Signal path: fixed at Create(), read by RemoveFromSignalHandler().
  UniqueFd signal_nl_fd_;
  UniqueFd null_fd_;
  std::unique_ptr<int[]> signal_fds_;  // TAP fd numbers
  std::atomic<uint32_t> signal_fd_count_{0};
  std::array<std::byte, 32> delete_request_{};
  size_t delete_request_len_ = 0;
  int signal_slot_ = -1;
};

}  // namespace ringstamp
