// consumer.cc — builds a UDP frame with ringstamp's codec and parses it back; prints what it
// parsed. Exit 0 only when the round trip holds.
#include <array>
#include <cstddef>
#include <cstdio>

#include "common/clock.h"  // ours, not ringstamp's
#include "ringstamp/common/clock.h"
#include "ringstamp/engine/proto/frame.h"
#include "ringstamp/engine/udp_frame.h"

int main() {
  ringstamp::UdpFrameSpec spec;
  spec.dst_mac = *ringstamp::MacAddress::Parse("02:00:00:00:00:02");
  spec.src_mac = *ringstamp::MacAddress::Parse("02:00:00:00:00:01");
  spec.src = *ringstamp::IpAddress::Parse("192.0.2.1");
  spec.dst = *ringstamp::IpAddress::Parse("192.0.2.2");
  spec.src_port = 4000;
  spec.dst_port = 862;
  std::array<std::byte, 128> buf{};
  const size_t len = ringstamp::BuildUdpFrame(buf, spec, 16);
  const ringstamp::FrameSummary f =
      ringstamp::ParseFrame(std::span<const std::byte>(buf.data(), len));
  const bool ok = f.l4 == ringstamp::L4Kind::kUdp && f.src_ip() == spec.src &&
                  f.udp.dst_port == 862 && ringstamp::RealtimeNs() > 0;
  std::printf("%s: %s %s:%u -> %s:%u\n", consumer::kWho, ok ? "ok" : "MISMATCH",
              f.src_ip().ToString().c_str(), static_cast<unsigned>(f.udp.src_port),
              f.dst_ip().ToString().c_str(), static_cast<unsigned>(f.udp.dst_port));
  return ok ? 0 : 1;
}
