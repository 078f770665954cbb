// Integration: a TapPort in a test namespace talks to the host kernel's own stack —
// ARP, ICMP echo and a kernel UDP socket — with both RX sources; the device goes
// away when the port closes and when a process holding it gets SIGINT; a missing
// clone device, a taken name and a missing CAP_NET_ADMIN give clear errors.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ringstamp/common/clock.h"
#include "ringstamp/ring/tap_port.h"
#include "tests/support/netns_test_setup.h"
#include "tests/support/netns_testbed.h"
#include "tests/support/test_frames.h"

using namespace ringstamp;
using namespace ringstamp::testing;

namespace {

using Bytes = std::vector<std::byte>;

// The made-up endpoint on the far side of the TAP (this test), and the host's address.
constexpr uint8_t kOurMac[6] = {0x02, 0x00, 0x00, 0xbb, 0x00, 0x01};
constexpr char kOurMacText[] = "02:00:00:bb:00:01";
constexpr char kOurIp[] = "192.168.50.1";
constexpr char kHostIp[] = "192.168.50.100";
constexpr std::array<uint8_t, 6> kTapMac = {0x02, 0x00, 0x00, 0xaa, 0x00, 0x01};

uint16_t Get16(const Bytes& b, size_t off) {
  return static_cast<uint16_t>(static_cast<uint16_t>(b[off]) << 8 |
                               static_cast<uint16_t>(b[off + 1]));
}
void Put16(Bytes& b, size_t off, uint16_t v) {
  b[off] = static_cast<std::byte>(v >> 8);
  b[off + 1] = static_cast<std::byte>(v);
}
void PutIp(Bytes& b, size_t off, const char* ip) {
  in_addr a{};
  inet_pton(AF_INET, ip, &a);
  std::memcpy(b.data() + off, &a, 4);
}
bool IpIs(const Bytes& b, size_t off, const char* ip) {
  in_addr a{};
  inet_pton(AF_INET, ip, &a);
  return b.size() >= off + 4 && std::memcmp(b.data() + off, &a, 4) == 0;
}
uint16_t Checksum(const std::byte* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) {
    sum += static_cast<uint32_t>(p[i]) << 8 | static_cast<uint32_t>(p[i + 1]);
  }
  if (n & 1) sum += static_cast<uint32_t>(p[n - 1]) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

Bytes Arp(uint16_t op, const uint8_t eth_dst[6], const uint8_t target_mac[6],
          const char* target_ip) {
  Bytes f(60);
  std::memcpy(f.data(), eth_dst, 6);
  std::memcpy(f.data() + 6, kOurMac, 6);
  Put16(f, 12, 0x0806);
  Put16(f, 14, 1);
  Put16(f, 16, 0x0800);
  f[18] = std::byte{6};
  f[19] = std::byte{4};
  Put16(f, 20, op);
  std::memcpy(f.data() + 22, kOurMac, 6);
  PutIp(f, 28, kOurIp);
  std::memcpy(f.data() + 32, target_mac, 6);
  PutIp(f, 38, target_ip);
  return f;
}

bool IsArp(const Bytes& f, uint16_t op) {
  return f.size() >= 42 && Get16(f, 12) == 0x0806 && Get16(f, 20) == op;
}

Bytes EchoRequest(const std::array<uint8_t, 6>& dst_mac, uint16_t id, uint16_t seq,
                  const std::string& payload) {
  Bytes f(14 + 20 + 8 + payload.size());
  std::memcpy(f.data(), dst_mac.data(), 6);
  std::memcpy(f.data() + 6, kOurMac, 6);
  Put16(f, 12, 0x0800);
  f[14] = std::byte{0x45};
  Put16(f, 16, static_cast<uint16_t>(20 + 8 + payload.size()));
  Put16(f, 18, 0x1234);
  f[22] = std::byte{64};
  f[23] = std::byte{1};
  PutIp(f, 26, kOurIp);
  PutIp(f, 30, kHostIp);
  Put16(f, 24, Checksum(f.data() + 14, 20));
  f[34] = std::byte{8};
  Put16(f, 38, id);
  Put16(f, 40, seq);
  std::memcpy(f.data() + 42, payload.data(), payload.size());
  Put16(f, 36, Checksum(f.data() + 34, 8 + payload.size()));
  return f;
}

struct Seen {
  Bytes bytes;
  Frame meta;  // stamps, pkt_type, lengths (data pointer not valid)
};

// Polls `q` until a frame satisfies `want` (answering the kernel's ARP requests
// for our address meanwhile), at most `timeout_ms`.
std::optional<Seen> WaitFor(TapQueue& q, const std::function<bool(const Bytes&)>& want,
                            int timeout_ms = 3000) {
  std::optional<Seen> found;
  const int64_t deadline = MonotonicNs() + int64_t{timeout_ms} * 1'000'000;
  while (!found && MonotonicNs() < deadline) {
    q.rx().Poll([&](const Frame& f) {
      Bytes b(f.data, f.data + f.snap_len);
      if (IsArp(b, 1) && IpIs(b, 38, kOurIp)) {
        uint8_t asker[6];
        std::memcpy(asker, b.data() + 22, 6);
        Bytes reply = Arp(2, asker, asker, "0.0.0.0");
        std::memcpy(reply.data() + 38, b.data() + 28, 4);  // target ip = the asker's ip
        CHECK(q.tx().Write(reply) == TxResult::kOk);
      }
      if (!found && want(b)) found = Seen{std::move(b), f};
    });
    if (q.tx().pending() > 0) CHECK(q.tx().Flush().ok());
    if (found) break;
    pollfd p{q.rx().wait_fd(), POLLIN, 0};
    (void)poll(&p, 1, 20);
  }
  return found;
}

bool LinkListed(const Testbed& tb, const std::string& name) {
  return tb.Run(tb.ns_a(), "ip link show " + name + " >/dev/null 2>&1").exit_code == 0;
}

std::string TapName(const Testbed& tb, const char* tag) {
  return (std::string("rt") + tag + tb.suffix()).substr(0, 15);
}

}  // namespace

TEST_CASE("tap: the host stack answers ARP, ICMP echo and UDP through the port") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;

  TapRxSource source = TapRxSource::kTapRead;
  SUBCASE("tap-read") { source = TapRxSource::kTapRead; }
  SUBCASE("packet-ring") { source = TapRxSource::kPacketRing; }
  CAPTURE(TapRxSourceName(source));
  const std::string name = TapName(tb, "h");

  {
    NetnsScope in(tb.ns_a());
    REQUIRE(in.ok());
    auto port_or = TapPort::Create({.name = name,
                                    .mac = kTapMac,
                                    .addresses = {"192.168.50.100/24", "fd00:50::100/64"},
                                    .rx_source = source});
    REQUIRE_MESSAGE(port_or.ok(), port_or.status().ToString());
    TapPort& port = **port_or;
    CHECK(port.mac() == kTapMac);
    CHECK(port.mtu() == 1500);
    CHECK(port.ifindex() > 0);
    REQUIRE(port.queue_count() == 1);
    TapQueue& q = port.queue(0);
    CHECK(q.rx().source() == source);

    auto addrs = tb.Run(tb.ns_a(), "ip addr show dev " + name);
    CHECK_MESSAGE(addrs.output.find("192.168.50.100/24") != std::string::npos, addrs.output);
    CHECK_MESSAGE(addrs.output.find("fd00:50::100/64") != std::string::npos, addrs.output);
    CHECK_MESSAGE(addrs.output.find("02:00:00:aa:00:01") != std::string::npos, addrs.output);
    CHECK_MESSAGE(addrs.output.find(",UP") != std::string::npos, addrs.output);

    // ARP: who has .100? The host answers from the TAP's MAC.
    const uint8_t broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    const uint8_t zero[6] = {};
    REQUIRE(q.tx().Write(Arp(1, broadcast, zero, kHostIp)) == TxResult::kOk);
    CHECK(q.tx().pending() == 1);
    REQUIRE(q.tx().Flush().ok());
    CHECK(q.tx().pending() == 0);
    CHECK(q.tx().counters().write_errors.Get() == 0);
    const int64_t before_reply = RealtimeNs();
    auto arp = WaitFor(q, [](const Bytes& b) { return IsArp(b, 2) && IpIs(b, 28, kHostIp); });
    REQUIRE_MESSAGE(arp.has_value(), "no ARP reply from the host");
    CHECK(std::memcmp(arp->bytes.data(), kOurMac, 6) == 0);              // to us
    CHECK(std::memcmp(arp->bytes.data() + 22, kTapMac.data(), 6) == 0);  // from the TAP
    CHECK(IpIs(arp->bytes, 38, kOurIp));
    CHECK(arp->meta.pkt_type == PACKET_HOST);
    CHECK_FALSE(arp->meta.truncated());
    REQUIRE(arp->meta.stamps.userspace_ns.has_value());
    CHECK(*arp->meta.stamps.userspace_ns >= before_reply - 1'000'000'000);
    CHECK_FALSE(arp->meta.stamps.hardware_ns.has_value());
    if (source == TapRxSource::kPacketRing) {
      // The kernel stamped the frame when the host handed it to the TAP, before we saw it.
      REQUIRE(arp->meta.stamps.software_ns.has_value());
      CHECK(*arp->meta.stamps.software_ns <= *arp->meta.stamps.userspace_ns);
      CHECK(*arp->meta.stamps.software_ns >= before_reply - 1'000'000'000);
    } else {
      CHECK_FALSE(arp->meta.stamps.software_ns.has_value());
    }

    // ICMP echo from our made-up address: the host kernel replies.
    const std::string payload = "ringstamp-tap-echo";
    REQUIRE(q.tx().Write(EchoRequest(kTapMac, 0x4242, 7, payload)) == TxResult::kOk);
    REQUIRE(q.tx().Flush().ok());
    auto echo = WaitFor(q, [](const Bytes& b) {
      return b.size() >= 42 && Get16(b, 12) == 0x0800 && b[23] == std::byte{1} &&
             b[34] == std::byte{0} && IpIs(b, 26, kHostIp) && IpIs(b, 30, kOurIp);
    });
    REQUIRE_MESSAGE(echo.has_value(), "no ICMP echo reply from the host");
    CHECK(Get16(echo->bytes, 38) == 0x4242);
    CHECK(Get16(echo->bytes, 40) == 7);
    CHECK(std::string(reinterpret_cast<const char*>(echo->bytes.data()) + 42, payload.size()) ==
          payload);
    CHECK(Checksum(echo->bytes.data() + 34, echo->bytes.size() - 34) == 0);

    // UDP both ways with a kernel socket bound to the host's TAP address.
    int us = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(us >= 0);
    sockaddr_in host{};
    host.sin_family = AF_INET;
    host.sin_port = htons(7000);
    inet_pton(AF_INET, kHostIp, &host.sin_addr);
    REQUIRE(bind(us, reinterpret_cast<sockaddr*>(&host), sizeof(host)) == 0);
    timeval tv{.tv_sec = 3, .tv_usec = 0};
    setsockopt(us, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    const std::string hello = "hello-host-from-port";
    Udp4Spec spec{.dst_mac = "02:00:00:aa:00:01",
                  .src_mac = kOurMacText,
                  .src_ip = kOurIp,
                  .dst_ip = kHostIp,
                  .src_port = 6000,
                  .dst_port = 7000};
    spec.payload.assign(reinterpret_cast<const std::byte*>(hello.data()),
                        reinterpret_cast<const std::byte*>(hello.data()) + hello.size());
    REQUIRE(q.tx().Write(Udp4Frame(spec)) == TxResult::kOk);
    REQUIRE(q.tx().Flush().ok());
    char buf[256] = {};
    sockaddr_in from{};
    socklen_t from_len = sizeof(from);
    const ssize_t got =
        recvfrom(us, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    REQUIRE_MESSAGE(got == static_cast<ssize_t>(hello.size()), "host socket got nothing");
    CHECK(std::string(buf, static_cast<size_t>(got)) == hello);
    CHECK(ntohs(from.sin_port) == 6000);
    char from_text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &from.sin_addr, from_text, sizeof(from_text));
    CHECK(std::string(from_text) == kOurIp);

    const std::string back = "hello-port-from-host";
    REQUIRE(sendto(us, back.data(), back.size(), 0, reinterpret_cast<sockaddr*>(&from), from_len) ==
            static_cast<ssize_t>(back.size()));
    auto udp = WaitFor(q, [](const Bytes& b) {
      return b.size() >= 42 && Get16(b, 12) == 0x0800 && b[23] == std::byte{17} &&
             Get16(b, 36) == 6000 && Get16(b, 34) == 7000;
    });
    close(us);
    REQUIRE_MESSAGE(udp.has_value(), "no UDP datagram from the host socket");
    CHECK(std::memcmp(udp->bytes.data(), kOurMac, 6) == 0);
    CHECK(std::string(reinterpret_cast<const char*>(udp->bytes.data()) + 42, back.size()) == back);

    CHECK(q.rx().counters().frames.Get() >= 3);
    CHECK(q.rx().counters().read_errors.Get() == 0);
    CHECK(q.tx().counters().committed.Get() >= 3);
    CHECK(q.tx().counters().kicks.Get() >= 3);
    CHECK(q.tx().counters().write_errors.Get() == 0);

    // The device's own counters agree: what we wrote entered the host; what the
    // host sent was read by us (tap-read) or copied by the ring while the
    // driver dropped its own copy (packet-ring).
    auto dev = port.ReadDeviceCounters();
    REQUIRE_MESSAGE(dev.ok(), dev.status().ToString());
    CHECK(dev->rx_packets >= q.tx().counters().committed.Get());
    if (source == TapRxSource::kTapRead) {
      CHECK(dev->tx_packets >= q.rx().counters().frames.Get());
    } else {
      CHECK(dev->tx_dropped >= q.rx().counters().frames.Get());
      CHECK(dev->tx_packets == 0);
    }
    CHECK(LinkListed(tb, name));
  }
  CHECK_FALSE(LinkListed(tb, name));
}

TEST_CASE(
    "tap: TX refuses bad frames before the kernel, and a frame too long for the buffer is "
    "cut and counted") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  NetnsScope in(tb.ns_a());
  REQUIRE(in.ok());
  const std::string name = TapName(tb, "t");
  auto port_or = TapPort::Create({.name = name,
                                  .mac = kTapMac,
                                  .addresses = {"192.168.50.100/24"},
                                  .frame_size = 128,
                                  .queue_len = 1000});
  REQUIRE_MESSAGE(port_or.ok(), port_or.status().ToString());
  TapQueue& q = (*port_or)->queue(0);
  TapTx& tx = q.tx();
  CHECK(tx.capacity() == 128);
  auto show = tb.Run(tb.ns_a(), "ip link show " + name);
  CHECK_MESSAGE(show.output.find("qlen 1000") != std::string::npos, show.output);

  auto slot = tx.Reserve();
  REQUIRE(slot.size() == 128);
  CHECK(tx.Commit(10) == TxResult::kTooShort);
  CHECK(tx.Commit(129) == TxResult::kTooLong);
  CHECK(tx.counters().rejected.Get() == 2);
  CHECK(tx.Describe(TxResult::kTooLong, 129).message().find(name) != std::string::npos);
  CHECK(tx.Write(Bytes(200)) == TxResult::kTooLong);
  tx.Reserve();
  std::memset(slot.data(), 0, 60);
  CHECK(tx.Commit(60) == TxResult::kOk);
  CHECK(tx.Commit(60) == TxResult::kNotReserved);
  CHECK(tx.Flush().ok());

  // The host sends a 400-byte datagram to a neighbour we pinned: the 128-byte buffer cuts it.
  REQUIRE(tb.Run(tb.ns_a(), std::string("ip neigh replace ") + kOurIp + " lladdr " + kOurMacText +
                                " dev " + name + " nud permanent")
              .exit_code == 0);
  int us = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(us >= 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(6001);
  inet_pton(AF_INET, kOurIp, &to.sin_addr);
  std::string big(400, 'x');
  REQUIRE(sendto(us, big.data(), big.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) ==
          400);
  close(us);
  auto cut = WaitFor(q, [](const Bytes& b) {
    return b.size() >= 38 && Get16(b, 12) == 0x0800 && Get16(b, 36) == 6001;
  });
  REQUIRE(cut.has_value());
  CHECK(cut->meta.snap_len == 128);
  CHECK(cut->meta.truncated());
  CHECK(q.rx().counters().truncated.Get() >= 1);
}

TEST_CASE("tap: two queues (IFF_MULTI_QUEUE) each carry traffic with the host") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  TapRxSource source = TapRxSource::kTapRead;
  SUBCASE("tap-read") { source = TapRxSource::kTapRead; }
  SUBCASE("packet-ring") { source = TapRxSource::kPacketRing; }
  CAPTURE(TapRxSourceName(source));
  NetnsScope in(tb.ns_a());
  REQUIRE(in.ok());
  const std::string name = TapName(tb, "m");
  auto port_or = TapPort::Create({.name = name,
                                  .mac = kTapMac,
                                  .addresses = {"192.168.50.100/24"},
                                  .queues = 2,
                                  .rx_source = source});
  REQUIRE_MESSAGE(port_or.ok(), port_or.status().ToString());
  TapPort& port = **port_or;
  REQUIRE(port.queue_count() == 2);
  CHECK(port.queue(0).fd() != port.queue(1).fd());
  auto show = tb.Run(tb.ns_a(), "ip -d link show " + name);
  CHECK_MESSAGE(show.output.find("multi_queue") != std::string::npos, show.output);

  // An echo request written on each queue is answered; the reply may come back on
  // either queue (seen here: the driver does not reliably answer on the writer's
  // queue), so both are polled.
  for (uint32_t k = 0; k < 2; ++k) {
    CAPTURE(k);
    REQUIRE(port.queue(k).tx().Write(
                EchoRequest(kTapMac, 0x5000, static_cast<uint16_t>(k), "mq")) == TxResult::kOk);
    REQUIRE(port.queue(k).tx().Flush().ok());
    std::optional<Seen> reply;
    const auto is_reply = [k](const Bytes& b) {
      return b.size() >= 42 && Get16(b, 12) == 0x0800 && b[23] == std::byte{1} &&
             b[34] == std::byte{0} && Get16(b, 38) == 0x5000 && Get16(b, 40) == k;
    };
    for (int round = 0; round < 100 && !reply; ++round) {
      for (uint32_t j = 0; j < 2 && !reply; ++j) reply = WaitFor(port.queue(j), is_reply, 20);
    }
    CHECK_MESSAGE(reply.has_value(), "no echo reply on either queue");
  }
}

TEST_CASE("tap: SIGINT in a process holding the port removes the device from the signal handler") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  const std::string name = TapName(tb, "s");
  int to_parent[2];
  REQUIRE(pipe(to_parent) == 0);
  pid_t child;
  {
    NetnsScope in(tb.ns_a());
    REQUIRE(in.ok());
    child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      // Child: hold the port; on SIGINT remove it from the handler and report,
      // then stay alive (the parent checks the device is gone before we exit,
      // so it is the handler, not process exit, that removed it).
      static int report_fd;
      report_fd = to_parent[1];
      struct sigaction sa {};
      sa.sa_handler = [](int) {
        TapPort::RemoveAllFromSignalHandler();
        (void)!write(report_fd, "r", 1);
      };
      sigaction(SIGINT, &sa, nullptr);
      alarm(20);  // never outlive a broken parent
      auto port = TapPort::Create({.name = name, .addresses = {"192.168.51.100/24"}});
      (void)!write(to_parent[1], port.ok() ? "c" : "e", 1);
      for (;;) pause();
    }
  }
  auto read_byte = [&](int timeout_ms) -> char {
    pollfd p{to_parent[0], POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return 0;
    char c = 0;
    return read(to_parent[0], &c, 1) == 1 ? c : 0;
  };
  const char created = read_byte(10000);
  CHECK(created == 'c');
  if (created == 'c') {
    CHECK(LinkListed(tb, name));
    REQUIRE(kill(child, SIGINT) == 0);
    CHECK(read_byte(10000) == 'r');
    CHECK(kill(child, 0) == 0);  // still alive
    CHECK_FALSE(LinkListed(tb, name));
  }
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  close(to_parent[0]);
  close(to_parent[1]);
  CHECK_FALSE(LinkListed(tb, name));
}

TEST_CASE("tap: clear errors for a missing clone device, a taken name and no CAP_NET_ADMIN") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  NetnsScope in(tb.ns_a());
  REQUIRE(in.ok());

  SUBCASE("missing /dev/net/tun") {
    const std::string name = TapName(tb, "n");
    auto r = TapPort::Create({.name = name, .tun_path = "/nonexistent/net/tun"});
    REQUIRE_FALSE(r.ok());
    CHECK(absl::IsFailedPrecondition(r.status()));
    const std::string msg(r.status().message());
    CHECK_MESSAGE(msg.find("modprobe tun") != std::string::npos, msg);
    CHECK_MESSAGE(msg.find("/nonexistent/net/tun") != std::string::npos, msg);
    CHECK_MESSAGE(msg.find("ENOENT") != std::string::npos, msg);
    CHECK_FALSE(LinkListed(tb, name));
  }

  SUBCASE("name already taken, by a TAP of ours or by another device") {
    const std::string name = TapName(tb, "d");
    auto first = TapPort::Create({.name = name, .addresses = {"192.168.52.100/24"}});
    REQUIRE_MESSAGE(first.ok(), first.status().ToString());
    for (const std::string& taken : {name, tb.if_a()}) {
      CAPTURE(taken);
      auto second = TapPort::Create({.name = taken});
      REQUIRE_FALSE(second.ok());
      CHECK(absl::IsAlreadyExists(second.status()));
      const std::string msg(second.status().message());
      CHECK_MESSAGE(
          msg.find("a device named " + taken +
                   " already exists; pick another --tap name or remove it") != std::string::npos,
          msg);
    }
    // The failed attempts left both devices alone.
    CHECK(LinkListed(tb, name));
    CHECK(LinkListed(tb, tb.if_a()));
    auto addrs = tb.Run(tb.ns_a(), "ip addr show dev " + name);
    CHECK(addrs.output.find("192.168.52.100/24") != std::string::npos);
  }

  SUBCASE("no CAP_NET_ADMIN") {
    const std::string name = TapName(tb, "p");
    int to_parent[2];
    REQUIRE(pipe(to_parent) == 0);
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      // Still uid 0 (the clone device opens), but without CAP_NET_ADMIN.
      __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
      __user_cap_data_struct data[2] = {};
      std::string out = "capget failed";
      if (syscall(SYS_capget, &hdr, data) == 0) {
        data[0].effective &= ~(1u << CAP_NET_ADMIN);
        data[0].permitted &= ~(1u << CAP_NET_ADMIN);
        data[0].inheritable &= ~(1u << CAP_NET_ADMIN);
        if (syscall(SYS_capset, &hdr, data) != 0) {
          out = "capset failed";
        } else {
          auto r = TapPort::Create({.name = name});
          out = r.ok() ? std::string("created") : r.status().ToString();
        }
      }
      (void)!write(to_parent[1], out.data(), out.size());
      _exit(0);
    }
    close(to_parent[1]);
    std::string msg;
    char buf[512];
    for (int i = 0; i < 100; ++i) {
      pollfd p{to_parent[0], POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      const ssize_t n = read(to_parent[0], buf, sizeof(buf));
      if (n <= 0) break;
      msg.append(buf, static_cast<size_t>(n));
    }
    close(to_parent[0]);
    int status = 0;
    waitpid(child, &status, 0);
    CHECK_MESSAGE(msg.find("PERMISSION_DENIED") != std::string::npos, msg);
    CHECK_MESSAGE(msg.find("CAP_NET_ADMIN") != std::string::npos, msg);
    CHECK_MESSAGE(msg.find("EPERM") != std::string::npos, msg);
    CHECK_FALSE(LinkListed(tb, name));
  }
}

TEST_CASE("tap: after the signal-path removal the port fails softly and still closes cleanly") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  NetnsScope in(tb.ns_a());
  REQUIRE(in.ok());
  const std::string name = TapName(tb, "r");
  {
    auto port_or = TapPort::Create({.name = name, .addresses = {"192.168.53.100/24"}});
    REQUIRE_MESSAGE(port_or.ok(), port_or.status().ToString());
    TapPort& port = **port_or;
    TapQueue& q = port.queue(0);
    const int fd = q.fd();
    CHECK(LinkListed(tb, name));
    port.RemoveFromSignalHandler();
    CHECK_FALSE(LinkListed(tb, name));
    // The fd number is still the port's (now /dev/null), so nothing else can get it.
    CHECK(fcntl(fd, F_GETFD) >= 0);
    CHECK(q.rx().Poll([](const Frame&) {}) == 0);
    CHECK(q.rx().counters().read_errors.Get() >= 1);
    CHECK(q.rx().Poll([](const Frame&) {}) == 0);  // stops reading, no busy failure loop
    const uint64_t errors = q.rx().counters().read_errors.Get();
    CHECK(q.rx().Poll([](const Frame&) {}) == 0);
    CHECK(q.rx().counters().read_errors.Get() == errors);
    Bytes frame(60);
    CHECK(q.tx().Write(frame) == TxResult::kOk);
    (void)q.tx().Flush();
    CHECK(q.tx().counters().write_errors.Get() + q.tx().counters().kick_errors.Get() >= 1);
    auto dev = port.ReadDeviceCounters();
    CHECK(absl::IsNotFound(dev.status()));
  }
  CHECK_FALSE(LinkListed(tb, name));
}
