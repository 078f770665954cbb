// Integration: capture's output fails, the capture stops. A disk that fills ends
// the capture with a message naming the file and the errno, and the file keeps
// only whole records (tcpdump reads every one); a pipe whose reader went away
// ends it promptly with a non-zero status instead of a silent SIGPIPE or a
// capture that runs on.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/str_cat.h"
#include "tests/support/child_process.h"
#include "tests/support/netns_test_setup.h"
#include "tests/support/netns_testbed.h"
#include "tests/support/ringstamp_cli.h"

using namespace ringstamp::testing;

namespace {

const std::string kBin = RINGSTAMP_BIN;

bool Has(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

int CountLines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// A directory with a small tmpfs mounted on it; unmounted and removed on destruction.
struct SmallTmpfs {
  explicit SmallTmpfs(const std::string& p) : path(p) {
    RunHost("mkdir -p " + ShellQuote(path));
    mounted = RunHost("mount -t tmpfs -o size=256k rs-full " + ShellQuote(path)).exit_code == 0;
  }
  ~SmallTmpfs() {
    if (mounted) RunHost("umount " + ShellQuote(path));
    RunHost("rmdir " + ShellQuote(path));
  }
  std::string path;
  bool mounted = false;
};

}  // namespace

TEST_CASE("capture output: a full disk stops the capture with the file's name and errno") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  SmallTmpfs fs(absl::StrCat("/tmp/rs-full-", tb.suffix()));
  if (!fs.mounted) return SkipTest("kernel", "cannot mount a tmpfs here");
  const std::string pcap = fs.path + "/cap.pcap";
  const std::string out = absl::StrCat("/tmp/rs-full-", tb.suffix(), ".json");
  struct RmAtEnd {
    std::string path;
    ~RmAtEnd() { RunHost("rm -f " + ShellQuote(path) + " " + ShellQuote(path + ".err")); }
  } rm{out};
  // 256 KiB of tmpfs, a 1 MiB write buffer: the first flush fills the disk.
  pid_t cap = StartCapture(kBin, tb, "--json --duration 60 -w " + pcap, out);
  REQUIRE(WaitForFile(out + ".err", "capturing on", 0, 20));
  // 40,000 frames of 500 bytes: 20 MB, far more than the disk holds.
  auto gen = tb.Run(tb.ns_a(), GenCommand(kBin, tb, "--count 40000 --rate 40000 --size 500"), 60);
  CHECK_MESSAGE(gen.exit_code == 0, gen.output);
  const int rc = WaitPid(cap, 30);  // well before --duration 60
  const std::string err = ReadFile(out + ".err");
  INFO(err);
  CHECK(rc == 1);
  CHECK(Has(err, pcap));
  CHECK(Has(err, "No space left on device"));
  const std::string text = ReadFile(out);
  REQUIRE(Has(text, "{"));
  auto j = nlohmann::json::parse(text.substr(text.find('{')));
  CHECK(j.contains("write_error"));
  const int records = j["records_written"];
  CHECK(records > 0);
  // Every record in the file is whole: tcpdump reads exactly the records counted, silently.
  auto td = RunHost("tcpdump -r " + pcap + " -nn 2>&1 >/dev/null; tcpdump -r " + pcap +
                    " -nn 2>/dev/null | wc -l");
  INFO(td.output);
  CHECK_FALSE(Has(td.output, "truncated"));
  CHECK(Has(td.output, absl::StrCat(records, "\n")));
}

TEST_CASE("capture output: a closed pipe ends the capture promptly with a non-zero status") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  const std::string status = absl::StrCat("/tmp/rs-pipe-", tb.suffix());
  struct RmAtEnd {
    std::string path;
    ~RmAtEnd() { RunHost("rm -f " + ShellQuote(path) + " " + ShellQuote(path + ".err")); }
  } rm{status};
  // The shell records capture's own exit status (bash: PIPESTATUS) once head is done.
  // Its own process group: a timeout kills capture and head with it.
  pid_t pipeline = SpawnShell(
      absl::StrCat("bash -c ",
                   ShellQuote(absl::StrCat(
                       "ip netns exec ", tb.ns_b(), " ", kBin, " capture -i ", tb.if_b(),
                       " --duration 60 -w - 2>", status,
                       ".err | head -c 200 >/dev/null; echo ${PIPESTATUS[0]} > ", status))),
      /*own_process_group=*/true);
  REQUIRE(WaitForFile(status + ".err", "capturing on", 0, 20));
  auto gen = tb.Run(tb.ns_a(), GenCommand(kBin, tb, "--count 40000 --rate 40000 --size 200"), 60);
  CHECK_MESSAGE(gen.exit_code == 0, gen.output);
  CHECK(WaitPid(pipeline, 30) == 0);  // well before --duration 60
  const std::string err = ReadFile(status + ".err");
  INFO(err);
  const std::string code = ReadFile(status);
  CHECK(code == "1\n");  // capture's own status: an error, not SIGPIPE (141), not 0
  CHECK((Has(err, "Broken pipe") || Has(err, "reader closed the pipe")));
  CHECK(CountLines(err) < 20);
}
