// test_frames.h — frames and a TX-ring sender for integration tests.
//
//   auto tx = TestSender::Open(tb.ns_a(), tb.if_a());
//   (*tx)->Send(Udp4Frame({.dst_mac = ..., .src_port = 1000 + k, .payload = {...}}));
//   (*tx)->Flush();
//
// Test-only. A TestSender is used from one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ringstamp/ring/packet_socket.h"
#include "ringstamp/ring/ring_setup.h"

namespace ringstamp::testing {

struct Udp4Spec {
  std::string dst_mac, src_mac;
  std::string src_ip, dst_ip;
  uint16_t src_port = 1000, dst_port = 2000;
  std::vector<std::byte> payload;
};

// Ethernet + IPv4 + UDP with correct IPv4 and UDP checksums.
std::vector<std::byte> Udp4Frame(const Udp4Spec& spec);
void ParseMacInto(const std::string& mac, uint8_t out[6]);

class TestSender {
 public:
  // A TX-only packet socket with a V3 TX ring on `ifname` inside namespace `ns`.
  static absl::StatusOr<std::unique_ptr<TestSender>> Open(const std::string& ns,
                                                          const std::string& ifname);
  // Queues one frame (flushing and waiting when the ring is full, up to 5 s); false on failure.
  bool Send(const std::vector<std::byte>& frame);
  void Flush();
  TxRing& tx() { return *rings_->tx; }

 private:
  std::optional<PacketSocket> sock_;
  std::optional<Rings> rings_;
};

}  // namespace ringstamp::testing
