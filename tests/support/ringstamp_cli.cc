#include "tests/support/ringstamp_cli.h"

#include "absl/strings/str_cat.h"
#include "tests/support/child_process.h"

namespace ringstamp::testing {

std::string GenCommand(const std::string& bin, const Testbed& tb, const std::string& extra) {
  return absl::StrCat(bin, " gen -i ", tb.if_a(), " --dst-mac ", tb.mac_b(), " --src-ip ",
                      tb.ip4_a(), " --dst-ip ", tb.ip4_b(), " ", extra);
}

pid_t StartCapture(const std::string& bin, const Testbed& tb, const std::string& args,
                   const std::string& out) {
  return SpawnShell(absl::StrCat("ip netns exec ", tb.ns_b(), " ", bin, " capture -i ", tb.if_b(),
                                 " ", args, " > ", out, " 2>", out, ".err"));
}

}  // namespace ringstamp::testing
