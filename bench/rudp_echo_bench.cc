// UDP echo server throughput: a RUDPConn (relay, TX ring) against a kernel UDP socket, on the
// same veth pair in the same run, with the same kernel UDP client driving both (a window of
// datagrams in flight), at 64 and 1400 bytes of payload. The kernel peer runs twice: at its
// simplest (recvfrom/sendto, one datagram a system call) and at its best (recvmmsg/sendmmsg,
// up to 32 datagrams a call), so a ratio against the second is against the kernel at its best.
// Target (issue 16): RUDPConn ≥ 1.5× the kernel socket's rate.
// Needs root (it builds its own two namespaces; they are removed at exit).
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ringstamp/common/clock.h"
#include "ringstamp/engine/conn/ether_conn.h"
#include "ringstamp/engine/conn/packet_relay.h"
#include "ringstamp/engine/conn/rudp_conn.h"
#include "tests/support/netns_testbed.h"

using namespace ringstamp;
using namespace ringstamp::testing;

namespace {

constexpr int kWindow = 32;
constexpr int kBatch = 32;  // recvmmsg/sendmmsg vector length
constexpr uint16_t kPort = 7300;

std::unique_ptr<Testbed>& Bed() {
  static std::unique_ptr<Testbed> tb = [] {
    auto t = Testbed::Create();
    return t.ok() ? std::move(*t) : nullptr;
  }();
  return tb;
}

int UdpSocketIn(const std::string& ns) {
  NetnsScope in(ns);
  return socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

// Sends `window` datagrams of `size` bytes, then one more per reply: datagrams echoed per
// second.
void DriveEcho(benchmark::State& state, const std::string& dst_ip, size_t size) {
  Testbed& tb = *Bed();
  int c = UdpSocketIn(tb.ns_a());
  timeval tv{0, 200000};
  setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(kPort);
  inet_pton(AF_INET, dst_ip.c_str(), &dst.sin_addr);
  char buf[2048] = {};
  int64_t echoed = 0, lost = 0;
  for (int i = 0; i < kWindow; ++i)
    sendto(c, buf, size, 0, reinterpret_cast<sockaddr*>(&dst), sizeof(dst));
  for (auto _ : state) {
    if (recv(c, buf, sizeof(buf), 0) > 0) {
      ++echoed;
    } else {
      ++lost;  // a drop: keep the window full
    }
    sendto(c, buf, size, 0, reinterpret_cast<sockaddr*>(&dst), sizeof(dst));
  }
  // Drain what is still in flight.
  while (recv(c, buf, sizeof(buf), MSG_DONTWAIT) > 0) {
  }
  close(c);
  state.SetItemsProcessed(echoed);
  state.counters["lost"] = static_cast<double>(lost);
  state.SetLabel(absl::StrCat(size, " B"));
}

// recvmmsg/sendmmsg echo loop: every datagram received in one call goes back in one call.
void BatchEcho(int s, const std::atomic<bool>& stop) {
  std::vector<std::array<char, 2048>> bufs(kBatch);
  std::vector<sockaddr_in> from(kBatch);
  std::vector<iovec> iov(kBatch);
  std::vector<mmsghdr> msgs(kBatch);
  while (!stop) {
    for (int i = 0; i < kBatch; ++i) {
      iov[i] = {bufs[i].data(), bufs[i].size()};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
    }
    // Blocks for the first datagram (SO_RCVTIMEO bounds it), then takes what is queued.
    const int n = recvmmsg(s, msgs.data(), kBatch, MSG_WAITFORONE, nullptr);
    if (n <= 0) continue;
    for (int i = 0; i < n; ++i) iov[i].iov_len = msgs[i].msg_len;
    int sent = 0;
    while (sent < n) {
      const int k = sendmmsg(s, msgs.data() + sent, static_cast<unsigned>(n - sent), 0);
      if (k <= 0) break;
      sent += k;
    }
  }
}

// state.range(0): payload bytes; state.range(1): 0 = recvfrom/sendto, 1 = recvmmsg/sendmmsg.
void BM_KernelUdpEchoServer(benchmark::State& state) {
  if (!Bed()) {
    state.SkipWithError("needs root: cannot create the namespaces");
    return;
  }
  Testbed& tb = *Bed();
  int s = UdpSocketIn(tb.ns_b());
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(kPort);
  inet_pton(AF_INET, tb.ip4_b().c_str(), &a.sin_addr);
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  timeval tv{0, 100000};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::atomic<bool> stop{false};
  const bool batched = state.range(1) == 1;
  std::thread server([&] {
    if (batched) {
      BatchEcho(s, stop);
      return;
    }
    char buf[2048];
    sockaddr_in from{};
    while (!stop) {
      socklen_t fl = sizeof(from);
      ssize_t n = recvfrom(s, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &fl);
      if (n > 0) sendto(s, buf, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), fl);
    }
  });
  DriveEcho(state, tb.ip4_b(), static_cast<size_t>(state.range(0)));
  stop = true;
  server.join();
  close(s);
}
BENCHMARK(BM_KernelUdpEchoServer)
    ->ArgsProduct({{64, 1400}, {0, 1}})
    ->ArgNames({"bytes", "mmsg"})
    ->UseRealTime()
    ->MinTime(2.0);

// state.range(0): 0 = io_uring wait, 1 = busy poll (the worker spins on its ring);
// state.range(1): payload bytes.
void BM_RudpConnEchoServer(benchmark::State& state) {
  if (!Bed()) {
    state.SkipWithError("needs root: cannot create the namespaces");
    return;
  }
  Testbed& tb = *Bed();
  const std::string ip = tb.ip4_extra(30);
  std::unique_ptr<PacketRelay> relay;
  {
    NetnsScope in(tb.ns_b());
    RelayOptions ro;
    ro.engine.ifname = tb.if_b();
    ro.engine.workers = 1;
    ro.engine.rx_mode = RxMode::kImmediate;
    // Like the kernel echo thread, the worker is left to the scheduler: a pinned worker
    // would share its CPU with the client thread of this process.
    ro.engine.pin = false;
    ro.engine.wait_mode = state.range(0) == 1 ? WaitMode::kBusyPoll : WaitMode::kIoUring;
    auto r = PacketRelay::Create(ro);
    if (!r.ok()) {
      state.SkipWithError(std::string(r.status().message()).c_str());
      return;
    }
    relay = std::move(*r);
  }
  auto conn = relay->NewEtherConn(
      {.mac = *MacAddress::Parse("02:52:53:00:00:30"), .addresses = {ip + "/24"}});
  auto udp = RUDPConn::Create(*conn, {.local_ip = *IpAddress::Parse(ip), .local_port = kPort});
  (*udp)->SetHandler([](const Datagram& d, RUDPConn& c) { (void)c.Reply(d.payload, d.meta); });
  (void)relay->Start();
  DriveEcho(state, ip, static_cast<size_t>(state.range(1)));
  relay->Stop();
}
BENCHMARK(BM_RudpConnEchoServer)
    ->ArgsProduct({{0, 1}, {64, 1400}})
    ->ArgNames({"busy", "bytes"})
    ->UseRealTime()
    ->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
