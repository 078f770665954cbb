// Unit: apps/cli_parse as tables — VLAN lists, MACs, IPs and durations, good values with the
// value each must give, bad values with the flag and the way out named in the message.
// No root, no network.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "apps/cli_parse.h"

using namespace ringstamp;
using namespace ringstamp::app;

namespace {

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// A bad value: refused as InvalidArgument (the command maps it to exit 2), and the message
// names the flag, repeats what was given and shows a form that would be accepted.
template <typename T>
void CheckRefused(const absl::StatusOr<T>& r, std::string_view flag, std::string_view given,
                  std::string_view hint) {
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
  const std::string msg(r.status().message());
  CHECK_MESSAGE(Contains(msg, flag), msg);
  CHECK_MESSAGE(Contains(msg, given), msg);
  CHECK_MESSAGE(Contains(msg, hint), msg);
}

}  // namespace

TEST_CASE("cli_parse: VLAN lists give the tags in order, outer S-tags and an inner C-tag") {
  struct Row {
    const char* text;
    std::vector<uint16_t> vids;
    std::vector<uint16_t> tpids;
  };
  const Row rows[] = {
      {"", {}, {}},
      {"1", {1}, {kEtherTypeVlan}},
      {"4094", {4094}, {kEtherTypeVlan}},
      {"100", {100}, {kEtherTypeVlan}},
      {"100,200", {100, 200}, {kEtherTypeQinQ, kEtherTypeVlan}},
      {"10,20,30", {10, 20, 30}, {kEtherTypeQinQ, kEtherTypeQinQ, kEtherTypeVlan}},
      {"1,2,3,4,5,6,7,8",
       {1, 2, 3, 4, 5, 6, 7, 8},
       {kEtherTypeQinQ, kEtherTypeQinQ, kEtherTypeQinQ, kEtherTypeQinQ, kEtherTypeQinQ,
        kEtherTypeQinQ, kEtherTypeQinQ, kEtherTypeVlan}},
  };
  for (const Row& row : rows) {
    const std::string shown = row.text;
    CAPTURE(shown);
    auto s = ParseVlanList("--vlan", row.text);
    REQUIRE_MESSAGE(s.ok(), s.status());
    REQUIRE(s->size() == row.vids.size());
    for (size_t i = 0; i < row.vids.size(); ++i) {
      CHECK((*s)[i].vid() == row.vids[i]);
      CHECK((*s)[i].tpid == row.tpids[i]);
      CHECK(((*s)[i].tci & 0xf000) == 0);  // no priority, no DEI from the command line
    }
  }
}

TEST_CASE("cli_parse: bad VLAN lists are refused with the flag, the value and the range") {
  struct Row {
    const char* text;
    const char* given;  // what the message must repeat
    const char* hint;
  };
  const Row rows[] = {
      {"0", "'0'", "1 to 4094"},
      {"4095", "'4095'", "1 to 4094"},
      {"-1", "'-1'", "1 to 4094"},
      {"abc", "'abc'", "1 to 4094"},
      {"100,", "''", "comma-separated"},
      {",100", "''", "comma-separated"},
      {"100;200", "'100;200'", "1 to 4094"},
      {"100,70000", "'70000'", "1 to 4094"},
      {"1,2,3,4,5,6,7,8,9", "9 VLAN tags", "at most 8"},
  };
  for (const Row& row : rows) {
    const std::string shown = row.text;
    CAPTURE(shown);
    CheckRefused(ParseVlanList("--vlan", row.text), "--vlan", row.given, row.hint);
  }
}

TEST_CASE("cli_parse: MAC addresses with : or - and either case, others refused") {
  const MacAddress want{{0x02, 0x00, 0x5e, 0xab, 0xcd, 0xef}};
  for (const char* text : {"02:00:5e:ab:cd:ef", "02:00:5E:AB:CD:EF", "02-00-5e-ab-cd-ef"}) {
    const std::string shown = text;
    CAPTURE(shown);
    auto m = ParseMacFlag("--dst-mac", text);
    REQUIRE_MESSAGE(m.ok(), m.status());
    CHECK(*m == want);
  }
  for (const char* text : {"", "02:00:5e:ab:cd", "02:00:5e:ab:cd:ef:01", "02:00:5e:ab:cd:eg",
                           "02:00-5e:ab:cd:ef", "0200.5eab.cdef", "2:0:5e:ab:cd:ef"}) {
    const std::string shown = text;
    CAPTURE(shown);
    CheckRefused(ParseMacFlag("--dst-mac", text), "--dst-mac", std::string("'") + text + "'",
                 "02:00:00:00:00:01");
  }
}

TEST_CASE("cli_parse: IPv4 and IPv6 addresses, prefixes, names and bad octets refused") {
  struct Row {
    const char* text;
    IpFamily family;
    const char* shown;
  };
  const Row good[] = {{"10.0.0.1", IpFamily::kV4, "10.0.0.1"},
                      {"0.0.0.0", IpFamily::kV4, "0.0.0.0"},
                      {"255.255.255.255", IpFamily::kV4, "255.255.255.255"},
                      {"fd00::1", IpFamily::kV6, "fd00::1"},
                      {"FD00:0:0:0:0:0:0:1", IpFamily::kV6, "fd00::1"},
                      {"::1", IpFamily::kV6, "::1"}};
  for (const Row& row : good) {
    const std::string shown = row.text;
    CAPTURE(shown);
    auto ip = ParseIpFlag("--server", row.text);
    REQUIRE_MESSAGE(ip.ok(), ip.status());
    CHECK(ip->family() == row.family);
    CHECK(ip->ToString() == row.shown);
  }
  for (const char* text : {"", "10.0.0", "10.0.0.256", "10.0.0.1/24", "fd00::1/64", "fd00:::1",
                           "localhost", "10.0.0.1 "}) {
    const std::string shown = text;
    CAPTURE(shown);
    CheckRefused(ParseIpFlag("--server", text), "--server", std::string("'") + text + "'",
                 "10.0.0.1 or fd00::1");
  }
}

TEST_CASE("cli_parse: durations with units, a bare number in seconds, exact nanoseconds") {
  struct Row {
    const char* text;
    int64_t ns;
  };
  const Row rows[] = {
      {"0", 0},
      {"1", 1'000'000'000},
      {"1.5", 1'500'000'000},
      {"2s", 2'000'000'000},
      {"250ms", 250'000'000},
      {"10us", 10'000},
      {"10µs", 10'000},
      {"750ns", 750},
      {"1m", 60'000'000'000},
      {"0.5ms", 500'000},
      {"1e3", 1'000'000'000'000},
  };
  for (const Row& row : rows) {
    const std::string shown = row.text;
    CAPTURE(shown);
    auto d = ParseDurationNs("--interval", row.text);
    REQUIRE_MESSAGE(d.ok(), d.status());
    CHECK(*d == row.ns);
  }
}

TEST_CASE("cli_parse: bad durations are refused with the flag and examples") {
  for (const char* text : {"", "ms", "s", "-1", "-5ms", "10 parsecs", "10h", "1.2.3s", "nan", "inf",
                           "1e300", "10000000000s"}) {
    const std::string shown = text;
    CAPTURE(shown);
    CheckRefused(ParseDurationNs("--interval", text), "--interval", std::string("'") + text + "'",
                 "10ms");
  }
}
