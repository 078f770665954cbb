// rudp_sink — bench-only UDP receiver on a RUDPConn, the ringstamp side of scripts/bench.sh's
// sockperf throughput comparison (the kernel side is `sockperf server`). A PacketRelay on
// --interface, one EtherConn with its own --mac and --ip (an address the kernel does not own:
// the EtherConn answers ARP), one RUDPConn on --port whose handler counts datagrams. It runs
// until SIGINT/SIGTERM or --duration, then prints one JSON line of counts to stdout.
// Threads: the relay's worker (pinned to --cpu, io_uring wait or --busy_poll) and the main
// thread, which sleeps. Cost: the handler is one relaxed add; what bench.sh measures is the
// process's CPU (the worker's RX path) per datagram.
//
//   ip netns exec nsb taskset -c 1 rudp_sink --interface veth-b --ip 10.99.0.40 --port 11111
#include <csignal>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "ringstamp/engine/conn/ether_conn.h"
#include "ringstamp/engine/conn/packet_relay.h"
#include "ringstamp/engine/conn/rudp_conn.h"

ABSL_FLAG(std::string, interface, "", "interface to receive on (required)");
ABSL_FLAG(std::string, mac, "02:52:53:00:00:40", "the endpoint's own MAC address");
ABSL_FLAG(std::string, ip, "", "the endpoint's IPv4 address, ADDR/PREFIX or ADDR (required)");
ABSL_FLAG(int32_t, port, 11111, "UDP port to receive on");
ABSL_FLAG(int32_t, cpu, 1, "CPU to pin the relay worker to");
ABSL_FLAG(bool, busy_poll, false, "the worker spins on its ring instead of waiting in io_uring");
ABSL_FLAG(int32_t, duration, 60, "seconds before it exits on its own (bounds every run)");

namespace {

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

int Fail(const std::string& what) {
  std::fprintf(stderr, "rudp_sink: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ringstamp;
  absl::SetProgramUsageMessage("rudp_sink --interface IF --ip ADDR [--port N] [--busy_poll]");
  absl::ParseCommandLine(argc, argv);
  const std::string ifname = absl::GetFlag(FLAGS_interface);
  std::string addr = absl::GetFlag(FLAGS_ip);
  if (ifname.empty() || addr.empty()) return Fail("--interface and --ip are required");
  const std::string bare = addr.substr(0, addr.find('/'));
  if (addr.find('/') == std::string::npos) addr += "/24";
  auto mac = MacAddress::Parse(absl::GetFlag(FLAGS_mac));
  auto ip = IpAddress::Parse(bare);
  if (!mac || !ip) return Fail("bad --mac or --ip");

  RelayOptions ro;
  ro.engine.ifname = ifname;
  ro.engine.cpus = {absl::GetFlag(FLAGS_cpu)};
  ro.engine.rx_mode = RxMode::kImmediate;
  ro.engine.wait_mode = absl::GetFlag(FLAGS_busy_poll) ? WaitMode::kBusyPoll : WaitMode::kIoUring;
  auto relay = PacketRelay::Create(ro);
  if (!relay.ok()) return Fail(std::string(relay.status().message()));
  auto conn = (*relay)->NewEtherConn({.mac = *mac, .addresses = {addr}});
  if (!conn.ok()) return Fail(std::string(conn.status().message()));
  auto udp = RUDPConn::Create(
      *conn, {.local_ip = *ip, .local_port = static_cast<uint16_t>(absl::GetFlag(FLAGS_port))});
  if (!udp.ok()) return Fail(std::string(udp.status().message()));
  uint64_t counted = 0;  // written by the one worker only; read after Stop()
  (*udp)->SetHandler([&counted](const Datagram&, RUDPConn&) { ++counted; });

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  if (auto st = (*relay)->Start(); !st.ok()) return Fail(std::string(st.message()));
  const int ticks = absl::GetFlag(FLAGS_duration) * 20;
  for (int i = 0; i < ticks && !g_stop; ++i) {
    timespec ts{0, 50'000'000};
    nanosleep(&ts, nullptr);
  }
  (*relay)->Stop();
  const RUDPConnStats us = (*udp)->Stats();
  const RelayStats rs = (*relay)->Stats();
  const EngineStats es = (*relay)->engine().Snapshot();
  std::printf(
      "{\"received\": %llu, \"rudp_received\": %llu, \"queue_dropped\": %llu, "
      "\"relay_frames\": %llu, \"no_owner\": %llu, \"kernel_packets\": %llu, "
      "\"kernel_drops\": %llu}\n",
      static_cast<unsigned long long>(counted), static_cast<unsigned long long>(us.received),
      static_cast<unsigned long long>(us.queue_dropped), static_cast<unsigned long long>(rs.frames),
      static_cast<unsigned long long>(rs.no_owner),
      static_cast<unsigned long long>(es.total.kernel_packets),
      static_cast<unsigned long long>(es.total.kernel_drops));
  return 0;
}
