// netns_test_setup.h — the opening lines every integration test shares: skip when
// not root, else a Testbed (REQUIRE'd); and a bare namespace of the test's own.
//
//   auto owned = TestbedOrSkip();       // nullptr (and a "skipped" MESSAGE) when not root
//   if (!owned) return;
//   Testbed& tb = *owned;
//
// Call from a doctest test case's thread (the helpers REQUIRE and MESSAGE). Cost:
// one Testbed::Create (a few `ip` commands).
#pragma once

#include <memory>
#include <string>

#include "tests/support/netns_testbed.h"

namespace ringstamp::testing {

// nullptr, after SkipTest("root", ...), when the process may not create
// namespaces; otherwise the testbed, REQUIRE'd to have been made (the test stops with
// Testbed::Create's message when it was not).
std::unique_ptr<Testbed> TestbedOrSkip(TestbedOptions options = {});

// A namespace of the test's own with only lo up ("<prefix><unique suffix>"), deleted on
// destruction: the far end of a TAP port, whose stack is the one the test talks to.
class BareNetns {
 public:
  explicit BareNetns(const std::string& prefix);  // REQUIREs that `ip netns add` worked
  ~BareNetns();
  BareNetns(const BareNetns&) = delete;
  BareNetns& operator=(const BareNetns&) = delete;

  const std::string& name() const { return name_; }
  // Runs `sh -c cmd` inside the namespace, bounded by timeout_s (as RunHost).
  Testbed::RunResult Run(const std::string& cmd, int timeout_s = 30) const;

 private:
  std::string name_;
};

}  // namespace ringstamp::testing
