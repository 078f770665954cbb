// Unit: CaptureSink::Write(span) — the per-batch pcap path a capture takes — writes the same
// bytes as libpcap's pcap_dump of the same records (the stamp each frame's BestSystem gives,
// VLAN tags the kernel stripped put back, frames over snaplen cut), across write(2)s of the
// 1 MiB buffer, and still arms the flush timer.
#include <doctest/doctest.h>
#include <pcap/pcap.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "apps/capture_sink.h"
#include "ringstamp/common/clock.h"
#include "ringstamp/ring/frame.h"

using namespace ringstamp;
using namespace ringstamp::app;

namespace {

constexpr int64_t kBaseNs = 1'700'000'000'000'004'321;
constexpr uint32_t kSnap = 1400;  // cuts the longest frames

std::string TempPath(const char* tag) {
  return "/tmp/rs_capture_batch_" + std::to_string(getpid()) + "_" + tag + ".pcap";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Frame i: 60..1513 bytes of a pattern; every 7th carries a stripped VLAN tag, every 11th
// was cut by the ring (wire_len > snap_len); stamps from each source in turn.
struct TestFrames {
  std::vector<std::vector<std::byte>> storage;
  std::vector<Frame> frames;
};

TestFrames MakeFrames(int n) {
  TestFrames t;
  t.storage.reserve(n);
  for (int i = 0; i < n; ++i) {
    std::vector<std::byte> bytes(60 + (i * 397) % 1454);
    for (size_t k = 0; k < bytes.size(); ++k) bytes[k] = static_cast<std::byte>(k * 13 + i);
    t.storage.push_back(std::move(bytes));
  }
  for (int i = 0; i < n; ++i) {
    Frame f;
    f.data = t.storage[i].data();
    f.snap_len = static_cast<uint32_t>(t.storage[i].size());
    f.wire_len = f.snap_len + (i % 11 == 0 ? 100 : 0);
    if (i % 7 == 0) {
      f.vlan_valid = true;
      f.vlan_tpid = 0x8100;
      f.vlan_tci = static_cast<uint16_t>(100 + i);
    }
    const int64_t ns = kBaseNs + i * 1'000'003LL;
    switch (i % 3) {
      case 0:
        f.stamps.software_ns = ns;
        f.stamps.userspace_ns = ns + 5000;  // not the best one
        break;
      case 1:
        f.stamps.userspace_ns = ns;
        break;
      case 2:
        f.stamps.hardware_ns = 42;  // raw PHC time: not on the system clock
        f.stamps.hardware_system_ns = ns;
        break;
    }
    t.frames.push_back(f);
  }
  return t;
}

// The same records through libpcap: the frame as it was on the wire (tag back in).
void DumpReference(const std::string& path, const TestFrames& t) {
  pcap_t* dead =
      pcap_open_dead_with_tstamp_precision(DLT_EN10MB, kSnap, PCAP_TSTAMP_PRECISION_NANO);
  REQUIRE(dead != nullptr);
  pcap_dumper_t* dumper = pcap_dump_open(dead, path.c_str());
  REQUIRE(dumper != nullptr);
  for (const Frame& f : t.frames) {
    std::vector<std::byte> wire(f.data, f.data + f.snap_len);
    uint32_t len = f.wire_len;
    if (f.vlan_valid) {
      const std::byte tag[4] = {std::byte{0x81}, std::byte{0x00},
                                static_cast<std::byte>(f.vlan_tci >> 8),
                                static_cast<std::byte>(f.vlan_tci)};
      wire.insert(wire.begin() + 12, tag, tag + 4);
      len += 4;
    }
    const int64_t ns = f.stamps.BestSystem()->ns;
    pcap_pkthdr h{};
    h.ts.tv_sec = ns / kNsPerSec;
    h.ts.tv_usec = ns % kNsPerSec;  // nanoseconds on a nano-precision handle
    h.caplen = std::min<uint32_t>(static_cast<uint32_t>(wire.size()), kSnap);
    h.len = len;
    pcap_dump(reinterpret_cast<u_char*>(dumper), &h, reinterpret_cast<const u_char*>(wire.data()));
  }
  pcap_dump_close(dumper);
  pcap_close(dead);
}

}  // namespace

TEST_CASE("capture sink: a batch write is byte-identical to libpcap's pcap_dump") {
  constexpr int kFrames = 3000;  // about 2 MB: the 1 MiB buffer is written out mid-batch
  const TestFrames t = MakeFrames(kFrames);
  const std::string ours = TempPath("ours"), theirs = TempPath("theirs");
  CaptureSink sink(CaptureSinkOptions{.path = ours, .snaplen = kSnap});
  REQUIRE(sink.Open().ok());
  const std::span<const Frame> all(t.frames);
  for (size_t at = 0; at < all.size(); at += kFrameBatch) {
    sink.Write(all.subspan(at, std::min(kFrameBatch, all.size() - at)));
  }
  // The batch noted when its records were buffered: the flush timer is armed.
  CHECK(sink.FlushIfDue(MonotonicNs()) > 0);
  REQUIRE(sink.Close().ok());
  CHECK(sink.records_written() == kFrames);
  DumpReference(theirs, t);
  const std::string a = ReadFile(ours), b = ReadFile(theirs);
  std::remove(ours.c_str());
  std::remove(theirs.c_str());
  CHECK(a.size() == b.size());
  CHECK(a == b);
}

TEST_CASE("capture sink: batch and frame-by-frame writes give the same file") {
  const TestFrames t = MakeFrames(200);
  const std::string batch = TempPath("batch"), single = TempPath("single");
  CaptureSink a(CaptureSinkOptions{.path = batch, .snaplen = kSnap});
  CaptureSink b(CaptureSinkOptions{.path = single, .snaplen = kSnap});
  REQUIRE(a.Open().ok());
  REQUIRE(b.Open().ok());
  a.Write(std::span<const Frame>(t.frames));
  for (const Frame& f : t.frames) b.Write(f);
  REQUIRE(a.Close().ok());
  REQUIRE(b.Close().ok());
  const std::string x = ReadFile(batch), y = ReadFile(single);
  std::remove(batch.c_str());
  std::remove(single.c_str());
  CHECK(x.size() > 200 * 16);
  CHECK(x == y);
}
