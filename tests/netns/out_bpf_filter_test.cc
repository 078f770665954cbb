// BPF filters on real AF_PACKET sockets in a testbed namespace: only matching
// frames arrive, DropAll holds everything back, and `vlan` works on live
// sockets (where the kernel has moved the tag out of the frame).
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "ringstamp/common/clock.h"
#include "ringstamp/common/fd.h"
#include "ringstamp/ring/bpf_filter.h"
#include "tests/support/netns_test_setup.h"
#include "tests/support/netns_testbed.h"

using namespace ringstamp;
using namespace ringstamp::testing;

namespace {

// A plain AF_PACKET socket on `ifname` with `prog` attached before bind, so
// nothing is queued unfiltered. Call inside the interface's namespace.
UniqueFd OpenFiltered(const std::string& ifname, const BpfProgram& prog) {
  UniqueFd fd(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));  // protocol 0: receives nothing yet
  REQUIRE(fd.valid());
  absl::Status st = AttachBpf(fd.get(), prog);
  REQUIRE_MESSAGE(st.ok(), st.ToString());
  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  addr.sll_protocol = htons(ETH_P_ALL);
  addr.sll_ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
  REQUIRE(addr.sll_ifindex > 0);
  REQUIRE(bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  return fd;
}

struct Received {
  int frames = 0;
  int udp_to_port = 0;  // incoming IPv4/UDP frames to the expected destination port
};

// Reads frames until `quiet_ms` pass without one (bounded: 2,000 frames, 5 s).
Received Drain(int fd, uint16_t port, int quiet_ms = 500) {
  Received r;
  const int64_t give_up = MonotonicNs() + 5 * kNsPerSec;
  uint8_t buf[2048];
  while (r.frames < 2000 && MonotonicNs() < give_up) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, quiet_ms) <= 0) break;
    sockaddr_ll from{};
    socklen_t len = sizeof(from);
    ssize_t n =
        recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) continue;
    ++r.frames;
    // Tags are stripped into metadata on receive: the frame reads as untagged.
    if (n >= 42 && buf[12] == 0x08 && buf[13] == 0x00 && buf[23] == 17 &&
        from.sll_pkttype != PACKET_OUTGOING) {
      const size_t l4 = 14 + (buf[14] & 0x0f) * 4u;
      if (static_cast<size_t>(n) >= l4 + 4 && ((buf[l4 + 2] << 8) | buf[l4 + 3]) == port) {
        ++r.udp_to_port;
      }
    }
  }
  return r;
}

// Sends `count` UDP datagrams from the namespace to ip:port with a plain kernel socket.
void SendUdp(const Testbed& tb, const std::string& ns, const std::string& ip, int port, int count) {
  auto r = tb.Run(ns, absl::StrCat("/usr/bin/python3 -c \"import socket\n"
                                   "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                                   "for i in range(",
                                   count, "): s.sendto(b'x'*32, ('", ip, "', ", port, "))\""));
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
}

// Sends `count` 802.1Q-tagged IPv4/UDP frames from ns_b's veth end to ns_a's
// MAC through a raw packet socket (this kernel has no 8021q module, and the
// receive path strips the tag into metadata without it).
void SendTaggedUdp(const Testbed& tb, int vlan_id, int port, int count) {
  auto r = tb.Run(
      tb.ns_b(),
      absl::StrCat(
          "/usr/bin/python3 -c \"import socket, struct\n"
          "dst=bytes.fromhex('",
          tb.mac_a(),
          "'.replace(':',''))\n"
          "src=bytes.fromhex('",
          tb.mac_b(),
          "'.replace(':',''))\n"
          "ip=struct.pack('!BBHHHBBH4s4s',0x45,0,20+8+32,0,0x4000,64,17,0,"
          "socket.inet_aton('172.31.100.2'),socket.inet_aton('172.31.100.1'))\n"
          "w=struct.unpack('!10H',ip); c=sum(w); c=(c&0xffff)+(c>>16); c=(c&0xffff)+(c>>16)\n"
          "ip=ip[:10]+struct.pack('!H',0xffff-c)+ip[12:]\n"
          "udp=struct.pack('!HHHH',12345,",
          port,
          ",8+32,0)+b'y'*32\n"
          "f=dst+src+struct.pack('!HH',0x8100,",
          vlan_id,
          ")+b'\\x08\\x00'+ip+udp\n"
          "s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW)\n"
          "s.bind(('",
          tb.if_b(),
          "',0))\n"
          "for i in range(",
          count, "): s.send(f)\""));
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
}

}  // namespace

TEST_CASE("bpf netns: only frames matching the filter reach the socket") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& t = *testbed;
  auto prog = BpfProgram::Compile("udp dst port 5555");
  REQUIRE_MESSAGE(prog.ok(), prog.status().ToString());
  UniqueFd fd;
  {
    NetnsScope in(t.ns_a());
    REQUIRE(in.ok());
    fd = OpenFiltered(t.if_a(), *prog);
  }
  SendUdp(t, t.ns_b(), t.ip4_a(), 5556, 5);
  SendUdp(t, t.ns_b(), t.ip4_a(), 5555, 7);
  auto ping = t.Run(t.ns_b(), "ping -c2 -i0.2 -W1 " + t.ip4_a());
  CHECK_MESSAGE(ping.exit_code == 0, ping.output);
  Received r = Drain(fd.get(), 5555);
  CHECK(r.udp_to_port == 7);
  CHECK(r.frames == 7);
}

TEST_CASE("bpf netns: DropAll holds everything back until the real filter replaces it") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& t = *testbed;
  auto prog = BpfProgram::Compile("udp dst port 5555");
  REQUIRE(prog.ok());
  UniqueFd fd;
  {
    NetnsScope in(t.ns_a());
    REQUIRE(in.ok());
    fd = OpenFiltered(t.if_a(), BpfProgram::DropAll());
  }
  SendUdp(t, t.ns_b(), t.ip4_a(), 5555, 4);
  CHECK(Drain(fd.get(), 5555, 300).frames == 0);
  REQUIRE(AttachBpf(fd.get(), *prog).ok());
  SendUdp(t, t.ns_b(), t.ip4_a(), 5555, 3);
  Received r = Drain(fd.get(), 5555);
  CHECK(r.frames == 3);
  CHECK(r.udp_to_port == 3);
}

TEST_CASE("bpf netns: 'vlan' matches on a live socket only in its socket-target form") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& t = *testbed;
  const std::string expr = "vlan 100 and udp dst port 5555";
  UniqueFd live_fd, offline_fd, plain_fd;
  {
    NetnsScope in(t.ns_a());
    REQUIRE(in.ok());
    auto live = BpfProgram::Compile(expr, {.interface = t.if_a()});
    REQUIRE_MESSAGE(live.ok(), live.status().ToString());
    CHECK(live->uses_vlan_extensions());
    auto offline = BpfProgram::Compile(expr, {.target = BpfTarget::kOffline});
    REQUIRE(offline.ok());
    CHECK_FALSE(offline->uses_vlan_extensions());
    auto plain = BpfProgram::Compile("udp dst port 5555");
    REQUIRE(plain.ok());
    live_fd = OpenFiltered(t.if_a(), *live);
    offline_fd = OpenFiltered(t.if_a(), *offline);
    plain_fd = OpenFiltered(t.if_a(), *plain);
  }
  SendTaggedUdp(t, 100, 5555, 5);
  SendTaggedUdp(t, 101, 5555, 2);            // another VLAN
  SendUdp(t, t.ns_b(), t.ip4_a(), 5555, 4);  // untagged
  Received live = Drain(live_fd.get(), 5555);
  CHECK(live.frames == 5);
  CHECK(live.udp_to_port == 5);
  // The caveat of the header, as the kernel shows it: the in-frame form sees
  // no tag, and a filter without `vlan` matches tagged and untagged frames.
  CHECK(Drain(offline_fd.get(), 5555, 100).frames == 0);
  CHECK(Drain(plain_fd.get(), 5555, 100).udp_to_port == 11);
}
