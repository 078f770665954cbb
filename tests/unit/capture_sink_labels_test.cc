// Unit: the stamp source the capture records per packet (CaptureSink → pcapng → tshark's
// frame.comment), for frames decoded from ring status bits as the RX ring decodes them:
// kernel software, the userspace fallback when the kernel flagged no stamp, hardware only
// when flagged and mapped to system time. An outside reader (tshark) has the last word.
#include <doctest/doctest.h>
#include <linux/if_packet.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "apps/capture_sink.h"
#include "ringstamp/ring/frame.h"
#include "tests/support/test_skip.h"

using namespace ringstamp;
using namespace ringstamp::app;

namespace {

struct Case {
  const char* what;
  uint32_t status;           // TP_STATUS_TS_* bits as the kernel wrote them
  int64_t ring_ns;           // tp_sec/tp_nsec
  int64_t userspace_ns;      // the ring's per-block clock read
  int64_t phc_to_system_ns;  // mapping offset for raw hardware stamps (0: none known)
  const char* want_comment;  // tshark frame.comment
  int64_t want_ns;           // the record's time
};

constexpr int64_t kT = 1'700'000'000'123'456'789;

// Runs tshark on `path`: "epoch<TAB>comment" per packet.
std::vector<std::pair<std::string, std::string>> TsharkTimesAndComments(const std::string& path) {
  std::vector<std::pair<std::string, std::string>> out;
  const std::string cmd =
      "tshark -r " + path +
      " -T fields -E separator=/t -e frame.time_epoch -e frame.comment 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) text.append(buf, n);
  CHECK(pclose(p) == 0);
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    out.emplace_back(line.substr(0, tab), line.substr(tab + 1));
  }
  return out;
}

std::string EpochText(int64_t ns) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%lld.%09lld", static_cast<long long>(ns / 1'000'000'000),
                static_cast<long long>(ns % 1'000'000'000));
  return buf;
}

}  // namespace

TEST_CASE("capture labels: pcapng names software, userspace fallback and mapped hardware") {
  if (access("/usr/bin/tshark", X_OK) != 0)
    return ringstamp::testing::SkipTest("tool", "tshark is missing");
  const Case cases[] = {
      {"kernel software stamp", TP_STATUS_TS_SOFTWARE, kT, kT + 5'000, 0, "ts=software", kT},
      {"no TS bit: the kernel's tp_sec is not a stamp, userspace it is", 0, kT, kT + 7'000, 0,
       "ts=userspace", kT + 7'000},
      {"raw hardware mapped through the PHC", TP_STATUS_TS_RAW_HARDWARE, 1'000'000'000'000,
       kT + 9'000, kT - 1'000'000'000'000 + 100, "ts=hardware", kT + 100},
      {"raw hardware with no mapping: not on the system clock, userspace instead",
       TP_STATUS_TS_RAW_HARDWARE, 1'000'000'000'000, kT + 11'000, 0, "ts=userspace", kT + 11'000},
      {"hardware flag with a zero stamp: no hardware claim", TP_STATUS_TS_RAW_HARDWARE, 0,
       kT + 13'000, 0, "ts=userspace", kT + 13'000},
  };
  char path[] = "/tmp/rs-sinklabels-XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  struct Cleanup {
    const char* p;
    ~Cleanup() { std::remove(p); }
  } cleanup{path};

  CaptureSink sink(CaptureSinkOptions{.path = path, .pcapng = true, .snaplen = 128});
  REQUIRE(sink.Open().ok());
  std::array<std::byte, 60> bytes{};
  bytes[12] = std::byte{0x88};
  bytes[13] = std::byte{0xb5};
  for (const Case& c : cases) {
    Frame f;
    f.data = bytes.data();
    f.snap_len = f.wire_len = bytes.size();
    f.status = c.status;
    DecodeRingStamp(c.status, static_cast<uint32_t>(c.ring_ns / 1'000'000'000),
                    static_cast<uint32_t>(c.ring_ns % 1'000'000'000), &f.stamps);
    f.stamps.userspace_ns = c.userspace_ns;
    if (c.phc_to_system_ns != 0 && f.stamps.hardware_ns) {
      f.stamps.hardware_system_ns = *f.stamps.hardware_ns + c.phc_to_system_ns;
    }
    sink.Write(f);
  }
  REQUIRE(sink.Close().ok());

  const auto got = TsharkTimesAndComments(path);
  REQUIRE(got.size() == std::size(cases));
  for (size_t i = 0; i < got.size(); ++i) {
    const std::string what = cases[i].what;
    CAPTURE(what);
    CHECK(got[i].second == cases[i].want_comment);
    CHECK(got[i].first == EpochText(cases[i].want_ns));
  }
}
