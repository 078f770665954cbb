// Integration: capture and packet sockets stay on their own interface. A socket
// receives nothing until it is bound (it is opened with protocol 0), a bind to a
// down interface is a clear error, and fanout still works in that order.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/str_cat.h"
#include "ringstamp/ring/packet_socket.h"
#include "ringstamp/ring/ring_setup.h"
#include "tests/support/child_process.h"
#include "tests/support/netns_test_setup.h"
#include "tests/support/netns_testbed.h"
#include "tests/support/ringstamp_cli.h"

using namespace ringstamp;
using namespace ringstamp::testing;

namespace {

const std::string kBin = RINGSTAMP_BIN;

// A temp directory removed on destruction, also when a check failed.
struct TempDir {
  explicit TempDir(const std::string& p) : path(p) { RunHost("mkdir -p " + ShellQuote(path)); }
  ~TempDir() { RunHost("rm -rf " + ShellQuote(path)); }
  std::string path;
};

bool Has(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("capture reliability: a capture on a down interface fails clearly and writes no frame") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  // A second interface in ns_b that stays down (a veth pair, both ends here: this
  // kernel has no dummy driver); the namespace's deletion removes it.
  const std::string down = ("rsd" + tb.suffix()).substr(0, 15);
  const std::string peer = ("rse" + tb.suffix()).substr(0, 15);
  auto add = tb.Run(tb.ns_b(), "ip link add " + down + " type veth peer name " + peer);
  REQUIRE_MESSAGE(add.exit_code == 0, add.output);
  TempDir dir(absl::StrCat("/tmp/rs-capdown-", tb.suffix()));
  const std::string pcap = dir.path + "/down.pcap";
  // Traffic on the other interface of ns_b while the capture starts (bounded: 60 pings).
  pid_t ping = SpawnShell("ip netns exec " + tb.ns_a() + " ping -q -c 60 -i 0.05 " + tb.ip4_b() +
                          " >/dev/null 2>&1");
  auto cap = tb.Run(tb.ns_b(),
                    absl::StrCat(kBin, " capture -i ", down, " -c 1 --duration 1 -w ", pcap), 20);
  INFO(cap.output);
  CHECK(cap.exit_code == 1);
  CHECK(Has(cap.output, down + ": interface is down"));
  CHECK(Has(cap.output, "ip link set " + down + " up"));
  CHECK_FALSE(Has(cap.output, "capturing on"));
  // Nothing but (at most) the pcap file header: no frame of the veth reached the file.
  CHECK(ReadFile(pcap).size() <= 24);
  CHECK(WaitPid(ping, 20) >= 0);
}

TEST_CASE(
    "capture reliability: a socket binds with its protocol, reads SO_ERROR, then joins fanout") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  auto add = tb.Run(tb.ns_a(), "ip link add rsdown0 type veth peer name rsdown1");
  REQUIRE_MESSAGE(add.exit_code == 0, add.output);
  NetnsScope in(tb.ns_a());
  REQUIRE(in.ok());

  SUBCASE("a down interface is refused, or accepted when allowed") {
    auto s = PacketSocket::Open("rsdown0");
    REQUIRE(s.ok());
    auto rings = SetupRings(*s, {.rx = RingConfig{.block_size = 1 << 16, .block_count = 2}});
    REQUIRE_MESSAGE(rings.ok(), rings.status().ToString());
    absl::Status b = s->Bind();
    CHECK(b.code() == absl::StatusCode::kFailedPrecondition);
    CHECK(Has(std::string(b.message()), "rsdown0: interface is down"));
    auto t = PacketSocket::Open("rsdown0");
    REQUIRE(t.ok());
    CHECK(t->Bind({.allow_down = true}).ok());
  }
  SUBCASE("two sockets on the up veth join one fanout group after their bind") {
    auto a = PacketSocket::Open(tb.if_a());
    auto b = PacketSocket::Open(tb.if_a());
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    REQUIRE(a->Bind().ok());
    REQUIRE(b->Bind().ok());
    auto id = a->JoinFanout({.mode = FanoutMode::kHash, .unique_id = true});
    REQUIRE_MESSAGE(id.ok(), id.status().ToString());
    auto id2 = b->JoinFanout({.mode = FanoutMode::kHash, .group_id = *id});
    REQUIRE_MESSAGE(id2.ok(), id2.status().ToString());
    CHECK(*id2 == *id);
  }
}

TEST_CASE("a capture whose interface is removed mid-run ends with exit 1 and a whole pcap") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  const std::string base = absl::StrCat("/tmp/rs-linkdel-", tb.suffix());
  RemoveAtEnd rm{{base + ".pcap", base + ".out", base + ".out.err"}};
  pid_t cap = StartCapture(kBin, tb, "--json -c 1000 -w " + base + ".pcap", base + ".out");
  REQUIRE(WaitForFile(base + ".out.err", "capturing on", 0, 20));
  auto gen = tb.Run(tb.ns_a(), GenCommand(kBin, tb, "-c 50 --rate 1000"), 60);
  CHECK_MESSAGE(gen.exit_code == 0, gen.output);
  // Frames on the veth's far end, then the pair goes away (deleting one end deletes both).
  REQUIRE(tb.Run(tb.ns_b(), "ip link del " + tb.if_b()).exit_code == 0);
  const int rc = WaitPid(cap, 30);  // -c 1000 would never come: before, this hung for good
  const std::string err = ReadFile(base + ".out.err");
  const std::string out = ReadFile(base + ".out");
  INFO(err, out);
  CHECK(rc == 1);
  CHECK(err.find(tb.if_b() + " was removed") != std::string::npos);
  REQUIRE(out.find('{') != std::string::npos);
  auto j = nlohmann::json::parse(out.substr(out.find('{')));
  CHECK(j["link_error"] == tb.if_b() + " was removed");
  const int records = j["records_written"];
  CHECK(records >= 1);
  auto td = RunHost("tcpdump -r " + base + ".pcap -nn 2>/dev/null | wc -l");
  CHECK(td.output == absl::StrCat(records, "\n"));
}
