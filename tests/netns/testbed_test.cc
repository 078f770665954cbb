#include <doctest/doctest.h>

#include "tests/support/netns_testbed.h"

using namespace ringstamp::testing;

TEST_CASE("testbed: two namespaces joined by veth reach each other and are removed") {
  if (!HaveNetnsPrivileges()) return SkipTest("root", "needs root to create network namespaces");
  std::string ns_a;
  {
    auto tb = Testbed::Create();
    REQUIRE_MESSAGE(tb.ok(), tb.status().ToString());
    ns_a = (*tb)->ns_a();
    // -c1 -w5: one echo reply wanted, requests repeated each second for 5 s, so a first neighbour
    // solicitation lost while the links settle is not a failure; no answer at all still is.
    auto r = (*tb)->Run((*tb)->ns_a(), "ping -c1 -w5 " + (*tb)->ip4_b());
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    r = (*tb)->Run((*tb)->ns_a(), "ping -6 -c1 -w5 " + (*tb)->ip6_b());
    CHECK_MESSAGE(r.exit_code == 0, r.output);
  }
  auto r = RunHost("ip netns list");
  CHECK(r.output.find(ns_a) == std::string::npos);
}
