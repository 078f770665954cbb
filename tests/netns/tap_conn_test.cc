// Integration: the relay, EtherConns and RUDPConns over a TAP port, against the host's own
// stack in a namespace: ARP, ping answered by the host kernel, kernel UDP both ways, the
// probe through --tap against a STAMP reflector bound on the host, and cleanup on SIGINT.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstring>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ringstamp/common/clock.h"
#include "ringstamp/engine/conn/ether_conn.h"
#include "ringstamp/engine/conn/packet_relay.h"
#include "ringstamp/engine/conn/rudp_conn.h"
#include "ringstamp/ring/tap_port.h"
#include "tests/support/child_process.h"
#include "tests/support/netns_test_setup.h"
#include "tests/support/netns_testbed.h"
#include "tests/support/probe_json_checks.h"

using namespace ringstamp;
using namespace ringstamp::testing;

namespace {

const std::string kBin = RINGSTAMP_BIN;

}  // namespace

TEST_CASE(
    "tap conn: an EtherConn over a TAP port talks to the host stack: ARP, ping, UDP both ways") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  BareNetns ns("rstap");
  NetnsScope in(ns.name());
  REQUIRE(in.ok());
  auto tap = TapPort::Create({.name = "rstap0",
                              .addresses = {"192.168.77.100/24"},
                              .rx_source = TapRxSource::kPacketRing});
  REQUIRE_MESSAGE(tap.ok(), tap.status().ToString());
  RelayOptions ro;
  ro.engine.ifname = "rstap0";
  ro.engine.tap = tap->get();
  ro.engine.workers = 1;
  ro.engine.rx_mode = RxMode::kImmediate;
  auto relay = PacketRelay::Create(ro);
  REQUIRE_MESSAGE(relay.ok(), relay.status().ToString());
  auto conn = (*relay)->NewEtherConn(
      {.mac = *MacAddress::Parse("02:72:73:00:fe:01"), .addresses = {"192.168.77.254/24"}});
  REQUIRE(conn.ok());
  auto udp = RUDPConn::Create(
      *conn, {.local_ip = *IpAddress::Parse("192.168.77.254"), .local_port = 9000});
  REQUIRE(udp.ok());
  REQUIRE((*relay)->Start().ok());

  // ARP: we ask for the host's address; the host kernel answers.
  auto mac = (*conn)->Resolve(*IpAddress::Parse("192.168.77.100"), 3 * kNsPerSec);
  REQUIRE_MESSAGE(mac.ok(), mac.status().ToString());
  std::array<uint8_t, 6> host_mac = (*tap)->mac();
  CHECK(mac->bytes == host_mac);

  // Ping from the host to our address: the host's kernel pings, our endpoint answers;
  // and the reverse direction is the kernel answering our UDP below.
  auto r = ns.Run("ping -c 2 -i 0.2 -W 2 192.168.77.254");
  CHECK_MESSAGE(r.exit_code == 0, r.output);
  CHECK((*conn)->Stats().echo_answered == 2);

  // UDP: the host's kernel socket sends to us, we answer; we send first, it answers.
  (*udp)->SetHandler([](const Datagram& d, RUDPConn& c) { (void)c.Reply(d.payload, d.meta); });
  r = ns.Run(
      "/usr/bin/python3 -c \"import socket; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); "
      "s.settimeout(2); s.sendto(b'tap hello',('192.168.77.254',9000)); "
      "print(s.recvfrom(100)[0])\"");
  CHECK_MESSAGE(r.output.find("tap hello") != std::string::npos, r.output);
  (*udp)->SetHandler(nullptr);
  std::array<std::byte, 256> buf;
  (void)(*udp)->ReadFrom(buf, 0);  // allocate the read queue
  std::thread host([&] {
    ns.Run(
        "/usr/bin/python3 -c \"import socket; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); "
        "s.bind(('192.168.77.100',9001)); s.settimeout(5); d,a=s.recvfrom(100); "
        "s.sendto(d.upper(),a)\"");
  });
  const char msg[] = "from the far end";
  // The host's socket may take a moment to bind: resend until it answers (bounded).
  absl::StatusOr<UdpReadResult> got = absl::DeadlineExceededError("no reply");
  for (int attempt = 0; attempt < 20 && !got.ok(); ++attempt) {
    REQUIRE((*udp)
                ->WriteTo(std::as_bytes(std::span(msg, sizeof(msg) - 1)),
                          {*IpAddress::Parse("192.168.77.100"), 9001})
                .ok());
    got = (*udp)->ReadFrom(buf, MonotonicNs() + 500'000'000);
  }
  host.join();
  {
    EtherConnStats es = (*conn)->Stats();
    RelayStats rs = (*relay)->Stats();
    INFO("conn received ", es.received, " udp_no_port ", es.udp_no_port, " malformed ",
         es.malformed, " not_ours ", es.not_ours, " to_handler ", es.to_handler, "; relay frames ",
         rs.frames, " no_owner ", rs.no_owner, " malformed ", rs.malformed, "; udp received ",
         (*udp)->Stats().received, " dropped ", (*udp)->Stats().queue_dropped, " filtered ",
         (*udp)->Stats().filtered);
    REQUIRE_MESSAGE(got.ok(), got.status().ToString());
  }
  CHECK(std::string(reinterpret_cast<const char*>(buf.data()), got->n) == "FROM THE FAR END");
  // Frames from the host come through the TAP's packet ring with kernel software stamps.
  CHECK(got->meta.stamps.software_ns.has_value());
  (*relay)->Stop();
}

TEST_CASE(
    "tap conn: probe client --tap measures the host's own UDP STAMP reflector, SIGINT removes the "
    "TAP") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  BareNetns ns("rstap");
  // A minimal stateless STAMP reflector (RFC 8762 §4.3.1) on the host, bound before the TAP exists.
  const std::string ready = "/tmp/" + ns.name() + "-refl-ready";
  const std::string reflector =
      "import socket,struct,time\n"
      "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind((\"0.0.0.0\",862)); "
      "s.settimeout(20)\n"
      "open(\"" +
      ready +
      "\",\"w\").write(\"ready\\n\")\n"
      "while True:\n"
      "  try: d,a=s.recvfrom(2048)\n"
      "  except socket.timeout: break\n"
      "  t2=int((time.time()+2208988800)*(1<<32))\n"
      "  seq,ts,err=struct.unpack(\"!IQH\",d[:14])\n"
      "  t3=int((time.time()+2208988800)*(1<<32))\n"
      "  r=struct.pack(\"!IQHHQIQHHB3x\",seq,t3,0x8001,0,t2,seq,ts,err,0,64)\n"
      "  s.sendto(r+bytes(max(0,len(d)-len(r))),a)\n";
  std::thread refl([&] { ns.Run("/usr/bin/python3 -c " + ShellQuote(reflector), 40); });
  CHECK(WaitForFile(ready, "ready", 0, 20));  // bound before the first probe
  std::remove(ready.c_str());
  auto r =
      ns.Run(absl::StrCat(
                 kBin, " probe client --tap rstap1 --tap-ip 192.168.78.100/24 --ip 192.168.78.254 ",
                 "--server 192.168.78.100 --count 20 --interval 10ms --size 44 --json"),
             60);
  CHECK_MESSAGE(r.exit_code == 0, r.output);
  CHECK_MESSAGE(r.output.find("\"type\":\"summary\"") != std::string::npos, r.output);
  const ProbeJson run = ParseProbeJson(r.output);
  REQUIRE_MESSAGE(run.summary.is_object(), r.output);
  CHECK(run.summary["sent"] == 20);
  CHECK_MESSAGE(run.summary["received"].get<int>() > 0, r.output);
  CHECK_MESSAGE(CountersBalanceViolation(run.summary) == "", CountersBalanceViolation(run.summary));
  // The TAP is gone after a normal exit...
  CHECK(ns.Run("ip link show rstap1").exit_code != 0);
  // ...and after SIGINT in the middle of a run.
  pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c",
          absl::StrCat("exec ip netns exec ", ns.name(), " ", kBin,
                       " probe client --tap rstap2 --tap-ip 192.168.79.100/24 --ip 192.168.79.254 ",
                       "--server 192.168.79.100 --count 0 --interval 50ms >/dev/null 2>&1")
              .c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  bool seen = false;
  for (int i = 0; i < 100 && !seen; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    seen = ns.Run("ip link show rstap2 >/dev/null 2>&1").exit_code == 0;
  }
  CHECK(seen);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  kill(pid, SIGINT);
  int status = 0;
  for (int i = 0; i < 200 && waitpid(pid, &status, WNOHANG) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(WIFEXITED(status));
  CHECK(ns.Run("ip link show rstap2").exit_code != 0);
  refl.join();
}
