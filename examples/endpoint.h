// endpoint.h — what every example does first: an Ethernet endpoint of its own on an
// interface, with the best stamps the NIC gives. Four library calls:
//
//   1. PlanTimestamping   which stamps this interface can give (hardware where the NIC can);
//   2. PacketRelay        TPACKET_V3 rings on the interface, set up from that plan;
//   3. NewEtherConn       an endpoint with its own MAC, VLAN stack and addresses — no OS
//                         interface or address is created; it answers ARP/NDP and ping;
//   4. Start              the relay's worker thread begins receiving.
//
//   auto ep = examples::OpenEndpoint({.ifname = "eth1", .addresses = {"10.0.0.10/24"}});
//   if (!ep.ok()) { fprintf(stderr, "%s\n", std::string(ep.status().message()).c_str()); ... }
//   // ep->conn is the EtherConn; RUDPConn::Create(ep->conn, ...) for UDP on it.
//
// Main thread. Not part of the library: copy what you need.
#pragma once

#include <pthread.h>
#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ringstamp/common/status_macros.h"
#include "ringstamp/engine/conn/ether_conn.h"
#include "ringstamp/engine/conn/packet_relay.h"
#include "ringstamp/engine/timestamping_plan.h"
#include "ringstamp/ring/packet_socket.h"

namespace examples {

struct EndpointOptions {
  std::string ifname;
  std::vector<std::string> addresses;  // "10.0.0.10/24", "fd00::10/64"; may be empty
  std::string mac;                     // "" : the interface's own MAC
  ringstamp::VlanStack vlans;          // empty, one tag, or QinQ
  std::vector<uint16_t> ethertypes = {0x0806, 0x0800, 0x86dd};  // ARP, IPv4, IPv6
  ringstamp::TstampMode tstamp = ringstamp::TstampMode::kAuto;
};

struct Endpoint {
  // Order matters: the plan outlives the relay (it restores the NIC's config when it goes),
  // the relay outlives the conn's last use.
  ringstamp::TimestampingPlan plan;
  std::unique_ptr<ringstamp::PacketRelay> relay;
  std::shared_ptr<ringstamp::EtherConn> conn;
  ~Endpoint() {
    if (conn) conn->Close();
    if (relay) relay->Stop();
  }
};

inline absl::StatusOr<std::unique_ptr<Endpoint>> OpenEndpoint(const EndpointOptions& o) {
  auto ep = std::make_unique<Endpoint>();
  // 1. Hardware RX and TX stamps where the NIC has them (auto: software otherwise).
  RS_ASSIGN_OR_RETURN(ep->plan,
                      ringstamp::PlanTimestamping(o.ifname, o.tstamp, /*rx=*/true, /*tx=*/true));
  // 2. The relay: rings, stamps, PHC mapping and TX stamp timeout from the plan.
  ringstamp::RelayOptions ro = ringstamp::RelayOptions::FromPlan(o.ifname, ep->plan);
  ro.engine.workers = 1;                              // plenty for a small service
  ro.engine.rx_mode = ringstamp::RxMode::kImmediate;  // each frame as it arrives (not per block)
  RS_ASSIGN_OR_RETURN(ep->relay, ringstamp::PacketRelay::Create(ro));
  // 3. The endpoint.
  ringstamp::EtherConnOptions eo;
  if (o.mac.empty()) {
    eo.mac = ep->relay->interface_mac();
  } else if (auto mac = ringstamp::MacAddress::Parse(o.mac)) {
    eo.mac = *mac;
  } else {
    return absl::InvalidArgumentError("--mac " + o.mac + ": want six hex bytes, 02:00:00:00:00:10");
  }
  eo.vlans = o.vlans;
  eo.ethertypes = o.ethertypes;
  eo.addresses = o.addresses;
  RS_ASSIGN_OR_RETURN(ep->conn, ep->relay->NewEtherConn(eo));
  // 4. Receiving starts.
  RS_RETURN_IF_ERROR(ep->relay->Start());
  return ep;
}

// Blocks SIGINT and SIGTERM in every thread (call before OpenEndpoint: the relay's threads
// inherit the mask) and returns the set to sigwait() on.
inline sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

}  // namespace examples
