// netns_testbed.h — Testbed: two network namespaces joined by a veth pair, for integration tests.
//
//   auto tb = Testbed::Create();            // needs root; names carry a per-run suffix
//   REQUIRE_MESSAGE(tb.ok(), tb.status());
//   {
//     NetnsScope in((*tb)->ns_a());          // this thread now lives in ns_a
//     auto sock = PacketSocket::Open((*tb)->if_a(), ...);   // the socket stays in ns_a
//   }                                        // back in the original namespace
//   (*tb)->Run((*tb)->ns_b(), "ping -c1 10.77.0.1");
//
// The destructor deletes both namespaces (the veth pair goes with them), also
// when a test fails: keep the Testbed in a unique_ptr on the test's stack. A process that
// dies of a signal first (an abort, a crash, SIGTERM) deletes them on its way out
// (netns_crash_cleanup.h).
// Addresses: ns_a 10.x.y.1/24 + fd00::1/64 on if_a, ns_b 10.x.y.2/24 + fd00::2/64
// on if_b, where x.y come from the suffix; MACs are fixed per side.
// Not thread-safe; NetnsScope affects only the calling thread.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/support/test_skip.h"

namespace ringstamp::testing {

// True when the process may create namespaces (root / CAP_SYS_ADMIN + CAP_NET_ADMIN).
bool HaveNetnsPrivileges();

// True when net.core.netdev_tstamp_prequeue is 1: a frame a veth delivers is RX-stamped as
// the sender's transmit hands it over (inside that transmit), not later in the receiver's
// softirq. Machine-wide, readable only from the initial namespace: call it before moving
// the thread into a testbed namespace.
bool RxStampedAtEnqueue();

struct TestbedOptions {
  bool assign_addresses = true;  // give both sides IPv4/IPv6 addresses in the kernel
  bool disable_ipv6_dad = true;  // addresses usable at once
  int rx_queues = 1;             // veth numrxqueues/numtxqueues (for FANOUT_QM)
  int mtu = 1500;
};

class Testbed {
 public:
  static absl::StatusOr<std::unique_ptr<Testbed>> Create(TestbedOptions options = {});
  ~Testbed();
  Testbed(const Testbed&) = delete;
  Testbed& operator=(const Testbed&) = delete;

  const std::string& suffix() const { return suffix_; }
  const std::string& ns_a() const { return ns_a_; }
  const std::string& ns_b() const { return ns_b_; }
  const std::string& if_a() const { return if_a_; }
  const std::string& if_b() const { return if_b_; }
  const std::string& mac_a() const { return mac_a_; }
  const std::string& mac_b() const { return mac_b_; }
  const std::string& ip4_a() const { return ip4_a_; }
  const std::string& ip4_b() const { return ip4_b_; }
  const std::string& ip6_a() const { return ip6_a_; }
  const std::string& ip6_b() const { return ip6_b_; }
  // A free address in the same /24 (…​.100 + n), for endpoints that have no kernel address.
  std::string ip4_extra(int n) const;
  std::string ip6_extra(int n) const;

  struct RunResult {
    int exit_code = -1;
    std::string output;  // stdout and stderr together
  };
  // Runs `sh -c command` inside namespace `ns` (ip netns exec), waits, bounded by
  // `timeout_s` (killed after). Output captured.
  RunResult Run(const std::string& ns, const std::string& command, int timeout_s = 30) const;

 private:
  Testbed() = default;
  std::string suffix_, ns_a_, ns_b_, if_a_, if_b_, mac_a_, mac_b_, ip4_a_, ip4_b_, ip6_a_, ip6_b_;
  std::string net_prefix4_;
};

// Sets interface `ifname` of namespace `ns` up when it goes out of scope: a test that takes a
// link down declares one first, and the link is up again whichever check fails.
class LinkUpAtEnd {
 public:
  LinkUpAtEnd(const Testbed& tb, std::string ns, std::string ifname)
      : tb_(tb), ns_(std::move(ns)), ifname_(std::move(ifname)) {}
  ~LinkUpAtEnd() { tb_.Run(ns_, "ip link set " + ifname_ + " up"); }
  LinkUpAtEnd(const LinkUpAtEnd&) = delete;
  LinkUpAtEnd& operator=(const LinkUpAtEnd&) = delete;

 private:
  const Testbed& tb_;
  std::string ns_, ifname_;
};

// Runs a shell command on the host, bounded by timeout_s; returns exit code and output.
Testbed::RunResult RunHost(const std::string& command, int timeout_s = 30);

// Moves the calling thread into a named namespace (/run/netns/NAME) and back
// to its previous namespace on destruction. ok() says whether the move worked.
class NetnsScope {
 public:
  explicit NetnsScope(const std::string& ns);
  ~NetnsScope();
  NetnsScope(const NetnsScope&) = delete;
  NetnsScope& operator=(const NetnsScope&) = delete;
  bool ok() const { return ok_; }

 private:
  int saved_fd_ = -1;
  bool ok_ = false;
};

// `s` quoted for sh: 'it'\''s' style.
std::string ShellQuote(const std::string& s);

// A per-process unique short suffix ("p1234r7") for names of namespaces and devices.
std::string UniqueSuffix();

}  // namespace ringstamp::testing
