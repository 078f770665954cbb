// Interface control on veth: capabilities, SIOCGHWTSTAMP / SIOCSHWTSTAMP refusal,
// the restore registry and its signal path.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "ringstamp/timestamp/hw_timestamping.h"
#include "ringstamp/timestamp/phc.h"
#include "tests/support/netns_test_setup.h"
#include "tests/support/netns_testbed.h"

using namespace ringstamp;
using namespace ringstamp::testing;

TEST_CASE("ts netns: veth capabilities: software only, no PHC") {
  auto tb = TestbedOrSkip();
  if (!tb) return;
  NetnsScope in(tb->ns_a());
  REQUIRE(in.ok());
  auto hw = HwTimestamping::Open(tb->if_a());
  REQUIRE_MESSAGE(hw.ok(), hw.status().ToString());
  CHECK(hw->driver() == "veth");
  CHECK(hw->ifindex() > 0);
  auto caps = hw->GetTsInfo();
  REQUIRE_MESSAGE(caps.ok(), caps.status().ToString());
  CHECK(caps->so_timestamping == (kTsTxSoftware | kTsRxSoftware | kTsSoftware));
  CHECK(caps->phc_index == -1);
  CHECK(caps->HasSoftwareRx());
  CHECK(caps->HasSoftwareTx());
  CHECK_FALSE(caps->HasHardwareRx());
  CHECK_FALSE(caps->HasHardwareTx());
  CHECK(TsCapabilityNames(caps->so_timestamping) ==
        std::vector<std::string>{"software-transmit", "software-receive", "software-system-clock"});
  auto phc = Phc::OpenForInterface(*hw);
  CHECK(absl::IsNotFound(phc.status()));
  CHECK(phc.status().message().find("no PTP hardware clock") != absl::string_view::npos);
}

TEST_CASE("ts netns: SIOCSHWTSTAMP on veth: not supported, software stamps used, nothing changed") {
  auto tb = TestbedOrSkip();
  if (!tb) return;
  NetnsScope in(tb->ns_a());
  REQUIRE(in.ok());
  auto hw = HwTimestamping::Open(tb->if_a());
  REQUIRE_MESSAGE(hw.ok(), hw.status().ToString());

  auto before = hw->GetConfig();
  CHECK(absl::IsUnimplemented(before.status()));
  CHECK(before.status().message().find("SIOCGHWTSTAMP") != absl::string_view::npos);
  CHECK(before.status().message().find("not supported by driver veth") != absl::string_view::npos);
  auto caps_before = hw->GetTsInfo();
  REQUIRE(caps_before.ok());

  for (int rx : {kHwRxAll, kHwRxPtpV2Event, kHwRxNone}) {
    CAPTURE(rx);
    auto n = hw->Negotiate({.rx_filter = rx, .tx = true});
    REQUIRE_MESSAGE(n.ok(), n.status().ToString());
    CHECK_FALSE(n->hardware);
    CHECK_FALSE(n->hardware_rx());
    CHECK_FALSE(n->hardware_tx());
    CHECK_FALSE(n->changed);
    CHECK(n->restorer == nullptr);
    CHECK(n->note == tb->if_a() +
                         ": SIOCSHWTSTAMP: operation not supported by driver veth; software "
                         "timestamps will be used");
    REQUIRE(n->attempts.size() == 1u);  // the first refusal settles it
    CHECK(n->attempts[0].find("EOPNOTSUPP") != std::string::npos);
    CHECK(absl::IsFailedPrecondition(n->RequireHardware()));
  }
  // Nothing changed, and nothing is left registered for restore.
  CHECK(RestoreAllHwTimestamping() == 0);
  auto after = hw->GetConfig();
  CHECK(after.status() == before.status());
  auto caps_after = hw->GetTsInfo();
  REQUIRE(caps_after.ok());
  CHECK(caps_after->so_timestamping == caps_before->so_timestamping);
  CHECK(caps_after->phc_index == caps_before->phc_index);

  // The raw call reports the driver by name too.
  auto set = hw->SetConfig({0, kHwTxOn, kHwRxAll});
  CHECK(absl::IsUnimplemented(set.status()));
  CHECK(set.status().message().find("not supported by driver veth") != absl::string_view::npos);
}

TEST_CASE("ts netns: wrong interface names give clear errors") {
  auto tb = TestbedOrSkip();
  if (!tb) return;
  NetnsScope in(tb->ns_a());
  REQUIRE(in.ok());
  auto hw = HwTimestamping::Open("nosuch0");
  CHECK(absl::IsNotFound(hw.status()));
  CHECK(hw.status().message() ==
        "no interface 'nosuch0' in this network namespace (`ip link` lists them)");
  // The peer's name is not visible from this namespace.
  CHECK(absl::IsNotFound(HwTimestamping::Open(tb->if_b()).status()));
  CHECK(absl::IsInvalidArgument(HwTimestamping::Open("a-name-that-is-too-long").status()));
  CHECK(absl::IsInvalidArgument(HwTimestamping::Open("").status()));
}

TEST_CASE("ts netns: restore registry: restore once, by guard, RestoreAll or signal") {
  auto tb = TestbedOrSkip();
  if (!tb) return;
  NetnsScope in(tb->ns_a());
  REQUIRE(in.ok());
  auto hw = HwTimestamping::Open(tb->if_a());
  REQUIRE(hw.ok());

  SUBCASE("guard restores on Restore(), then never again") {
    auto r = HwTimestampingRestorer::Capture(hw->fd(), hw->ifname());
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    CHECK_FALSE((*r)->previous_known());  // veth cannot report its config
    CHECK((*r)->previous() == HwTstampConfig{0, kHwTxOff, kHwRxNone});
    // veth refuses the restore ioctl too, which proves Restore() really issued it.
    absl::Status st = (*r)->Restore();
    CHECK(absl::IsUnimplemented(st));
    CHECK(st.message().find("SIOCSHWTSTAMP restoring tx=off rx=none") != absl::string_view::npos);
    CHECK((*r)->Restore().ok());  // once only
    CHECK(RestoreAllHwTimestamping() == 0);
  }
  SUBCASE("RestoreAll takes every armed guard once; Release keeps the config") {
    auto a = HwTimestampingRestorer::Capture(hw->fd(), hw->ifname());
    auto b = HwTimestampingRestorer::Capture(hw->fd(), hw->ifname());
    auto c = HwTimestampingRestorer::Capture(hw->fd(), hw->ifname());
    REQUIRE((a.ok() && b.ok() && c.ok()));
    (*c)->Release();
    CHECK(RestoreAllHwTimestamping() == 2);
    CHECK(RestoreAllHwTimestamping() == 0);
    CHECK((*a)->Restore().ok());  // already done by RestoreAll: no second ioctl
  }
  SUBCASE("registry capacity is bounded and reported") {
    std::vector<std::unique_ptr<HwTimestampingRestorer>> all;
    for (int i = 0; i < HwTimestampingRestorer::kMaxHwRestorers; ++i) {
      auto r = HwTimestampingRestorer::Capture(hw->fd(), hw->ifname());
      if (!r.ok()) break;  // other live guards in this process take slots too
      all.push_back(std::move(*r));
    }
    auto extra = HwTimestampingRestorer::Capture(hw->fd(), hw->ifname());
    CHECK(absl::IsResourceExhausted(extra.status()));
    for (auto& r : all) r->Release();
    CHECK(RestoreAllHwTimestamping() == 0);
  }
  SUBCASE("SIGTERM restores, then chains to the program's own handler") {
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      auto r = HwTimestampingRestorer::Capture(hw->fd(), hw->ifname());
      if (!r.ok()) _exit(10);
      static HwTimestampingRestorer* guard = nullptr;
      guard = r->get();
      struct sigaction own;
      std::memset(&own, 0, sizeof(own));
      own.sa_handler = [](int) {
        // Restored already by the chained handler: no ioctl (which veth would refuse) is left.
        _exit(guard->Restore().ok() ? 42 : 43);
      };
      sigaction(SIGTERM, &own, nullptr);
      InstallHwTimestampingRestoreHandlers();
      raise(SIGTERM);
      _exit(11);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 42);
  }
  SUBCASE("SIGINT with the default disposition restores and still ends the process") {
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      auto r = HwTimestampingRestorer::Capture(hw->fd(), hw->ifname());
      if (!r.ok()) _exit(10);
      signal(SIGINT, SIG_DFL);
      InstallHwTimestampingRestoreHandlers();
      raise(SIGINT);
      _exit(11);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGINT);
  }
}
