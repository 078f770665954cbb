// tx_stamp — sends one UDP datagram and prints when it left: its TX stamps, hardware where
// the NIC stamps transmitted frames, software (the kernel's) otherwise.
//
//   tx_stamp -i IFACE --ip 10.0.0.20/24 --to 10.0.0.1:9000 [--tstamp auto|hardware|software]
//            [--message TEXT] [--mac MAC]
//
// Prints, on one line each:
//   sent 11 bytes to 10.0.0.1:9000 from 10.0.0.20:9000
//   userspace  1733385662.123450000   (this program, just before the write)
//   software   1733385662.123471234   (the kernel, as the frame left)
//   hardware   -                      (the NIC; "-" where it gave none)
//   best       software, 21234 ns after the write call
// Exits 1 when no TX stamp came within 2 s. All times are on the system clock: a hardware
// stamp is mapped from the NIC's clock (PHC) by the relay, as RX stamps are.
//
// What it shows: TimestampingPlan → RelayOptions::FromPlan → a RUDPConn write with
// TxOptions::want_stamp, and the TX stamp report arriving on a worker thread.
#include <cstdio>
#include <future>
#include <string>

#include "endpoint.h"
#include "example_args.h"
#include "ringstamp/common/clock.h"
#include "ringstamp/engine/conn/rudp_conn.h"

namespace {

using namespace ringstamp;

constexpr char kUsage[] =
    "usage: tx_stamp -i IFACE --ip ADDR/PREFIX --to ADDR:PORT [--tstamp auto|hardware|software]\n"
    "                [--message TEXT] [--mac MAC]\n";

// "10.0.0.1:9000", "[fd00::1]:9000".
std::optional<UdpEndpoint> ParseDestination(const std::string& text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  auto ip = IpAddress::Parse(host);
  char* end = nullptr;
  const long port = std::strtol(text.c_str() + colon + 1, &end, 10);
  if (!ip || *end != '\0' || port < 1 || port > 65535) return std::nullopt;
  return UdpEndpoint{*ip, static_cast<uint16_t>(port)};
}

}  // namespace

int main(int argc, char** argv) {
  examples::Args a(argc, argv, 1);
  const std::string ifname = a.Required("-i");
  const std::string ip = a.Required("--ip");
  const std::string to = a.Required("--to");
  const std::string mac = a.Get("--mac");
  const std::string message = a.Get("--message", "hello, wire");
  const std::string tstamp = a.Get("--tstamp", "auto");
  if (!a.Rest().empty() || !a.ok()) return a.Usage(kUsage);
  std::optional<UdpEndpoint> dst = ParseDestination(to);
  if (!dst) {
    std::fprintf(stderr, "tx_stamp: --to %s: want ADDR:PORT, e.g. 10.0.0.1:9000\n", to.c_str());
    return 2;
  }
  auto mode = ParseTstampMode(tstamp);
  if (!mode.ok()) {
    std::fprintf(stderr, "tx_stamp: %s\n", std::string(mode.status().message()).c_str());
    return 2;
  }

  auto ep =
      examples::OpenEndpoint({.ifname = ifname, .addresses = {ip}, .mac = mac, .tstamp = *mode});
  if (!ep.ok()) {
    std::fprintf(stderr, "tx_stamp: %s\n", std::string(ep.status().message()).c_str());
    return 1;
  }
  std::fprintf(stderr, "tx_stamp: %s\n", (*ep)->plan.note.c_str());
  auto udp = RUDPConn::Create((*ep)->conn, {.local_port = dst->port});
  if (!udp.ok()) {
    std::fprintf(stderr, "tx_stamp: %s\n", std::string(udp.status().message()).c_str());
    return 1;
  }
  // The report comes on a worker thread; hand it to this one.
  std::promise<TxStampReport> report;
  std::future<TxStampReport> done = report.get_future();
  (*udp)->SetTxStampHandler([&report](const TxStampReport& r) { report.set_value(r); });

  // Resolve the next hop first, so the write below is the send itself.
  auto next_hop = (*ep)->conn->NextHop(dst->ip);
  if (next_hop.ok()) (void)(*ep)->conn->Resolve(*next_hop);
  const int64_t before = RealtimeNs();
  const std::span<const std::byte> data(reinterpret_cast<const std::byte*>(message.data()),
                                        message.size());
  if (absl::Status s = (*udp)->WriteTo(data, *dst, {.want_stamp = true, .tag = 1}); !s.ok()) {
    std::fprintf(stderr, "tx_stamp: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  if (done.wait_for(std::chrono::seconds(2)) != std::future_status::ready) {
    std::fprintf(stderr, "tx_stamp: no TX stamp within 2 s\n");
    return 1;
  }
  const TxStampReport r = done.get();
  (*udp)->Close();
  const Timestamps& ts = r.stamps;
  std::printf("sent %zu bytes to %s from %s:%u\n", message.size(), to.c_str(),
              (*ep)->conn->AddressOf(dst->ip.family()).ToString().c_str(), dst->port);
  std::printf("userspace  %s\n", FormatStampNs(ts.userspace_ns ? ts.userspace_ns : before).c_str());
  std::printf("software   %s\n", FormatStampNs(ts.software_ns).c_str());
  std::printf("hardware   %s\n", FormatStampNs(ts.hardware_system_ns).c_str());
  if (const std::optional<Stamp> best = ts.BestSystem();
      best && best->source != StampSource::kUserspace) {
    std::printf("best       %s, %lld ns after the write call%s\n",
                std::string(StampSourceName(best->source)).c_str(),
                static_cast<long long>(best->ns - before),
                r.timed_out && (*ep)->plan.hardware_tx ? " (the NIC gave no hardware stamp)" : "");
    return 0;
  }
  std::printf("best       none: the kernel reported no TX stamp for this frame\n");
  return 1;
}
