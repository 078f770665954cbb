// relay_testbed.h — RelayTestbed: a Testbed and a PacketRelay on its ns_b end, the fixture of
// the relay's integration tests (EtherConn, RUDPConn, timers, neighbour floods).
//
//   RelayTestbed b({.wait = WaitMode::kBusyPoll});
//   auto conn = b.relay->NewEtherConn({.mac = mac, .addresses = {b.tb->ip4_extra(16) + "/24"}});
//   REQUIRE(b.relay->Start().ok());
//
// Build it on a doctest test case's thread, after the root check: it REQUIREs that the
// testbed and the relay were made. The relay (TPACKET_V2 immediate RX, 8 MiB of rings per
// worker) is stopped when the fixture goes, before the testbed is torn down. Cost: one
// Testbed::Create and one relay.
#pragma once

#include <memory>
#include <string>

#include "ringstamp/engine/conn/packet_relay.h"
#include "tests/support/netns_testbed.h"

namespace ringstamp::testing {

struct RelayTestbedOptions {
  std::string ifname;  // empty: the testbed's if_b
  int workers = 1;
  WaitMode wait = WaitMode::kIoUring;
};

struct RelayTestbed {
  std::unique_ptr<Testbed> tb;
  std::unique_ptr<PacketRelay> relay;

  explicit RelayTestbed(const RelayTestbedOptions& options = {});
  ~RelayTestbed();
  RelayTestbed(const RelayTestbed&) = delete;
  RelayTestbed& operator=(const RelayTestbed&) = delete;
};

}  // namespace ringstamp::testing
