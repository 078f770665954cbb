// Unit: the probe client's targets, from --server and from a targets file.
#include <doctest/doctest.h>

#include <string>

#include "apps/probe_targets.h"

using namespace ringstamp;
using namespace ringstamp::app;

namespace {
std::string Message(const absl::Status& s) { return std::string(s.message()); }
}  // namespace

TEST_CASE("probe targets: --server spellings, with and without a port") {
  auto a = ParseTargetSpec("10.0.0.2", "--server", 862, true);
  REQUIRE(a.ok());
  CHECK(a->port == 862);
  CHECK(a->Name() == "10.0.0.2:862");
  auto b = ParseTargetSpec("10.0.0.3:4000", "--server", 862, true);
  REQUIRE(b.ok());
  CHECK(b->port == 4000);
  auto c = ParseTargetSpec("fd00::4", "--server", 862, true);  // bare IPv6: default port
  REQUIRE(c.ok());
  CHECK(c->ip.is_v6());
  CHECK(c->Name() == "[fd00::4]:862");
  auto d = ParseTargetSpec("[fd00::5]:9", "--server", 862, true);
  REQUIRE(d.ok());
  CHECK(d->port == 9);
  auto e = ParseTargetSpec("[fd00::6]", "--server", 862, true);
  REQUIRE(e.ok());
  CHECK(e->port == 862);
  // ICMP: no port at all, and the name is the bare address.
  auto f = ParseTargetSpec("fd00::7", "--server", 862, false);
  REQUIRE(f.ok());
  CHECK(f->port == 0);
  CHECK(f->Name() == "fd00::7");
}

TEST_CASE("probe targets: a bad --server says what is wrong") {
  CHECK(Message(ParseTargetSpec("10.0.0.300", "--server", 862, true).status())
            .find("'10.0.0.300' is not an IPv4 or IPv6 address") != std::string::npos);
  CHECK(Message(ParseTargetSpec("10.0.0.2:0", "--server", 862, true).status())
            .find("port '0' is not 1..65535") != std::string::npos);
  CHECK(Message(ParseTargetSpec("10.0.0.2:", "--server", 862, true).status())
            .find("ends in ':' without a port") != std::string::npos);
  CHECK(Message(ParseTargetSpec("10.0.0.2:http", "--server", 862, true).status())
            .find("port 'http'") != std::string::npos);
  CHECK(
      Message(ParseTargetSpec("[fd00::1", "--server", 862, true).status()).find("no closing ']'") !=
      std::string::npos);
  CHECK(
      Message(ParseTargetSpec("[fd00::1]9", "--server", 862, true).status()).find("only ':PORT'") !=
      std::string::npos);
  CHECK(Message(ParseTargetSpec("10.0.0.2:862", "--server", 862, false).status())
            .find("--mode icmp takes addresses only") != std::string::npos);
  CHECK(Message(ParseTargetSpec("", "--server", 862, true).status()).find("--server: ") == 0);
}

TEST_CASE("probe targets: a file with comments, labels, IPv4 and IPv6") {
  const char* text =
      "# reflectors in two racks\n"
      "\n"
      "10.0.0.2\n"
      "10.0.0.3:4000  rack=r12 dc=fra   # trailing comment\n"
      "\t[fd00::4]:862\trole=spine\r\n"
      "fd00::5\n";
  auto t = ParseTargetsText(text, "t.txt", 862, true);
  REQUIRE(t.ok());
  REQUIRE(t->size() == 4);
  CHECK((*t)[0].Name() == "10.0.0.2:862");
  CHECK((*t)[0].labels.empty());
  CHECK((*t)[1].labels.size() == 2);
  CHECK((*t)[1].labels.at("dc") == "fra");
  CHECK((*t)[2].labels.at("role") == "spine");
  CHECK((*t)[3].Name() == "[fd00::5]:862");
  // Equal targets are the same session; a label change is another one.
  ProbeTarget changed = (*t)[1];
  changed.labels["rack"] = "r13";
  CHECK(changed != (*t)[1]);
  CHECK((*t)[1] == (*t)[1]);
}

TEST_CASE("probe targets: file errors name the file and line") {
  auto dup = ParseTargetsText("10.0.0.2\n10.0.0.3\n10.0.0.2:862 a=b\n", "t.txt", 862, true);
  REQUIRE(!dup.ok());
  CHECK(Message(dup.status()) ==
        "t.txt:3: 10.0.0.2:862 is already the target of line 1; one "
        "line a target");
  auto label = ParseTargetsText("10.0.0.2 9x=1\n", "t.txt", 862, true);
  REQUIRE(!label.ok());
  CHECK(Message(label.status()).find("t.txt:1: key '9x'") == 0);
  auto nolabel = ParseTargetsText("10.0.0.2 rack\n", "t.txt", 862, true);
  REQUIRE(!nolabel.ok());
  CHECK(Message(nolabel.status()).find("t.txt:1: 'rack' is not KEY=VALUE") == 0);
  auto empty = ParseTargetsText("# nothing\n\n", "t.txt", 862, true);
  REQUIRE(!empty.ok());
  CHECK(Message(empty.status()).find("t.txt: no target in it") == 0);
  auto missing = ReadTargetsFile("/nonexistent/targets.txt", 862, true);
  REQUIRE(!missing.ok());
  CHECK(Message(missing.status()).find("cannot read it (No such file or directory)") !=
        std::string::npos);
}

TEST_CASE("probe targets: at most kMaxProbeTargets in a file") {
  std::string text;
  for (size_t i = 0; i <= kMaxProbeTargets; ++i) {
    text += "10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".1\n";
  }
  auto t = ParseTargetsText(text, "big.txt", 862, true);
  REQUIRE(!t.ok());
  CHECK(Message(t.status()).find("more than 1024 targets") != std::string::npos);
}
