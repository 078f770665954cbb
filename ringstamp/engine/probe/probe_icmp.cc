#include "ringstamp/engine/probe/probe_icmp.h"
#include "ringstamp/engine/probe/probe_run_loop.h"

#include <algorithm>
#include <chrono>
#include <random>

#include "absl/strings/str_format.h"
#include "ringstamp/common/clock.h"

namespace ringstamp {
namespace {

constexpr int kIdentifierAttempts = 32;

}  // namespace

absl::StatusOr<std::unique_ptr<IcmpProbeClient>> IcmpProbeClient::Create(
    std::shared_ptr<EtherConn> conn, const IcmpProbeClientOptions& options) {
  if (conn == nullptr || conn->closed()) {
    return absl::FailedPreconditionError("ICMP probe client needs an open EtherConn");
  }
  if (!options.target.is_valid()) {
    return absl::InvalidArgumentError("ICMP probe client: a target address is needed (--server)");
  }
  const IpAddress local =
      options.local_ip.is_valid() ? options.local_ip : conn->AddressOf(options.target.family());
  if (!local.is_valid() || local.family() != options.target.family() || !conn->HasAddress(local)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("ICMP probe client: no %s address to ping %s from; give one with --ip",
                        options.target.is_v4() ? "IPv4" : "IPv6", options.target.ToString()));
  }
  std::random_device rd;
  const bool random_id = options.sender.identifier == 0;
  for (int attempt = 0; attempt < kIdentifierAttempts; ++attempt) {
    IcmpEchoSenderOptions so = options.sender;
    if (random_id) so.identifier = static_cast<uint16_t>(1 + rd() % 0xffff);
    auto sender = IcmpEchoSender::Create(so);
    if (!sender.ok()) return sender.status();
    std::unique_ptr<IcmpProbeClient> client(
        new IcmpProbeClient(conn, std::move(*sender), options, local, so.identifier));
    client->pending_.results.reserve(64);
    IcmpProbeClient* self = client.get();
    absl::Status s = conn->RegisterEchoClient(
        so.identifier,
        {.on_reply =
             [self](const EchoReply& e) {
               FeedProbeReply(
                   self->conn_->relay(), self->mu_, self->cv_, self->pending_, self->send_timer_,
                   self->sender_, self->rx_overhead_, e.stamps, [&](int64_t now, const auto& emit) {
                     self->sender_.OnReply(e.id, e.seq, e.data, e.stamps, e.ttl, now, emit);
                   });
             },
         .on_tx_stamp =
             [self](const TxStampReport& r) {
               FeedProbeTxStamp(self->mu_, self->cv_, self->pending_, self->sender_, r);
             }});
    if (s.ok()) {
      client->registered_ = true;
      return client;
    }
    if (!random_id || s.code() != absl::StatusCode::kAlreadyExists) return s;
  }
  return absl::ResourceExhaustedError(absl::StrFormat(
      "ICMP probe client: no free echo identifier found on endpoint %s after %d tries",
      conn->mac().ToString(), kIdentifierAttempts));
}

IcmpProbeClient::~IcmpProbeClient() {
  if (registered_) conn_->UnregisterEchoClient(identifier_);
}

absl::Status IcmpProbeClient::Run(const std::function<void(const ProbeResult&)>& on_result,
                                  const std::atomic<bool>* stop, int64_t deadline_mono_ns) {
  std::vector<std::byte> buf(sender_.options().data_size);
  // Resolve the target (or the gateway) first, so the first probe's t1 is not
  // taken before an ARP/NDP exchange.
  {
    auto hop = conn_->NextHop(options_.target);
    if (!hop.ok()) return hop.status();
    auto mac = conn_->Resolve(*hop);
    if (!mac.ok()) return mac.status();
  }
  return RunProbeLoop(
      conn_->relay(), mu_, cv_, pending_, send_timer_, sender_, std::span(buf),
      [&](const BuiltEcho& probe) {
        return conn_->SendEchoRequest({.dst = options_.target,
                                       .src = local_,
                                       .id = identifier_,
                                       .seq = probe.icmp_seq,
                                       .ttl = options_.ttl,
                                       .tos = options_.tos},
                                      std::span(buf.data(), probe.size),
                                      {.want_stamp = true, .tag = probe.seq, .kick_now = true});
      },
      on_result, stop, deadline_mono_ns);
}

ProbeSummary IcmpProbeClient::Summary() const {
  std::lock_guard<std::mutex> l(mu_);
  return sender_.Summary();
}

ProbeCounters IcmpProbeClient::Counters() const {
  std::lock_guard<std::mutex> l(mu_);
  return sender_.counters();
}

LatencySummary IcmpProbeClient::RxOverhead() const {
  std::lock_guard<std::mutex> l(mu_);
  return rx_overhead_.Summarize();
}

}  // namespace ringstamp
