// TX software stamps through real sockets in namespaces: UDP sendmsg and AF_PACKET
// sendto, read back through the error queue and through io_uring completions.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <vector>

#include "ringstamp/common/clock.h"
#include "ringstamp/common/fd.h"
#include "ringstamp/timestamp/error_queue_reader.h"
#include "ringstamp/timestamp/so_timestamping.h"
#include "ringstamp/timestamp/tx_stamp_source.h"
#include "ringstamp/timestamp/tx_stamp_tracker.h"
#include "ringstamp/timestamp/uring_tx_stamps.h"
#include "tests/support/netns_test_setup.h"
#include "tests/support/netns_testbed.h"

using namespace ringstamp;
using namespace ringstamp::testing;

namespace {

constexpr int kSends = 64;
constexpr int64_t kMs = 1'000'000;

bool ParseMac(const std::string& s, uint8_t out[6]) {
  unsigned v[6];
  if (std::sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
    return false;
  for (int i = 0; i < 6; ++i) out[i] = static_cast<uint8_t>(v[i]);
  return true;
}

struct RoundResult {
  std::vector<TxCompletion> done;
  std::vector<int64_t> before;
  int64_t after = 0;
  TxTrackerStats stats;
};

// Sends kSends times through `send` (which returns true on success), recording
// each in a tracker, then drains `source` until every send completed or 3 s pass.
RoundResult RunRound(TxStampSource& source, TxWants wants, const std::function<bool(int)>& send) {
  RoundResult r;
  TxStampTracker tracker({.capacity = 1024, .timeout_ns = 3000 * kMs});
  r.before.resize(kSends);
  for (int i = 0; i < kSends; ++i) {
    r.before[i] = RealtimeNs();
    REQUIRE(send(i));
    uint32_t key = tracker.OnSend(wants, r.before[i], MonotonicNs(), i);
    CHECK(key == static_cast<uint32_t>(i));
  }
  const int64_t deadline = MonotonicNs() + 3000 * kMs;
  while (static_cast<int>(r.done.size()) < kSends && MonotonicNs() < deadline) {
    pollfd p{source.wait_fd(), source.wait_events(), 0};
    poll(&p, 1, 100);
    DrainResult d = DrainInto(source, tracker, [&](const TxCompletion& c) { r.done.push_back(c); });
    REQUIRE_MESSAGE(d.err == 0, "drain failed: errno ", d.err);
  }
  r.after = RealtimeNs();
  r.stats = tracker.stats();
  return r;
}

// Every send matched to its own key. On veth the stamps are taken inside sendto (the device
// transmits in the caller's context: noqueue, no NAPI), so send k's stamp lies between the
// clock read just before send k and the one just before send k + 1 (the end of the drain
// for the last): a stamp handed to the neighbouring send is caught.
void CheckRound(const RoundResult& r, TxWants wants) {
  REQUIRE(static_cast<int>(r.done.size()) == kSends);
  std::vector<bool> seen(kSends, false);
  for (const TxCompletion& c : r.done) {
    REQUIRE(c.key < static_cast<uint32_t>(kSends));
    CHECK(c.cookie == c.key);  // the stamp with key k belongs to send k
    CHECK_FALSE(seen[c.key]);
    seen[c.key] = true;
    CHECK_FALSE(c.timed_out());
    CHECK_FALSE(c.stamps.hardware_ns.has_value());  // veth: never hardware
    REQUIRE(c.stamps.software_ns.has_value());
    const int64_t next = c.key + 1 < static_cast<uint32_t>(kSends) ? r.before[c.key + 1] : r.after;
    CAPTURE(c.key);
    CHECK(*c.stamps.software_ns >= r.before[c.key]);
    CHECK(*c.stamps.software_ns < next);
    if (wants & kWantSched) {
      REQUIRE(c.sched_ns.has_value());
      CHECK(*c.sched_ns >= r.before[c.key]);
      CHECK(*c.sched_ns <= *c.stamps.software_ns);
    }
  }
  CHECK(r.stats.unknown_key == 0);
  CHECK(r.stats.duplicate == 0);
  CHECK(r.stats.expired == 0);
  CHECK(r.stats.completed == static_cast<uint64_t>(kSends));
}

struct UdpPair {
  UniqueFd rx, tx;
  sockaddr_in dst{};
};

UdpPair MakeUdp(const Testbed& tb) {
  UdpPair u;
  {
    NetnsScope in(tb.ns_b());
    REQUIRE(in.ok());
    u.rx = UniqueFd(socket(AF_INET, SOCK_DGRAM, 0));
    REQUIRE(u.rx.valid());
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(40999);
    REQUIRE(bind(u.rx.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  }
  NetnsScope in(tb.ns_a());
  REQUIRE(in.ok());
  u.tx = UniqueFd(socket(AF_INET, SOCK_DGRAM, 0));
  REQUIRE(u.tx.valid());
  u.dst.sin_family = AF_INET;
  u.dst.sin_port = htons(40999);
  REQUIRE(inet_pton(AF_INET, tb.ip4_b().c_str(), &u.dst.sin_addr) == 1);
  return u;
}

struct PacketSock {
  UniqueFd fd;
  sockaddr_ll dst{};
  std::vector<uint8_t> frame;
};

PacketSock MakePacket(const Testbed& tb) {
  PacketSock p;
  NetnsScope in(tb.ns_a());
  REQUIRE(in.ok());
  p.fd = UniqueFd(socket(AF_PACKET, SOCK_RAW, 0));  // protocol 0: receives nothing
  REQUIRE(p.fd.valid());
  int ifindex = static_cast<int>(if_nametoindex(tb.if_a().c_str()));
  REQUIRE(ifindex > 0);
  sockaddr_ll bind_addr{};
  bind_addr.sll_family = AF_PACKET;
  bind_addr.sll_ifindex = ifindex;
  REQUIRE(bind(p.fd.get(), reinterpret_cast<sockaddr*>(&bind_addr), sizeof(bind_addr)) == 0);
  uint8_t mac_a[6], mac_b[6];
  REQUIRE(ParseMac(tb.mac_a(), mac_a));
  REQUIRE(ParseMac(tb.mac_b(), mac_b));
  p.frame.assign(60, 0x5a);
  std::memcpy(p.frame.data(), mac_b, 6);
  std::memcpy(p.frame.data() + 6, mac_a, 6);
  p.frame[12] = 0x88;  // EtherType 0x88b5: local experimental
  p.frame[13] = 0xb5;
  p.dst.sll_family = AF_PACKET;
  p.dst.sll_ifindex = ifindex;
  p.dst.sll_halen = 6;
  std::memcpy(p.dst.sll_addr, mac_b, 6);
  return p;
}

bool SendPacket(PacketSock& p, int i) {
  p.frame[14] = static_cast<uint8_t>(i);
  return sendto(p.fd.get(), p.frame.data(), p.frame.size(), 0, reinterpret_cast<sockaddr*>(&p.dst),
                sizeof(p.dst)) == static_cast<ssize_t>(p.frame.size());
}

bool SendUdp(UdpPair& u, int i) {
  char payload[32] = {};
  payload[0] = static_cast<char>(i);
  return sendto(u.tx.get(), payload, sizeof(payload), 0, reinterpret_cast<sockaddr*>(&u.dst),
                sizeof(u.dst)) == static_cast<ssize_t>(sizeof(payload));
}

// Whether this kernel hands TX stamps to io_uring; skips with a message if not.
bool UringAvailable(int fd) {
  auto src = UringTxStampSource::Create(fd);
  if (!src.ok()) {
    SkipTest("kernel", "io_uring TX stamps unavailable here (Linux >= 6.15 has them): " +
                           src.status().ToString());
  }
  return src.ok();
}

}  // namespace

TEST_CASE("ts netns: UDP sendmsg TX software stamps via the error queue, consecutive keys") {
  auto tb = TestbedOrSkip();
  if (!tb) return;
  UdpPair u = MakeUdp(*tb);
  REQUIRE(EnableSocketTimestamping(
              u.tx.get(), kTsTxSoftware | kTsTxSched | kTsSoftware | kTsOptId | kTsOptTsonly, "udp")
              .ok());
  ErrorQueueReader reader(u.tx.get());
  RoundResult r =
      RunRound(reader, kWantSoftware | kWantSched, [&](int i) { return SendUdp(u, i); });
  CheckRound(r, kWantSoftware | kWantSched);
  CHECK(reader.stats().stamps == 2u * kSends);  // SCHED + SND per send
  CHECK(reader.stats().not_stamps == 0);
}

TEST_CASE("ts netns: UDP per-send SO_TIMESTAMPING cmsg stamps only the sends that ask") {
  auto tb = TestbedOrSkip();
  if (!tb) return;
  UdpPair u = MakeUdp(*tb);
  // Reporting and OPT_ID on the socket; generation only through the cmsg.
  REQUIRE(EnableSocketTimestamping(u.tx.get(), kTsSoftware | kTsOptId | kTsOptTsonly, "udp").ok());
  ErrorQueueReader reader(u.tx.get());
  TxStampTracker tracker({.capacity = 64, .timeout_ns = 3000 * kMs});
  std::vector<int64_t> before;   // per stamped send
  std::vector<int64_t> started;  // per send
  for (int i = 0; i < 20; ++i) {
    char payload[16] = {};
    iovec iov{payload, sizeof(payload)};
    alignas(8) std::byte control[kTxTimestampCmsgSpace];
    msghdr msg{};
    msg.msg_name = &u.dst;
    msg.msg_namelen = sizeof(u.dst);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    const bool stamped = (i % 2 == 0);
    if (stamped) {
      msg.msg_control = control;
      msg.msg_controllen = BuildTxTimestampCmsg(control, kTsTxSoftware);
      REQUIRE(msg.msg_controllen == kTxTimestampCmsgSpace);
    }
    int64_t t0 = RealtimeNs();
    started.push_back(t0);
    REQUIRE(sendmsg(u.tx.get(), &msg, 0) == static_cast<ssize_t>(sizeof(payload)));
    if (stamped) {
      before.push_back(t0);
      tracker.OnSend(kWantSoftware, t0, MonotonicNs(), i);
    }
  }
  std::vector<TxCompletion> done;
  const int64_t deadline = MonotonicNs() + 3000 * kMs;
  while (done.size() < 10 && MonotonicNs() < deadline) {
    pollfd p{u.tx.get(), POLLERR, 0};
    poll(&p, 1, 100);
    DrainInto(reader, tracker, [&](const TxCompletion& c) { done.push_back(c); });
  }
  int64_t after = RealtimeNs();
  REQUIRE(done.size() == 10u);
  for (const TxCompletion& c : done) {
    CHECK(c.cookie == 2 * c.key);  // key k is the k-th stamped send, the (2k)-th send
    // Taken inside send 2k: before the (unstamped) send 2k + 1 began.
    CHECK(*c.stamps.software_ns >= before[c.key]);
    CHECK(*c.stamps.software_ns < started[2 * c.key + 1]);
    CHECK(*c.stamps.software_ns <= after);
  }
  CHECK(tracker.stats().unknown_key == 0);
  CHECK(reader.DrainMessages([](const ParsedCmsgs&) {}).messages == 0);  // nothing else came
}

TEST_CASE("ts netns: AF_PACKET sendto TX software stamps via the error queue") {
  auto tb = TestbedOrSkip();
  if (!tb) return;
  PacketSock p = MakePacket(*tb);
  REQUIRE(EnableSocketTimestamping(p.fd.get(),
                                   kTsTxSoftware | kTsSoftware | kTsOptId | kTsOptTsonly, "packet")
              .ok());
  ErrorQueueReader reader(p.fd.get());
  std::vector<int> levels;
  RoundResult r = RunRound(reader, kWantSoftware, [&](int i) { return SendPacket(p, i); });
  CheckRound(r, kWantSoftware);
  // The reports came as SOL_PACKET / PACKET_TX_TIMESTAMP (nothing is left to read).
  CHECK(reader.stats().stamps == static_cast<uint64_t>(kSends));
  CHECK(reader.stats().malformed == 0);
}

TEST_CASE("ts netns: AF_PACKET TX stamps without OPT_TSONLY: payload echo is cut, stamps intact") {
  auto tb = TestbedOrSkip();
  if (!tb) return;
  PacketSock p = MakePacket(*tb);
  p.frame.resize(1000, 0x33);  // bigger than the reader's data buffer
  REQUIRE(
      EnableSocketTimestamping(p.fd.get(), kTsTxSoftware | kTsSoftware | kTsOptId, "packet").ok());
  auto src = OpenTxStampSource(p.fd.get(), TxTransport::kAuto);
  REQUIRE(src.ok());
  CHECK((*src)->transport() == TxTransport::kErrorQueue);  // io_uring needs OPT_TSONLY
  RoundResult r = RunRound(**src, kWantSoftware, [&](int i) { return SendPacket(p, i); });
  CheckRound(r, kWantSoftware);
}

TEST_CASE("ts netns: UDP and AF_PACKET TX stamps as io_uring completions (Linux >= 6.15)") {
  auto tb = TestbedOrSkip();
  if (!tb) return;
  const TsFlags flags = kTsTxSoftware | kTsTxSched | kTsSoftware | kTsOptId | kTsOptTsonly;
  SUBCASE("udp") {
    UdpPair u = MakeUdp(*tb);
    REQUIRE(EnableSocketTimestamping(u.tx.get(), flags, "udp").ok());
    if (!UringAvailable(u.tx.get())) return;
    auto src = OpenTxStampSource(u.tx.get(), TxTransport::kIoUring);
    REQUIRE_MESSAGE(src.ok(), src.status().ToString());
    RoundResult r =
        RunRound(**src, kWantSoftware | kWantSched, [&](int i) { return SendUdp(u, i); });
    CheckRound(r, kWantSoftware | kWantSched);
    CHECK((*src)->stats().stamps == 2u * kSends);
  }
  SUBCASE("packet") {
    PacketSock p = MakePacket(*tb);
    REQUIRE(EnableSocketTimestamping(p.fd.get(), flags, "packet").ok());
    if (!UringAvailable(p.fd.get())) return;
    auto src = OpenTxStampSource(p.fd.get(), TxTransport::kAuto);
    REQUIRE_MESSAGE(src.ok(), src.status().ToString());
    CHECK((*src)->transport() == TxTransport::kIoUring);
    RoundResult r =
        RunRound(**src, kWantSoftware | kWantSched, [&](int i) { return SendPacket(p, i); });
    CheckRound(r, kWantSoftware | kWantSched);
    // Nothing was left behind in the error queue.
    ErrorQueueReader leftover(p.fd.get());
    CHECK(leftover.DrainMessages([](const ParsedCmsgs&) {}).messages == 0);
  }
}
