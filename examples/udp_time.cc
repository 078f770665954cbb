// udp_time — a UDP request/response service on RUDPConn, and its client.
//
//   udp_time server -i IFACE --ip 10.0.0.10/24 [--port 7007] [--mac MAC]
//   udp_time client -i IFACE --ip 10.0.0.20/24 --server 10.0.0.10 [--port 7007] [REQUEST...]
//
// The server answers, one datagram for one datagram:
//   GET TIME       the time its request arrived, from the request's best stamp, and which
//                  stamp that was: "2026-12-05T08:01:02.123456789Z software"
//   SAY HI         "Hello, World!"
//   anything else  "ERROR unknown request 'X': ask GET TIME or SAY HI"
// Requests may end in a newline (as `nc -u` sends them); answers end in one. Any UDP
// client talks to it, the kernel's too: `echo 'GET TIME' | nc -u -w1 10.0.0.10 7007`.
// The client sends each REQUEST (default: GET TIME, SAY HI), prints each answer, and exits 1
// when one does not come within 2 s.
//
// What it shows: a UDP service with an address the OS does not have; the handler runs on
// the relay's worker thread with a zero-copy view of the datagram and its stamps, and
// answers from there (RUDPConn::Reply: back through the MAC the request came from).
#include <signal.h>

#include <cstdio>
#include <ctime>
#include <string>
#include <string_view>

#include "endpoint.h"
#include "example_args.h"
#include "ringstamp/common/clock.h"
#include "ringstamp/engine/conn/rudp_conn.h"

namespace {

using namespace ringstamp;

constexpr char kUsage[] =
    "usage: udp_time server -i IFACE --ip ADDR/PREFIX [--port 7007] [--mac MAC]\n"
    "       udp_time client -i IFACE --ip ADDR/PREFIX --server ADDR [--port 7007] [REQUEST...]\n";

constexpr uint16_t kClientPort = 47007;  // the client's own port

std::span<const std::byte> Bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

// "2026-12-05T08:01:02.123456789Z".
std::string Iso8601(int64_t unix_ns) {
  const time_t secs = static_cast<time_t>(unix_ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[64];
  std::snprintf(out, sizeof out, "%s.%09lldZ", date,
                static_cast<long long>(unix_ns % 1'000'000'000));
  return out;
}

// The service itself: a request's text in, the answer out.
std::string Answer(std::string_view request, const Timestamps& arrived) {
  while (!request.empty() && (request.back() == '\n' || request.back() == '\r'))
    request.remove_suffix(1);
  if (request == "GET TIME") {
    // The best stamp on the system clock: hardware (mapped through the PHC), else the
    // kernel's software stamp, else the time the worker took the frame.
    std::optional<Stamp> t = arrived.BestSystem();
    if (!t) t = Stamp{RealtimeNs(), StampSource::kUserspace};
    return Iso8601(t->ns) + " " + std::string(StampSourceName(t->source)) + "\n";
  }
  if (request == "SAY HI") return "Hello, World!\n";
  std::string shown(request.substr(0, 64));
  for (char& c : shown)
    if (c < 0x20 || c > 0x7e) c = '?';
  return "ERROR unknown request '" + shown + "': ask GET TIME or SAY HI\n";
}

int Server(examples::Args& a) {
  const std::string ifname = a.Required("-i");
  const std::string ip = a.Required("--ip");
  const std::string mac = a.Get("--mac");
  const long port = a.Int("--port", 7007, 1, 65535);
  if (!a.Rest().empty() || !a.ok()) return a.Usage(kUsage);

  sigset_t stop = examples::BlockStopSignals();
  auto ep = examples::OpenEndpoint({.ifname = ifname, .addresses = {ip}, .mac = mac});
  if (!ep.ok()) {
    std::fprintf(stderr, "udp_time: %s\n", std::string(ep.status().message()).c_str());
    return 1;
  }
  auto udp = RUDPConn::Create((*ep)->conn, {.local_port = static_cast<uint16_t>(port)});
  if (!udp.ok()) {
    std::fprintf(stderr, "udp_time: %s\n", std::string(udp.status().message()).c_str());
    return 1;
  }
  // On the worker thread, for every datagram to our port: answer it in place.
  (*udp)->SetHandler([](const Datagram& d, RUDPConn& conn) {
    std::string_view request(reinterpret_cast<const char*>(d.payload.data()), d.payload.size());
    const std::string answer = Answer(request, d.meta.stamps);
    if (absl::Status s = conn.Reply(Bytes(answer), d.meta); !s.ok()) {
      std::fprintf(stderr, "udp_time: reply to %s: %s\n", d.meta.src.ToString().c_str(),
                   std::string(s.message()).c_str());
    }
  });
  std::fprintf(stderr, "udp_time: serving on %s port %ld (%s); GET TIME, SAY HI\n", ip.c_str(),
               port, (*ep)->plan.note.c_str());
  int sig = 0;
  sigwait(&stop, &sig);
  const RUDPConnStats st = (*udp)->Stats();
  std::fprintf(stderr, "udp_time: %llu requests, %llu answers sent, %llu not sent\n",
               static_cast<unsigned long long>(st.received),
               static_cast<unsigned long long>(st.sent),
               static_cast<unsigned long long>(st.send_failed));
  (*udp)->Close();
  return 0;
}

int Client(examples::Args& a) {
  const std::string ifname = a.Required("-i");
  const std::string ip = a.Required("--ip");
  const std::string server = a.Required("--server");
  const std::string mac = a.Get("--mac");
  const long port = a.Int("--port", 7007, 1, 65535);
  std::vector<std::string> requests = a.Rest();
  if (!a.ok()) return a.Usage(kUsage);
  if (requests.empty()) requests = {"GET TIME", "SAY HI"};
  auto server_ip = IpAddress::Parse(server);
  if (!server_ip) {
    std::fprintf(stderr, "udp_time: --server %s: want an IPv4 or IPv6 address\n", server.c_str());
    return 2;
  }

  auto ep = examples::OpenEndpoint({.ifname = ifname, .addresses = {ip}, .mac = mac});
  if (!ep.ok()) {
    std::fprintf(stderr, "udp_time: %s\n", std::string(ep.status().message()).c_str());
    return 1;
  }
  // Connected: only the server's datagrams are kept, and Write goes to it.
  auto udp = RUDPConn::Create((*ep)->conn,
                              {.local_port = kClientPort,
                               .connected = UdpEndpoint{*server_ip, static_cast<uint16_t>(port)}});
  if (!udp.ok()) {
    std::fprintf(stderr, "udp_time: %s\n", std::string(udp.status().message()).c_str());
    return 1;
  }
  std::byte buf[1500];
  for (const std::string& request : requests) {
    // The first write resolves the server's MAC (ARP/NDP), waiting up to 3 s.
    if (absl::Status s = (*udp)->Write(Bytes(request)); !s.ok()) {
      std::fprintf(stderr, "udp_time: %s\n", std::string(s.message()).c_str());
      return 1;
    }
    auto r = (*udp)->ReadFrom(buf, MonotonicNs() + 2'000'000'000);
    if (!r.ok()) {
      std::fprintf(stderr, "udp_time: no answer to '%s' from %s port %ld within 2 s (%s)\n",
                   request.c_str(), server.c_str(), port,
                   std::string(r.status().message()).c_str());
      return 1;
    }
    std::fwrite(buf, 1, r->n, stdout);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  examples::Args a(argc, argv, 2);
  if (mode == "server") return Server(a);
  if (mode == "client") return Client(a);
  std::fprintf(stderr, "%s", kUsage);
  return 2;
}
