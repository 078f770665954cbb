// Integration: `capture -w FILE` with tcpdump's rotation flags (issue 15 point 6). Real
// frames — UDP datagrams from ns_a carrying a sequence number — rotate by size (-C 1, with
// and without a -W 3 ring) and by time (-G 1 -W 2, pcapng); every file must read cleanly
// with tcpdump -r, the sequence numbers across the files must run without a gap or a
// repeat (nothing lost or doubled at a rotation), and the ring must hold exactly its files.
// No timing assertions: the sender is paced only to spare the veth backlog, every wait is
// bounded.
#include <dirent.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "tests/support/child_process.h"
#include "tests/support/netns_test_setup.h"
#include "tests/support/netns_testbed.h"
#include "tests/support/ringstamp_cli.h"

using namespace ringstamp::testing;

namespace {

const std::string kBin = RINGSTAMP_BIN;
constexpr int kPort = 40123;

// Sends COUNT datagrams of SIZE bytes to IP:40123, each starting with its sequence number
// (8 digits), pausing 1 ms every 20; stops early once STOPFILE exists.
constexpr const char* kSender = R"(import os, socket, sys, time
ip, count, size, stop = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sent = 0
for i in range(count):
    if i % 20 == 0:
        if os.path.exists(stop):
            break
        time.sleep(0.001)
    s.sendto(b'%08d' % i + b'x' * (size - 8), (ip, 40123))
    sent += 1
print(sent)
)";

void WriteText(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// The names in `dir`, sorted ("." and ".." left out).
std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// `tcpdump -r` reads the whole file without a complaint; the sequence numbers of its
// datagrams to kPort, in file order (tshark prints the payloads as hex).
std::vector<int> ReadSequences(const Testbed& tb, const std::string& file) {
  auto td =
      tb.Run(tb.ns_b(), absl::StrCat("tcpdump -r ", file, " -nn > /dev/null 2> ", file, ".td"));
  const std::string td_err = ReadFile(file + ".td");
  std::remove((file + ".td").c_str());
  INFO(file, ": ", td_err);
  CHECK(td.exit_code == 0);
  CHECK(td_err.find("truncated") == std::string::npos);
  CHECK(td_err.find("rror") == std::string::npos);
  auto ts = tb.Run(
      tb.ns_b(), absl::StrCat("tshark -r ", file, " -d udp.port==", kPort,
                              ",data -T fields -e data.data udp.dstport==", kPort, " 2>/dev/null"));
  CHECK(ts.exit_code == 0);
  std::vector<int> seqs;
  for (absl::string_view line : absl::StrSplit(ts.output, '\n', absl::SkipEmpty())) {
    if (line.size() < 16) continue;
    std::string digits;
    for (size_t k = 0; k < 16; k += 2) {
      digits.push_back(static_cast<char>(std::stoi(std::string(line.substr(k, 2)), nullptr, 16)));
    }
    seqs.push_back(std::stoi(digits));
  }
  return seqs;
}

// The last block of a pcapng file is an Interface Statistics Block (type 5).
bool EndsWithStatistics(const std::string& file) {
  const std::string bytes = ReadFile(file);
  if (bytes.size() < 12) return false;
  uint32_t len = 0, type = 0;
  std::memcpy(&len, bytes.data() + bytes.size() - 4, 4);
  if (len < 12 || len > bytes.size()) return false;
  std::memcpy(&type, bytes.data() + bytes.size() - len, 4);
  return type == 5;
}

// The JSON summary the capture printed to `out`.
nlohmann::json Summary(const std::string& out) {
  const std::string text = ReadFile(out);
  const size_t brace = text.find('{');
  REQUIRE(brace != std::string::npos);
  return nlohmann::json::parse(text.substr(brace, text.rfind('}') - brace + 1));
}

// Sequence numbers 0..n-1 each exactly once, in order.
void CheckRunFromZero(const std::vector<int>& seqs) {
  for (size_t k = 0; k < seqs.size(); ++k) {
    if (seqs[k] != static_cast<int>(k)) {
      FAIL_CHECK("sequence ", k, " is ", seqs[k]);
      break;
    }
  }
}

struct Run {
  std::string dir, out, stop, script;
};

Run Prepare(const Testbed& tb, const std::string& what) {
  Run r;
  r.dir = absl::StrCat("/tmp/rs-rot-", what, "-", tb.suffix());
  r.out = r.dir + ".out";
  r.stop = r.dir + ".stop";
  r.script = r.dir + ".py";
  std::remove(r.stop.c_str());
  REQUIRE(tb.Run(tb.ns_b(), "mkdir -p " + r.dir).exit_code == 0);
  WriteText(r.script, kSender);
  return r;
}

}  // namespace

TEST_CASE("capture -C 1 rotates by size: every file whole, nothing lost or doubled") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  Run r = Prepare(tb, "size");
  RemoveAtEnd rm{{r.dir, r.out, r.out + ".err", r.script}};
  // ~1 KB datagrams: 2500 of them are ~2.6 MB, three files of -C 1 (1,000,000 bytes).
  pid_t cap = StartCapture(
      kBin, tb,
      absl::StrCat("--json --duration 2m -c 2500 -C1 -w ", r.dir, "/cap.pcap udp dst port ", kPort),
      r.out);
  REQUIRE(WaitForFile(r.out + ".err", "capturing on", 0, 20));
  auto send = tb.Run(
      tb.ns_a(), absl::StrCat("python3 ", r.script, " ", tb.ip4_b(), " 2500 1000 ", r.stop), 120);
  REQUIRE_MESSAGE(send.exit_code == 0, send.output);
  REQUIRE(WaitPid(cap, 60) == 0);
  INFO(ReadFile(r.out + ".err"));
  const nlohmann::json j = Summary(r.out);
  CHECK(j["kernel_drops"] == 0);
  CHECK(j["records_written"] == 2500);
  const std::vector<std::string> files = ListDir(r.dir);
  CHECK(files == std::vector<std::string>{"cap.pcap", "cap.pcap1", "cap.pcap2"});
  CHECK(j["files_opened"] == 3);
  std::vector<int> all;
  for (const char* f : {"cap.pcap", "cap.pcap1", "cap.pcap2"}) {
    const std::vector<int> seqs = ReadSequences(tb, r.dir + "/" + std::string(f));
    CHECK(!seqs.empty());
    all.insert(all.end(), seqs.begin(), seqs.end());
  }
  CHECK(all.size() == 2500);
  CheckRunFromZero(all);
}

TEST_CASE("capture -C 1 -W 3 keeps a ring of three files holding the newest frames") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  Run r = Prepare(tb, "ring");
  RemoveAtEnd rm{{r.dir, r.out, r.out + ".err", r.script}};
  // ~5.3 MB: six files' worth, so the ring of three wraps around.
  constexpr int kSent = 5000;
  pid_t cap = StartCapture(kBin, tb,
                           absl::StrCat("--json --duration 2m -c ", kSent, " -C 1 -W3 -w ", r.dir,
                                        "/cap.pcap udp dst port ", kPort),
                           r.out);
  REQUIRE(WaitForFile(r.out + ".err", "capturing on", 0, 20));
  auto send = tb.Run(
      tb.ns_a(), absl::StrCat("python3 ", r.script, " ", tb.ip4_b(), " ", kSent, " 1000 ", r.stop),
      120);
  REQUIRE_MESSAGE(send.exit_code == 0, send.output);
  REQUIRE(WaitPid(cap, 60) == 0);
  INFO(ReadFile(r.out + ".err"));
  const nlohmann::json j = Summary(r.out);
  CHECK(j["kernel_drops"] == 0);
  CHECK(j["records_written"] == kSent);
  CHECK(j["files_opened"] > 3);
  // Exactly the ring's names: zero-padded to the width of 2, no fourth file.
  CHECK(ListDir(r.dir) == std::vector<std::string>{"cap.pcap0", "cap.pcap1", "cap.pcap2"});
  // The newest files in ring order, the one written last at the end.
  const std::string last = j["workers"][0]["last_file"];
  const char last_digit = last.back();
  std::vector<std::string> order;
  for (int k = 1; k <= 3; ++k) {
    order.push_back(absl::StrCat(r.dir, "/cap.pcap", ((last_digit - '0') + k) % 3));
  }
  std::vector<int> all;
  for (const std::string& f : order) {
    const std::vector<int> seqs = ReadSequences(tb, f);
    CHECK(!seqs.empty());
    all.insert(all.end(), seqs.begin(), seqs.end());
  }
  // The frames of the three files run without a gap or a repeat up to the last one sent.
  REQUIRE(!all.empty());
  CHECK(all.back() == kSent - 1);
  for (size_t k = 1; k < all.size(); ++k) {
    if (all[k] != all[k - 1] + 1) {
      FAIL_CHECK("after ", all[k - 1], " comes ", all[k]);
      break;
    }
  }
  CHECK(all.size() < static_cast<size_t>(kSent));  // the oldest were overwritten
}

TEST_CASE("capture -G 1 -W 2 --pcapng makes two whole files and stops") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  Run r = Prepare(tb, "time");
  RemoveAtEnd rm{{r.dir, r.out, r.out + ".err", r.script, r.stop}};
  pid_t cap = StartCapture(kBin, tb,
                           absl::StrCat("--json --duration 2m --pcapng -G 1 -W 2 -w ", r.dir,
                                        "/cap-%Y%m%d-%H%M%S.pcapng udp dst port ", kPort),
                           r.out);
  REQUIRE(WaitForFile(r.out + ".err", "capturing on", 0, 20));
  // At most ~60 s of datagrams (20 every ~1 ms + send time); the capture stops after its
  // second file, then the stop file ends the sender.
  pid_t sender =
      SpawnShell(absl::StrCat("ip netns exec ", tb.ns_a(), " python3 ", r.script, " ", tb.ip4_b(),
                              " 200000 100 ", r.stop, " > ", r.dir, ".sent"));
  const int rc = WaitPid(cap, 90);
  WriteText(r.stop, "");
  CHECK(WaitPid(sender, 30) == 0);
  const int sent = std::atoi(ReadFile(r.dir + ".sent").c_str());
  std::remove((r.dir + ".sent").c_str());
  INFO(ReadFile(r.out + ".err"));
  REQUIRE(rc == 0);
  const nlohmann::json j = Summary(r.out);
  CHECK(j["file_limit_reached"] == true);
  CHECK(j["files_opened"] == 2);
  const std::vector<std::string> files = ListDir(r.dir);
  REQUIRE(files.size() == 2);
  std::vector<int> all;
  for (const std::string& f : files) {
    CHECK(f.rfind("cap-", 0) == 0);
    CHECK(f.find('%') == std::string::npos);  // the template was expanded
    CHECK(EndsWithStatistics(r.dir + "/" + f));
    const std::vector<int> seqs = ReadSequences(tb, r.dir + "/" + f);
    all.insert(all.end(), seqs.begin(), seqs.end());
  }
  // Names sort by time: the first file holds the first frames. No gap, no repeat, and the
  // capture stopped before the sender did.
  CHECK(j["records_written"] == all.size());
  CHECK(!all.empty());
  CheckRunFromZero(all);
  CHECK(static_cast<int>(all.size()) < sent);
}

TEST_CASE("capture --workers 2 -C 1 rotates each worker's own files, names per worker") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  Run r = Prepare(tb, "workers");
  RemoveAtEnd rm{{r.dir, r.out, r.out + ".err", r.script}};
  constexpr int kSent = 2500;
  pid_t cap = StartCapture(kBin, tb,
                           absl::StrCat("--json --duration 2m --workers 2 -c ", kSent, " -C 1 -w ",
                                        r.dir, "/cap.pcap udp dst port ", kPort),
                           r.out);
  REQUIRE(WaitForFile(r.out + ".err", "capturing on", 0, 20));
  auto send = tb.Run(
      tb.ns_a(), absl::StrCat("python3 ", r.script, " ", tb.ip4_b(), " ", kSent, " 1000 ", r.stop),
      120);
  REQUIRE_MESSAGE(send.exit_code == 0, send.output);
  REQUIRE(WaitPid(cap, 60) == 0);
  INFO(ReadFile(r.out + ".err"));
  const nlohmann::json j = Summary(r.out);
  CHECK(j["records_written"] == kSent);
  const std::vector<std::string> files = ListDir(r.dir);
  INFO(absl::StrJoin(files, " "));
  CHECK(static_cast<int64_t>(files.size()) == j["files_opened"].get<int64_t>());
  std::vector<int> all;
  for (int w = 0; w < 2; ++w) {
    // Each worker: cap-wN.pcap, then cap-wN.pcap1, 2, ... with no number missing.
    const std::string first = absl::StrCat("cap-w", w, ".pcap");
    const int64_t opened = j["workers"][w]["files_opened"];
    REQUIRE(opened >= 1);
    std::vector<std::string> mine;
    for (int64_t k = 0; k < opened; ++k) {
      mine.push_back(k == 0 ? first : absl::StrCat(first, k));
      CHECK(std::find(files.begin(), files.end(), mine.back()) != files.end());
    }
    std::vector<int> seqs_of_worker;
    for (const std::string& f : mine) {
      const std::vector<int> seqs = ReadSequences(tb, r.dir + "/" + f);
      seqs_of_worker.insert(seqs_of_worker.end(), seqs.begin(), seqs.end());
    }
    // A worker's frames are in order across its files.
    CHECK(std::is_sorted(seqs_of_worker.begin(), seqs_of_worker.end()));
    all.insert(all.end(), seqs_of_worker.begin(), seqs_of_worker.end());
  }
  std::sort(all.begin(), all.end());
  CHECK(all.size() == static_cast<size_t>(kSent));
  CheckRunFromZero(all);
}

TEST_CASE("capture -Z nobody -C 1 -W 2 opens every file as nobody and reuses the ring") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  if (RunHost("id -u nobody").exit_code != 0) return SkipTest("tool", "no user 'nobody' here");
  Run r = Prepare(tb, "z");
  RemoveAtEnd rm{{r.dir, r.out, r.out + ".err", r.script}};
  REQUIRE(RunHost("chmod 0777 " + r.dir).exit_code == 0);
  constexpr int kSent = 3500;  // ~3.7 MB: the ring of two wraps
  pid_t cap = StartCapture(kBin, tb,
                           absl::StrCat("--json -Z nobody --duration 2m -c ", kSent,
                                        " -C 1 -W 2 -w ", r.dir, "/cap.pcap udp dst port ", kPort),
                           r.out);
  REQUIRE(WaitForFile(r.out + ".err", "capturing on", 0, 20));
  auto send = tb.Run(
      tb.ns_a(), absl::StrCat("python3 ", r.script, " ", tb.ip4_b(), " ", kSent, " 1000 ", r.stop),
      120);
  REQUIRE_MESSAGE(send.exit_code == 0, send.output);
  REQUIRE(WaitPid(cap, 60) == 0);
  INFO(ReadFile(r.out + ".err"));
  const nlohmann::json j = Summary(r.out);
  CHECK(j["records_written"] == kSent);
  CHECK(j["files_opened"] > 2);  // FILE0 and FILE1 were each opened again
  CHECK(ListDir(r.dir) == std::vector<std::string>{"cap.pcap0", "cap.pcap1"});
  auto owners = RunHost(absl::StrCat("stat -c %U ", r.dir, "/cap.pcap0 ", r.dir, "/cap.pcap1"));
  CHECK(owners.output == "nobody\nnobody\n");
  for (const char* f : {"cap.pcap0", "cap.pcap1"}) {
    CHECK(!ReadSequences(tb, r.dir + "/" + std::string(f)).empty());
  }

  // A directory nobody may not write to: refused at start, naming the user; no file made.
  const std::string closed = r.dir + "-closed";
  RemoveAtEnd rm_closed{{closed}};
  REQUIRE(RunHost("mkdir -m 0755 " + closed).exit_code == 0);
  auto bad = tb.Run(tb.ns_b(),
                    absl::StrCat(kBin, " capture -i ", tb.if_b(),
                                 " -Z nobody -C 1 --duration 5 -w ", closed, "/cap.pcap 2>&1"),
                    30);
  INFO(bad.output);
  CHECK(bad.exit_code == 1);
  CHECK(bad.output.find("writable by that user") != std::string::npos);
  CHECK(ListDir(closed).empty());
}

TEST_CASE("capture -C does not follow a symlink planted where a rotated file goes") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  if (RunHost("id -u nobody").exit_code != 0) return SkipTest("tool", "no user 'nobody' here");
  Run r = Prepare(tb, "link");
  const std::string victim = r.dir + ".victim";
  RemoveAtEnd rm{{r.dir, r.out, r.out + ".err", r.script, victim}};
  REQUIRE(RunHost("chmod 1777 " + r.dir + " && printf keep > " + victim + " && ln -s " + victim +
                  " " + r.dir + "/cap.pcap1 && chown -h nobody " + r.dir + "/cap.pcap1")
              .exit_code == 0);
  pid_t cap = StartCapture(kBin, tb,
                           absl::StrCat("--json --duration 2m -c 1500 -C 1 -w ", r.dir,
                                        "/cap.pcap udp dst port ", kPort),
                           r.out);
  REQUIRE(WaitForFile(r.out + ".err", "capturing on", 0, 20));
  auto send = tb.Run(
      tb.ns_a(), absl::StrCat("python3 ", r.script, " ", tb.ip4_b(), " 1500 1000 ", r.stop), 120);
  REQUIRE_MESSAGE(send.exit_code == 0, send.output);
  const int rc = WaitPid(cap, 60);
  const std::string err = ReadFile(r.out + ".err");
  INFO(err);
  CHECK(rc == 1);
  CHECK(err.find("rotating to the next file") != std::string::npos);
  CHECK(err.find("symbolic link in a shared directory") != std::string::npos);
  CHECK(ReadFile(victim) == "keep");
  // The file before the link is whole.
  CHECK(!ReadSequences(tb, r.dir + "/cap.pcap").empty());
}

TEST_CASE("capture rotation flags: bad values exit 2 naming the flag, before any file") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  Run r = Prepare(tb, "usage");
  RemoveAtEnd rm{{r.dir, r.script}};
  const std::string file = r.dir + "/cap.pcap";
  struct Row {
    std::string args, needle;
  };
  const std::vector<Row> rows = {
      {"-w - -C 1", "stdout"},
      {"-w - -G 5 -W 2", "stdout"},
      {"-w " + file + " -W 3", "-W limits"},
      {"-C 1", "-w FILE"},
      {"-w " + file + " -C 0", "-C 0"},
      {"-w " + file + " -C -1", "-C -1"},
      {"-w " + file + " -C 99999999999", "-C 99999999999"},
      {"-w " + file + " -C1 -W0", "-W 0"},
      {"-w " + file + " -G 0", "-G 0"},
      {"-w " + file + " -G 40000000", "-G 40000000"},
      {"-w " + file + " -G1 -W-2", "-W -2"},
      {"-w " + file + " -C 1.5", "-C"},
      {"-w " + file + " -G 1s", "-G"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.args);
    auto res = tb.Run(tb.ns_b(),
                      absl::StrCat(kBin, " capture -i ", tb.if_b(), " ", row.args,
                                   " --duration 5 2>&1 > /dev/null"),
                      30);
    INFO(res.output);
    CHECK(res.exit_code == 2);
    CHECK(res.output.find(row.needle) != std::string::npos);
    CHECK(ListDir(r.dir).empty());
  }
}
