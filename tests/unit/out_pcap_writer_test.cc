// PcapWriter / PcapngWriter: files read back by tcpdump and tshark, byte
// equality with libpcap's pcap_dump, short writes and EINTR on a slow pipe,
// EAGAIN on a non-blocking pipe, EPIPE, bad options.
//
// apps/ is not a library: the writer's source is compiled into this test.

#include <doctest/doctest.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <sys/time.h>
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "apps/pcap_writer.h"
#include "ringstamp/common/clock.h"
#include "ringstamp/common/errno_status.h"
#include "tests/support/test_skip.h"

#include <atomic>
#include <cstdio>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "tests/support/netns_testbed.h"

using namespace ringstamp;
using namespace ringstamp::app;
using ringstamp::testing::RunHost;
using ringstamp::testing::SkipTest;

namespace {

constexpr int64_t kBaseNs = 1'700'000'000'000'001'234;

// Ethernet + IPv4 + UDP 10.0.0.1:1000+i → 10.0.0.2:2000 with `payload` bytes. Built byte by
// byte: GCC 12 at -O3 reports a false -Warray-bounds for vector::insert of a byte range here.
std::vector<std::byte> UdpFrame(int i, size_t payload) {
  std::vector<std::byte> out;
  out.reserve(42 + payload);
  auto put = [&out](std::initializer_list<uint8_t> bytes) {
    for (uint8_t b : bytes) out.push_back(std::byte{b});
  };
  put({0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00});
  const uint16_t ip_len = static_cast<uint16_t>(20 + 8 + payload);
  uint8_t ip[20] = {0x45,
                    0,
                    uint8_t(ip_len >> 8),
                    uint8_t(ip_len),
                    0,
                    0,
                    0x40,
                    0,
                    64,
                    17,
                    0,
                    0,
                    10,
                    0,
                    0,
                    1,
                    10,
                    0,
                    0,
                    2};
  uint32_t sum = 0;
  for (int k = 0; k < 20; k += 2) sum += (ip[k] << 8) | ip[k + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  ip[10] = uint8_t(~sum >> 8);
  ip[11] = uint8_t(~sum);
  for (uint8_t b : ip) out.push_back(std::byte{b});
  const uint16_t sport = static_cast<uint16_t>(1000 + i);
  const uint16_t udp_len = static_cast<uint16_t>(8 + payload);
  put({uint8_t(sport >> 8), uint8_t(sport), 0x07, 0xd0, uint8_t(udp_len >> 8), uint8_t(udp_len), 0,
       0});
  for (size_t k = 0; k < payload; ++k) out.push_back(static_cast<std::byte>(k));
  return out;
}

size_t PayloadFor(int i) { return 18 + (i * 37) % 1400; }

std::string TempPath(const std::string& name) {
  return "/tmp/rs_out_" + std::to_string(getpid()) + "_" + name;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    out.emplace_back(line.data(), line.size());
  }
  return out;
}

bool HaveTool(const char* tool) {
  return RunHost(std::string("command -v ") + tool + " >/dev/null").exit_code == 0;
}

struct FileRemover {
  std::string path;
  ~FileRemover() { unlink(path.c_str()); }
};

}  // namespace

TEST_CASE("pcap writer: tcpdump and tshark read back every record with nanosecond stamps") {
  const std::string path = TempPath("read_back.pcap");
  FileRemover rm{path};
  constexpr int kFrames = 500;
  {
    auto w = PcapWriter::Open(path, {.snaplen = 2048, .buffer_bytes = 64 * 1024});
    REQUIRE_MESSAGE(w.ok(), w.status().ToString());
    for (int i = 0; i < kFrames; ++i) {
      REQUIRE(w->Append(kBaseNs + i * 1'000'001LL, UdpFrame(i, PayloadFor(i))));
    }
    CHECK(w->Close().ok());
    CHECK(w->stats().records_written == kFrames);
    CHECK(w->stats().records_dropped == 0);
    CHECK(w->stats().write_calls > 1);  // the 64 KiB buffer filled several times
    CHECK(ReadFile(path).size() == w->stats().header_bytes + w->stats().bytes_written);
  }
  if (!HaveTool("tcpdump") || !HaveTool("tshark")) {
    return SkipTest("tool", "tcpdump or tshark not installed (apt-get install tcpdump tshark)");
  }
  auto td = RunHost("tcpdump -r " + path + " -nn --nano -tt 2>/dev/null");
  REQUIRE(td.exit_code == 0);
  auto lines = Lines(td.output);
  REQUIRE(lines.size() == kFrames);
  CHECK_MESSAGE(
      lines[0].rfind("1700000000.000001234 IP 10.0.0.1.1000 > 10.0.0.2.2000: UDP", 0) == 0,
      lines[0]);
  CHECK_MESSAGE(lines[499].rfind("1700000000.499001733 IP 10.0.0.1.1499 > 10.0.0.2.2000", 0) == 0,
                lines[499]);

  auto ts = RunHost("tshark -r " + path +
                    " -T fields -e frame.time_epoch -e frame.len -e frame.cap_len -e udp.srcport"
                    " 2>/dev/null");
  REQUIRE(ts.exit_code == 0);
  auto rows = Lines(ts.output);
  REQUIRE(rows.size() == kFrames);
  for (int i : {0, 1, 250, 499}) {
    const size_t len = 14 + 20 + 8 + PayloadFor(i);
    const std::string expect =
        absl::StrFormat("1700000000.%09d\t%u\t%u\t%d", 1234 + i * 1'000'001, len, len, 1000 + i);
    CHECK_MESSAGE(rows[i] == expect, rows[i], " vs ", expect);
  }
}

TEST_CASE("pcap writer: output is byte-identical to libpcap's pcap_dump (nanosecond)") {
  const std::string ours = TempPath("ours.pcap");
  const std::string theirs = TempPath("theirs.pcap");
  FileRemover rm1{ours}, rm2{theirs};
  constexpr uint32_t kSnap = 200;  // cuts the longer frames
  auto w = PcapWriter::Open(ours, {.snaplen = kSnap, .buffer_bytes = 8192});
  REQUIRE(w.ok());
  pcap_t* dead =
      pcap_open_dead_with_tstamp_precision(DLT_EN10MB, kSnap, PCAP_TSTAMP_PRECISION_NANO);
  REQUIRE(dead != nullptr);
  pcap_dumper_t* dumper = pcap_dump_open(dead, theirs.c_str());
  REQUIRE(dumper != nullptr);
  for (int i = 0; i < 300; ++i) {
    auto frame = UdpFrame(i, PayloadFor(i));
    const int64_t ns = kBaseNs + i * 999'999'937LL;
    w->Append(ns, frame);
    pcap_pkthdr h{};
    h.ts.tv_sec = ns / kNsPerSec;
    h.ts.tv_usec = ns % kNsPerSec;  // nanoseconds on a nano-precision handle
    h.caplen = std::min<uint32_t>(frame.size(), kSnap);
    h.len = frame.size();
    pcap_dump(reinterpret_cast<u_char*>(dumper), &h, reinterpret_cast<const u_char*>(frame.data()));
  }
  pcap_dump_close(dumper);
  pcap_close(dead);
  REQUIRE(w->Close().ok());
  CHECK(w->stats().frames_truncated > 0);
  const std::string a = ReadFile(ours), b = ReadFile(theirs);
  CHECK(a.size() == b.size());
  CHECK(a == b);
}

TEST_CASE("pcap writer: AppendGather re-inserts a VLAN tag without a copy") {
  const std::string path = TempPath("gather.pcap");
  FileRemover rm{path};
  auto w = PcapWriter::Open(path);
  REQUIRE(w.ok());
  auto frame = UdpFrame(7, 64);
  const std::byte tag[4] = {std::byte{0x81}, std::byte{0x00}, std::byte{0x00}, std::byte{42}};
  const std::span<const std::byte> parts[3] = {std::span(frame).first(12), std::span(tag),
                                               std::span(frame).subspan(12)};
  REQUIRE(w->AppendGather(kBaseNs, parts));
  REQUIRE(w->Close().ok());
  CHECK(w->stats().bytes_written == PcapWriter::kRecordHeaderBytes + frame.size() + 4);
  if (!HaveTool("tshark")) return;
  auto ts = RunHost("tshark -r " + path + " -T fields -e vlan.id -e udp.srcport 2>/dev/null");
  CHECK(ts.output == "42\t1007\n");
}

TEST_CASE("pcap writer: stamps outside the format are clamped and counted") {
  const std::string path = TempPath("clamp.pcap");
  FileRemover rm{path};
  auto w = PcapWriter::Open(path);
  REQUIRE(w.ok());
  auto frame = UdpFrame(1, 10);
  w->Append(-5, frame);
  w->Append(INT64_MAX, frame);
  w->Append(kBaseNs, frame);
  REQUIRE(w->Close().ok());
  CHECK(w->stats().stamps_clamped == 2);
  CHECK(w->stats().records_written == 3);
  // Record headers: (sec, nsec) of each record, read straight from the file.
  const std::string bytes = ReadFile(path);
  const size_t rec = PcapWriter::kRecordHeaderBytes + frame.size();
  REQUIRE(bytes.size() == PcapWriter::kFileHeaderBytes + 3 * rec);
  auto stamp_at = [&](int k) {
    uint32_t sec, nsec;
    std::memcpy(&sec, bytes.data() + PcapWriter::kFileHeaderBytes + k * rec, 4);
    std::memcpy(&nsec, bytes.data() + PcapWriter::kFileHeaderBytes + k * rec + 4, 4);
    return std::pair<uint32_t, uint32_t>(sec, nsec);
  };
  CHECK(stamp_at(0) == std::pair<uint32_t, uint32_t>(0, 0));
  CHECK(stamp_at(1) == std::pair<uint32_t, uint32_t>(UINT32_MAX, 999'999'999));
  CHECK(stamp_at(2) == std::pair<uint32_t, uint32_t>(1'700'000'000, 1234));
}

TEST_CASE("pcap writer: bad options and paths give clear errors") {
  auto s0 = PcapWriter::Open(TempPath("x.pcap"), {.snaplen = 0});
  REQUIRE_FALSE(s0.ok());
  CHECK(std::string(s0.status().message()).find("snaplen 0") != std::string::npos);
  auto small = PcapWriter::Open(TempPath("y.pcap"), {.snaplen = 65535, .buffer_bytes = 4096});
  REQUIRE_FALSE(small.ok());
  CHECK(std::string(small.status().message()).find("too small") != std::string::npos);
  CHECK(access(TempPath("y.pcap").c_str(), F_OK) != 0);  // refused before the file was made
  auto nodir = PcapWriter::Open("/nonexistent-rs-dir/z.pcap");
  REQUIRE_FALSE(nodir.ok());
  const std::string msg(nodir.status().message());
  CHECK_MESSAGE(msg.find("/nonexistent-rs-dir/z.pcap: open for writing") != std::string::npos, msg);
  CHECK_MESSAGE(msg.find("ENOENT") != std::string::npos, msg);
  CHECK_FALSE(PcapWriter::OpenFd(-1, "nothing").ok());
}

namespace {

std::atomic<int> g_alarms{0};
void OnAlarm(int) { g_alarms.fetch_add(1, std::memory_order_relaxed); }

// Writes the same records to a file and to a pipe that a slow reader drains
// while SIGALRM (no SA_RESTART) interrupts write(2); the bytes must match.
void PipeRoundTrip(bool nonblocking) {
  const std::string path = TempPath(nonblocking ? "pipe_nb_ref.pcap" : "pipe_ref.pcap");
  FileRemover rm{path};
  constexpr int kFrames = 3000;
  {
    auto ref = PcapWriter::Open(path);
    REQUIRE(ref.ok());
    for (int i = 0; i < kFrames; ++i) ref->Append(kBaseNs + i, UdpFrame(i, PayloadFor(i)));
    REQUIRE(ref->Close().ok());
  }
  int p[2];
  REQUIRE(pipe2(p, O_CLOEXEC | (nonblocking ? O_NONBLOCK : 0)) == 0);
  std::string got;
  std::thread reader([&] {
    int rfd = p[0];
    if (nonblocking) fcntl(rfd, F_SETFL, 0);  // the reader blocks; only the writer is O_NONBLOCK
    char buf[3000];
    for (int reads = 0; reads < 1'000'000; ++reads) {
      const ssize_t n = read(rfd, buf, sizeof(buf));
      if (n > 0) {
        got.append(buf, static_cast<size_t>(n));
        if (reads % 64 == 0) usleep(200);  // slow: the writer fills the pipe
      } else if (n == 0 || errno != EINTR) {
        break;
      }
    }
  });
  struct sigaction sa {
  }, old_sa{};
  sa.sa_handler = OnAlarm;  // no SA_RESTART: blocked writes return EINTR or short
  sigemptyset(&sa.sa_mask);
  REQUIRE(sigaction(SIGALRM, &sa, &old_sa) == 0);
  itimerval timer{{0, 300}, {0, 300}}, off{};
  g_alarms = 0;
  setitimer(ITIMER_REAL, &timer, nullptr);
  WriterStats stats;
  {
    auto w = PcapWriter::OpenFd(p[1], "pipe", {.snaplen = 262144, .buffer_bytes = 1 << 20});
    REQUIRE(w.ok());
    for (int i = 0; i < kFrames; ++i) REQUIRE(w->Append(kBaseNs + i, UdpFrame(i, PayloadFor(i))));
    CHECK(w->Close().ok());
    stats = w->stats();
  }
  setitimer(ITIMER_REAL, &off, nullptr);
  sigaction(SIGALRM, &old_sa, nullptr);
  close(p[1]);
  reader.join();
  close(p[0]);
  MESSAGE("alarms: ", g_alarms.load(), ", write calls: ", stats.write_calls);
  CHECK(stats.records_written == kFrames);
  CHECK(stats.write_calls > 3);  // ~2.3 MB through a 64 KiB pipe: many partial writes
  const std::string want = ReadFile(path);
  CHECK(got.size() == want.size());
  CHECK(got == want);
}

}  // namespace

TEST_CASE("pcap writer: short writes and EINTR on a slow pipe lose and tear nothing") {
  PipeRoundTrip(/*nonblocking=*/false);
}

TEST_CASE("pcap writer: a non-blocking pipe (EAGAIN) is waited out with poll") {
  PipeRoundTrip(/*nonblocking=*/true);
}

TEST_CASE("pcap writer: EPIPE stops the writer, reports it and counts the drops") {
  int p[2];
  REQUIRE(pipe2(p, O_CLOEXEC) == 0);
  close(p[0]);
  struct sigaction ign {
  }, old{};
  ign.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ign, &old);
  auto w = PcapWriter::OpenFd(p[1], "pipe", {.snaplen = 1500, .buffer_bytes = 8192});
  sigaction(SIGPIPE, &old, nullptr);
  close(p[1]);
  // The 24-byte header is written at open: a pipe with no reader fails there.
  REQUIRE_FALSE(w.ok());
  const std::string msg(w.status().message());
  CHECK_MESSAGE(msg.find("pipe: writing the file header") != std::string::npos, msg);
  CHECK_MESSAGE(msg.find("Broken pipe") != std::string::npos, msg);
}

TEST_CASE("pcap writer: a reader that leaves mid-stream: error, drops counted, no more writes") {
  int p[2];
  REQUIRE(pipe2(p, O_CLOEXEC) == 0);
  struct sigaction ign {
  }, old{};
  ign.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ign, &old);
  auto w = PcapWriter::OpenFd(p[1], "pipe", {.snaplen = 1500, .buffer_bytes = 8192});
  REQUIRE(w.ok());
  char header[24];
  REQUIRE(read(p[0], header, sizeof(header)) == 24);
  close(p[0]);
  int appended = 0;
  for (int i = 0; i < 100; ++i) appended += w->Append(kBaseNs + i, UdpFrame(i, 200)) ? 1 : 0;
  const absl::Status st = w->Close();
  sigaction(SIGPIPE, &old, nullptr);
  close(p[1]);
  REQUIRE_FALSE(st.ok());
  CHECK(std::string(st.message()).find("reader of the pipe went away") != std::string::npos);
  CHECK(w->stats().records_written == 0);
  CHECK(w->stats().records_dropped == 100);
  CHECK(appended < 100);               // appends after the failed flush were refused
  CHECK(w->stats().write_calls == 2);  // the header, then one failed flush
}

TEST_CASE("pcapng writer: tshark shows the stamp source and direction of every packet") {
  const std::string path = TempPath("sources.pcapng");
  FileRemover rm{path};
  const StampSource sources[3] = {StampSource::kHardwareRaw, StampSource::kSoftware,
                                  StampSource::kUserspace};
  constexpr int kFrames = 300;
  {
    auto w = PcapngWriter::Open(
        path, {.snaplen = 2048, .buffer_bytes = 32 * 1024, .interface_name = "veth-x"});
    REQUIRE_MESSAGE(w.ok(), w.status().ToString());
    for (int i = 0; i < kFrames; ++i) {
      const PacketDirection dir = i % 2 ? PacketDirection::kOutbound : PacketDirection::kInbound;
      REQUIRE(w->Append(kBaseNs + i * 1001LL, sources[i % 3], UdpFrame(i, PayloadFor(i)), 0,
                        i == 0 ? PacketDirection::kUnknown : dir));
    }
    REQUIRE(w->Close().ok());
    CHECK(w->stats().records_written == kFrames);
    CHECK(ReadFile(path).size() == w->stats().header_bytes + w->stats().bytes_written);
  }
  if (!HaveTool("tshark") || !HaveTool("tcpdump")) {
    return SkipTest("tool", "tcpdump or tshark not installed (apt-get install tcpdump tshark)");
  }
  auto ts = RunHost("tshark -r " + path +
                    " -T fields -e frame.time_epoch -e frame.comment -e frame.len"
                    " -e frame.interface_name -e udp.srcport 2>/dev/null");
  REQUIRE_MESSAGE(ts.exit_code == 0, ts.output);
  auto rows = Lines(ts.output);
  REQUIRE(rows.size() == kFrames);
  for (int i : {0, 1, 2, 299}) {
    const std::string expect = absl::StrFormat(
        "1700000000.%09d\tts=%s\t%u\tveth-x\t%d", 1234 + i * 1001,
        std::string(StampSourceName(sources[i % 3])), 14 + 20 + 8 + PayloadFor(i), 1000 + i);
    CHECK_MESSAGE(rows[i] == expect, rows[i], " vs ", expect);
  }
  auto dir =
      RunHost("tshark -r " + path +
              " -Y 'frame.number <= 3' -T fields -e frame.packet_flags_direction 2>/dev/null");
  CHECK_MESSAGE(dir.output == "\n0x00000002\n0x00000001\n", dir.output);
  auto td = RunHost("tcpdump -r " + path + " -nn --nano -tt 2>/dev/null | wc -l");
  CHECK(td.output == "300\n");
}

TEST_CASE("pcap writer: a pipe into 'tshark -r -' reads every record (the -w - path)") {
  if (!HaveTool("tshark")) {
    return SkipTest("tool", "tshark not installed (apt-get install tshark)");
  }
  const std::string out = TempPath("tshark_pipe.txt");
  FileRemover rm{out};
  FILE* tshark =
      popen(("tshark -r - -T fields -e udp.srcport > " + out + " 2>/dev/null").c_str(), "w");
  REQUIRE(tshark != nullptr);
  {
    auto w = PcapWriter::OpenFd(fileno(tshark), "tshark", {.snaplen = 2048, .buffer_bytes = 8192});
    REQUIRE(w.ok());
    for (int i = 0; i < 200; ++i) REQUIRE(w->Append(kBaseNs + i, UdpFrame(i, PayloadFor(i))));
    CHECK(w->Close().ok());
  }
  CHECK(pclose(tshark) == 0);
  auto rows = Lines(ReadFile(out));
  REQUIRE(rows.size() == 200);
  CHECK(rows[0] == "1000");
  CHECK(rows[199] == "1199");
}
