#include "tests/support/test_frames.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstring>

#include "ringstamp/common/clock.h"
#include "tests/support/netns_testbed.h"

namespace ringstamp::testing {
namespace {

uint16_t Fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

uint32_t SumBytes(const std::byte* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) {
    sum += (static_cast<uint32_t>(p[i]) << 8) | static_cast<uint32_t>(p[i + 1]);
  }
  if (n & 1) sum += static_cast<uint32_t>(p[n - 1]) << 8;
  return sum;
}

void Put16(std::byte* p, uint16_t v) {
  p[0] = static_cast<std::byte>(v >> 8);
  p[1] = static_cast<std::byte>(v);
}

}  // namespace

void ParseMacInto(const std::string& mac, uint8_t out[6]) {
  unsigned v[6] = {};
  std::sscanf(mac.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]);
  for (int i = 0; i < 6; ++i) out[i] = static_cast<uint8_t>(v[i]);
}

std::vector<std::byte> Udp4Frame(const Udp4Spec& s) {
  const size_t udp_len = 8 + s.payload.size();
  std::vector<std::byte> f(14 + 20 + udp_len);
  uint8_t mac[6];
  ParseMacInto(s.dst_mac, mac);
  std::memcpy(f.data(), mac, 6);
  ParseMacInto(s.src_mac, mac);
  std::memcpy(f.data() + 6, mac, 6);
  Put16(f.data() + 12, 0x0800);
  std::byte* ip = f.data() + 14;
  ip[0] = std::byte{0x45};
  Put16(ip + 2, static_cast<uint16_t>(20 + udp_len));
  ip[8] = std::byte{64};
  ip[9] = std::byte{17};
  in_addr a{}, b{};
  inet_pton(AF_INET, s.src_ip.c_str(), &a);
  inet_pton(AF_INET, s.dst_ip.c_str(), &b);
  std::memcpy(ip + 12, &a, 4);
  std::memcpy(ip + 16, &b, 4);
  Put16(ip + 10, Fold(SumBytes(ip, 20)));
  std::byte* udp = ip + 20;
  Put16(udp, s.src_port);
  Put16(udp + 2, s.dst_port);
  Put16(udp + 4, static_cast<uint16_t>(udp_len));
  if (!s.payload.empty()) std::memcpy(udp + 8, s.payload.data(), s.payload.size());
  uint32_t sum = SumBytes(ip + 12, 8);
  sum += 17 + static_cast<uint32_t>(udp_len);
  uint16_t c = Fold(SumBytes(udp, udp_len, sum));
  Put16(udp + 6, c == 0 ? 0xffff : c);
  return f;
}

absl::StatusOr<std::unique_ptr<TestSender>> TestSender::Open(const std::string& ns,
                                                             const std::string& ifname) {
  NetnsScope in(ns);
  if (!in.ok()) return absl::InternalError("cannot enter namespace " + ns);
  auto s = std::make_unique<TestSender>();
  auto sock = PacketSocket::Open(ifname, {.protocol = 0});
  if (!sock.ok()) return sock.status();
  s->sock_.emplace(std::move(*sock));
  // Qdisc bypass also makes the TX queue follow the sending CPU (packet_pick_tx_queue),
  // which the FANOUT_QM test relies on.
  if (absl::Status q = s->sock_->SetQdiscBypass(true); !q.ok()) return q;
  auto rings = SetupRings(*s->sock_, {.tx = RingConfig::ForTx(1 << 20)});
  if (!rings.ok()) return rings.status();
  s->rings_.emplace(std::move(*rings));
  if (absl::Status b = s->sock_->Bind(); !b.ok()) return b;
  return s;
}

bool TestSender::Send(const std::vector<std::byte>& frame) {
  const int64_t deadline = MonotonicNs() + 5 * kNsPerSec;
  while (MonotonicNs() < deadline) {
    TxResult r = tx().Write(frame);
    if (r == TxResult::kOk) return true;
    if (r != TxResult::kRingFull) return false;
    Flush();
    tx().WaitWritable(10);
  }
  return false;
}

void TestSender::Flush() { (void)tx().Flush(); }

}  // namespace ringstamp::testing
