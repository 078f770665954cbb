#include <doctest/doctest.h>

#include "tests/support/netns_testbed.h"

using namespace ringstamp::testing;

TEST_CASE("testbed: two namespaces joined by veth reach each other and are removed") {
  if (!HaveNetnsPrivileges()) {
    MESSAGE("skipped: needs root");
    return;
  }
  std::string ns_a;
  {
    auto tb = Testbed::Create();
    REQUIRE_MESSAGE(tb.ok(), tb.status().ToString());
    ns_a = (*tb)->ns_a();
    auto r = (*tb)->Run((*tb)->ns_a(), "ping -c1 -W2 " + (*tb)->ip4_b());
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    r = (*tb)->Run((*tb)->ns_a(), "ping -6 -c1 -W2 " + (*tb)->ip6_b());
    CHECK_MESSAGE(r.exit_code == 0, r.output);
  }
  auto r = RunHost("ip netns list");
  CHECK(r.output.find(ns_a) == std::string::npos);
}
