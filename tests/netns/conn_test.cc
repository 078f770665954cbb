// Integration: EtherConn / RUDPConn against the real kernel of the peer namespace —
// ping and ping -6 answered, UDP both ways over IPv4 and IPv6, VLAN and QinQ
// sub-interfaces, checksums checked by tshark, 10,000 endpoints on one relay, and the batch
// read/write calls and batch handlers.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ringstamp/common/clock.h"
#include "ringstamp/engine/conn/ether_conn.h"
#include "ringstamp/engine/conn/packet_relay.h"
#include "ringstamp/engine/conn/relay_worker.h"
#include "ringstamp/engine/conn/rudp_conn.h"
#include "ringstamp/engine/engine.h"
#include "ringstamp/engine/proto/ethernet.h"
#include "ringstamp/engine/udp_frame.h"
#include "tests/support/child_process.h"
#include "tests/support/netns_testbed.h"
#include "tests/support/packet_relay_test_access.h"
#include "tests/support/relay_testbed.h"

using namespace ringstamp;
using namespace ringstamp::testing;

namespace {

const MacAddress kConnMac = *MacAddress::Parse("02:52:53:00:00:10");

std::string Py(const std::string& code) {
  // Debian's python3 (scapy is not needed here, but keep one interpreter).
  return absl::StrCat("/usr/bin/python3 -c '", code, "'");
}

}  // namespace

TEST_CASE("conn: ping and ping -6 from the peer kernel are answered by an endpoint's addresses") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  RelayTestbed f;
  const std::string ip4 = f.tb->ip4_extra(10), ip6 = f.tb->ip6_extra(10);
  auto conn = f.relay->NewEtherConn({.mac = kConnMac, .addresses = {ip4 + "/24", ip6 + "/64"}});
  REQUIRE_MESSAGE(conn.ok(), conn.status().ToString());
  REQUIRE(f.relay->Start().ok());
  auto r = f.tb->Run(f.tb->ns_a(), "ping -c 3 -i 0.2 -W 2 " + ip4);
  CHECK_MESSAGE(r.exit_code == 0, r.output);
  r = f.tb->Run(f.tb->ns_a(), "ping -6 -c 3 -i 0.2 -W 2 " + ip6);
  CHECK_MESSAGE(r.exit_code == 0, r.output);
  // The peer learnt our MAC through ARP and NDP, not from a static entry.
  r = f.tb->Run(f.tb->ns_a(), "ip neigh show " + ip4 + "; ip -6 neigh show " + ip6);
  CHECK_MESSAGE(r.output.find("02:52:53:00:00:10") != std::string::npos, r.output);
  EtherConnStats s = (*conn)->Stats();
  CHECK(s.arp_answered >= 1);
  CHECK(s.ndp_answered >= 1);
  CHECK(s.echo_answered >= 6);
  (*conn)->Close();
}

TEST_CASE(
    "conn: a kernel UDP socket in the peer exchanges datagrams with a RUDPConn, IPv4 and IPv6") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  RelayTestbed f;
  const std::string ip4 = f.tb->ip4_extra(11), ip6 = f.tb->ip6_extra(11);
  auto conn = f.relay->NewEtherConn({.mac = kConnMac, .addresses = {ip4 + "/24", ip6 + "/64"}});
  REQUIRE(conn.ok());
  auto udp4 = RUDPConn::Create(*conn, {.local_ip = *IpAddress::Parse(ip4), .local_port = 7001});
  REQUIRE_MESSAGE(udp4.ok(), udp4.status().ToString());
  auto udp6 = RUDPConn::Create(*conn, {.local_ip = *IpAddress::Parse(ip6), .local_port = 7001});
  REQUIRE(udp6.ok());
  // Echo on the worker thread: what arrives goes back to its sender.
  for (auto* u : {&*udp4, &*udp6}) {
    (*u)->SetHandler(
        [](const Datagram& d, RUDPConn& c) { CHECK(c.WriteTo(d.payload, d.meta.source()).ok()); });
  }
  REQUIRE(f.relay->Start().ok());
  for (auto [fam, addr] : {std::pair{"AF_INET", ip4}, std::pair{"AF_INET6", ip6}}) {
    CAPTURE(addr);
    const std::string code = absl::StrFormat(
        "import socket,sys\n"
        "s=socket.socket(socket.%s,socket.SOCK_DGRAM); s.settimeout(2)\n"
        "ok=0\n"
        "for i in range(20):\n"
        "  m=(\"hello %%d\" %% i).encode(); s.sendto(m,(\"%s\",7001))\n"
        "  d,a=s.recvfrom(2048)\n"
        "  ok+= d==m\n"
        "print(ok); sys.exit(0 if ok==20 else 1)\n",
        fam, addr);
    auto r = f.tb->Run(f.tb->ns_a(), Py(code), 30);
    CHECK_MESSAGE(r.exit_code == 0, r.output);
  }
  CHECK((*udp4)->Stats().received == 20);
  CHECK((*udp6)->Stats().received == 20);

  // And we start the conversation: ReadFrom on our side, the peer's kernel answers.
  (*udp4)->SetHandler(nullptr);
  const std::string peer_ready = absl::StrCat("/tmp/rs-conn-peer-", f.tb->suffix());
  std::thread peer([&] {
    const std::string code = absl::StrCat(
        "import socket\n"
        "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind((\"0.0.0.0\",7002)); "
        "s.settimeout(5)\n"
        "open(\"",
        peer_ready,
        "\",\"w\").write(\"ready\\n\")\n"
        "d,a=s.recvfrom(2048); s.sendto(d[::-1],a)\n");
    f.tb->Run(f.tb->ns_a(), Py(code), 20);
  });
  CHECK(WaitForFile(peer_ready, "ready", 0, 20));  // bound before we send
  std::remove(peer_ready.c_str());
  const std::string msg = "ringstamp to kernel";
  std::vector<std::byte> out(msg.size());
  std::memcpy(out.data(), msg.data(), msg.size());
  // The answer comes back before the first ReadFrom (the wait makes sure of that): it is
  // kept, as a bound socket keeps what arrives before its first recv.
  std::array<std::byte, 2048> buf;
  REQUIRE((*udp4)->WriteTo(out, {*IpAddress::Parse(f.tb->ip4_a()), 7002}).ok());
  for (int i = 0; i < 100 && (*udp4)->Stats().received < 21; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK((*udp4)->Stats().received == 21);  // the answer arrived, nobody read yet
  auto got = (*udp4)->ReadFrom(buf, MonotonicNs() + 5 * kNsPerSec);
  peer.join();
  REQUIRE_MESSAGE(got.ok(), got.status().ToString());
  std::string back(reinterpret_cast<const char*>(buf.data()), got->n);
  CHECK(back == std::string(msg.rbegin(), msg.rend()));
  CHECK(got->src.ip.ToString() == f.tb->ip4_a());
  CHECK(got->meta.ttl == 64);
  CHECK(got->meta.stamps.software_ns.has_value());
  // Where it came in: the relay's one worker, on the interface that worker receives on.
  CHECK(got->meta.worker == 0);
  const int ifindex = PacketRelayTestAccess::Worker(*f.relay, 0).ifindex();
  CHECK(ifindex > 0);
  CHECK(got->meta.ifindex == ifindex);
  CHECK(got->meta.stamps.userspace_ns.has_value());
}

TEST_CASE("conn: VLAN and QinQ endpoints answer ARP and ping in their own tags (scapy peer)") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  // make VLAN sub-interfaces; scapy in the peer namespace plays the tagged host.
  RelayTestbed f;
  VlanStack v100;
  v100.Push(VlanTag::Make(kEtherTypeVlan, 100));
  VlanStack qinq;
  qinq.Push(VlanTag::Make(kEtherTypeQinQ, 200));
  qinq.Push(VlanTag::Make(kEtherTypeVlan, 300));
  auto c1 =
      f.relay->NewEtherConn({.mac = kConnMac, .vlans = v100, .addresses = {"192.168.100.10/24"}});
  REQUIRE(c1.ok());
  // The same MAC on another VLAN stack is another endpoint; on the same stack it is refused.
  auto c2 =
      f.relay->NewEtherConn({.mac = kConnMac, .vlans = qinq, .addresses = {"192.168.230.10/24"}});
  REQUIRE_MESSAGE(c2.ok(), c2.status().ToString());
  auto dup = f.relay->NewEtherConn({.mac = kConnMac, .vlans = qinq});
  CHECK(dup.status().code() == absl::StatusCode::kAlreadyExists);
  REQUIRE(f.relay->Start().ok());
  const std::string code = absl::StrFormat(
      "from scapy.all import *\n"
      "conf.verb=0\n"
      "i=\"%s\"; me=\"%s\"\n"
      "def tags(p):\n"
      "  out=[]\n"
      "  l=p.payload\n"
      "  while isinstance(l,(Dot1Q,Dot1AD)):\n"
      "    out.append((l.name,l.vlan)); l=l.payload\n"
      "  return out\n"
      "a=srp1(Ether(src=me,dst=\"ff:ff:ff:ff:ff:ff\")/Dot1Q(vlan=100)/"
      "ARP(psrc=\"192.168.100.1\",hwsrc=me,pdst=\"192.168.100.10\"),iface=i,timeout=3)\n"
      "print(\"arp\", a[ARP].hwsrc if a else None, tags(a) if a else None)\n"
      "r=srp1(Ether(src=me,dst=\"02:52:53:00:00:10\")/Dot1Q(vlan=100)/"
      "IP(src=\"192.168.100.1\",dst=\"192.168.100.10\")/ICMP(id=7,seq=1)/"
      "(b\"x\"*20),iface=i,timeout=3)\n"
      "print(\"ping1q\", r[ICMP].type if r else None, tags(r) if r else None)\n"
      "q=srp1(Ether(src=me,dst=\"02:52:53:00:00:10\")/Dot1AD(vlan=200)/Dot1Q(vlan=300)/"
      "IP(src=\"192.168.230.1\",dst=\"192.168.230.10\")/ICMP(id=8,seq=2),iface=i,timeout=3)\n"
      "print(\"pingqinq\", q[ICMP].type if q else None, tags(q) if q else None)\n",
      f.tb->if_a(), f.tb->mac_a());
  auto r = f.tb->Run(f.tb->ns_a(), "/usr/bin/python3 -c '" + code + "'", 60);
  CHECK_MESSAGE(r.exit_code == 0, r.output);
  CHECK_MESSAGE(r.output.find("arp 02:52:53:00:00:10 [('802.1Q', 100)]") != std::string::npos,
                r.output);
  CHECK_MESSAGE(r.output.find("ping1q 0 [('802.1Q', 100)]") != std::string::npos, r.output);
  CHECK_MESSAGE(
      r.output.find("pingqinq 0 [('802_1AD', 200), ('802.1Q', 300)]") != std::string::npos,
      r.output);
  CHECK((*c1)->Stats().echo_answered == 1);
  CHECK((*c2)->Stats().echo_answered == 1);
  CHECK((*c1)->Stats().arp_answered == 1);
}

TEST_CASE("conn: tshark in the peer decodes our UDP with valid checksums and our TOS/TTL") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  RelayTestbed f;
  const std::string ip4 = f.tb->ip4_extra(12);
  auto conn = f.relay->NewEtherConn({.mac = kConnMac, .addresses = {ip4 + "/24"}});
  REQUIRE(conn.ok());
  auto udp = RUDPConn::Create(
      *conn, {.local_ip = *IpAddress::Parse(ip4), .local_port = 7100, .tos = 0xb8, .ttl = 33});
  REQUIRE(udp.ok());
  REQUIRE(f.relay->Start().ok());
  const std::string pcap = absl::StrCat("/tmp/rs-conn-", f.tb->suffix(), ".pcap");
  std::thread cap([&] {
    f.tb->Run(f.tb->ns_a(),
              absl::StrCat("tcpdump -i ", f.tb->if_a(), " -c 5 -w ", pcap, " udp port 7100 2> ",
                           pcap, ".err"),
              20);
  });
  CHECK(WaitForFile(pcap + ".err", "listening on", 0, 20));  // capturing before we send
  std::vector<std::byte> payload(100, std::byte{0x5a});
  for (int i = 0; i < 5; ++i) {
    CHECK((*udp)->WriteTo(payload, {*IpAddress::Parse(f.tb->ip4_a()), 9999}).ok());
  }
  cap.join();
  auto r =
      RunHost(absl::StrCat("tshark -r ", pcap,
                           " -o udp.check_checksum:TRUE -o ip.check_checksum:TRUE -T fields "
                           "-e ip.dsfield -e ip.ttl -e udp.checksum.status -e ip.checksum.status"));
  std::remove(pcap.c_str());
  std::remove((pcap + ".err").c_str());
  CHECK_MESSAGE(r.exit_code == 0, r.output);
  int lines = 0;
  for (size_t p = 0; (p = r.output.find("0xb8\t33\t1\t1", p)) != std::string::npos; ++p) ++lines;
  CHECK_MESSAGE(lines == 5, r.output);
}

TEST_CASE("conn: 10,000 RUDPConns on one relay each receive exactly their own datagrams") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  RelayTestbed f;
  const std::string ip4 = f.tb->ip4_extra(13);
  auto conn = f.relay->NewEtherConn({.mac = kConnMac, .addresses = {ip4 + "/24"}});
  REQUIRE(conn.ok());
  REQUIRE(f.relay->Start().ok());
  constexpr int kConns = 10000;
  std::vector<std::shared_ptr<RUDPConn>> conns;
  std::vector<std::atomic<int>> got(kConns);
  std::atomic<int> wrong{0};
  for (int i = 0; i < kConns; ++i) {
    auto u = RUDPConn::Create(*conn, {.local_ip = *IpAddress::Parse(ip4),
                                      .local_port = static_cast<uint16_t>(20000 + i)});
    REQUIRE(u.ok());
    (*u)->SetHandler([&, i](const Datagram& d, RUDPConn&) {
      int v = -1;
      if (d.payload.size() == 4) std::memcpy(&v, d.payload.data(), 4);
      if (v == i && d.meta.dst_port == 20000 + i) {
        got[i]++;
      } else {
        wrong++;
      }
    });
    conns.push_back(std::move(*u));
  }
  size_t mem = 0;
  for (auto& c : conns) mem += c->MemoryBytes();
  MESSAGE("memory per RUDPConn (no read queue): " << mem / kConns << " bytes");
  CHECK(mem / kConns <= 1024);
  // The EtherConn under them: its object, route and the neighbour cache it has used (its
  // 1,024 entries allocated whole took ~140 KiB per endpoint).
  MESSAGE("memory of the EtherConn: " << (*conn)->MemoryBytes() << " bytes");
  CHECK((*conn)->MemoryBytes() <= 4096);
  const std::string code = absl::StrFormat(
      "import socket,struct,time\n"
      "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
      "for i in range(%d):\n"
      "  s.sendto(struct.pack(\"=i\",i),(\"%s\",20000+i))\n"
      "  if i %% 500 == 499: time.sleep(0.01)\n",
      kConns, ip4);
  auto r = f.tb->Run(f.tb->ns_a(), Py(code), 60);
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  const int64_t deadline = MonotonicNs() + 10 * kNsPerSec;
  auto total = [&] {
    int t = 0;
    for (auto& g : got) t += g.load();
    return t;
  };
  while (total() < kConns && MonotonicNs() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(total() == kConns);
  CHECK(wrong.load() == 0);
  int exact = 0;
  for (auto& g : got) exact += g.load() == 1;
  CHECK(exact == kConns);
  for (auto& c : conns) c->Close();
}

TEST_CASE("conn: ReadBatch and WriteBatch keep order, truncate, stamp each datagram, count drops") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  RelayTestbed f;
  const std::string ip4 = f.tb->ip4_extra(13);
  auto conn = f.relay->NewEtherConn({.mac = kConnMac, .addresses = {ip4 + "/24"}});
  REQUIRE(conn.ok());
  // Room for 8 datagrams of at most 64 bytes: 12 arrive, the last 4 are dropped (newest).
  auto udp = RUDPConn::Create(*conn, {.local_ip = *IpAddress::Parse(ip4),
                                      .local_port = 7003,
                                      .queue_datagrams = 8,
                                      .max_datagram = 64});
  REQUIRE(udp.ok());
  REQUIRE(f.relay->Start().ok());
  // The peer's kernel socket sends d00..d11 (10, 20, ... 120 bytes), then prints what it gets.
  std::string peer_out;
  std::thread peer([&] {
    const std::string code = absl::StrFormat(
        "import socket\n"
        "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind((\"0.0.0.0\",7004)); "
        "s.settimeout(5)\n"
        "for i in range(12):\n"
        "  s.sendto((\"d%%02d\" %% i).encode().ljust(10+10*i,b\".\"),(\"%s\",7003))\n"
        "got=[]\n"
        "try:\n"
        "  while len(got)<7: got.append(s.recv(2048).decode())\n"
        "except OSError: pass\n"
        "print(\",\".join(got))\n",
        ip4);
    peer_out = f.tb->Run(f.tb->ns_a(), Py(code), 30).output;
  });
  for (int i = 0; i < 250 && (*udp)->Stats().received < 12; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK((*udp)->Stats().received == 12);
  CHECK((*udp)->Stats().queue_dropped == 4);

  // Five into 32-byte buffers: d00..d04 in order, each cut to the buffer, its size kept.
  std::array<std::array<std::byte, 32>, 10> bufs{};
  std::array<UdpReadMsg, 10> msgs;
  for (size_t i = 0; i < msgs.size(); ++i) msgs[i].buf = bufs[i];
  auto n = (*udp)->ReadBatch(std::span(msgs).first(5), MonotonicNs() + 5 * kNsPerSec);
  REQUIRE_MESSAGE(n.ok(), n.status().ToString());
  REQUIRE(*n == 5);
  int64_t last_stamp = 0;
  for (size_t i = 0; i < 5; ++i) {
    CAPTURE(i);
    const UdpReadResult& r = msgs[i].result;
    CHECK(r.datagram_size == 10 + 10 * i);
    CHECK(r.n == std::min<size_t>(32, 10 + 10 * i));
    CHECK(std::string(reinterpret_cast<const char*>(bufs[i].data()), 3) ==
          absl::StrFormat("d%02d", i));
    CHECK(r.src.ip.ToString() == f.tb->ip4_a());
    CHECK(r.src.port == 7004);
    REQUIRE(r.meta.stamps.software_ns.has_value());  // each its own frame's stamp
    CHECK(*r.meta.stamps.software_ns >= last_stamp);
    last_stamp = *r.meta.stamps.software_ns;
  }
  // Ten asked for, three left (d05..d07; d08..d11 were dropped): it takes what is queued.
  n = (*udp)->ReadBatch(msgs, MonotonicNs() + 5 * kNsPerSec);
  REQUIRE(n.ok());
  REQUIRE(*n == 3);
  for (size_t i = 0; i < 3; ++i) {
    CAPTURE(i);
    CHECK(std::string(reinterpret_cast<const char*>(bufs[i].data()), 3) ==
          absl::StrFormat("d%02d", i + 5));
    CHECK(msgs[i].result.datagram_size == 10 + 10 * (i + 5));  // 60, 70, 80 on the wire
    CHECK(msgs[i].result.n == 32);
  }
  // Nothing queued and no time to wait: the deadline passes.
  n = (*udp)->ReadBatch(std::span(msgs).first(1), 0);
  CHECK(absl::IsDeadlineExceeded(n.status()));

  // WriteBatch: five in order; then a batch whose third message is bad sends the first two
  // and says so; a batch whose first is bad sends nothing and returns the error.
  const UdpEndpoint peer_ep{*IpAddress::Parse(f.tb->ip4_a()), 7004};
  std::vector<std::string> texts = {"w0", "w1", "w2", "w3", "w4", "x0", "x1", "x2"};
  auto bytes = [&](const std::string& s) {
    return std::as_bytes(std::span<const char>(s.data(), s.size()));
  };
  std::vector<UdpWriteMsg> batch;
  for (int i = 0; i < 5; ++i) batch.push_back({bytes(texts[i]), peer_ep, {}});
  auto sent = (*udp)->WriteBatch(batch);
  REQUIRE_MESSAGE(sent.ok(), sent.status().ToString());
  CHECK(*sent == 5);
  std::vector<UdpWriteMsg> partial = {{bytes(texts[5]), peer_ep, {}},
                                      {bytes(texts[6]), peer_ep, {}},
                                      {bytes(texts[7]), {peer_ep.ip, 0}, {}}};
  sent = (*udp)->WriteBatch(partial);
  REQUIRE(sent.ok());
  CHECK(*sent == 2);
  sent = (*udp)->WriteBatch(std::span(partial).subspan(2));
  CHECK(absl::IsInvalidArgument(sent.status()));
  peer.join();
  CHECK(absl::StripAsciiWhitespace(peer_out) == "w0,w1,w2,w3,w4,x0,x1");
}

TEST_CASE(
    "conn: a batch handler gets its conn's datagrams of one ring batch in one call, in order") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  // The relay is not started: the test hands one ring batch to the worker itself, so what each
  // handler gets from it is decided by the code, not by how the kernel filled the ring.
  RelayTestbed f;
  const std::string ip_a = f.tb->ip4_extra(14), ip_b = f.tb->ip4_extra(15);
  const MacAddress mac_b = *MacAddress::Parse("02:52:53:00:00:11");
  auto conn_a = f.relay->NewEtherConn({.mac = kConnMac, .addresses = {ip_a + "/24"}});
  auto conn_b = f.relay->NewEtherConn({.mac = mac_b, .addresses = {ip_b + "/24"}});
  REQUIRE(conn_a.ok());
  REQUIRE(conn_b.ok());
  // Four conns: two with batch handlers (A on conn a, B on conn b), C with a per-datagram
  // handler, D with none (its reader's queue).
  auto make = [](std::shared_ptr<EtherConn> c, const std::string& ip, uint16_t port) {
    auto u =
        RUDPConn::Create(std::move(c), {.local_ip = *IpAddress::Parse(ip), .local_port = port});
    REQUIRE_MESSAGE(u.ok(), u.status().ToString());
    return *u;
  };
  auto udp_a = make(*conn_a, ip_a, 7005), udp_b = make(*conn_b, ip_b, 7005);
  auto udp_c = make(*conn_a, ip_a, 7006), udp_d = make(*conn_b, ip_b, 7007);
  auto text = [](const Datagram& d) {
    return std::string(reinterpret_cast<const char*>(d.payload.data()), d.payload.size());
  };
  std::vector<std::vector<std::string>> calls_a, calls_b;
  std::vector<int64_t> stamps_a;
  std::vector<std::string> got_c;
  bool batch_ran_before_c = false;
  udp_a->SetBatchHandler([&](std::span<const Datagram> ds, RUDPConn& c) {
    CHECK(&c == udp_a.get());
    calls_a.emplace_back();
    for (const Datagram& d : ds) {
      calls_a.back().push_back(text(d));
      stamps_a.push_back(d.meta.stamps.software_ns.value_or(-1));
    }
  });
  udp_b->SetBatchHandler([&](std::span<const Datagram> ds, RUDPConn&) {
    calls_b.emplace_back();
    for (const Datagram& d : ds) calls_b.back().push_back(text(d));
  });
  udp_c->SetHandler([&](const Datagram& d, RUDPConn&) {
    got_c.push_back(text(d));
    batch_ran_before_c |= !calls_a.empty() || !calls_b.empty();
  });

  // One batch of 32 frames, round robin A, B, C, D: payload "pNN", software stamp NN.
  const IpAddress peer = *IpAddress::Parse(f.tb->ip4_a());
  const MacAddress peer_mac = *MacAddress::Parse("02:52:53:00:00:99");
  struct Target {
    MacAddress mac;
    std::string ip;
    uint16_t port;
  };
  const Target targets[4] = {
      {kConnMac, ip_a, 7005}, {mac_b, ip_b, 7005}, {kConnMac, ip_a, 7006}, {mac_b, ip_b, 7007}};
  std::vector<std::array<std::byte, 128>> bytes(kFrameBatch);
  std::vector<Frame> frames(kFrameBatch);
  for (size_t i = 0; i < kFrameBatch; ++i) {
    const Target& t = targets[i % 4];
    const UdpFrameSpec spec{.dst_mac = t.mac,
                            .src_mac = peer_mac,
                            .src = peer,
                            .dst = *IpAddress::Parse(t.ip),
                            .src_port = 40000,
                            .dst_port = t.port};
    const std::string payload = absl::StrFormat("p%02d", i);
    const size_t hdr = UdpFrameHeaderSize(spec);
    std::memcpy(bytes[i].data() + hdr, payload.data(), payload.size());
    const size_t len = BuildUdpFrame(bytes[i], spec, payload.size());
    REQUIRE(len > 0);
    frames[i].data = bytes[i].data();
    frames[i].snap_len = frames[i].wire_len = static_cast<uint32_t>(len);
    frames[i].status = TP_STATUS_USER;
    frames[i].stamps.software_ns = static_cast<int64_t>(i);
  }
  RelayWorker& rw = PacketRelayTestAccess::Worker(*f.relay, 0);
  rw.OnFrames(f.relay->engine().worker(0), frames);

  auto every_fourth = [](size_t from) {
    std::vector<std::string> v;
    for (size_t i = from; i < kFrameBatch; i += 4) v.push_back(absl::StrFormat("p%02d", i));
    return v;
  };
  // Each batch handler once, with its eight in arrival order and each datagram's own stamp.
  REQUIRE(calls_a.size() == 1);
  CHECK(calls_a[0] == every_fourth(0));
  CHECK(stamps_a == std::vector<int64_t>{0, 4, 8, 12, 16, 20, 24, 28});
  REQUIRE(calls_b.size() == 1);
  CHECK(calls_b[0] == every_fourth(1));
  // The per-datagram handler ran during the dispatch, before any batch handler.
  CHECK(got_c == every_fourth(2));
  CHECK_FALSE(batch_ran_before_c);
  // D's reader finds its eight queued, in order.
  std::array<std::array<std::byte, 64>, 10> bufs{};
  std::array<UdpReadMsg, 10> msgs;
  for (size_t i = 0; i < msgs.size(); ++i) msgs[i].buf = bufs[i];
  auto n = udp_d->ReadBatch(msgs, 0);
  REQUIRE_MESSAGE(n.ok(), n.status().ToString());
  REQUIRE(*n == 8);
  for (size_t i = 0; i < 8; ++i) {
    CHECK(std::string(reinterpret_cast<const char*>(bufs[i].data()), msgs[i].result.n) ==
          every_fourth(3)[i]);
  }
  for (const auto& u : {udp_a, udp_b, udp_c, udp_d}) CHECK(u->Stats().received == 8);

  // SetHandler replaces the batch handler (and the other way round).
  std::vector<std::string> got_a;
  udp_a->SetHandler([&](const Datagram& d, RUDPConn&) { got_a.push_back(text(d)); });
  udp_c->SetBatchHandler([&](std::span<const Datagram> ds, RUDPConn&) {
    for (const Datagram& d : ds) got_c.push_back("batch " + text(d));
  });
  rw.OnFrames(f.relay->engine().worker(0), frames);
  CHECK(calls_a.size() == 1);
  CHECK(got_a == every_fourth(0));
  REQUIRE(got_c.size() == 16);
  CHECK(got_c[8] == "batch p02");
  CHECK(got_c[15] == "batch p30");
  for (const auto& u : {udp_a, udp_b, udp_c, udp_d}) u->Close();
}

TEST_CASE("conn: a batch handler answers a kernel UDP socket's burst, every reply in order") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  RelayTestbed f;
  const std::string ip4 = f.tb->ip4_extra(16);
  auto conn = f.relay->NewEtherConn({.mac = kConnMac, .addresses = {ip4 + "/24"}});
  REQUIRE(conn.ok());
  auto udp = RUDPConn::Create(*conn, {.local_ip = *IpAddress::Parse(ip4), .local_port = 7008});
  REQUIRE(udp.ok());
  std::atomic<uint64_t> calls{0}, datagrams{0};
  (*udp)->SetBatchHandler([&](std::span<const Datagram> ds, RUDPConn& c) {
    calls.fetch_add(1);
    datagrams.fetch_add(ds.size());
    for (const Datagram& d : ds) CHECK(c.Reply(d.payload, d.meta).ok());
  });
  REQUIRE(f.relay->Start().ok());
  // 200 datagrams in bursts of 20 without waiting; every answer comes back, in order.
  const std::string code = absl::StrFormat(
      "import socket,sys\n"
      "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(3)\n"
      "s.setsockopt(socket.SOL_SOCKET,socket.SO_RCVBUF,1<<20)\n"
      "got=[]\n"
      "for b in range(10):\n"
      "  for i in range(20): s.sendto((\"m%%03d\" %% (b*20+i)).encode(),(\"%s\",7008))\n"
      "  while len(got)<(b+1)*20: got.append(s.recv(2048).decode())\n"
      "want=[\"m%%03d\" %% i for i in range(200)]\n"
      "print(len(got)); sys.exit(0 if got==want else 1)\n",
      ip4);
  auto r = f.tb->Run(f.tb->ns_a(), Py(code), 30);
  CHECK_MESSAGE(r.exit_code == 0, r.output);
  CHECK(datagrams.load() == 200);
  MESSAGE("batch handler calls for 200 datagrams: ", calls.load());
  CHECK((*udp)->Stats().sent == 200);
  (*udp)->Close();
}

TEST_CASE(
    "conn: one ring batch mixing the worker's UDP fast path and the general path: every frame "
    "where it belongs, counted once, as frame by frame") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  // The relay is not started: the test hands the frames to the worker itself, as one batch
  // (OnFrames: UDP to an exact binding takes the fast path) and then one at a time (OnFrame:
  // every frame through the owner's EtherType and IP handling), and checks both land the same.
  RelayTestbed f;
  const std::string ip_a = f.tb->ip4_extra(16), ip_b = f.tb->ip4_extra(17);
  const MacAddress mac_b = *MacAddress::Parse("02:52:53:00:00:12");
  constexpr uint16_t kL2Type = 0x88b5;
  auto conn_a = f.relay->NewEtherConn(
      {.mac = kConnMac, .ethertypes = {0x0806, 0x0800, kL2Type}, .addresses = {ip_a + "/24"}});
  auto conn_b = f.relay->NewEtherConn({.mac = mac_b, .addresses = {ip_b + "/24"}});
  // conn c has no addresses: its IPv4 frames are L2 frames, for its handler as they are. It
  // sits behind a QinQ stack, which its handler sees as the frame carried it.
  const MacAddress mac_c = *MacAddress::Parse("02:52:53:00:00:13");
  VlanStack qinq_c;
  qinq_c.Push(VlanTag::Make(kEtherTypeQinQ, 210));
  qinq_c.Push(VlanTag::Make(kEtherTypeVlan, 310));
  auto conn_c =
      f.relay->NewEtherConn({.mac = mac_c, .vlans = qinq_c, .ethertypes = {0x0800, kL2Type}});
  // conn d has an address behind one 802.1Q tag: its datagrams take the fast path, and its
  // handler sees the tag in the datagram's meta.
  const MacAddress mac_d = *MacAddress::Parse("02:52:53:00:00:14");
  const std::string ip_d = f.tb->ip4_extra(18);
  VlanStack vlan_d;
  vlan_d.Push(VlanTag::Make(kEtherTypeVlan, 120));
  auto conn_d = f.relay->NewEtherConn({.mac = mac_d, .vlans = vlan_d, .addresses = {ip_d + "/24"}});
  REQUIRE(conn_a.ok());
  REQUIRE(conn_b.ok());
  REQUIRE(conn_c.ok());
  REQUIRE(conn_d.ok());
  const IpAddress peer = *IpAddress::Parse(f.tb->ip4_a());
  auto make = [](std::shared_ptr<EtherConn> c, RUDPConnOptions o) {
    auto u = RUDPConn::Create(std::move(c), std::move(o));
    REQUIRE_MESSAGE(u.ok(), u.status().ToString());
    return *u;
  };
  // exact: ip_a:7005 (the fast path); any_ip: every address of conn a, port 7010 (general);
  // connected: ip_a:7030, only from the peer's port 40001; any_port: conn b, every port.
  auto exact = make(*conn_a, {.local_ip = *IpAddress::Parse(ip_a), .local_port = 7005});
  auto any_ip = make(*conn_a, {.local_port = 7010});
  auto connected = make(*conn_a, {.local_ip = *IpAddress::Parse(ip_a),
                                  .local_port = 7030,
                                  .connected = UdpEndpoint{peer, 40001}});
  auto any_port = make(*conn_b, {.local_ip = *IpAddress::Parse(ip_b), .local_port = 0});
  auto tagged = make(*conn_d, {.local_ip = *IpAddress::Parse(ip_d), .local_port = 7040});
  struct Got {
    std::string payload;
    uint16_t src_port = 0;
    uint16_t dst_port = 0;
    std::string dst;
    uint8_t ttl = 0, tos = 0;
    int64_t stamp = -1;
    MacAddress src_mac;
    VlanStack vlans;
  };
  auto record = [](std::vector<Got>* into) {
    return [into](const Datagram& d, RUDPConn&) {
      into->push_back(
          {std::string(reinterpret_cast<const char*>(d.payload.data()), d.payload.size()),
           d.meta.src_port, d.meta.dst_port, d.meta.dst.ToString(), d.meta.ttl, d.meta.tos,
           d.meta.stamps.software_ns.value_or(-1), d.meta.src_mac, d.meta.vlans});
    };
  };
  std::vector<Got> got_exact, got_any_ip, got_connected, got_any_port, got_tagged;
  exact->SetHandler(record(&got_exact));
  any_ip->SetHandler(record(&got_any_ip));
  connected->SetHandler(record(&got_connected));
  any_port->SetHandler(record(&got_any_port));
  tagged->SetHandler(record(&got_tagged));
  std::vector<std::string> l2_a;
  (*conn_a)->SetHandler([&](const L2Packet& p) {
    l2_a.push_back(absl::StrFormat("%04x/%d", p.ethertype, p.payload.size()));
  });
  std::vector<std::string> l2_c;
  (*conn_c)->SetHandler([&](const L2Packet& p) {
    l2_c.push_back(absl::StrFormat("%04x/%d/%d/%s", p.ethertype, p.payload.size(),
                                   p.stamps.software_ns.value_or(-1),
                                   p.vlans == qinq_c ? "qinq" : "other tags"));
  });

  const MacAddress peer_mac = *MacAddress::Parse("02:52:53:00:00:98");
  enum class Csum { kGood, kBadUnchecked, kBadTrusted };
  struct Spec {
    MacAddress mac;
    std::string dst;
    uint16_t sport, dport;
    Csum csum;
  };
  const Spec specs[] = {
      {kConnMac, ip_a, 40000, 7005, Csum::kGood},          // 0: exact (fast)
      {kConnMac, ip_a, 40000, 7010, Csum::kGood},          // 1: any_ip (general)
      {kConnMac, ip_a, 40000, 7005, Csum::kBadUnchecked},  // 2: bad checksum: malformed
      {kConnMac, ip_a, 40000, 7099, Csum::kGood},          // 3: no port: the L2 handler
      {kConnMac, ip_b, 40000, 7005, Csum::kGood},          // 4: not conn a's address
      {mac_b, ip_b, 40000, 7020, Csum::kGood},             // 5: any_port on conn b
      {kConnMac, ip_a, 40000, 7005, Csum::kBadTrusted},    // 6: the NIC verified it: exact
      {kConnMac, ip_a, 40000, 7030, Csum::kGood},          // 7: connected, wrong peer port
      {kConnMac, ip_a, 40001, 7030, Csum::kGood},          // 8: connected, its peer
  };
  constexpr size_t kUdpFrames = std::size(specs);
  std::vector<std::array<std::byte, 128>> bytes(kUdpFrames + 4);
  std::vector<Frame> frames(kUdpFrames + 4);
  for (size_t i = 0; i < kUdpFrames; ++i) {
    const Spec& s = specs[i];
    const UdpFrameSpec spec{.dst_mac = s.mac,
                            .src_mac = peer_mac,
                            .src = peer,
                            .dst = *IpAddress::Parse(s.dst),
                            .src_port = s.sport,
                            .dst_port = s.dport,
                            .tos = static_cast<uint8_t>(4 * i),
                            .ttl = static_cast<uint8_t>(60 + i)};
    const std::string payload = absl::StrFormat("f%02d", i);
    const size_t hdr = UdpFrameHeaderSize(spec);
    std::memcpy(bytes[i].data() + hdr, payload.data(), payload.size());
    const size_t len = BuildUdpFrame(bytes[i], spec, payload.size());
    REQUIRE(len > 0);
    if (s.csum != Csum::kGood) bytes[i][hdr] = std::byte{'X'};  // after the checksum was set
    frames[i].data = bytes[i].data();
    frames[i].snap_len = frames[i].wire_len = static_cast<uint32_t>(len);
    frames[i].status = TP_STATUS_USER | (s.csum == Csum::kBadTrusted ? TP_STATUS_CSUM_VALID : 0);
    frames[i].stamps.software_ns = static_cast<int64_t>(100 + i);
  }
  // 9: an L2 frame of conn a's own EtherType.
  BuildEthernet(bytes[kUdpFrames], kConnMac, peer_mac, VlanStack(), kL2Type);
  frames[kUdpFrames].data = bytes[kUdpFrames].data();
  frames[kUdpFrames].snap_len = frames[kUdpFrames].wire_len = 60;
  frames[kUdpFrames].status = TP_STATUS_USER;
  // 10: IPv4 UDP to conn c (no addresses); 11: an L2 frame of conn c's own EtherType.
  const UdpFrameSpec to_c{.dst_mac = mac_c,
                          .src_mac = peer_mac,
                          .vlans = qinq_c,
                          .src = peer,
                          .dst = *IpAddress::Parse(ip_a),
                          .src_port = 40000,
                          .dst_port = 7005};
  const size_t c_len = BuildUdpFrame(bytes[kUdpFrames + 1], to_c, 4);
  REQUIRE(c_len > 0);
  BuildEthernet(bytes[kUdpFrames + 2], mac_c, peer_mac, qinq_c, kL2Type);
  // 12: IPv4 UDP in conn d's tag to its exact binding.
  const UdpFrameSpec to_d{.dst_mac = mac_d,
                          .src_mac = peer_mac,
                          .vlans = vlan_d,
                          .src = peer,
                          .dst = *IpAddress::Parse(ip_d),
                          .src_port = 40000,
                          .dst_port = 7040};
  const size_t d_len = BuildUdpFrame(bytes[kUdpFrames + 3], to_d, 4);
  REQUIRE(d_len > 0);
  for (size_t i = kUdpFrames + 1; i < frames.size(); ++i) {
    frames[i].data = bytes[i].data();
    frames[i].snap_len = frames[i].wire_len =
        static_cast<uint32_t>(i == kUdpFrames + 1 ? c_len : (i == kUdpFrames + 3 ? d_len : 64));
    frames[i].status = TP_STATUS_USER;
    frames[i].stamps.software_ns = static_cast<int64_t>(100 + i);
  }

  RelayWorker& rw = PacketRelayTestAccess::Worker(*f.relay, 0);
  Worker& w = f.relay->engine().worker(0);
  auto check_round = [&](size_t round) {
    INFO("round " << round);
    const size_t k = round + 1;  // rounds so far
    REQUIRE(got_exact.size() == 2 * k);
    const Got& g = got_exact[2 * round];
    CHECK(g.payload == "f00");
    CHECK(g.src_port == 40000);
    CHECK(g.dst_port == 7005);
    CHECK(g.dst == ip_a);
    CHECK(g.ttl == 60);
    CHECK(g.tos == 0);
    CHECK(g.stamp == 100);
    CHECK(g.src_mac == peer_mac);
    CHECK(got_exact[2 * round + 1].payload == "X06");  // the bad byte, trusted
    CHECK(got_exact[2 * round + 1].tos == 24);
    CHECK(got_exact[2 * round + 1].stamp == 106);
    REQUIRE(got_any_ip.size() == k);
    CHECK(got_any_ip[round].payload == "f01");
    CHECK(got_any_ip[round].ttl == 61);
    REQUIRE(got_any_port.size() == k);
    CHECK(got_any_port[round].payload == "f05");
    CHECK(got_any_port[round].dst_port == 7020);
    REQUIRE(got_connected.size() == k);
    CHECK(got_connected[round].payload == "f08");
    // Frames 3 (no port) and 4 (not our address) and 9 (L2) reach conn a's L2 handler.
    REQUIRE(l2_a.size() == 3 * k);
    CHECK(l2_a[3 * round + 2] == absl::StrFormat("%04x/%d", kL2Type, 60 - 14));
    const EtherConnStats a = (*conn_a)->Stats();
    CHECK(a.received == 9 * k);
    CHECK(a.malformed == k);
    CHECK(a.udp_no_port == k);
    CHECK(a.not_ours == k);
    CHECK(a.to_handler == 3 * k);
    CHECK((*conn_b)->Stats().received == k);
    // Conn c: its IPv4 frame and its L2 frame, both to its handler with their stamps and tags.
    REQUIRE(l2_c.size() == 2 * k);
    CHECK(l2_c[2 * round] == absl::StrFormat("0800/%d/110/qinq", c_len - 14 - 8));
    CHECK(l2_c[2 * round + 1] == absl::StrFormat("%04x/42/111/qinq", kL2Type));
    CHECK((*conn_c)->Stats().received == 2 * k);
    CHECK((*conn_c)->Stats().to_handler == 2 * k);
    CHECK((*conn_c)->Stats().malformed == 0);
    CHECK((*conn_c)->Stats().not_ours == 0);  // not taken through IP handling
    // Conn d's datagram carries the tag it came in, its stamp and its sender's MAC.
    REQUIRE(got_tagged.size() == k);
    CHECK(got_tagged[round].vlans == vlan_d);
    CHECK(got_tagged[round].dst_port == 7040);
    CHECK(got_tagged[round].stamp == 112);
    CHECK(got_tagged[round].src_mac == peer_mac);
    CHECK(exact->Stats().received == 2 * k);
    CHECK(connected->Stats().received == k);
    CHECK(connected->Stats().filtered == k);
    CHECK(rw.counters().delivered.Get() == 13 * k);
    CHECK(rw.counters().no_owner.Get() == 0);
  };
  rw.OnFrames(w, frames);
  check_round(0);
  for (const Frame& fr : frames) rw.OnFrame(w, fr);
  check_round(1);
  for (const auto& u : {exact, any_ip, connected, any_port, tagged}) u->Close();
}
