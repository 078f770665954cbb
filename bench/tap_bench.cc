// tap_bench: frames/s through a TAP, the TapPort's batching against plain read()/write()
// on the same TAP fd, in the same run (target: port ≥ 1.5× the plain loop). Every row
// of a pair moves the same frames through the same fd with the same host-side work;
// the rows that cannot (the packet-ring source, another TAP) say so in their label.
//   - BM_TapTx_*/<frame bytes>: frames written into the host stack. Each frame
//     carries a foreign destination MAC, so the host drops it at IPv4 input: what is
//     measured is the TAP write path, not the host's socket layer. PlainWrite and
//     Port use the same fd; NapiWrite is the plain loop on a second TAP made with
//     IFF_NAPI (the driver queues each write to its NAPI context): the "batched in
//     the driver" option, measured to show what it costs.
//   - BM_TapRxDrain/<method>: frames the host sent (queued beforehand, outside the
//     timing) taken off the TAP: the consumer's cost. For the packet-ring source
//     the kernel already copied the frames into the ring in the sender's context
//     (outside the timing): this is the worker's cost when the host's senders run
//     on other CPUs.
//   - BM_TapRxEndToEnd/<method>: the host sends 256 frames (sendmmsg on a packet
//     socket on the TAP) and the consumer takes them, both timed on one thread: the
//     whole cost of moving a frame from the host to the program. The packet-ring
//     source does its copy in the sender's context, so only this view compares it
//     fairly with the TAP reads.
//   - <method> kMultishot: one IORING_OP_READ_MULTISHOT (Linux 6.7+) with a provided
//     buffer ring on the same fd, armed for the row only. Its reads run as io_uring
//     task work when the TAP wakes the fd — here in the sending thread, on the way
//     out of its sendmmsg — so its drain row shows almost nothing left to do and
//     only the end-to-end row tells its cost.
// Needs root: the process moves into a fresh network namespace of its own first
// (unshare(CLONE_NEWNET)), so nothing outside it is touched and nothing is left
// behind. Run with --benchmark_repetitions=5 --benchmark_enable_random_interleaving
// on a busy machine. Compare items_per_second of the method pairs.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ringstamp/common/fd.h"
#include "ringstamp/ring/netlink_link.h"
#include "ringstamp/ring/tap_port.h"

// liburing 2.3 / Linux 6.1 headers predate these.
#ifndef IFF_NAPI
#define IFF_NAPI 0x0010
#endif
constexpr uint8_t kOpReadMultishot = 49;  // IORING_OP_READ_MULTISHOT, Linux 6.7

namespace {

using namespace ringstamp;

constexpr uint32_t kBurst = 256;  // frames per benchmark iteration (the TAP queue holds 500)

struct Bench {
  std::unique_ptr<TapPort> read_port;  // kTapRead: plain loops and the port's batching
  std::unique_ptr<TapPort> ring_port;  // kPacketRing
  int read_sender = -1;                // packet sockets that make the host send on each TAP
  int ring_sender = -1;
  ringstamp::UniqueFd napi_fd;  // a bare IFF_NAPI TAP for the NapiWrite row (-1: not made)
};
Bench* g = nullptr;

std::vector<std::byte> Frame60(uint32_t len) {
  std::vector<std::byte> f(len);
  const uint8_t hdr[14] = {0x02, 0, 0, 0, 0, 0x99, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00};
  std::memcpy(f.data(), hdr, sizeof(hdr));
  f[14] = std::byte{0x45};
  return f;
}

int SenderOn(const std::string& ifname) {
  int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
  if (bind(s, reinterpret_cast<sockaddr*>(&sll), sizeof(sll)) != 0) {
    close(s);
    return -1;
  }
  return s;
}

// Makes the host send `n` frames on the TAP the socket is bound to.
bool HostSends(int sock, uint32_t n) {
  static std::vector<std::byte> frame = Frame60(60);
  static std::vector<iovec> iov(kBurst, iovec{frame.data(), frame.size()});
  static std::vector<mmsghdr> msgs = [] {
    std::vector<mmsghdr> m(kBurst);
    for (uint32_t i = 0; i < kBurst; ++i) {
      m[i].msg_hdr = {};
      m[i].msg_hdr.msg_iov = &iov[i];
      m[i].msg_hdr.msg_iovlen = 1;
    }
    return m;
  }();
  uint32_t sent = 0;
  while (sent < n) {
    const int r = sendmmsg(sock, msgs.data(), n - sent, 0);
    if (r <= 0) return false;
    sent += static_cast<uint32_t>(r);
  }
  return true;
}

void Drain(TapPort& port) {
  for (int i = 0; i < 100 && port.queue(0).rx().Poll([](const Frame&) {}, 4096) > 0; ++i) {
  }
}

// ------------------------------------------------------------------ TX

void BM_TapTx_PlainWrite(benchmark::State& state) {
  const std::vector<std::byte> frame = Frame60(static_cast<uint32_t>(state.range(0)));
  const int fd = g->read_port->queue(0).fd();
  std::vector<std::byte> buf(frame.size());
  uint64_t errors = 0;
  for (auto _ : state) {
    for (uint32_t i = 0; i < kBurst; ++i) {
      // Both methods "build" each frame with one copy into their buffer.
      std::memcpy(buf.data(), frame.data(), frame.size());
      if (write(fd, buf.data(), buf.size()) != static_cast<ssize_t>(buf.size())) ++errors;
    }
  }
  state.SetItemsProcessed(state.iterations() * kBurst);
  state.counters["errors"] = static_cast<double>(errors);
}

void BM_TapTx_NapiWrite(benchmark::State& state) {
  if (!g->napi_fd.valid()) {
    state.SkipWithError("no IFF_NAPI TAP (see stderr)");
    return;
  }
  const std::vector<std::byte> frame = Frame60(static_cast<uint32_t>(state.range(0)));
  std::vector<std::byte> buf(frame.size());
  uint64_t errors = 0;
  for (auto _ : state) {
    for (uint32_t i = 0; i < kBurst; ++i) {
      std::memcpy(buf.data(), frame.data(), frame.size());
      if (write(g->napi_fd.get(), buf.data(), buf.size()) != static_cast<ssize_t>(buf.size())) {
        ++errors;
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * kBurst);
  state.counters["errors"] = static_cast<double>(errors);
  state.SetLabel("write() loop, IFF_NAPI TAP");
}

void BM_TapTx_Port(benchmark::State& state) {
  const std::vector<std::byte> frame = Frame60(static_cast<uint32_t>(state.range(0)));
  TapTx& tx = g->read_port->queue(0).tx();
  const uint64_t errors_before = tx.counters().write_errors.Get();
  for (auto _ : state) {
    for (uint32_t i = 0; i < kBurst; ++i) {
      std::span<std::byte> slot = tx.Reserve();
      std::memcpy(slot.data(), frame.data(), frame.size());
      tx.Commit(static_cast<uint32_t>(frame.size()));
    }
    (void)tx.Flush();
  }
  state.SetItemsProcessed(state.iterations() * kBurst);
  state.counters["errors"] = static_cast<double>(tx.counters().write_errors.Get() - errors_before);
}

// ------------------------------------------------------------------ RX

// The plain loop: one read() per frame until the burst is in.
uint32_t PlainRead(int fd, uint32_t want, std::byte* buf) {
  uint32_t got = 0;
  while (got < want) {
    const ssize_t n = read(fd, buf, 2048);
    if (n <= 0) break;
    benchmark::DoNotOptimize(buf[0]);
    ++got;
  }
  return got;
}

uint32_t PortRead(TapPort& port, uint32_t want) {
  uint32_t got = 0;
  for (int spins = 0; got < want && spins < 1000; ++spins) {
    got += static_cast<uint32_t>(port.queue(0).rx().Poll(
        [](const Frame& f) { benchmark::DoNotOptimize(f.data[0]); }, want - got));
  }
  return got;
}

// One multishot read on `fd` with a ring of provided buffers; made and torn down
// inside one benchmark row so it never takes frames meant for another row.
class MultishotReader {
 public:
  explicit MultishotReader(int fd) {
    io_uring_params p{};
    p.flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_CQSIZE;
    p.cq_entries = 2 * kBuffers;
    if (io_uring_queue_init_params(8, &ring_, &p) < 0) return;
    ready_ = true;
    const size_t ring_bytes = kBuffers * sizeof(io_uring_buf);
    void* m = mmap(nullptr, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (m == MAP_FAILED) return;
    br_ = static_cast<io_uring_buf_ring*>(m);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<uint64_t>(br_);
    reg.ring_entries = kBuffers;
    reg.bgid = kGroup;
    if (io_uring_register_buf_ring(&ring_, &reg, 0) != 0) return;
    io_uring_buf_ring_init(br_);
    buffers_.resize(kBuffers * kBufBytes);
    for (uint32_t i = 0; i < kBuffers; ++i) {
      io_uring_buf_ring_add(br_, buffers_.data() + i * kBufBytes, kBufBytes,
                            static_cast<uint16_t>(i), io_uring_buf_ring_mask(kBuffers),
                            static_cast<int>(i));
    }
    io_uring_buf_ring_advance(br_, kBuffers);
    fd_ = fd;
    ok_ = Arm();
  }
  ~MultishotReader() {
    if (ready_) io_uring_queue_exit(&ring_);  // cancels the armed read
    if (br_ != nullptr) munmap(br_, kBuffers * sizeof(io_uring_buf));
  }
  bool ok() const { return ok_; }

  uint32_t Read(uint32_t want) {
    uint32_t got = 0;
    for (int spins = 0; got < want && spins < 1000; ++spins) {
      io_uring_get_events(&ring_);
      unsigned head, seen = 0;
      int added = 0;
      io_uring_cqe* cqe;
      io_uring_for_each_cqe(&ring_, head, cqe) {
        ++seen;
        if (cqe->res > 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
          const uint16_t bid = static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
          benchmark::DoNotOptimize(buffers_[bid * kBufBytes]);
          ++got;
          io_uring_buf_ring_add(br_, buffers_.data() + bid * kBufBytes, kBufBytes, bid,
                                io_uring_buf_ring_mask(kBuffers), added++);
        }
        if (!(cqe->flags & IORING_CQE_F_MORE)) armed_ = false;
      }
      io_uring_cq_advance(&ring_, seen);
      if (added > 0) io_uring_buf_ring_advance(br_, added);
      if (!armed_ && !Arm()) break;
      if (seen == 0 && got > 0) break;
    }
    return got;
  }

 private:
  static constexpr uint32_t kBuffers = 512;
  static constexpr uint32_t kBufBytes = 2048;
  static constexpr uint16_t kGroup = 1;

  bool Arm() {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) return false;
    io_uring_prep_rw(kOpReadMultishot, sqe, fd_, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = kGroup;
    armed_ = io_uring_submit(&ring_) == 1;
    return armed_;
  }

  io_uring ring_{};
  bool ready_ = false;
  bool ok_ = false;
  bool armed_ = false;
  int fd_ = -1;
  io_uring_buf_ring* br_ = nullptr;
  std::vector<std::byte> buffers_;
};

enum Method { kPlain = 0, kPort = 1, kRing = 2, kMultishot = 3 };

void RunRx(benchmark::State& state, bool time_the_host) {
  const Method m = static_cast<Method>(state.range(0));
  TapPort& port = m == kRing ? *g->ring_port : *g->read_port;
  const int sender = m == kRing ? g->ring_sender : g->read_sender;
  std::vector<std::byte> buf(2048);
  Drain(port);
  std::optional<MultishotReader> multishot;
  if (m == kMultishot) {
    multishot.emplace(port.queue(0).fd());
    if (!multishot->ok()) {
      state.SkipWithError("IORING_OP_READ_MULTISHOT with a buffer ring: not on this kernel");
      return;
    }
  }
  uint64_t missing = 0;
  for (auto _ : state) {
    if (!time_the_host) state.PauseTiming();
    if (!HostSends(sender, kBurst)) state.SkipWithError("host send failed");
    if (!time_the_host) state.ResumeTiming();
    const uint32_t got = m == kPlain       ? PlainRead(port.queue(0).fd(), kBurst, buf.data())
                         : m == kMultishot ? multishot->Read(kBurst)
                                           : PortRead(port, kBurst);
    missing += kBurst - got;
  }
  state.SetItemsProcessed(state.iterations() * kBurst);
  state.counters["missing"] = static_cast<double>(missing);
  state.SetLabel(m == kPlain       ? "read() loop"
                 : m == kPort      ? "port tap-read"
                 : m == kMultishot ? "multishot read, same fd"
                                   : "port packet-ring (own TAP; the host copies into the ring)");
}

void BM_TapRxDrain(benchmark::State& state) { RunRx(state, false); }
void BM_TapRxEndToEnd(benchmark::State& state) { RunRx(state, true); }

BENCHMARK(BM_TapTx_PlainWrite)->Arg(60)->Arg(1514);
BENCHMARK(BM_TapTx_Port)->Arg(60)->Arg(1514);
BENCHMARK(BM_TapTx_NapiWrite)->Arg(60)->Arg(1514);
// The host's sends are outside the timing here: a fixed count keeps the rows whose
// timed part is tiny (packet ring, multishot) from running for minutes.
BENCHMARK(BM_TapRxDrain)->Arg(kPlain)->Arg(kPort)->Arg(kRing)->Arg(kMultishot)->Iterations(4000);
BENCHMARK(BM_TapRxEndToEnd)->Arg(kPlain)->Arg(kPort)->Arg(kRing)->Arg(kMultishot);

bool WriteFile(const char* path, const char* text) {
  const int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = write(fd, text, std::strlen(text)) == static_cast<ssize_t>(std::strlen(text));
  close(fd);
  return ok;
}

// A bare TAP with IFF_NAPI, up, no address: its frames reach the host stack
// the way the port's do. Invalid fd (and a note on stderr) when the kernel refuses.
UniqueFd OpenNapiTap(const char* name) {
  UniqueFd fd(open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_NAPI;
  if (!fd.valid() || ioctl(fd.get(), TUNSETIFF, &ifr) != 0) {
    std::perror("tap_bench: IFF_NAPI TAP");
    return UniqueFd();
  }
  auto nl = NetlinkLink::Open();
  if (!nl.ok()) return UniqueFd();
  auto link = nl->Lookup(name);
  if (!link.ok() || !nl->SetUp(*link, true).ok()) {
    std::fprintf(stderr, "tap_bench: cannot bring %s up\n", name);
    return UniqueFd();
  }
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0) {
    std::fprintf(stderr, "tap_bench: needs root (it runs in a network namespace of its own)\n");
    return 0;
  }
  // No IPv6 chatter (router solicitations, MLD) on the TAPs during the runs.
  WriteFile("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
  Bench bench;
  auto read_port = TapPort::Create(
      {.name = "tapbench0", .addresses = {"192.168.90.1/24"}, .rx_depth = 64, .tx_depth = kBurst});
  auto ring_port = TapPort::Create({.name = "tapbench1",
                                    .addresses = {"192.168.91.1/24"},
                                    .rx_source = TapRxSource::kPacketRing,
                                    .ring_frames = 2048});
  if (!read_port.ok() || !ring_port.ok()) {
    std::fprintf(stderr, "tap_bench: %s\n",
                 (!read_port.ok() ? read_port.status() : ring_port.status()).ToString().c_str());
    return 1;
  }
  bench.read_port = std::move(*read_port);
  bench.ring_port = std::move(*ring_port);
  bench.read_sender = SenderOn("tapbench0");
  bench.ring_sender = SenderOn("tapbench1");
  if (bench.read_sender < 0 || bench.ring_sender < 0) {
    std::perror("tap_bench: packet socket");
    return 1;
  }
  bench.napi_fd = OpenNapiTap("tapbench2");
  g = &bench;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  close(bench.read_sender);
  close(bench.ring_sender);
  return 0;
}
