// tap_bench: frames/s through a TAP, the TapPort's batching against plain read()/write()
// on the same TAP fd, in the same run (target: port ≥ 1.5× the plain loop).
//   - BM_TapTx/<method>/<frame bytes>: frames written into the host stack. Each frame
//     carries a foreign destination MAC, so the host drops it at IPv4 input: what is
//     measured is the TAP write path, not the host's socket layer.
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
// Needs root: the process moves into a fresh network namespace of its own first
// (unshare(CLONE_NEWNET)), so nothing outside it is touched and nothing is left
// behind. Run with --benchmark_repetitions=5 --benchmark_enable_random_interleaving
// on a busy machine. Compare items_per_second of the method pairs.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "ring/tap_port.h"

namespace {

using namespace ringstamp;

constexpr uint32_t kBurst = 256;  // frames per benchmark iteration (the TAP queue holds 500)

struct Bench {
  std::unique_ptr<TapPort> read_port;  // kTapRead: plain loops and the port's batching
  std::unique_ptr<TapPort> ring_port;  // kPacketRing
  int read_sender = -1;                // packet sockets that make the host send on each TAP
  int ring_sender = -1;
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

enum Method { kPlain = 0, kPort = 1, kRing = 2 };

void RunRx(benchmark::State& state, bool time_the_host) {
  const Method m = static_cast<Method>(state.range(0));
  TapPort& port = m == kRing ? *g->ring_port : *g->read_port;
  const int sender = m == kRing ? g->ring_sender : g->read_sender;
  std::vector<std::byte> buf(2048);
  Drain(port);
  uint64_t missing = 0;
  for (auto _ : state) {
    if (!time_the_host) state.PauseTiming();
    if (!HostSends(sender, kBurst)) state.SkipWithError("host send failed");
    if (!time_the_host) state.ResumeTiming();
    const uint32_t got =
        m == kPlain ? PlainRead(port.queue(0).fd(), kBurst, buf.data()) : PortRead(port, kBurst);
    missing += kBurst - got;
  }
  state.SetItemsProcessed(state.iterations() * kBurst);
  state.counters["missing"] = static_cast<double>(missing);
  state.SetLabel(m == kPlain ? "read() loop" : m == kPort ? "port tap-read" : "port packet-ring");
}

void BM_TapRxDrain(benchmark::State& state) { RunRx(state, false); }
void BM_TapRxEndToEnd(benchmark::State& state) { RunRx(state, true); }

BENCHMARK(BM_TapTx_PlainWrite)->Arg(60)->Arg(1514);
BENCHMARK(BM_TapTx_Port)->Arg(60)->Arg(1514);
BENCHMARK(BM_TapRxDrain)->Arg(kPlain)->Arg(kPort)->Arg(kRing);
BENCHMARK(BM_TapRxEndToEnd)->Arg(kPlain)->Arg(kPort)->Arg(kRing);

bool WriteFile(const char* path, const char* text) {
  const int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = write(fd, text, std::strlen(text)) == static_cast<ssize_t>(std::strlen(text));
  close(fd);
  return ok;
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
  g = &bench;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  close(bench.read_sender);
  close(bench.ring_sender);
  return 0;
}
