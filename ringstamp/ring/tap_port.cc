#include "ringstamp/ring/tap_port.h"

#include <fcntl.h>
#include <liburing.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <linux/net_tstamp.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ringstamp/common/absl_compat.h"
#include "ringstamp/common/errno_status.h"
#include "ringstamp/common/status_macros.h"

namespace ringstamp {
namespace {

static_assert(sizeof(sock_filter) == 8, "classic BPF instruction layout");

constexpr uint32_t kMaxQueues = 256;  // MAX_TAP_QUEUES in drivers/net/tun.c
constexpr uint32_t kMaxDepth = 4096;
constexpr int kMaxSignalPorts = 64;

// Every live port, for RemoveAllFromSignalHandler(). A handler marks a slot busy
// before it reads the pointer; the destructor clears the pointer and then waits
// until no handler is busy, so a handler never uses a port whose fds are closing.
struct SignalSlot {
  std::atomic<TapPort*> port{nullptr};
  std::atomic<int> busy{0};
};
SignalSlot g_signal_slots[kMaxSignalPorts];

uint32_t RoundUp(uint32_t v, uint32_t to) { return (v + to - 1) / to * to; }

uint32_t NextPow2(uint32_t v) {
  uint32_t p = 1;
  while (p < v) p <<= 1;
  return p;
}

std::string MacText(const std::array<uint8_t, 6>& m) {
  return absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

// The same message under another code (ErrnoStatus picks the code from errno).
absl::Status WithCode(absl::StatusCode code, const absl::Status& s) {
  return absl::Status(code, s.message());
}

absl::Status NameTaken(std::string_view name) {
  return absl::AlreadyExistsError(absl::StrFormat(
      "a device named %s already exists; pick another --tap name or remove it (`ip link del %s` "
      "if it is a stale TAP)",
      ToAbsl(name), ToAbsl(name)));
}

}  // namespace

// One io_uring carrying RWF_NOWAIT reads or writes on one TAP fd, with the fd
// and the buffer region registered when the kernel allows (a file lookup and a
// page walk saved per request; plain requests work the same without). With
// RWF_NOWAIT the TAP driver completes every request inside io_uring_enter —
// a read finding no frame ends with EAGAIN instead of parking — so a batch is
// one syscall and nothing is left in flight between batches; TapRx checks that
// at setup. COOP_TASKRUN where the kernel has it: no task-work interrupts.
class TapUring {
 public:
  static absl::StatusOr<std::unique_ptr<TapUring>> Create(int fd, std::byte* region,
                                                          size_t region_len, uint32_t entries,
                                                          std::string what) {
    std::unique_ptr<TapUring> u(new TapUring(fd, region, region_len, entries, std::move(what)));
    RS_RETURN_IF_ERROR(u->Setup());
    return u;
  }
  ~TapUring() { Teardown(); }
  TapUring(const TapUring&) = delete;
  TapUring& operator=(const TapUring&) = delete;

  bool usable() const { return ready_; }

  // Queues one request on `buf` (inside the region); false when the SQ is full.
  bool Queue(bool write, std::byte* buf, uint32_t len, uint64_t tag) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) return false;
    const int fd = fixed_file_ ? 0 : fd_;
    if (fixed_buffers_) {
      if (write) {
        io_uring_prep_write_fixed(sqe, fd, buf, len, 0, 0);
      } else {
        io_uring_prep_read_fixed(sqe, fd, buf, len, 0, 0);
      }
    } else if (write) {
      io_uring_prep_write(sqe, fd, buf, len, 0);
    } else {
      io_uring_prep_read(sqe, fd, buf, len, 0);
    }
    if (fixed_file_) sqe->flags |= IOSQE_FIXED_FILE;
    sqe->rw_flags = RWF_NOWAIT;
    sqe->user_data = tag;
    return true;
  }

  // Submits the `queued` requests (one io_uring_enter) and calls done(tag, res)
  // for each completion, in completion order. Returns the number completed, or
  // -errno when io_uring_enter failed; requests it did not take are discarded
  // (the ring is rebuilt) so none can run later over a reused buffer.
  template <class F>
  int SubmitAndReap(uint32_t queued, F&& done) {
    uint32_t submitted = 0;
    int err = 0;
    for (int tries = 0; submitted < queued && tries < 8; ++tries) {
      const int r = io_uring_submit(&ring_);
      if (r == -EINTR) continue;
      if (r <= 0) {
        err = r < 0 ? -r : EIO;
        break;
      }
      submitted += static_cast<uint32_t>(r);
    }
    uint32_t reaped = 0;
    while (reaped < submitted) {
      io_uring_cqe* cqe = nullptr;
      if (io_uring_peek_cqe(&ring_, &cqe) != 0) {
        // Not posted during the submit: wait for it (RWF_NOWAIT requests never
        // park on the TAP, so this returns at once; it is here for safety).
        int r = -EINTR;
        for (int tries = 0; r == -EINTR && tries < 8; ++tries) r = io_uring_wait_cqe(&ring_, &cqe);
        if (r != 0) {
          err = -r;
          break;
        }
      }
      done(cqe->user_data, cqe->res);
      io_uring_cqe_seen(&ring_, cqe);
      ++reaped;
    }
    if (submitted < queued || reaped < submitted) {
      Teardown();
      (void)Setup();  // usable() says whether it came back
      return -(err != 0 ? err : EIO);
    }
    return static_cast<int>(reaped);
  }

  // One non-blocking read submitted alone: its result if the kernel completed it
  // inside the submit, nullopt if it parked it (then the ring is rebuilt).
  std::optional<int> ProbeRead(std::byte* buf, uint32_t len) {
    if (!Queue(false, buf, len, 0)) return std::nullopt;
    const int r = io_uring_submit(&ring_);
    io_uring_cqe* cqe = nullptr;
    if (r != 1 || io_uring_peek_cqe(&ring_, &cqe) != 0) {
      Teardown();
      (void)Setup();
      return std::nullopt;
    }
    const int res = cqe->res;
    io_uring_cqe_seen(&ring_, cqe);
    return res;
  }

 private:
  TapUring(int fd, std::byte* region, size_t region_len, uint32_t entries, std::string what)
      : fd_(fd),
        region_(region),
        region_len_(region_len),
        entries_(entries),
        what_(std::move(what)) {}

  absl::Status Setup() {
    io_uring_params p{};
    p.flags = IORING_SETUP_COOP_TASKRUN;
    int r = io_uring_queue_init_params(entries_, &ring_, &p);
    if (r == -EINVAL) {
      p = io_uring_params{};
      r = io_uring_queue_init_params(entries_, &ring_, &p);
    }
    if (r < 0) {
      std::string_view hint;
      if (r == -ENOMEM) hint = "raise the locked-memory limit (ulimit -l) or lower the depth";
      if (r == -EPERM) hint = "io_uring is disabled here (sysctl kernel.io_uring_disabled)";
      if (r == -ENOSYS) hint = "this kernel has no io_uring";
      return ErrnoStatus(-r, absl::StrCat(what_, ": io_uring_queue_init"), hint);
    }
    ready_ = true;
    fixed_file_ = io_uring_register_files(&ring_, &fd_, 1) == 0;
    iovec iov{region_, region_len_};
    fixed_buffers_ = io_uring_register_buffers(&ring_, &iov, 1) == 0;
    return absl::OkStatus();
  }
  void Teardown() {
    if (ready_) io_uring_queue_exit(&ring_);
    ready_ = false;
  }

  io_uring ring_{};
  bool ready_ = false;
  bool fixed_file_ = false;
  bool fixed_buffers_ = false;
  int fd_;
  std::byte* region_;
  size_t region_len_;
  uint32_t entries_;
  std::string what_;
};

const char* TapRxSourceName(TapRxSource source) {
  switch (source) {
    case TapRxSource::kTapRead:
      return "tap-read";
    case TapRxSource::kPacketRing:
      return "packet-ring";
  }
  return "unknown";
}

absl::Status ValidateTapOptions(const TapOptions& o) {
  if (o.name.empty()) {
    return absl::InvalidArgumentError("TAP: no device name given (e.g. --tap tap00)");
  }
  if (o.name.size() >= IFNAMSIZ) {
    return absl::InvalidArgumentError(
        absl::StrFormat("TAP name '%s' is longer than %d characters", o.name, IFNAMSIZ - 1));
  }
  if (o.name.find_first_of(std::string_view("/:% \t\n\0", 7)) != std::string::npos ||
      o.name == "." || o.name == "..") {
    return absl::InvalidArgumentError(absl::StrFormat(
        "TAP name '%s' contains a character not allowed here ('/', ':', '%%', blanks)", o.name));
  }
  if (o.queues < 1 || o.queues > kMaxQueues) {
    return absl::InvalidArgumentError(absl::StrFormat("%s: %u queues asked for; a TAP has 1 to %u",
                                                      o.name, o.queues, kMaxQueues));
  }
  if (o.mtu != 0 && (o.mtu < 68 || o.mtu > 65535)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: MTU %u is outside 68..65535 (0 keeps the default)", o.name, o.mtu));
  }
  if (o.rx_depth < 1 || o.rx_depth > kMaxDepth || o.tx_depth < 1 || o.tx_depth > kMaxDepth) {
    return absl::InvalidArgumentError(absl::StrFormat("%s: rx_depth %u / tx_depth %u must be 1..%u",
                                                      o.name, o.rx_depth, o.tx_depth, kMaxDepth));
  }
  if (o.frame_size != 0 && (o.frame_size < 64 || o.frame_size > 65536 + 18)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: frame_size %u must be 64..65554 bytes (0: MTU + 18)", o.name, o.frame_size));
  }
  if (o.rx_source == TapRxSource::kPacketRing &&
      (o.ring_frames < 16 || o.ring_frames > (1u << 20))) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: ring_frames %u must be 16..1048576", o.name, o.ring_frames));
  }
  if (o.queue_len > (1u << 20)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: queue_len %u is above 1048576 frames", o.name, o.queue_len));
  }
  if (o.tun_path.empty()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: empty tun_path (the clone device is /dev/net/tun)", o.name));
  }
  for (const std::string& a : o.addresses) {
    auto p = ParseIpPrefix(a);
    if (!p.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(o.name, ": ", p.status().message()));
    }
  }
  return absl::OkStatus();
}

uint8_t TapPacketType(std::span<const std::byte> frame) {
  if (frame.size() < 6) return PACKET_HOST;
  if ((static_cast<uint8_t>(frame[0]) & 1) == 0) return PACKET_HOST;
  for (size_t i = 0; i < 6; ++i) {
    if (static_cast<uint8_t>(frame[i]) != 0xff) return PACKET_MULTICAST;
  }
  return PACKET_BROADCAST;
}

// ---------------------------------------------------------------------------- TapRx

TapRx::~TapRx() = default;

absl::Status TapRx::InitRead(int tap_fd, const std::string& ifname, uint32_t depth,
                             uint32_t frame_size) {
  tap_fd_ = tap_fd;
  depth_ = depth;
  frame_size_ = frame_size;
  stride_ = RoundUp(frame_size + 1, 64);
  const size_t region = static_cast<size_t>(depth) * stride_;
  buffers_ = std::make_unique_for_overwrite<std::byte[]>(region);
  frames_ = std::make_unique<Frame[]>(depth);
  RS_ASSIGN_OR_RETURN(uring_, TapUring::Create(tap_fd_, buffers_.get(), region, depth,
                                               absl::StrCat(ifname, ": TAP RX")));
  batch_hint_ = std::min<uint32_t>(16, depth);
  // The batching relies on a read that finds the TAP queue empty completing at
  // once with EAGAIN. The link is still down, so the queue is empty: check that
  // the kernel behaves so before relying on it.
  const std::optional<int> probe = uring_->ProbeRead(buffers_.get(), frame_size_ + 1);
  if (!probe) {
    return absl::FailedPreconditionError(absl::StrCat(
        ifname,
        ": this kernel parks non-blocking TAP reads in io_uring instead of completing them "
        "(RWF_NOWAIT); use the packet-ring RX source"));
  }
  if (*probe < 0 && *probe != -EAGAIN) {
    return ErrnoStatus(-*probe, absl::StrCat(ifname, ": TAP RX: non-blocking io_uring read"),
                       "use the packet-ring RX source");
  }
  return absl::OkStatus();
}

absl::Status TapRx::InitRing(const std::string& ifname, uint32_t ring_frames, uint32_t mtu,
                             uint32_t queue_index, std::optional<uint16_t>* fanout_group) {
  RS_ASSIGN_OR_RETURN(PacketSocket s, PacketSocket::Open(ifname, {.protocol = ETH_P_ALL,
                                                                  .ignore_outgoing = false}));
  sock_.emplace(std::move(s));
  // Keep only what the host hands to the TAP (PACKET_OUTGOING): our own TX into
  // the TAP shows up here as incoming and is not wanted.
  static constexpr sock_filter kOutgoingOnly[] = {
      {BPF_LD | BPF_W | BPF_ABS, 0, 0, static_cast<uint32_t>(SKF_AD_OFF + SKF_AD_PKTTYPE)},
      {BPF_JMP | BPF_JEQ | BPF_K, 0, 1, PACKET_OUTGOING},
      {BPF_RET | BPF_K, 0, 0, 262144},
      {BPF_RET | BPF_K, 0, 0, 0},
  };
  RS_RETURN_IF_ERROR(sock_->AttachFilter(kOutgoingOnly));
  // Without some socket asking for RX software stamps the kernel leaves
  // skb->tstamp empty and the ring frames carry no TP_STATUS_TS_SOFTWARE.
  const int ts = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE;
  if (setsockopt(sock_->fd(), SOL_SOCKET, SO_TIMESTAMPING, &ts, sizeof(ts)) != 0) {
    return ErrnoStatus(errno, absl::StrCat(ifname, ": SO_TIMESTAMPING on the TAP ring socket"));
  }
  RingConfig cfg;
  cfg.frame_size = std::max<uint32_t>(2048, NextPow2(mtu + 18 + 128));
  cfg.block_size = std::max<uint32_t>(1u << 16, cfg.frame_size);
  const uint32_t per_block = cfg.block_size / cfg.frame_size;
  cfg.block_count = std::max<uint32_t>(2, (ring_frames + per_block - 1) / per_block);
  cfg.block_timeout_ms = 0;
  RS_ASSIGN_OR_RETURN(Rings r, SetupRings(*sock_, {.rx = cfg, .rx_kind = RingKind::kRxV2}));
  rings_.emplace(std::move(r));
  ring_ = &*rings_->rx_immediate;
  // The TAP is brought up after its queues are set up; the ring receives from then on.
  RS_RETURN_IF_ERROR(sock_->Bind({.allow_down = true}));
  if (fanout_group != nullptr) {
    FanoutOptions f{.mode = FanoutMode::kHash};
    if (fanout_group->has_value()) {
      f.group_id = **fanout_group;
    } else {
      f.unique_id = true;
    }
    auto id = sock_->JoinFanout(f);
    if (!id.ok()) {
      return absl::Status(id.status().code(), absl::StrFormat("%s queue %u: %s", ifname,
                                                              queue_index, id.status().message()));
    }
    *fanout_group = *id;
  }
  return absl::OkStatus();
}

int TapRx::wait_fd() const { return sock_ ? sock_->fd() : tap_fd_; }

bool TapRx::Ready() const {
  if (ring_) return ring_->Ready();
  pollfd p{tap_fd_, POLLIN, 0};
  return poll(&p, 1, 0) > 0 && (p.revents & POLLIN) != 0;
}

uint32_t TapRx::ReadBatch(uint32_t want) {
  batch_frames_ = 0;
  if (dead_ || want == 0) return 0;
  if (!uring_->usable()) {
    dead_ = true;
    return 0;
  }
  uint32_t queued = 0;
  while (queued < want &&
         uring_->Queue(false, buffers_.get() + static_cast<size_t>(queued) * stride_,
                       frame_size_ + 1, queued)) {
    ++queued;
  }
  counters_.submits.Add();
  uint32_t frames = 0, reaped = 0;
  uint64_t bytes = 0, truncated = 0, empty = 0, errors = 0;
  int64_t user_ns = 0;
  const int r = uring_->SubmitAndReap(queued, [&](uint64_t idx, int res) {
    Frame& f = frames_[reaped++];
    f.data = nullptr;
    if (res > 0 && idx < depth_) {
      if (user_ns == 0) user_ns = RealtimeNs();  // once per batch, after the reads completed
      const uint32_t got = static_cast<uint32_t>(res);
      f.data = buffers_.get() + idx * stride_;
      f.snap_len = std::min(got, frame_size_);
      f.wire_len = got;  // frame_size_ + 1 when the frame did not fit
      f.rxhash = 0;
      f.vlan_tci = 0;
      f.vlan_tpid = 0;
      f.vlan_valid = false;
      f.status = 0;
      f.pkt_type = TapPacketType(f.bytes());
      f.stamps = Timestamps{};
      f.stamps.userspace_ns = user_ns;
      ++frames;
      bytes += f.wire_len;
      truncated += f.truncated();
    } else if (res == -EAGAIN) {
      ++empty;
    } else {
      ++errors;
      // EBADFD/EBADF/EIO/ENXIO: the device is gone; 0: end of file (the fd was
      // replaced by /dev/null on the signal path). No point reading again.
      if (res == 0 || res == -EBADFD || res == -EBADF || res == -EIO || res == -ENXIO) {
        dead_ = true;
      }
    }
  });
  if (r < 0) {
    ++errors;
    if (!uring_->usable()) dead_ = true;
  }
  batch_frames_ = frames;
  if (frames) {
    counters_.blocks.Add();
    counters_.frames.Add(frames);
    counters_.bytes.Add(bytes);
    if (truncated) counters_.truncated.Add(truncated);
  }
  if (empty) counters_.empty_reads.Add(empty);
  if (errors) counters_.read_errors.Add(errors);
  // Full batch: the queue may hold more, ask for twice as many next time.
  // Otherwise it ran dry: expect about as many as just came, plus one.
  batch_hint_ = frames == want ? std::min(depth_, want * 2) : std::min(depth_, frames + 1);
  return reaped;
}

// ---------------------------------------------------------------------------- TapTx

TapTx::~TapTx() = default;

absl::Status TapTx::Init(int tap_fd, const std::string& ifname, uint32_t depth, uint32_t frame_size,
                         uint32_t mtu) {
  tap_fd_ = tap_fd;
  ifname_ = ifname;
  depth_ = depth;
  frame_size_ = frame_size;
  stride_ = RoundUp(frame_size, 64);
  mtu_ = mtu;
  capacity_ = std::min(frame_size, mtu + 18);
  const size_t region = static_cast<size_t>(depth) * stride_;
  buffers_ = std::make_unique<std::byte[]>(region);
  lengths_ = std::make_unique<uint32_t[]>(depth);
  RS_ASSIGN_OR_RETURN(uring_, TapUring::Create(tap_fd_, buffers_.get(), region, depth,
                                               absl::StrCat(ifname, ": TAP TX")));
  return absl::OkStatus();
}

TxResult TapTx::Write(std::span<const std::byte> frame) {
  std::span<std::byte> slot = Reserve();
  if (slot.empty()) return TxResult::kRingFull;
  if (frame.size() > slot.size()) {
    counters_.rejected.Add();
    reserved_ = false;
    return TxResult::kTooLong;
  }
  std::memcpy(slot.data(), frame.data(), frame.size());
  return Commit(static_cast<uint32_t>(frame.size()));
}

absl::Status TapTx::Flush() {
  if (pending_ == 0) return absl::OkStatus();
  const uint32_t n = pending_;
  pending_ = 0;
  reserved_ = false;
  if (!uring_->usable()) {
    counters_.kick_errors.Add(n);
    return absl::UnavailableError(
        absl::StrFormat("%s: TAP TX io_uring is gone (%u frames dropped)", ifname_, n));
  }
  uint32_t queued = 0;
  while (queued < n && uring_->Queue(true, SlotAt(queued), lengths_[queued], queued)) ++queued;
  uint64_t errors = n - queued;
  uint32_t completed = 0;
  const int r = uring_->SubmitAndReap(queued, [&](uint64_t, int res) {
    ++completed;
    if (res < 0) ++errors;
  });
  if (r < 0) {
    if (errors) counters_.write_errors.Add(errors);
    counters_.kick_errors.Add(n - completed);
    return ErrnoStatus(-r, absl::StrFormat("%s: TAP TX io_uring_submit (%u frames dropped)",
                                           ifname_, n - completed));
  }
  counters_.kicks.Add();
  errors += queued - static_cast<uint32_t>(r);
  if (errors) counters_.write_errors.Add(errors);
  return absl::OkStatus();
}

bool TapTx::WaitWritable(int /*timeout_ms*/) {
  if (pending_ < depth_) return true;
  (void)Flush();
  return pending_ < depth_;
}

absl::Status TapTx::Describe(TxResult result, uint32_t len) const {
  switch (result) {
    case TxResult::kOk:
      return absl::OkStatus();
    case TxResult::kRingFull:
      return absl::ResourceExhaustedError(absl::StrFormat(
          "%s: all %u TAP TX slots are committed; Flush() and retry, or raise tx_depth", ifname_,
          depth_));
    case TxResult::kTooLong:
      return absl::InvalidArgumentError(absl::StrFormat(
          "frame of %u bytes is longer than %s allows (MTU %u + 14-byte Ethernet header, +4 for a "
          "VLAN-tagged frame; TX slot holds %u); shorten it or raise the MTU",
          len, ifname_, mtu_, capacity_));
    case TxResult::kTooShort:
      return absl::InvalidArgumentError(
          absl::StrFormat("frame of %u bytes is shorter than an Ethernet header (14 bytes)", len));
    case TxResult::kNotReserved:
      return absl::FailedPreconditionError("TAP TX Commit() without a successful Reserve()");
  }
  return absl::UnknownError("unknown TX result");
}

// ---------------------------------------------------------------------------- TapPort

absl::StatusOr<std::unique_ptr<TapPort>> TapPort::Create(const TapOptions& options) {
  RS_RETURN_IF_ERROR(ValidateTapOptions(options));
  std::unique_ptr<TapPort> port(new TapPort(options));
  // From here on an early return destroys `port`, which deletes whatever device it made.
  RS_ASSIGN_OR_RETURN(NetlinkLink nl, NetlinkLink::Open());
  port->nl_.emplace(std::move(nl));
  RS_ASSIGN_OR_RETURN(bool exists, port->nl_->Exists(options.name));
  if (exists) return NameTaken(options.name);
  port->signal_fds_ = std::make_unique<int[]>(options.queues);
  short flags = IFF_TAP | IFF_NO_PI;
  if (options.queues > 1) flags |= IFF_MULTI_QUEUE;
  for (uint32_t i = 0; i < options.queues; ++i) RS_RETURN_IF_ERROR(port->OpenQueue(i, flags));
  RS_RETURN_IF_ERROR(port->Configure());
  RS_RETURN_IF_ERROR(port->SetUpQueues());
  RS_RETURN_IF_ERROR(port->nl_->SetUp(port->link_, true));
  return port;
}

absl::Status TapPort::OpenQueue(uint32_t index, short flags) {
  const std::string& name = options_.name;
  UniqueFd fd(open(options_.tun_path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) {
    const int err = errno;
    const std::string what = absl::StrCat(name, ": open ", options_.tun_path);
    if (err == ENOENT || err == ENODEV || err == ENXIO) {
      return WithCode(absl::StatusCode::kFailedPrecondition,
                      ErrnoStatus(err, what,
                                  "the TUN/TAP driver is not loaded: run `modprobe tun` (or "
                                  "create the node: mknod /dev/net/tun c 10 200)"));
    }
    if (err == EACCES || err == EPERM) {
      return WithCode(absl::StatusCode::kPermissionDenied,
                      ErrnoStatus(err, what,
                                  "creating a TAP needs root (or read/write access to the clone "
                                  "device and CAP_NET_ADMIN)"));
    }
    return ErrnoStatus(err, what);
  }
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  ifr.ifr_flags = flags;
  if (ioctl(fd.get(), TUNSETIFF, &ifr) != 0) {
    const int err = errno;
    const std::string what = absl::StrFormat("%s: TUNSETIFF (queue %u)", name, index);
    if (err == EPERM || err == EACCES) {
      return WithCode(absl::StatusCode::kPermissionDenied,
                      ErrnoStatus(err, what,
                                  "creating a TAP needs CAP_NET_ADMIN: run as root or grant it "
                                  "(setcap cap_net_admin+ep on the binary)"));
    }
    if (index == 0 && (err == EBUSY || err == EEXIST)) return NameTaken(name);
    if (index == 0 && err == EINVAL) {
      // A TUN (not TAP) device, a multi-queue mismatch or a non-TUN device of that name.
      auto exists = nl_->Exists(name);
      if (exists.ok() && *exists) return NameTaken(name);
    }
    return ErrnoStatus(err, what);
  }
  if (std::strncmp(ifr.ifr_name, name.c_str(), IFNAMSIZ) != 0) {
    return absl::InternalError(
        absl::StrFormat("%s: the kernel named the TAP '%s'", name, ifr.ifr_name));
  }
  if (index == 0) {
    // TUNSETIFF also attaches to an existing persistent TAP of that name (one
    // that appeared since the check above): that device is not ours to use or delete.
    ifreq got{};
    if (ioctl(fd.get(), TUNGETIFF, &got) != 0) {
      return ErrnoStatus(errno, absl::StrCat(name, ": TUNGETIFF"));
    }
    if (got.ifr_flags & IFF_PERSIST) return NameTaken(name);
    own_device_ = true;
    RS_ASSIGN_OR_RETURN(link_, nl_->Lookup(name));
    RS_RETURN_IF_ERROR(PrepareSignalRemoval());
  }
  signal_fds_[index] = fd.get();
  signal_fd_count_.store(index + 1);
  auto q = std::unique_ptr<TapQueue>(new TapQueue());
  q->index_ = index;
  q->fd_ = std::move(fd);
  queues_.push_back(std::move(q));
  return absl::OkStatus();
}

absl::Status TapPort::PrepareSignalRemoval() {
  signal_nl_fd_.Reset(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!signal_nl_fd_.valid()) {
    return ErrnoStatus(errno, absl::StrCat(options_.name, ": netlink socket for the signal path"));
  }
  null_fd_.Reset(open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null_fd_.valid()) return ErrnoStatus(errno, "open /dev/null");
  delete_request_len_ = NetlinkLink::BuildDeleteLinkRequest(link_.index, 1, delete_request_);
  for (int i = 0; i < kMaxSignalPorts; ++i) {
    TapPort* expected = nullptr;
    if (g_signal_slots[i].port.compare_exchange_strong(expected, this)) {
      signal_slot_ = i;
      return absl::OkStatus();
    }
  }
  return absl::ResourceExhaustedError(absl::StrFormat(
      "%s: more than %d TAP ports are open in this process", options_.name, kMaxSignalPorts));
}

absl::Status TapPort::Configure() {
  if (options_.mac) RS_RETURN_IF_ERROR(nl_->SetMac(link_, *options_.mac));
  if (options_.mtu != 0) RS_RETURN_IF_ERROR(nl_->SetMtu(link_, options_.mtu));
  if (options_.queue_len != 0) RS_RETURN_IF_ERROR(nl_->SetTxQueueLen(link_, options_.queue_len));
  RS_ASSIGN_OR_RETURN(std::optional<LinkInfo> info, nl_->Find(options_.name));
  if (!info || info->ref.index != link_.index) {
    return absl::InternalError(absl::StrCat(options_.name, ": the TAP vanished during setup"));
  }
  mtu_ = info->mtu;
  if (info->mac) mac_ = *info->mac;
  if (options_.mac && mac_ != *options_.mac) {
    return absl::InternalError(absl::StrFormat("%s: asked for MAC %s, the kernel kept %s",
                                               options_.name, MacText(*options_.mac),
                                               MacText(mac_)));
  }
  frame_size_ = options_.frame_size != 0 ? options_.frame_size : mtu_ + 18;
  for (const std::string& a : options_.addresses) {
    RS_ASSIGN_OR_RETURN(IpPrefix p, ParseIpPrefix(a));
    RS_RETURN_IF_ERROR(nl_->AddAddress(link_, p, {.no_dad = options_.ipv6_nodad}));
  }
  return absl::OkStatus();
}

absl::Status TapPort::SetUpQueues() {
  std::optional<uint16_t> group;
  const bool ring = options_.rx_source == TapRxSource::kPacketRing;
  for (auto& q : queues_) {
    q->rx_.reset(new TapRx());
    if (ring) {
      RS_RETURN_IF_ERROR(q->rx_->InitRing(options_.name, options_.ring_frames, mtu_, q->index_,
                                          queues_.size() > 1 ? &group : nullptr));
    } else {
      RS_RETURN_IF_ERROR(q->rx_->InitRead(q->fd(), options_.name, options_.rx_depth, frame_size_));
    }
    q->tx_.reset(new TapTx());
    RS_RETURN_IF_ERROR(q->tx_->Init(q->fd(), options_.name, options_.tx_depth, frame_size_, mtu_));
  }
  if (ring) {
    // The ring receives every frame the host sends; the driver drops its own copy
    // (a socket filter on the TAP queues that accepts nothing) so none is queued
    // for reads that never come. Applies to every queue of the device.
    sock_filter drop_all[] = {{BPF_RET | BPF_K, 0, 0, 0}};
    sock_fprog prog{1, drop_all};
    if (ioctl(queues_[0]->fd(), TUNATTACHFILTER, &prog) != 0) {
      return ErrnoStatus(errno, absl::StrCat(options_.name, ": TUNATTACHFILTER (drop-all)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<LinkCounters> TapPort::ReadDeviceCounters() {
  RS_ASSIGN_OR_RETURN(LinkInfo info, nl_->Query(link_));
  if (!info.counters) {
    return absl::InternalError(absl::StrCat(options_.name, ": the kernel sent no IFLA_STATS64"));
  }
  return *info.counters;
}

void TapPort::RemoveFromSignalHandler() noexcept {
  if (signal_nl_fd_.valid() && delete_request_len_ > 0) {
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    (void)sendto(signal_nl_fd_.get(), delete_request_.data(), delete_request_len_, MSG_DONTWAIT,
                 reinterpret_cast<const sockaddr*>(&kernel), sizeof(kernel));
  }
  if (null_fd_.valid()) {
    const uint32_t n = signal_fd_count_.load();
    for (uint32_t i = 0; i < n; ++i) (void)dup2(null_fd_.get(), signal_fds_[i]);
  }
}

void TapPort::RemoveAllFromSignalHandler() noexcept {
  for (SignalSlot& slot : g_signal_slots) {
    slot.busy.fetch_add(1);
    if (TapPort* p = slot.port.load()) p->RemoveFromSignalHandler();
    slot.busy.fetch_sub(1);
  }
}

void TapPort::Unregister() noexcept {
  if (signal_slot_ < 0) return;
  SignalSlot& slot = g_signal_slots[signal_slot_];
  slot.port.store(nullptr);
  while (slot.busy.load() != 0) sched_yield();
  signal_slot_ = -1;
}

TapPort::~TapPort() {
  Unregister();
  if (own_device_ && nl_ && link_.index > 0) {
    // While we still hold the queues the index is certainly this device's.
    // NotFound (deleted already, e.g. from a signal handler) is fine; any other
    // failure still ends with the device gone once the last queue closes below.
    (void)nl_->DeleteLink(link_);
  }
  queues_.clear();
}

}  // namespace ringstamp
