// Disk full: PcapWriter and PcapngWriter on a 64 KiB tmpfs report ENOSPC,
// stop, and leave a file that tcpdump/tshark read whole, holding exactly
// records_written records. Needs root (mount); the tmpfs is removed after.
//
// apps/ is not a library: the writer's source is compiled into this test.

#include <doctest/doctest.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "apps/pcap_writer.h"
#include "ringstamp/common/clock.h"
#include "ringstamp/common/errno_status.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "tests/support/netns_testbed.h"

using namespace ringstamp;
using namespace ringstamp::app;
using ringstamp::testing::HaveNetnsPrivileges;
using ringstamp::testing::RunHost;
using ringstamp::testing::SkipTest;

namespace {

// A 64 KiB tmpfs on a fresh directory, unmounted and removed on scope exit.
class TinyTmpfs {
 public:
  TinyTmpfs() {
    char tmpl[] = "/tmp/rs_out_full_XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return;
    dir_ = tmpl;
    mounted_ = mount("tmpfs", dir_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=64k") == 0;
  }
  ~TinyTmpfs() {
    if (mounted_) umount2(dir_.c_str(), MNT_DETACH);
    if (!dir_.empty()) rmdir(dir_.c_str());
  }
  bool ok() const { return mounted_; }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
  bool mounted_ = false;
};

std::vector<std::byte> Frame(int i) {
  std::vector<std::byte> f(14 + 100 + (i % 7), std::byte{0x5a});
  const uint8_t eth[14] = {0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x88, 0xb5};  // local exp.
  std::memcpy(f.data(), eth, sizeof(eth));
  return f;
}

uint64_t FileSize(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

// Lines that start with a timestamp (tcpdump adds hex-dump lines for unknown EtherTypes).
uint64_t CountLines(const std::string& command) {
  auto r = RunHost(command + " | grep -c '^ *[0-9]'");
  uint64_t n = 0;
  CHECK(absl::SimpleAtoi(absl::StripAsciiWhitespace(r.output), &n));
  return n;
}

template <typename Writer, typename AppendFn>
WriterStats FillUntilFull(Writer& w, AppendFn append) {
  int appended = 0;
  for (int i = 0; i < 20000 && append(w, i); ++i) ++appended;
  const absl::Status st = w.Close();
  REQUIRE_FALSE(st.ok());
  CHECK(st.code() == absl::StatusCode::kResourceExhausted);
  const std::string msg(st.message());
  CHECK_MESSAGE(msg.find("ENOSPC") != std::string::npos, msg);
  CHECK_MESSAGE(msg.find("whole records") != std::string::npos, msg);
  MESSAGE(msg);
  const WriterStats& s = w.stats();
  CHECK(s.records_written > 0);
  CHECK(s.records_dropped > 0);
  CHECK(s.records_written + s.records_dropped == static_cast<uint64_t>(appended) + 1);
  return s;
}

}  // namespace

TEST_CASE("pcap writer netns: disk full leaves a valid pcap with records_written records") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  TinyTmpfs fs;
  REQUIRE(fs.ok());
  const std::string path = fs.Path("full.pcap");
  auto w = PcapWriter::Open(path, {.snaplen = 2048});  // default 1 MiB buffer: one short write
  REQUIRE_MESSAGE(w.ok(), w.status().ToString());
  WriterStats s = FillUntilFull(
      *w, [](PcapWriter& pw, int i) { return pw.Append(1'700'000'000'000'000'000 + i, Frame(i)); });
  CHECK(FileSize(path) == s.header_bytes + s.bytes_written);
  CHECK(FileSize(path) < 64 * 1024);  // the torn tail was cut off
  auto td = RunHost("tcpdump -r " + path + " -nn --nano >/dev/null");
  CHECK_MESSAGE(td.exit_code == 0, td.output);
  CHECK_MESSAGE(td.output.find("truncated") == std::string::npos, td.output);
  CHECK(CountLines("tcpdump -r " + path + " -nn --nano 2>/dev/null") == s.records_written);
  CHECK(CountLines("tshark -r " + path + " 2>/dev/null") == s.records_written);
}

TEST_CASE("pcap writer netns: disk full leaves a valid pcapng (small buffer, many flushes)") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  TinyTmpfs fs;
  REQUIRE(fs.ok());
  const std::string path = fs.Path("full.pcapng");
  auto w = PcapngWriter::Open(path, {.snaplen = 2048, .buffer_bytes = 16 * 1024});
  REQUIRE_MESSAGE(w.ok(), w.status().ToString());
  WriterStats s = FillUntilFull(*w, [](PcapngWriter& pw, int i) {
    return pw.Append(1'700'000'000'000'000'000 + i, StampSource::kSoftware, Frame(i));
  });
  CHECK(s.write_calls > 3);
  CHECK(FileSize(path) == s.header_bytes + s.bytes_written);
  auto ts =
      RunHost("tshark -r " + path +
              " >/dev/null 2>/tmp/rs_out_tshark_err; "
              "grep -v 'Running as user' /tmp/rs_out_tshark_err; rm -f /tmp/rs_out_tshark_err");
  CHECK_MESSAGE(ts.output.empty(), ts.output);
  CHECK(CountLines("tshark -r " + path + " 2>/dev/null") == s.records_written);
  CHECK(CountLines("tcpdump -r " + path + " -nn 2>/dev/null") == s.records_written);
}
