// probe_endpoints.h — ProbeServer and ProbeClient: the STAMP reflector and sender running on a
// relay's RUDPConn, for latency tools that embed `ringstamp probe` without the CLI.
//
// Example:
// Given: #include "ringstamp/engine/conn/packet_relay.h"
// Given: PacketRelay* relay; const MacAddress& mac; std::shared_ptr<EtherConn> conn2; const IpAddress& ip
// Given: const std::atomic<bool>& stop_flag; void Print(const ProbeResult& r)
//   RS_ASSIGN_OR_RETURN(auto conn, relay->NewEtherConn({.mac = mac, .addresses = {"10.0.0.10/24"}}));
//   RS_ASSIGN_OR_RETURN(auto server, ProbeServer::Create(conn, {.port = 862}));
//   ...
//   RS_ASSIGN_OR_RETURN(auto client, ProbeClient::Create(conn2, {.server = {ip, 862},
//                                                              .sender = {.count = 1000}}));
//   RS_RETURN_IF_ERROR(client->Run([](const ProbeResult& r) { Print(r); }, &stop_flag));
//   ProbeSummary s = client->Summary();
//
// The reflector answers on the worker thread that received the request (reply
// built and sent there, through the MAC the request came from), and records
// its real TX stamp when the relay delivers it. The client's probes are built
// and sent at the configured interval on relay worker 0's thread (a relay timer:
// straight into its TX ring, no hand-over between threads; back to back, with interval 0,
// the reply to the latest probe wakes that timer); replies and TX stamps
// are fed to the ProbeSender on the worker thread; results are handed to the caller's
// callback on the calling thread. Hardware TX stamps are put on the system
// clock with the PHC offset given.
// Threads: Create/Run/Summary from one controlling thread; the rest runs on
// relay workers. A mutex guards the sender/reflector (uncontended with one worker).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "ringstamp/engine/conn/packet_relay.h"
#include "ringstamp/engine/conn/rudp_conn.h"
#include "ringstamp/engine/probe/probe_reflector.h"
#include "ringstamp/engine/probe/probe_result_queue.h"
#include "ringstamp/engine/probe/probe_session.h"
#include "ringstamp/timestamp/phc.h"

namespace ringstamp {

inline constexpr uint16_t kStampPort = 862;

struct ProbeServerOptions {
  IpAddress ip;  // none: every address of the EtherConn
  uint16_t port = kStampPort;
  ProbeReflectorOptions reflector;
  // Raw hardware TX stamps arrive on the system clock already: the relay maps
  // them (EngineOptions::phc_map).
};

class ProbeServer {
 public:
  static absl::StatusOr<std::unique_ptr<ProbeServer>> Create(std::shared_ptr<EtherConn> conn,
                                                             const ProbeServerOptions& options);
  ~ProbeServer();
  // The reflector's summary. Its t3 error percentiles are taken from a copy made under the
  // lock the worker's replies wait for, so the worker waits for a copy, not the selection; the
  // copy is kept for the next call (as large as the reflector's samples: up to 32 MiB in a
  // long exact run).
  ReflectorSummary Summary() const;
  // ProbeReflector::TakeT3ErrorWindow, under the lock the worker's replies take.
  LatencySummary TakeT3ErrorWindow();
  uint64_t send_failures() const { return send_failures_.load(); }

 private:
  ProbeServer(ProbeReflector reflector, ProbeServerOptions options)
      : reflector_(std::move(reflector)), options_(std::move(options)) {}
  mutable std::mutex mu_;
  ProbeReflector reflector_;
  mutable LatencyStats t3_scratch_;  // Summary's copy of the t3 errors (controlling thread only)
  ProbeServerOptions options_;
  std::shared_ptr<RUDPConn> udp_;
  std::atomic<uint64_t> send_failures_{0};
};

struct ProbeClientOptions {
  IpAddress local_ip;       // none: the EtherConn's address of the server's family
  uint16_t local_port = 0;  // 0: kStampPort + 40000
  UdpEndpoint server;
  uint8_t tos = 0;
  uint8_t ttl = 64;
  ProbeSenderOptions sender;
};

class ProbeClient {
 public:
  static absl::StatusOr<std::unique_ptr<ProbeClient>> Create(std::shared_ptr<EtherConn> conn,
                                                             const ProbeClientOptions& options);
  ~ProbeClient();

  // Sends every probe and collects every reply: returns when all probes are
  // answered or timed out, when *stop becomes true, or at deadline_mono_ns (0: none).
  // `on_result` runs on the calling thread. An error when the server's address
  // cannot be resolved or a probe cannot be sent at all.
  absl::Status Run(const std::function<void(const ProbeResult&)>& on_result,
                   const std::atomic<bool>* stop = nullptr, int64_t deadline_mono_ns = 0);
  ProbeSummary Summary() const;
  // The counters alone (sent, received, lost, ...): a copy under the session's lock, cheap
  // enough to poll from any thread while Run goes on (Summary computes percentiles).
  ProbeCounters Counters() const;
  // The probe's own receive overhead: userspace − kernel software stamp of each
  // reply (how long a reply waited between the kernel and this program).
  LatencySummary RxOverhead() const;

 private:
  ProbeClient(ProbeSender sender, ProbeClientOptions options)
      : sender_(std::move(sender)),
        options_(std::move(options)),
        rx_overhead_(options_.sender.max_exact_samples) {}

  mutable std::mutex mu_;
  std::condition_variable cv_;
  ProbeSender sender_;
  ProbeClientOptions options_;
  std::shared_ptr<RUDPConn> udp_;
  ProbeResultQueue pending_;  // results waiting for the calling thread (under mu_)
  LatencyStats rx_overhead_;  // under mu_
  std::optional<PacketRelay::TimerId> send_timer_;  // under mu_: the sending timer during Run
};

}  // namespace ringstamp
