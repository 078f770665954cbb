// Microbenchmarks for engine/proto/: frame parse, frame build, checksum, STAMP packet.
//
//   build/bin/proto_bench --benchmark_filter=Checksum
//
// The frames are the golden kernel frames of the unit tests.
#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

#include "ringstamp/engine/proto/byte_order.h"
#include "ringstamp/engine/proto/checksum.h"
#include "ringstamp/engine/proto/ethernet.h"
#include "ringstamp/engine/proto/frame.h"
#include "ringstamp/engine/proto/ip_proto.h"
#include "ringstamp/engine/proto/ipv4.h"
#include "ringstamp/engine/proto/stamp.h"
#include "ringstamp/engine/proto/udp.h"
#include "tests/unit/fixtures/proto_golden_frames.h"

namespace ringstamp {
namespace {

std::span<const std::byte> UdpFrame() {
  return std::as_bytes(std::span(testing::kStampSender));  // UDP/IPv4, 44-byte STAMP payload
}

// The full walk a relay or capture does: Ethernet, IPv4, UDP with checksum.
void BM_ParseFrameUdp4(benchmark::State& state) {
  const auto frame = UdpFrame();
  FrameParseOptions options;
  options.l4_checksum = state.range(0) != 0 ? ChecksumCheck::kVerify : ChecksumCheck::kSkip;
  for (auto _ : state) {
    benchmark::DoNotOptimize(frame.data());
    FrameSummary f = ParseFrame(frame, options);
    benchmark::DoNotOptimize(f.udp.dst_port);
  }
}
BENCHMARK(BM_ParseFrameUdp4)->Arg(1)->Arg(0)->ArgName("verify_udp_checksum");

// The same layers called one by one (what a conn that knows its EtherType does).
void BM_ParseLayersUdp4(benchmark::State& state) {
  const auto frame = UdpFrame();
  for (auto _ : state) {
    benchmark::DoNotOptimize(frame.data());
    auto eth = ParseEthernet(frame);
    auto ip = ParseIpv4(eth->payload);
    auto udp = ParseUdp(ip->payload, ip->src, ip->dst);
    benchmark::DoNotOptimize(udp->payload.data());
  }
}
BENCHMARK(BM_ParseLayersUdp4);

// Ethernet + IPv4 + UDP headers (with both checksums) around a payload already in place.
void BM_BuildFrameUdp4(benchmark::State& state) {
  const size_t payload = static_cast<size_t>(state.range(0));
  std::vector<std::byte> out(14 + 20 + 8 + payload, std::byte{0x5a});
  const MacAddress dst{{0x02, 0, 0, 0, 0, 0x0b}};
  const MacAddress src{{0x02, 0, 0, 0, 0, 0x0a}};
  const IpAddress sip = IpAddress::V4(10, 0, 0, 1);
  const IpAddress dip = IpAddress::V4(10, 0, 0, 2);
  const VlanStack vlans;
  uint16_t id = 0;
  for (auto _ : state) {
    const std::span<std::byte> o(out);
    size_t at = BuildEthernet(o, dst, src, vlans, kEtherTypeIpv4);
    at += BuildIpv4(o.subspan(at),
                    {.id = id++, .ttl = 64, .protocol = kIpProtoUdp, .src = sip, .dst = dip},
                    8 + payload);
    at += BuildUdp(o.subspan(at), {40000, kStampDefaultPort}, payload, sip, dip);
    benchmark::DoNotOptimize(at);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * out.size()));
}
BENCHMARK(BM_BuildFrameUdp4)->Arg(44)->Arg(1458);

void BM_InternetChecksum(benchmark::State& state) {
  std::vector<std::byte> data(static_cast<size_t>(state.range(0)));
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(i * 7 + 3);
  for (auto _ : state) {
    benchmark::DoNotOptimize(data.data());
    benchmark::DoNotOptimize(InternetChecksum(data));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_InternetChecksum)->Arg(20)->Arg(64)->Arg(1500);

// The RFC 1071 reference loop (16-bit words, one at a time) for comparison.
void BM_NaiveChecksum(benchmark::State& state) {
  std::vector<std::byte> data(static_cast<size_t>(state.range(0)));
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(i * 7 + 3);
  for (auto _ : state) {
    benchmark::DoNotOptimize(data.data());
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < data.size(); i += 2) sum += LoadBe16(data.data() + i);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    benchmark::DoNotOptimize(static_cast<uint16_t>(~sum));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_NaiveChecksum)->Arg(1500);

// A STAMP sender packet with a fresh NTP timestamp: the per-probe TX cost above the headers.
void BM_BuildStampSender(benchmark::State& state) {
  std::byte out[kStampPacketSize];
  StampSenderPacket s;
  s.error_estimate = StampErrorEstimate::FromNs(1000, true);
  int64_t now = 1'700'000'000'000'000'000;
  for (auto _ : state) {
    s.seq++;
    s.timestamp = UnixNsToNtp(now += 1000);
    benchmark::DoNotOptimize(BuildStampSender(out, s));
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_BuildStampSender);

}  // namespace
}  // namespace ringstamp

BENCHMARK_MAIN();
