// Integration: the Interface Statistics Block of `ringstamp capture --pcapng`
// holds the counters the capture printed (gen → capture across the veth pair,
// -c and SIGINT endings); capinfos, tshark and tcpdump read the files; on a
// full 64 KiB tmpfs the file ends with whole blocks, the ISB in or out whole.

#include <doctest/doctest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "apps/pcap_writer.h"
#include "ringstamp/common/clock.h"
#include "tests/support/child_process.h"
#include "tests/support/netns_test_setup.h"
#include "tests/support/netns_testbed.h"
#include "tests/support/ringstamp_cli.h"

using namespace ringstamp;
using namespace ringstamp::app;
using namespace ringstamp::testing;

namespace {

const std::string kBin = RINGSTAMP_BIN;

std::vector<std::byte> ReadBytes(const std::string& path) {
  const std::string s = ReadFile(path);
  std::vector<std::byte> b(s.size());
  std::memcpy(b.data(), s.data(), s.size());
  return b;
}

uint32_t U32(const std::vector<std::byte>& b, size_t at) {
  uint32_t v = 0;
  if (at + 4 <= b.size()) std::memcpy(&v, b.data() + at, 4);
  return v;
}

struct FileBlocks {
  bool tiled = false;  // the blocks cover the file exactly, both lengths agree
  int packets = 0;     // EPBs
  int isbs = 0;
  bool isb_last = false;
  std::map<uint16_t, uint64_t> isb;  // the last ISB's 8-byte options (counters raw, stamps hi/lo)
};

// Walks a pcapng file written in host byte order.
FileBlocks Walk(const std::vector<std::byte>& f) {
  FileBlocks r;
  size_t at = 0;
  uint32_t last_type = 0;
  while (at + 12 <= f.size()) {
    const uint32_t type = U32(f, at), len = U32(f, at + 4);
    if (len < 12 || len % 4 != 0 || at + len > f.size() || U32(f, at + len - 4) != len) return r;
    if (type == 6) ++r.packets;
    if (type == 5) {
      ++r.isbs;
      r.isb.clear();
      for (size_t o = at + 20; o + 4 <= at + len - 4;) {
        uint16_t code, olen;
        std::memcpy(&code, f.data() + o, 2);
        std::memcpy(&olen, f.data() + o + 2, 2);
        if (code == 0) break;
        if (olen == 8) {
          uint64_t v;
          std::memcpy(&v, f.data() + o + 4, 8);
          if (code == 2 || code == 3) v = (v << 32) | (v >> 32);  // high word first
          r.isb[code] = v;
        }
        o += 4 + ((olen + 3u) & ~3u);
      }
    }
    last_type = type;
    at += len;
  }
  r.tiled = at == f.size();
  r.isb_last = last_type == 5;
  return r;
}

int CapinfosStatEntries(const std::string& path) {
  auto r = RunHost("capinfos " + path + " 2>&1 | sed -n 's/.*Number of stat entries = //p'");
  return r.output.empty() ? -1 : std::stoi(r.output);
}

int TsharkPackets(const std::string& path) {
  auto r = RunHost("tshark -r " + path + " 2>/dev/null | wc -l");
  return std::stoi(r.output);
}

int TcpdumpPackets(const std::string& path) {
  auto r = RunHost("tcpdump -nn -r " + path + " 2>/dev/null | grep -c '^[0-9]'");
  return std::stoi(r.output);
}

uint64_t FileSize(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

}  // namespace

TEST_CASE("capture stats: pcapng ends with an ISB holding the counters the capture printed") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  const std::string file = absl::StrCat("/tmp/rs-capstats-", tb.suffix(), ".pcapng");
  const std::string json = file + ".json";
  constexpr int kFrames = 2000;
  const int64_t before_ns = RealtimeNs();
  pid_t cap = StartCapture(
      kBin, tb,
      absl::StrCat("-w ", file, " --pcapng --json --filter udp -c ", kFrames, " --duration 30"),
      json);
  REQUIRE(WaitForFile(json + ".err", "capturing on", 0, 20));
  auto gen = tb.Run(tb.ns_a(),
                    GenCommand(kBin, tb, absl::StrCat("--count ", kFrames, " --rate 20000")), 60);
  REQUIRE_MESSAGE(gen.exit_code == 0, gen.output);
  REQUIRE(WaitPid(cap, 30) == 0);
  const int64_t after_ns = RealtimeNs();
  INFO(ReadFile(json), ReadFile(json + ".err"));
  auto cj = nlohmann::json::parse(ReadFile(json));
  CHECK(cj["packets"] == kFrames);
  CHECK(cj["workers"][0]["statistics_blocks"] == 1);

  const FileBlocks fb = Walk(ReadBytes(file));
  CHECK(fb.tiled);
  CHECK(fb.packets == kFrames);
  CHECK(fb.isbs == 1);
  CHECK(fb.isb_last);
  REQUIRE(fb.isb.count(2) == 1);
  REQUIRE(fb.isb.count(3) == 1);
  CHECK(static_cast<int64_t>(fb.isb.at(2)) >= before_ns);
  CHECK(fb.isb.at(2) <= fb.isb.at(3));
  CHECK(static_cast<int64_t>(fb.isb.at(3)) <= after_ns);
  CHECK(fb.isb.at(4) == cj["kernel_packets"].get<uint64_t>());  // ifrecv: tp_packets
  CHECK(fb.isb.at(4) >= static_cast<uint64_t>(kFrames));
  CHECK(fb.isb.at(5) == cj["kernel_drops"].get<uint64_t>());  // ifdrop: tp_drops
  CHECK(fb.isb.at(6) == fb.isb.at(4));                        // filteraccept: --filter given
  CHECK(fb.isb.at(7) == 0);                                   // osdrop: the file took all
  CHECK(fb.isb.at(8) >= static_cast<uint64_t>(kFrames));      // usrdeliv: the ring's frames

  CHECK(CapinfosStatEntries(file) == 1);
  CHECK(TsharkPackets(file) == kFrames);
  CHECK(TcpdumpPackets(file) == kFrames);
  std::remove(file.c_str());
  std::remove(json.c_str());
  std::remove((json + ".err").c_str());
}

TEST_CASE("capture stats: SIGINT still ends the pcapng with the ISB") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  const std::string file = absl::StrCat("/tmp/rs-capstats-int-", tb.suffix(), ".pcapng");
  const std::string json = file + ".json";
  pid_t cap =
      StartCapture(kBin, tb, absl::StrCat("-w ", file, " --pcapng --json --filter udp"), json);
  REQUIRE(WaitForFile(json + ".err", "capturing on", 0, 20));
  std::thread gen(
      [&] { tb.Run(tb.ns_a(), GenCommand(kBin, tb, "--duration 5 --rate 50000"), 60); });
  CHECK(WaitForFile(file, "", 4096, 20));  // records reached the file (1 MiB flushes)
  kill(cap, SIGINT);
  const int rc = WaitPid(cap, 20);
  gen.join();
  CHECK(rc == 0);
  INFO(ReadFile(json), ReadFile(json + ".err"));
  auto cj = nlohmann::json::parse(ReadFile(json));
  const FileBlocks fb = Walk(ReadBytes(file));
  CHECK(fb.tiled);
  CHECK(fb.isbs == 1);
  CHECK(fb.isb_last);
  CHECK(fb.packets == cj["records_written"].get<int>());
  REQUIRE(fb.isb.count(4) == 1);
  REQUIRE(fb.isb.count(8) == 1);
  CHECK(fb.isb.at(4) == cj["kernel_packets"].get<uint64_t>());
  CHECK(fb.isb.at(8) >= static_cast<uint64_t>(fb.packets));
  CHECK(CapinfosStatEntries(file) == 1);
  CHECK(TsharkPackets(file) == fb.packets);
  std::remove(file.c_str());
  std::remove(json.c_str());
  std::remove((json + ".err").c_str());
}

TEST_CASE("capture stats: disk full: the ISB is in whole or not at all, readers read the file") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  char tmpl[] = "/tmp/rs_capstats_full_XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  const std::string dir = tmpl;
  REQUIRE(mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=64k") == 0);
  // Frame sizes that leave different room at the end of the last page: the
  // block fits in some runs and not in others; both must leave a valid file.
  int kept = 0, cut = 0;
  for (int size : {60, 200, 700, 1400}) {
    CAPTURE(size);
    const std::string path = absl::StrCat(dir, "/full-", size, ".pcapng");
    {
      auto w = PcapngWriter::Open(path, {.snaplen = 2048, .buffer_bytes = 16 * 1024});
      REQUIRE_MESSAGE(w.ok(), w.status().ToString());
      std::vector<std::byte> frame(static_cast<size_t>(size), std::byte{0x5a});
      const uint8_t eth[14] = {0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x88, 0xb5};
      std::memcpy(frame.data(), eth, sizeof(eth));
      int appended = 0;
      for (int i = 0;
           i < 20000 && w->Append(1'700'000'000'000'000'000 + i, StampSource::kSoftware, frame);
           ++i) {
        ++appended;
      }
      (void)w->Flush();
      REQUIRE_FALSE(w->status().ok());
      const absl::Status st = w->WriteStatistics({.start_ns = 1'700'000'000'000'000'000,
                                                  .end_ns = 1'700'000'001'000'000'000,
                                                  .if_recv = static_cast<uint64_t>(appended) + 1,
                                                  .os_drop = w->stats().records_dropped,
                                                  .comment = "disk full test"});
      MESSAGE(st.ToString());
      (void)w->Close();
      const WriterStats& s = w->stats();
      CHECK(s.trailer_blocks == (st.ok() ? 1u : 0u));
      CHECK(FileSize(path) == s.header_bytes + s.bytes_written + s.trailer_bytes);
      st.ok() ? ++kept : ++cut;
      const FileBlocks fb = Walk(ReadBytes(path));
      CHECK(fb.tiled);
      CHECK(fb.packets == static_cast<int>(s.records_written));
      CHECK(fb.isbs == static_cast<int>(s.trailer_blocks));
      if (st.ok()) CHECK(fb.isb.at(7) == s.records_dropped);
      CHECK(CapinfosStatEntries(path) == static_cast<int>(s.trailer_blocks));
      CHECK(TsharkPackets(path) == static_cast<int>(s.records_written));
      CHECK(TcpdumpPackets(path) == static_cast<int>(s.records_written));
    }
    std::remove(path.c_str());
  }
  MESSAGE("ISB kept in ", kept, " runs, cut off in ", cut);
  umount2(dir.c_str(), MNT_DETACH);
  rmdir(dir.c_str());
}
