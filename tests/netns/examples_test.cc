// Integration: the four programs in examples/ run for real in a testbed, each against a
// client or server that is not itself: the kernel's UDP stack (nc -u, a python socket),
// scapy, and `ringstamp probe server`. Only built when the example targets exist
// (RINGSTAMP_BUILD_EXAMPLES); tests/CMakeLists.txt passes their paths. No timing
// assertions; every wait is bounded.
#ifdef RINGSTAMP_EXAMPLES
#include <doctest/doctest.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/support/child_process.h"
#include "tests/support/netns_test_setup.h"
#include "tests/support/netns_testbed.h"
#include "tests/support/test_skip.h"

using namespace ringstamp::testing;

namespace {

const std::string kBin = RINGSTAMP_BIN;
const std::string kUdpTime = RINGSTAMP_EXAMPLE_UDP_TIME;
const std::string kEtherEcho = RINGSTAMP_EXAMPLE_ETHER_ECHO;
const std::string kTxStamp = RINGSTAMP_EXAMPLE_TX_STAMP;
const std::string kProbeEmbed = RINGSTAMP_EXAMPLE_PROBE_EMBED;

bool Has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

// The first line of `text` starting with `prefix` ("" when none).
std::string LineStarting(const std::string& text, const std::string& prefix) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, prefix)) return std::string(line);
  }
  return "";
}

// A server example in the background, stopped (SIGTERM, bounded wait) when it goes.
struct Background {
  pid_t pid = -1;
  int Stop() {
    if (pid <= 0) return -1;
    kill(pid, SIGTERM);
    const int rc = WaitPid(pid, 20);
    pid = -1;
    return rc;
  }
  ~Background() { Stop(); }
};

// `echo REQUEST | nc -u` from ns_b: the answer (tried up to 3 times: the first datagram
// may wait on ARP).
std::string AskWithNc(const Testbed& tb, const std::string& ip, const std::string& request) {
  std::string answer;
  for (int attempt = 0; attempt < 3 && answer.empty(); ++attempt) {
    answer = tb.Run(tb.ns_b(),
                    absl::StrCat("printf '%s\\n' ", ShellQuote(request), " | timeout 10 nc -u -w2 ",
                                 ip, " 7007"),
                    20)
                 .output;
  }
  return answer;
}

// "2026-12-05T08:01:02.123456789Z software\n" → seconds since the epoch, and the source.
bool ParseTimeAnswer(const std::string& answer, time_t* secs, std::string* source) {
  std::tm tm{};
  long nanos = -1;
  char src[32] = {0};
  int consumed = 0;
  if (std::sscanf(answer.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%9ldZ %31s%n", &tm.tm_year, &tm.tm_mon,
                  &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &nanos, src, &consumed) != 8) {
    return false;
  }
  if (answer.substr(consumed) != "\n" || nanos < 0 || nanos > 999'999'999) return false;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  *secs = timegm(&tm);
  *source = src;
  return true;
}

// Starts `udp_time server` in ns_a on ip, REQUIREs that it serves.
pid_t StartUdpTimeServer(const Testbed& tb, const std::string& ip, const std::string& log) {
  pid_t pid = SpawnShell(absl::StrCat("ip netns exec ", tb.ns_a(), " ", kUdpTime, " server -i ",
                                      tb.if_a(), " --ip ", ip, "/24 2> ", log));
  REQUIRE_MESSAGE(WaitForFile(log, "serving on", 0, 20), ReadFile(log));
  return pid;
}

}  // namespace

TEST_CASE("examples: udp_time server answers the kernel's UDP client (nc -u)") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  const std::string srv = tb.ip4_extra(10);
  const std::string log = absl::StrCat("/tmp/rs-ex-udptime-", tb.suffix(), ".err");
  RemoveAtEnd rm{{log}};
  Background server{StartUdpTimeServer(tb, srv, log)};

  const std::string time_answer = AskWithNc(tb, srv, "GET TIME");
  time_t secs = 0;
  std::string source;
  REQUIRE_MESSAGE(ParseTimeAnswer(time_answer, &secs, &source), time_answer);
  // The server's clock is this host's: the answer is today's time (a wide window, not a
  // timing assertion).
  CHECK_MESSAGE(std::labs(static_cast<long>(secs - time(nullptr))) < 600, time_answer);
  CHECK_MESSAGE((source == "software" || source == "hardware" || source == "hardware-sys" ||
                 source == "userspace"),
                time_answer);

  CHECK(AskWithNc(tb, srv, "SAY HI") == "Hello, World!\n");

  const std::string bad = AskWithNc(tb, srv, "FETCH COFFEE");
  CHECK_MESSAGE(absl::StartsWith(bad, "ERROR "), bad);
  CHECK_MESSAGE(Has(bad, "'FETCH COFFEE'"), bad);
  CHECK_MESSAGE(Has(bad, "GET TIME or SAY HI"), bad);

  CHECK(server.Stop() == 0);
  CHECK_MESSAGE(Has(ReadFile(log), "3 answers sent, 0 not sent"), ReadFile(log));
}

TEST_CASE("examples: udp_time client gets both answers from udp_time server and exits 0") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  const std::string srv = tb.ip4_extra(10), cli = tb.ip4_extra(20);
  const std::string log = absl::StrCat("/tmp/rs-ex-udptime2-", tb.suffix(), ".err");
  RemoveAtEnd rm{{log}};
  Background server{StartUdpTimeServer(tb, srv, log)};

  auto r = tb.Run(
      tb.ns_b(),
      absl::StrCat(kUdpTime, " client -i ", tb.if_b(), " --ip ", cli, "/24 --server ", srv), 30);
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  std::vector<std::string> lines = absl::StrSplit(r.output, '\n', absl::SkipEmpty());
  REQUIRE_MESSAGE(lines.size() == 2, r.output);
  time_t secs = 0;
  std::string source;
  CHECK_MESSAGE(ParseTimeAnswer(lines[0] + "\n", &secs, &source), r.output);
  CHECK(lines[1] == "Hello, World!");

  // A request of its own, and the error it earns.
  auto e = tb.Run(tb.ns_b(),
                  absl::StrCat(kUdpTime, " client -i ", tb.if_b(), " --ip ", cli, "/24 --server ",
                               srv, " 'SAY BYE'"),
                  30);
  CHECK_MESSAGE(e.exit_code == 0, e.output);
  CHECK_MESSAGE(e.output == "ERROR unknown request 'SAY BYE': ask GET TIME or SAY HI\n", e.output);
  CHECK(server.Stop() == 0);
}

namespace {

// Sends one frame from ns_b's interface with the given tag stack (outer first, "tpid:vid"),
// ethertype 0x88b5 and a payload that starts with MARKER, and sniffs 2 s for frames from
// ns_a's MAC holding MARKER. Prints "echoes N", then for each echo:
// "echo DST SRC TAGS TYPE PAYLOAD_HAS_MARKER_AT_START".
constexpr const char* kQinQScript = R"(import sys, time
from scapy.all import Ether, Dot1Q, Raw, AsyncSniffer, sendp, conf
conf.verb = 0
iface, mac_a, mac_b, tags, marker = sys.argv[1:6]
tags = [t.split(':') for t in tags.split(',')] if tags != '-' else []
marker = marker.encode()
payload = marker + b'.' * (64 - len(marker))
def layers():
    first = int(tags[0][0], 16) if tags else 0x88b5
    p = Ether(dst=mac_a, src=mac_b, type=first)
    for i, (tpid, vid) in enumerate(tags):
        nxt = int(tags[i + 1][0], 16) if i + 1 < len(tags) else 0x88b5
        p = p / Dot1Q(vlan=int(vid), type=nxt)
    return p / Raw(payload)
def echo(p):
    b = bytes(p)
    return b[6:12] == bytes.fromhex(mac_a.replace(':', '')) and marker in b
sn = AsyncSniffer(iface=iface, lfilter=echo, store=True)
sn.start()
time.sleep(0.5)
sendp(layers(), iface=iface)
time.sleep(2)
sn.stop()
print('echoes', len(sn.results))
for p in sn.results:
    b = bytes(p)
    off, stack = 12, []
    while int.from_bytes(b[off:off+2], 'big') in (0x8100, 0x88a8):
        stack.append('%04x:%d' % (int.from_bytes(b[off:off+2], 'big'),
                                  int.from_bytes(b[off+2:off+4], 'big') & 0xfff))
        off += 4
    et = int.from_bytes(b[off:off+2], 'big')
    print('echo', b[0:6].hex(':'), b[6:12].hex(':'), ','.join(stack) or '-', '%04x' % et,
          b[off+2:].startswith(payload))
)";

}  // namespace

TEST_CASE("examples: ether_echo echoes only its QinQ stack, MACs swapped, tags and payload kept") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  if (RunHost("/usr/bin/python3 -c 'import scapy'").exit_code != 0) {
    return SkipTest("tool", "python3-scapy is not installed");
  }
  const std::string base = absl::StrCat("/tmp/rs-ex-echo-", tb.suffix());
  RemoveAtEnd rm{{base + ".py", base + ".out", base + ".err"}};
  {
    FILE* f = std::fopen((base + ".py").c_str(), "w");
    REQUIRE(f != nullptr);
    std::fputs(kQinQScript, f);
    std::fclose(f);
  }
  Background echo{
      SpawnShell(absl::StrCat("ip netns exec ", tb.ns_a(), " ", kEtherEcho, " -i ", tb.if_a(),
                              " --vlan 100,200 > ", base, ".out 2> ", base, ".err"))};
  REQUIRE_MESSAGE(WaitForFile(base + ".err", "echoing ethertype 0x88b5", 0, 20),
                  ReadFile(base + ".err"));
  CHECK_MESSAGE(Has(ReadFile(base + ".err"), "vlan 100/200"), ReadFile(base + ".err"));

  auto send = [&](const std::string& tags, const std::string& marker) {
    auto r = tb.Run(tb.ns_b(),
                    absl::StrCat("/usr/bin/python3 ", base, ".py ", tb.if_b(), " ", tb.mac_a(), " ",
                                 tb.mac_b(), " ", tags, " ", marker),
                    60);
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    return r.output;
  };
  // Its own stack: S-tag 0x88a8 VID 100 outside, C-tag 0x8100 VID 200 inside.
  const std::string mine = send("88a8:100,8100:200", "rsqinq-" + tb.suffix());
  CHECK_MESSAGE(Has(mine, "echoes 1\n"), mine);
  CHECK_MESSAGE(Has(mine, absl::StrCat("echo ", tb.mac_b(), " ", tb.mac_a(),
                                       " 88a8:100,8100:200 88b5 True\n")),
                mine);
  // Other stacks are not its frames.
  for (const char* tags : {"88a8:100,8100:300", "8100:100", "-", "8100:100,8100:200"}) {
    const std::string other = send(tags, absl::StrCat("rsother-", tb.suffix()));
    CHECK_MESSAGE(Has(other, "echoes 0\n"), tags, " ", other);
  }
  CHECK(echo.Stop() == 0);
  const std::string out = ReadFile(base + ".out");
  CHECK_MESSAGE(Has(out, absl::StrCat("from ", tb.mac_b(), " in vlan 100/200, ethertype 0x88b5")),
                out);
  CHECK_MESSAGE(Has(ReadFile(base + ".err"), "1 frames echoed"), ReadFile(base + ".err"));
}

TEST_CASE(
    "examples: tx_stamp reaches a kernel UDP socket and names a software, never a hardware, stamp "
    "on veth") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  const std::string base = absl::StrCat("/tmp/rs-ex-tx-", tb.suffix());
  RemoveAtEnd rm{{base + ".rx", base + ".err"}};
  const std::string message = "rs-tx-" + tb.suffix();
  // A kernel UDP listener in ns_a on its own address, port 9000; one datagram, 20 s at most.
  pid_t rx = SpawnShell(absl::StrCat(
      "ip netns exec ", tb.ns_a(),
      " /usr/bin/python3 -c \"import socket,sys; s=socket.socket(socket.AF_INET, "
      "socket.SOCK_DGRAM); s.bind(('",
      tb.ip4_a(),
      "', 9000)); s.settimeout(20); open(sys.argv[1], 'w').write('bound\\n'); d, a = "
      "s.recvfrom(2048); open(sys.argv[1], 'a').write(d.decode() + ' from ' + a[0] + '\\n')\" ",
      base, ".rx"));
  REQUIRE(WaitForFile(base + ".rx", "bound", 0, 20));
  auto r = tb.Run(tb.ns_b(),
                  absl::StrCat(kTxStamp, " -i ", tb.if_b(), " --ip ", tb.ip4_extra(20), "/24 --to ",
                               tb.ip4_a(), ":9000 --message ", message, " 2> ", base, ".err"),
                  30);
  CHECK_MESSAGE(r.exit_code == 0, r.output, ReadFile(base + ".err"));
  CHECK(WaitPid(rx, 25) == 0);
  CHECK_MESSAGE(Has(ReadFile(base + ".err"), "software timestamps"), ReadFile(base + ".err"));
  CHECK_MESSAGE(
      ReadFile(base + ".rx") == absl::StrCat("bound\n", message, " from ", tb.ip4_extra(20), "\n"),
      ReadFile(base + ".rx"));
  CHECK_MESSAGE(
      Has(r.output, absl::StrCat("sent ", message.size(), " bytes to ", tb.ip4_a(), ":9000")),
      r.output);
  const std::string sw = LineStarting(r.output, "software ");
  CHECK_MESSAGE((!sw.empty() && !Has(sw, " -")), r.output);
  CHECK_MESSAGE(LineStarting(r.output, "hardware ") == "hardware   -", r.output);
  CHECK_MESSAGE(absl::StartsWith(LineStarting(r.output, "best "), "best       software, "),
                r.output);
  // No line but the empty hardware row speaks of hardware.
  for (absl::string_view line : absl::StrSplit(r.output, '\n')) {
    if (line == "hardware   -") continue;
    CHECK_MESSAGE(!Has(std::string(line), "hardware"), r.output);
  }
}

namespace {

// probe_embed measure from ns_b against a reflector at `srv`; checks the report.
void MeasureAgainst(const Testbed& tb, const std::string& srv) {
  auto r = tb.Run(tb.ns_b(),
                  absl::StrCat(kProbeEmbed, " measure -i ", tb.if_b(), " --ip ", tb.ip4_extra(20),
                               "/24 --server ", srv, " --count 20 --interval-ms 10"),
                  60);
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  CHECK_MESSAGE(Has(r.output, "network RTT, 20 replies of 20 probes (0 lost), stamps: "), r.output);
  for (const char* figure : {"rtt ", "network rtt ", "dwell "}) {
    const std::string line = LineStarting(r.output, figure);
    CHECK_MESSAGE(Has(line, " rests on software (20)"), figure, "\n", r.output);
  }
  CHECK_MESSAGE(Has(r.output, "stamps: software (20)"), r.output);
}

}  // namespace

TEST_CASE(
    "examples: probe_embed measure reports against ringstamp probe server and its own reflector") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  const std::string base = absl::StrCat("/tmp/rs-ex-probe-", tb.suffix());
  RemoveAtEnd rm{{base + ".srv.err", base + ".srv.out", base + ".ref.out", base + ".ref.err"}};
  const std::string srv1 = tb.ip4_extra(10), srv2 = tb.ip4_extra(11);
  {
    Background server{SpawnShell(absl::StrCat(
        "ip netns exec ", tb.ns_a(), " ", kBin, " probe server -i ", tb.if_a(), " --ip ", srv1,
        " --duration 120 > ", base, ".srv.out 2> ", base, ".srv.err"))};
    REQUIRE_MESSAGE(WaitForFile(base + ".srv.err", "STAMP reflector on", 0, 20),
                    ReadFile(base + ".srv.err"));
    MeasureAgainst(tb, srv1);
    CHECK(server.Stop() == 0);
  }
  {
    Background reflector{SpawnShell(
        absl::StrCat("ip netns exec ", tb.ns_a(), " ", kProbeEmbed, " reflect -i ", tb.if_a(),
                     " --ip ", srv2, "/24 > ", base, ".ref.out 2> ", base, ".ref.err"))};
    REQUIRE_MESSAGE(WaitForFile(base + ".ref.err", "reflecting on", 0, 20),
                    ReadFile(base + ".ref.err"));
    MeasureAgainst(tb, srv2);
    CHECK(reflector.Stop() == 0);
    // Every probe reflected, and the client's one uncounted closing probe (sent to fetch the
    // last reply's real t3, RFC 8972 Follow-Up) too: 21.
    unsigned long reflected = 0;
    CHECK_MESSAGE(
        std::sscanf(ReadFile(base + ".ref.out").c_str(), "reflected %lu probes", &reflected) == 1,
        ReadFile(base + ".ref.out"));
    CHECK_MESSAGE(reflected == 21, ReadFile(base + ".ref.out"));
  }
}

#endif  // RINGSTAMP_EXAMPLES
