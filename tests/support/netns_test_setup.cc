#include "tests/support/netns_test_setup.h"

#include <doctest/doctest.h>

#include "absl/strings/str_cat.h"
#include "tests/support/netns_crash_cleanup.h"

namespace ringstamp::testing {

std::unique_ptr<Testbed> TestbedOrSkip(TestbedOptions options) {
  if (!HaveNetnsPrivileges()) {
    SkipTest("root", "needs root to create network namespaces");
    return nullptr;
  }
  auto tb = Testbed::Create(options);
  REQUIRE_MESSAGE(tb.ok(), tb.status().ToString());
  return std::move(*tb);
}

BareNetns::BareNetns(const std::string& prefix) : name_(prefix + UniqueSuffix()) {
  RegisterNetns(name_);
  REQUIRE(RunHost("ip netns add " + name_ + " && ip -n " + name_ + " link set lo up").exit_code ==
          0);
}

BareNetns::~BareNetns() { DeleteNetns(name_); }

Testbed::RunResult BareNetns::Run(const std::string& cmd, int timeout_s) const {
  return RunHost(absl::StrCat("ip netns exec ", name_, " sh -c ", ShellQuote(cmd)), timeout_s);
}

}  // namespace ringstamp::testing
