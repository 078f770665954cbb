// Integration: a peer that floods ARP and NDP cannot grow an EtherConn's
// neighbour cache. scapy in the peer namespace sends an ARP reply storm and an
// unsolicited-NA flood for 10,000 addresses each (none asked about: nothing is
// learnt, every frame is counted) and 1,000 ARP requests for our address from
// 1,000 senders (learnt, but within the cap: the excess evicted and counted);
// afterwards the peer kernel's ping is still answered.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_format.h"
#include "ringstamp/common/clock.h"
#include "ringstamp/engine/conn/ether_conn.h"
#include "ringstamp/engine/conn/packet_relay.h"
#include "tests/support/netns_testbed.h"
#include "tests/support/relay_testbed.h"
#include "tests/support/test_skip.h"

using namespace ringstamp;
using namespace ringstamp::testing;

namespace {

const MacAddress kFloodConnMac = *MacAddress::Parse("02:52:53:00:00:31");
constexpr uint32_t kCap = 64;

}  // namespace

TEST_CASE("neighbor flood: ARP replies and unsolicited NAs for 10000 addresses learn nothing") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  RelayTestbed bed;
  Testbed* tb = bed.tb.get();
  PacketRelay* relay = bed.relay.get();
  const std::string ip4 = tb->ip4_extra(31), ip6 = tb->ip6_extra(31);
  EtherConnOptions o{.mac = kFloodConnMac, .addresses = {ip4 + "/24", ip6 + "/64"}};
  o.neighbors.max_entries = kCap;
  auto conn = relay->NewEtherConn(o);
  REQUIRE_MESSAGE(conn.ok(), conn.status().ToString());
  REQUIRE(relay->Start().ok());

  const std::string code = absl::StrFormat(
      "from scapy.all import *\n"
      "conf.verb=0\n"
      "i=\"%s\"; me=\"%s\"; them=\"02:52:53:00:00:31\"; ip4=\"%s\"; ip6=\"%s\"\n"
      "rep=[Ether(src=me,dst=them)/ARP(op=2,hwsrc=me,psrc=\"10.%%d.%%d.%%d\"%%(200,n>>8,n&255),"
      "hwdst=them,pdst=ip4) for n in range(10000)]\n"
      "na=[Ether(src=me,dst=them)/IPv6(src=\"fd00:bad::%%x\"%%(n+1),dst=ip6,hlim=255)/"
      "ICMPv6ND_NA(tgt=\"fd00:bad::%%x\"%%(n+1),R=0,S=0,O=1)/ICMPv6NDOptDstLLAddr(lladdr=me) "
      "for n in range(10000)]\n"
      "req=[Ether(src=me,dst=\"ff:ff:ff:ff:ff:ff\")/ARP(op=1,hwsrc=me,"
      "psrc=\"10.%%d.%%d.%%d\"%%(201,n>>8,n&255),pdst=ip4) for n in range(1000)]\n"
      "s=conf.L2socket(iface=i)\n"
      "for p in rep+na+req: s.send(p)\n"
      "s.close()\n"
      "print(\"sent\", len(rep)+len(na)+len(req))\n",
      tb->if_a(), tb->mac_a(), ip4, ip6);
  auto r = tb->Run(tb->ns_a(), "/usr/bin/python3 -c '" + code + "'", 180);
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  REQUIRE_MESSAGE(r.output.find("sent 21000") != std::string::npos, r.output);

  // Wait (bounded) until the conn has seen every frame the peer sent.
  EtherConnStats s = (*conn)->Stats();
  const int64_t deadline = MonotonicNs() + 10'000'000'000;
  while (s.received < 21000 && MonotonicNs() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    s = (*conn)->Stats();
  }
  CAPTURE(s.received);
  CAPTURE(s.malformed);
  CHECK(s.received >= 21000);
  CHECK(s.malformed == 0);
  // Every unasked reply and NA was refused and counted, none learnt.
  CHECK(s.neighbors.not_learnt == 20000);
  // The requests for our address were learnt (RFC 826), within the cap.
  CHECK(s.neighbors.learnt == 1000);
  CHECK(s.neighbors.entries <= kCap);
  CHECK(s.neighbors.evicted == 1000 - kCap);
  CHECK(s.arp_answered == 1000);

  // The endpoint still answers the peer kernel's ping, IPv4 and IPv6.
  r = tb->Run(tb->ns_a(), "ping -c 2 -i 0.2 -W 2 " + ip4);
  CHECK_MESSAGE(r.exit_code == 0, r.output);
  r = tb->Run(tb->ns_a(), "ping -6 -c 2 -i 0.2 -W 2 " + ip6);
  CHECK_MESSAGE(r.exit_code == 0, r.output);
  CHECK((*conn)->Stats().neighbors.entries <= kCap);
  (*conn)->Close();
}
