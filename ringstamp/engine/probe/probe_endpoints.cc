#include "ringstamp/engine/probe/probe_endpoints.h"
#include "ringstamp/engine/probe/probe_run_loop.h"

#include <chrono>

#include "absl/strings/str_format.h"
#include "ringstamp/common/clock.h"
#include "ringstamp/common/status_macros.h"

namespace ringstamp {
namespace {

uint64_t PeerKey(const DatagramMeta& m) {
  return m.src.Hash() * 0x9e3779b97f4a7c15ULL ^ m.src_port;
}

}  // namespace

// ---------------------------------------------------------------- server

absl::StatusOr<std::unique_ptr<ProbeServer>> ProbeServer::Create(
    std::shared_ptr<EtherConn> conn, const ProbeServerOptions& options) {
  RS_ASSIGN_OR_RETURN(ProbeReflector reflector, ProbeReflector::Create(options.reflector));
  std::unique_ptr<ProbeServer> server(new ProbeServer(std::move(reflector), options));
  RS_ASSIGN_OR_RETURN(server->udp_,
                      RUDPConn::Create(conn, {.local_ip = options.ip, .local_port = options.port}));
  ProbeServer* self = server.get();
  server->udp_->SetTxStampHandler([self](const TxStampReport& r) {
    // The relay put hardware stamps on the system clock (EngineOptions::phc_map).
    std::lock_guard<std::mutex> l(self->mu_);
    self->reflector_.OnSent(r.tag, r.stamps);
  });
  server->udp_->SetHandler([self](const Datagram& d, RUDPConn& udp) {
    // The reply is built in the TX slot and t3 read as the last thing before the UDP
    // checksum, the commit and the kick (kick_now): the estimate as late as it can be.
    uint64_t id;
    {
      std::lock_guard<std::mutex> l(self->mu_);
      id = self->reflector_.ReserveId();
    }
    bool built = false;
    const absl::Status s = udp.ReplyInPlace(
        d.payload.size(),
        [&](std::span<std::byte> out) -> size_t {
          std::lock_guard<std::mutex> l(self->mu_);
          const Reflection r = self->reflector_.Reflect(d.payload, d.meta.stamps, d.meta.ttl,
                                                        PeerKey(d.meta), RealtimeNs(), out, id);
          if (r.size == 0) return 0;
          built = true;
          self->reflector_.RestampT3(r, out, RealtimeNs());
          return r.size;
        },
        d.meta, {.want_stamp = true, .tag = id, .kick_now = true});
    if (built && !s.ok()) self->send_failures_.fetch_add(1, std::memory_order_relaxed);
  });
  return server;
}

ProbeServer::~ProbeServer() {
  if (udp_) udp_->Close();
}

ReflectorSummary ProbeServer::Summary() const {
  // The worker's replies wait for this lock: under it only the counters and a copy of the t3
  // errors into the scratch (which keeps its array), the percentile selection after it
  // (probe_bench, 4 M samples: the copy 2.1 ms, the selection 40 ms).
  ReflectorSummary s;
  {
    std::lock_guard<std::mutex> l(mu_);
    s = reflector_.Counters();
    t3_scratch_ = reflector_.t3_error_stats();
  }
  s.t3_error = t3_scratch_.Summarize();
  return s;
}

LatencySummary ProbeServer::TakeT3ErrorWindow() {
  std::lock_guard<std::mutex> l(mu_);
  return reflector_.TakeT3ErrorWindow();
}

// ---------------------------------------------------------------- client

absl::StatusOr<std::unique_ptr<ProbeClient>> ProbeClient::Create(
    std::shared_ptr<EtherConn> conn, const ProbeClientOptions& options) {
  if (!options.server.ip.is_valid() || options.server.port == 0) {
    return absl::InvalidArgumentError(
        "probe client: a server address and port are needed (--server)");
  }
  RS_ASSIGN_OR_RETURN(ProbeSender sender, ProbeSender::Create(options.sender));
  std::unique_ptr<ProbeClient> client(new ProbeClient(std::move(sender), options));
  IpAddress local =
      options.local_ip.is_valid() ? options.local_ip : conn->AddressOf(options.server.ip.family());
  if (!local.is_valid()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("probe client: no %s address to probe %s from; give one with --ip",
                        options.server.ip.is_v4() ? "IPv4" : "IPv6", options.server.ip.ToString()));
  }
  const uint16_t port = options.local_port != 0 ? options.local_port : kStampPort + 40000;
  RS_ASSIGN_OR_RETURN(client->udp_, RUDPConn::Create(conn, {.local_ip = local,
                                                            .local_port = port,
                                                            .tos = options.tos,
                                                            .ttl = options.ttl,
                                                            .connected = options.server}));
  ProbeClient* self = client.get();
  client->udp_->SetTxStampHandler([self](const TxStampReport& r) {
    FeedProbeTxStamp(self->mu_, self->cv_, self->pending_, self->sender_, r);
  });
  client->udp_->SetHandler([self](const Datagram& d, RUDPConn& udp) {
    FeedProbeReply(udp.ether().relay(), self->mu_, self->cv_, self->pending_, self->send_timer_,
                   self->sender_, self->rx_overhead_, d.meta.stamps,
                   [&](int64_t now, const auto& emit) {
                     self->sender_.OnReply(d.payload, d.meta.stamps, d.meta.ttl, now, emit);
                   });
  });
  return client;
}

ProbeClient::~ProbeClient() {
  if (udp_) udp_->Close();
}

absl::Status ProbeClient::Run(const std::function<void(const ProbeResult&)>& on_result,
                              const std::atomic<bool>* stop, int64_t deadline_mono_ns) {
  std::vector<std::byte> buf(std::max<size_t>(options_.sender.packet_size, 44));
  // Resolve the reflector (or the gateway) first, so the first probe's t1 is not
  // taken before an ARP/NDP exchange.
  {
    auto hop = udp_->ether().NextHop(options_.server.ip);
    if (!hop.ok()) return hop.status();
    auto mac = udp_->ether().Resolve(*hop);
    if (!mac.ok()) return mac.status();
  }
  return RunProbeLoop(
      udp_->ether().relay(), mu_, cv_, pending_, send_timer_, sender_, std::span(buf),
      [&](const BuiltProbe& probe) {
        return udp_->Write(std::span(buf.data(), probe.size),
                           {.want_stamp = true, .tag = probe.seq, .kick_now = true});
      },
      on_result, stop, deadline_mono_ns);
}

LatencySummary ProbeClient::RxOverhead() const {
  std::lock_guard<std::mutex> l(mu_);
  return rx_overhead_.Summarize();
}

ProbeSummary ProbeClient::Summary() const {
  std::lock_guard<std::mutex> l(mu_);
  return sender_.Summary();
}

ProbeCounters ProbeClient::Counters() const {
  std::lock_guard<std::mutex> l(mu_);
  return sender_.counters();
}

}  // namespace ringstamp
