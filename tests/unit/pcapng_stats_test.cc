// pcapng Interface Statistics Block: the block's bytes (lengths, padding,
// option codes, end of options), its place at the end of a file that tshark,
// tcpdump and capinfos read, CaptureSink's counters in it, and a block that
// does not fit whole (RLIMIT_FSIZE) cut off again so the file stays valid.
//
// apps/ is not a library: the writer's source is compiled into this test.

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "apps/capture_sink.h"
#include "apps/pcap_writer.h"
#include "tests/support/netns_testbed.h"

using namespace ringstamp;
using namespace ringstamp::app;
using ringstamp::testing::RunHost;

namespace {

constexpr int64_t kStart = 1'700'000'000'123'456'789;
constexpr int64_t kEnd = 1'700'000'005'987'654'321;

template <typename T>
T Get(const std::vector<std::byte>& b, size_t at) {
  T v;
  REQUIRE(at + sizeof(v) <= b.size());
  std::memcpy(&v, b.data() + at, sizeof(v));
  return v;
}

struct Option {
  uint16_t code;
  std::vector<std::byte> value;
};

// Walks an ISB as a reader would: checks both lengths, the 4-byte alignment,
// zero padding and that opt_endofopt closes the options right before the
// trailing length. Returns the options in file order (end of options left out).
std::vector<Option> ParseIsb(const std::vector<std::byte>& b, uint32_t* ts_high, uint32_t* ts_low) {
  REQUIRE(b.size() >= 24);
  CHECK(Get<uint32_t>(b, 0) == 5);
  const uint32_t total = Get<uint32_t>(b, 4);
  CHECK(total == b.size());
  CHECK(total % 4 == 0);
  CHECK(Get<uint32_t>(b, total - 4) == total);
  CHECK(Get<uint32_t>(b, 8) == 0);  // interface 0
  *ts_high = Get<uint32_t>(b, 12);
  *ts_low = Get<uint32_t>(b, 16);
  std::vector<Option> out;
  size_t at = 20;
  bool ended = false;
  while (at < total - 4) {
    const uint16_t code = Get<uint16_t>(b, at);
    const uint16_t len = Get<uint16_t>(b, at + 2);
    if (code == 0) {
      CHECK(len == 0);
      ended = true;
      at += 4;
      break;
    }
    const size_t padded = (len + 3u) & ~3u;
    REQUIRE(at + 4 + padded <= total - 4);
    for (size_t i = at + 4 + len; i < at + 4 + padded; ++i) CHECK(b[i] == std::byte{0});
    out.push_back({code, {b.begin() + at + 4, b.begin() + at + 4 + len}});
    at += 4 + padded;
  }
  CHECK(at == total - 4);
  if (!out.empty()) CHECK(ended);
  return out;
}

uint64_t U64(const std::vector<std::byte>& v) {
  REQUIRE(v.size() == 8);
  uint64_t x;
  std::memcpy(&x, v.data(), 8);
  return x;
}

// pcapng stamps: high 32 bits, then low 32 bits.
uint64_t IsbStamp(const std::vector<std::byte>& v) {
  REQUIRE(v.size() == 8);
  uint32_t hi, lo;
  std::memcpy(&hi, v.data(), 4);
  std::memcpy(&lo, v.data() + 4, 4);
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

std::map<uint16_t, Option> ByCode(const std::vector<Option>& options) {
  std::map<uint16_t, Option> m;
  for (const Option& o : options) {
    CHECK_MESSAGE(m.count(o.code) == 0, "option ", o.code, " twice");
    m[o.code] = o;
  }
  return m;
}

std::vector<std::byte> ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<char> c((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::byte> b(c.size());
  std::memcpy(b.data(), c.data(), c.size());
  return b;
}

// Every block of a pcapng file (type, bytes), checking that the blocks tile it exactly.
std::vector<std::pair<uint32_t, std::vector<std::byte>>> Blocks(const std::vector<std::byte>& f) {
  std::vector<std::pair<uint32_t, std::vector<std::byte>>> out;
  size_t at = 0;
  while (at + 12 <= f.size()) {
    const uint32_t type = Get<uint32_t>(f, at);
    const uint32_t len = Get<uint32_t>(f, at + 4);
    REQUIRE(len >= 12);
    REQUIRE(at + len <= f.size());
    CHECK(Get<uint32_t>(f, at + len - 4) == len);
    out.push_back({type, {f.begin() + at, f.begin() + at + len}});
    at += len;
  }
  CHECK(at == f.size());
  return out;
}

std::vector<std::byte> TestFrame(size_t len) {
  std::vector<std::byte> f(len, std::byte{0x5a});
  const uint8_t eth[14] = {0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x88, 0xb5};
  std::memcpy(f.data(), eth, sizeof(eth));
  return f;
}

std::string TempPath(const std::string& name) {
  return absl::StrCat("/tmp/rs_pcapng_stats_", getpid(), "_", name);
}

uint64_t FileSize(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

// Readers: tshark and tcpdump without a complaint, and capinfos's count of
// statistics entries for interface 0.
void CheckReaders(const std::string& path, int packets, int stat_entries) {
  auto ts =
      RunHost("tshark -r " + path + " 2>&1 >/dev/null | grep -v 'Running as user'; tshark -r " +
              path + " 2>/dev/null | wc -l");
  CHECK_MESSAGE(ts.output == absl::StrCat(packets, "\n"), ts.output);
  auto td = RunHost("tcpdump -nn -r " + path + " 2>&1 >/dev/null | grep -v 'reading from'; " +
                    "tcpdump -nn -r " + path + " 2>/dev/null | grep -c '^[0-9]'");
  CHECK_MESSAGE(td.output == absl::StrCat(packets, "\n"), td.output);
  auto ci = RunHost("capinfos " + path + " 2>&1");
  CHECK_MESSAGE(ci.exit_code == 0, ci.output);
  CHECK_MESSAGE(
      ci.output.find(absl::StrCat("Number of stat entries = ", stat_entries)) != std::string::npos,
      ci.output);
}

// Lowers RLIMIT_FSIZE for its scope (SIGXFSZ ignored: the write fails with EFBIG).
class FileSizeLimit {
 public:
  explicit FileSizeLimit(uint64_t bytes) {
    getrlimit(RLIMIT_FSIZE, &old_);
    old_handler_ = signal(SIGXFSZ, SIG_IGN);
    rlimit r = old_;
    r.rlim_cur = bytes;
    ok_ = setrlimit(RLIMIT_FSIZE, &r) == 0;
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &old_);
    signal(SIGXFSZ, old_handler_);
  }
  bool ok() const { return ok_; }

 private:
  rlimit old_{};
  sighandler_t old_handler_ = SIG_DFL;
  bool ok_ = false;
};

}  // namespace

TEST_CASE("pcapng stats: ISB bytes: lengths, padding, option codes in order, end of options") {
  InterfaceStatistics s{.start_ns = kStart,
                        .end_ns = kEnd,
                        .if_recv = 1000,
                        .if_drop = 7,
                        .filter_accept = 990,
                        .os_drop = 3,
                        .user_delivered = 980,
                        .comment = "hello"};  // 5 bytes: 3 bytes of padding
  const std::vector<std::byte> b = BuildInterfaceStatisticsBlock(s);
  // 20 fixed + comment 4+8 + 7 × (4+8) + end 4 + trailing length 4.
  CHECK(b.size() == 20 + 12 + 7 * 12 + 4 + 4);
  uint32_t hi = 0, lo = 0;
  const std::vector<Option> opts = ParseIsb(b, &hi, &lo);
  CHECK(((static_cast<uint64_t>(hi) << 32) | lo) == static_cast<uint64_t>(kEnd));
  REQUIRE(opts.size() == 8);
  const uint16_t want_codes[] = {1, 2, 3, 4, 5, 6, 7, 8};
  for (size_t i = 0; i < opts.size(); ++i) CHECK(opts[i].code == want_codes[i]);
  CHECK(std::string(reinterpret_cast<const char*>(opts[0].value.data()), opts[0].value.size()) ==
        "hello");
  CHECK(IsbStamp(opts[1].value) ==
        static_cast<uint64_t>(kStart));  // isb_starttime, ns (if_tsresol 9)
  CHECK(IsbStamp(opts[2].value) == static_cast<uint64_t>(kEnd));  // isb_endtime
  CHECK(U64(opts[3].value) == 1000);                              // isb_ifrecv
  CHECK(U64(opts[4].value) == 7);                                 // isb_ifdrop
  CHECK(U64(opts[5].value) == 990);                               // isb_filteraccept
  CHECK(U64(opts[6].value) == 3);                                 // isb_osdrop
  CHECK(U64(opts[7].value) == 980);                               // isb_usrdeliv
  // Exact bytes of the start of the options: code 1, length 5, "hello", 3 zeros.
  const uint8_t comment[] = {1, 0, 5, 0, 'h', 'e', 'l', 'l', 'o', 0, 0, 0};
  CHECK(std::memcmp(b.data() + 20, comment, sizeof(comment)) == 0);
  // opt_endofopt right before the trailing length.
  CHECK(Get<uint32_t>(b, b.size() - 8) == 0);
}

TEST_CASE("pcapng stats: unknown counters are left out, no options means no end-of-options") {
  const std::vector<std::byte> some =
      BuildInterfaceStatisticsBlock({.end_ns = kEnd, .if_recv = 5, .os_drop = 0});
  uint32_t hi = 0, lo = 0;
  const auto m = ByCode(ParseIsb(some, &hi, &lo));
  CHECK(m.size() == 3);  // endtime, ifrecv, osdrop (0 is a known value, written)
  CHECK(m.count(2) == 0);
  CHECK(U64(m.at(4).value) == 5);
  CHECK(U64(m.at(7).value) == 0);
  CHECK(m.count(5) == 0);

  const std::vector<std::byte> bare = BuildInterfaceStatisticsBlock({});
  CHECK(bare.size() == 24);  // fixed part and trailing length, nothing else
  CHECK(ParseIsb(bare, &hi, &lo).empty());
  CHECK(hi == 0);
  CHECK(lo == 0);

  // A comment of a multiple of 4 bytes takes no padding.
  const std::vector<std::byte> four = BuildInterfaceStatisticsBlock({.comment = "abcd"});
  CHECK(four.size() == 20 + 8 + 4 + 4);
  CHECK(ParseIsb(four, &hi, &lo).size() == 1);
}

TEST_CASE("pcapng stats: the ISB ends the file, tshark, tcpdump and capinfos read it") {
  const std::string path = TempPath("end.pcapng");
  auto w = PcapngWriter::Open(path, {.interface_name = "veth0"});
  REQUIRE_MESSAGE(w.ok(), w.status().ToString());
  for (int i = 0; i < 10; ++i) {
    CHECK(w->Append(kStart + i * 1000, StampSource::kSoftware, TestFrame(60 + i)));
  }
  CHECK(w->WriteStatistics({.start_ns = kStart, .end_ns = kEnd, .if_recv = 12, .if_drop = 2}).ok());
  REQUIRE(w->Close().ok());
  CHECK(w->stats().records_written == 10);  // the ISB is not a record
  CHECK(w->stats().trailer_blocks == 1);
  CHECK(FileSize(path) ==
        w->stats().header_bytes + w->stats().bytes_written + w->stats().trailer_bytes);
  const auto blocks = Blocks(ReadAll(path));
  REQUIRE(blocks.size() == 2 + 10 + 1);
  CHECK(blocks.back().first == 5);
  uint32_t hi = 0, lo = 0;
  const auto m = ByCode(ParseIsb(blocks.back().second, &hi, &lo));
  CHECK(U64(m.at(4).value) == 12);
  CHECK(U64(m.at(5).value) == 2);
  CheckReaders(path, 10, 1);
  std::remove(path.c_str());
}

TEST_CASE("pcapng stats: CaptureSink writes start/end, the kernel counts and its own drops") {
  const std::string path = TempPath("sink.pcapng");
  CaptureSink sink({.path = path, .pcapng = true, .ifname = "veth0"});
  const int64_t before = RealtimeNs();
  REQUIRE(sink.Open().ok());
  const std::vector<std::byte> bytes = TestFrame(80);
  Frame f;
  f.data = bytes.data();
  f.snap_len = f.wire_len = static_cast<uint32_t>(bytes.size());
  f.stamps.software_ns = kStart;
  for (int i = 0; i < 4; ++i) sink.Write(f);
  REQUIRE(sink.Close({.received = 9, .dropped = 2, .delivered = 4, .filtered = true}).ok());
  const int64_t after = RealtimeNs();
  CHECK(sink.statistics_blocks() == 1);
  const auto blocks = Blocks(ReadAll(path));
  REQUIRE(blocks.size() == 2 + 4 + 1);
  uint32_t hi = 0, lo = 0;
  const auto m = ByCode(ParseIsb(blocks.back().second, &hi, &lo));
  const int64_t start = static_cast<int64_t>(IsbStamp(m.at(2).value));
  const int64_t end = static_cast<int64_t>(IsbStamp(m.at(3).value));
  CHECK(start >= before);
  CHECK(start <= end);
  CHECK(end <= after);
  CHECK(((static_cast<uint64_t>(hi) << 32) | lo) == static_cast<uint64_t>(end));
  CHECK(U64(m.at(4).value) == 9);  // ifrecv
  CHECK(U64(m.at(5).value) == 2);  // ifdrop
  CHECK(U64(m.at(6).value) == 9);  // filteraccept: the kernel counted what the filter let in
  CHECK(U64(m.at(7).value) == 0);  // osdrop: the file took every frame
  CHECK(U64(m.at(8).value) == 4);  // usrdeliv
  CHECK(m.count(1) == 1);          // the comment that says what the counters are
  CheckReaders(path, 4, 1);
  std::remove(path.c_str());

  // pcap has no such block; nothing else changes.
  const std::string pcap = TempPath("sink.pcap");
  CaptureSink plain({.path = pcap});
  REQUIRE(plain.Open().ok());
  plain.Write(f);
  REQUIRE(plain.Close({.received = 1}).ok());
  CHECK(plain.statistics_blocks() == 0);
  CHECK(FileSize(pcap) == 24 + 16 + 80);
  std::remove(pcap.c_str());
}

TEST_CASE(
    "pcapng stats: an ISB that does not fit whole is cut off, one that fits after a "
    "failed record is kept") {
  constexpr size_t kFrame = 1000;
  const std::vector<std::byte> frame = TestFrame(kFrame);
  const InterfaceStatistics isb{.start_ns = kStart, .end_ns = kEnd, .if_recv = 3, .os_drop = 1};
  const size_t isb_len = BuildInterfaceStatisticsBlock(isb).size();

  SUBCASE("records fit, the ISB does not: the file ends with the last record") {
    const std::string path = TempPath("cut.pcapng");
    auto w = PcapngWriter::Open(path, {.stamp_source_comment = false});
    REQUIRE(w.ok());
    for (int i = 0; i < 3; ++i) CHECK(w->Append(kStart + i, StampSource::kSoftware, frame));
    REQUIRE(w->Flush().ok());
    const uint64_t records_end = FileSize(path);
    absl::Status st;
    {
      FileSizeLimit limit(records_end + isb_len - 8);  // all but the last 8 bytes
      REQUIRE(limit.ok());
      st = w->WriteStatistics(isb);
    }
    CHECK_FALSE(st.ok());
    MESSAGE(st.ToString());
    CHECK(std::string(st.message()).find("cut off") != std::string::npos);
    CHECK(w->stats().trailer_blocks == 0);
    CHECK_FALSE(w->Close().ok());  // the first error stays
    CHECK(FileSize(path) == records_end);
    CheckReaders(path, 3, 0);
    std::remove(path.c_str());
  }

  SUBCASE("a record is cut by the limit, the ISB fits in the room it left: kept") {
    const std::string path = TempPath("after.pcapng");
    auto w = PcapngWriter::Open(path, {.stamp_source_comment = false});
    REQUIRE(w.ok());
    const uint64_t header = w->stats().header_bytes;
    const size_t epb = 28 + kFrame + 4;  // no options
    absl::Status st;
    {
      // Two whole records and half of the third reach the file.
      FileSizeLimit limit(header + 2 * epb + epb / 2);
      REQUIRE(limit.ok());
      for (int i = 0; i < 3; ++i) CHECK(w->Append(kStart + i, StampSource::kSoftware, frame));
      CHECK_FALSE(w->Flush().ok());
      CHECK(w->stats().records_written == 2);
      CHECK(w->stats().records_dropped == 1);
      REQUIRE(isb_len < epb / 2);
      st = w->WriteStatistics(isb);
    }
    CHECK_MESSAGE(st.ok(), st.ToString());
    CHECK(w->stats().trailer_blocks == 1);
    const absl::Status closed = w->Close();
    CHECK_FALSE(closed.ok());  // the records' error is still reported
    CHECK(FileSize(path) == header + 2 * epb + isb_len);
    const auto blocks = Blocks(ReadAll(path));
    REQUIRE(blocks.size() == 2 + 2 + 1);
    CHECK(blocks.back().first == 5);
    CheckReaders(path, 2, 1);
    std::remove(path.c_str());
  }
}
