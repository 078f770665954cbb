// probe_icmp.h — IcmpProbeClient: `ringstamp probe client --mode icmp`, ICMP / ICMPv6 echo probes
// from an EtherConn to any host, with TX and RX stamps.
//
// Example:
// Given: #include "ringstamp/engine/conn/packet_relay.h"
// Given: PacketRelay* relay; const MacAddress& mac; const std::atomic<bool>& stop_flag
// Given: void Print(const ProbeResult& r)
//   RS_ASSIGN_OR_RETURN(auto conn, relay->NewEtherConn({.mac = mac,
//                                                       .addresses = {"10.0.0.10/24"}}));
//   RS_ASSIGN_OR_RETURN(auto client, IcmpProbeClient::Create(conn, {
//       .target = IpAddress::Parse("10.0.0.2").value(), .sender = {.count = 100}}));
//   RS_RETURN_IF_ERROR(relay->Start());
//   RS_RETURN_IF_ERROR(client->Run([](const ProbeResult& r) { Print(r); }, &stop_flag));
//   ProbeSummary s = client->Summary();      // s.mode == ProbeMode::kIcmpEcho
//
// The target's own stack answers (over a TAP: this host's stack), so the RTT
// includes the time the peer's kernel took to answer; there are no reflector
// stamps (see probe_icmp_session.h for what a result holds). The client
// registers an echo client on the EtherConn under its identifier (chosen at
// random among the free ones unless given), so echo replies with that
// identifier reach it on the worker thread with their RX stamps, and asks the
// relay for each request's TX stamp (RelayOptions::tx_stamps must be on for
// t1 to be better than the userspace estimate). Hardware TX stamps are put on
// the system clock with the PHC offset given.
// Threads: Create/Run/Summary from one controlling thread; requests are built
// and sent on relay worker 0's thread when due (a relay timer: straight into its
// TX ring; back to back, the reply to the latest request wakes it), replies and TX stamps are fed to the IcmpEchoSender on the relay
// worker that gets them, all under a mutex
// (uncontended with one worker); results reach the caller's callback on the
// calling thread. Cost per probe: one echo request built in place, one reply
// checked; statistics and the result hand-over queue grow amortised.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "ringstamp/engine/conn/ether_conn.h"
#include "ringstamp/engine/conn/packet_relay.h"
#include "ringstamp/engine/probe/latency_stats.h"
#include "ringstamp/engine/probe/probe_icmp_session.h"
#include "ringstamp/engine/probe/probe_result_queue.h"
#include "ringstamp/timestamp/phc.h"

namespace ringstamp {

struct IcmpProbeClientOptions {
  IpAddress local_ip;  // none: the EtherConn's address of the target's family
  IpAddress target;
  uint8_t tos = 0;               // TOS / traffic class of the requests
  uint8_t ttl = 64;              // TTL / hop limit of the requests
  IcmpEchoSenderOptions sender;  // identifier 0: a random one free on the EtherConn
};

class IcmpProbeClient {
 public:
  static absl::StatusOr<std::unique_ptr<IcmpProbeClient>> Create(
      std::shared_ptr<EtherConn> conn, const IcmpProbeClientOptions& options);
  ~IcmpProbeClient();  // unregisters the echo client
  IcmpProbeClient(const IcmpProbeClient&) = delete;
  IcmpProbeClient& operator=(const IcmpProbeClient&) = delete;

  uint16_t identifier() const { return identifier_; }
  const IpAddress& local_ip() const { return local_; }

  // Sends every probe and collects every reply: returns when all probes are
  // answered or timed out, when *stop becomes true, or at deadline_mono_ns (0:
  // none). `on_result` runs on the calling thread. An error when the target
  // (or its gateway) cannot be resolved or the first probe cannot be sent.
  absl::Status Run(const std::function<void(const ProbeResult&)>& on_result,
                   const std::atomic<bool>* stop = nullptr, int64_t deadline_mono_ns = 0);
  ProbeSummary Summary() const;
  ProbeCounters Counters() const;  // as ProbeClient::Counters: cheap, any thread
  // userspace − kernel software stamp of each reply (as ProbeClient::RxOverhead).
  LatencySummary RxOverhead() const;

 private:
  IcmpProbeClient(std::shared_ptr<EtherConn> conn, IcmpEchoSender sender,
                  IcmpProbeClientOptions options, IpAddress local, uint16_t identifier)
      : conn_(std::move(conn)),
        sender_(std::move(sender)),
        options_(std::move(options)),
        local_(local),
        identifier_(identifier),
        rx_overhead_(options_.sender.max_exact_samples) {}

  std::shared_ptr<EtherConn> conn_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  IcmpEchoSender sender_;  // under mu_
  IcmpProbeClientOptions options_;
  IpAddress local_;
  uint16_t identifier_ = 0;
  bool registered_ = false;
  ProbeResultQueue pending_;  // results waiting for the calling thread (under mu_)
  LatencyStats rx_overhead_;  // under mu_
  std::optional<PacketRelay::TimerId> send_timer_;  // under mu_: the sending timer during Run
};

}  // namespace ringstamp
