// Integration: NetlinkLink sets MAC, MTU, up/down and addresses on a real link,
// deletes links, and turns the kernel's refusals into messages that say what to do.
#include <doctest/doctest.h>
#include <net/if.h>

#include <string>

#include "ringstamp/ring/netlink_link.h"
#include "ringstamp/ring/tap_port.h"
#include "tests/support/netns_test_setup.h"
#include "tests/support/netns_testbed.h"

using namespace ringstamp;
using namespace ringstamp::testing;

namespace {

std::string Show(const Testbed& tb, const std::string& what) {
  return tb.Run(tb.ns_a(), what).output;
}

}  // namespace

TEST_CASE("tap: NetlinkLink configures a link and reports refusals clearly") {
  auto testbed = TestbedOrSkip({.assign_addresses = false});
  if (!testbed) return;
  Testbed& tb = *testbed;
  NetnsScope in(tb.ns_a());
  REQUIRE(in.ok());
  auto nl_or = NetlinkLink::Open();
  REQUIRE_MESSAGE(nl_or.ok(), nl_or.status().ToString());
  NetlinkLink& nl = *nl_or;

  // Lookups.
  auto missing = nl.Exists("nosuchlink0");
  REQUIRE(missing.ok());
  CHECK_FALSE(*missing);
  auto lookup_missing = nl.Lookup("nosuchlink0");
  REQUIRE_FALSE(lookup_missing.ok());
  CHECK(absl::IsNotFound(lookup_missing.status()));
  CHECK(std::string(lookup_missing.status().message()).find("ip link") != std::string::npos);
  CHECK(absl::IsInvalidArgument(nl.Exists("").status()));
  CHECK(absl::IsInvalidArgument(nl.Exists("name-longer-than-15").status()));

  auto link_or = nl.Lookup(tb.if_a());
  REQUIRE_MESSAGE(link_or.ok(), link_or.status().ToString());
  const LinkRef link = *link_or;
  CHECK(link.name == tb.if_a());
  CHECK(link.index == static_cast<int>(if_nametoindex(tb.if_a().c_str())));

  // MAC, MTU, up/down.
  const std::array<uint8_t, 6> mac = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
  REQUIRE(nl.SetUp(link, false).ok());
  auto s = nl.SetMac(link, mac);
  CHECK_MESSAGE(s.ok(), s.ToString());
  s = nl.SetMtu(link, 1400);
  CHECK_MESSAGE(s.ok(), s.ToString());
  auto info = nl.Find(tb.if_a());
  REQUIRE(info.ok());
  REQUIRE(info->has_value());
  CHECK((*info)->mtu == 1400);
  REQUIRE((*info)->mac.has_value());
  CHECK(*(*info)->mac == mac);
  CHECK(((*info)->flags & IFF_UP) == 0);
  REQUIRE(nl.SetUp(link, true).ok());
  info = nl.Find(tb.if_a());
  REQUIRE(info.ok());
  REQUIRE(info->has_value());
  CHECK(((*info)->flags & IFF_UP) != 0);
  CHECK(Show(tb, "ip link show " + tb.if_a()).find("02:11:22:33:44:55") != std::string::npos);
  REQUIRE(nl.SetTxQueueLen(link, 777).ok());
  auto queried = nl.Query(link);
  REQUIRE_MESSAGE(queried.ok(), queried.status().ToString());
  CHECK(queried->tx_queue_len == 777);
  CHECK(queried->ref.name == tb.if_a());
  REQUIRE(queried->counters.has_value());
  const uint64_t tx_before = queried->counters->tx_packets;
  tb.Run(tb.ns_a(), "ping -6 -c 2 -i 0.2 -W 1 ff02::1%" + tb.if_a() + " >/dev/null 2>&1");
  queried = nl.Query(link);
  REQUIRE(queried.ok());
  CHECK(queried->counters->tx_packets > tx_before);  // the echo requests went out
  CHECK(absl::IsNotFound(nl.Query({.name = "gone", .index = 999999}).status()));

  // Refusals carry the errno, the kernel's words where it gives them, and a hint.
  s = nl.SetMtu(link, 10);
  REQUIRE_FALSE(s.ok());
  CHECK_MESSAGE(std::string(s.message()).find("set MTU 10") != std::string::npos, s.ToString());
  CHECK_MESSAGE(std::string(s.message()).find("EINVAL") != std::string::npos, s.ToString());
  CHECK_MESSAGE(std::string(s.message()).find(tb.if_a()) != std::string::npos, s.ToString());
  s = nl.SetMac(link, {0x01, 0, 0, 0, 0, 1});  // multicast
  REQUIRE_FALSE(s.ok());
  CHECK_MESSAGE(std::string(s.message()).find("unicast") != std::string::npos, s.ToString());

  // Addresses, IPv4 and IPv6, added, refused twice, removed, refused when absent.
  for (const char* text : {"192.168.60.1/24", "fd00:60::1/64"}) {
    CAPTURE(text);
    auto p = ParseIpPrefix(text);
    REQUIRE(p.ok());
    s = nl.AddAddress(link, *p, {.no_dad = true});
    REQUIRE_MESSAGE(s.ok(), s.ToString());
    CHECK(Show(tb, "ip addr show dev " + tb.if_a()).find(text) != std::string::npos);
    s = nl.AddAddress(link, *p);
    REQUIRE_FALSE(s.ok());
    CHECK(std::string(s.message()).find("EEXIST") != std::string::npos);
    CHECK(std::string(s.message()).find("already assigned") != std::string::npos);
    s = nl.RemoveAddress(link, *p);
    REQUIRE_MESSAGE(s.ok(), s.ToString());
    CHECK(Show(tb, "ip addr show dev " + tb.if_a()).find(text) == std::string::npos);
    s = nl.RemoveAddress(link, *p);
    REQUIRE_FALSE(s.ok());
    CHECK_MESSAGE(std::string(s.message()).find("does not have this address") != std::string::npos,
                  s.ToString());
  }
  // Deleting: a link by name, then the same again (NotFound-like ENODEV).
  const std::string tap = ("rtl" + tb.suffix()).substr(0, 15);
  {
    auto port = TapPort::Create({.name = tap});
    REQUIRE_MESSAGE(port.ok(), port.status().ToString());
    auto exists = nl.Exists(tap);
    REQUIRE(exists.ok());
    CHECK(*exists);
    s = nl.DeleteLink(tap);
    CHECK_MESSAGE(s.ok(), s.ToString());
    exists = nl.Exists(tap);
    REQUIRE(exists.ok());
    CHECK_FALSE(*exists);
    s = nl.DeleteLink(tap);
    REQUIRE_FALSE(s.ok());
    CHECK(std::string(s.message()).find("ENODEV") != std::string::npos);
    // The port's own delete now finds nothing and its destructor copes.
  }
  auto exists = nl.Exists(tap);
  REQUIRE(exists.ok());
  CHECK_FALSE(*exists);
}
