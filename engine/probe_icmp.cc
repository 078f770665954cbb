#include "engine/probe_icmp.h"

#include <algorithm>
#include <chrono>
#include <random>

#include "absl/strings/str_format.h"
#include "common/clock.h"

namespace ringstamp {
namespace {

constexpr int kIdentifierAttempts = 32;

Timestamps OnSystemClock(Timestamps t, const std::optional<PhcOffset>& phc) {
  if (phc && t.hardware_ns && t.hardware_source == StampSource::kHardwareRaw)
    MapHardwareToSystem(t, *phc);
  return t;
}

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
    client->pending_.reserve(64);
    IcmpProbeClient* self = client.get();
    absl::Status s = conn->RegisterEchoClient(
        so.identifier,
        {.on_reply =
             [self](const EchoReply& e) {
               std::lock_guard<std::mutex> l(self->mu_);
               if (e.stamps.software_ns && e.stamps.userspace_ns) {
                 self->rx_overhead_.Add(*e.stamps.userspace_ns - *e.stamps.software_ns);
               }
               self->sender_.OnReply(e.id, e.seq, e.data, e.stamps, e.ttl, MonotonicNs(),
                                     [self](const ProbeResult& r) { self->Emit(r); });
               self->cv_.notify_one();
             },
         .on_tx_stamp =
             [self](const TxStampReport& r) {
               const Timestamps t = OnSystemClock(r.stamps, self->options_.phc_offset);
               std::lock_guard<std::mutex> l(self->mu_);
               self->sender_.OnSent(static_cast<uint32_t>(r.tag), t,
                                    [self](const ProbeResult& res) { self->Emit(res); });
               self->cv_.notify_one();
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
  std::vector<ProbeResult> ready;
  ready.reserve(64);
  bool first = true;
  for (;;) {
    const bool stopping = (stop != nullptr && stop->load()) ||
                          (deadline_mono_ns > 0 && MonotonicNs() >= deadline_mono_ns);
    BuiltEcho probe;
    int64_t wake;
    bool done;
    {
      std::unique_lock<std::mutex> l(mu_);
      const int64_t now = MonotonicNs();
      auto due = sender_.NextSendAt();
      if (!stopping && due && *due <= now) probe = sender_.BuildProbe(buf, now, RealtimeNs());
      sender_.Expire(stopping ? INT64_MAX : now, [this](const ProbeResult& r) { Emit(r); });
      ready.swap(pending_);
      due = sender_.NextSendAt();
      auto deadline = sender_.NextDeadline();
      wake = now + 50'000'000;
      if (due) wake = std::min(wake, *due);
      if (deadline) wake = std::min(wake, *deadline);
      done = stopping || sender_.Done();
    }
    if (probe.size > 0) {
      absl::Status s = conn_->SendEchoRequest({.dst = options_.target,
                                               .src = local_,
                                               .id = identifier_,
                                               .seq = probe.icmp_seq,
                                               .ttl = options_.ttl,
                                               .tos = options_.tos},
                                              std::span(buf.data(), probe.size),
                                              {.want_stamp = true, .tag = probe.seq});
      if (!s.ok()) {
        ++send_failures_;
        // The first probe resolves the target: when that fails nothing will work.
        if (first) return s;
      }
      first = false;
    }
    for (const ProbeResult& r : ready) on_result(r);
    ready.clear();
    if (done) {
      std::lock_guard<std::mutex> l(mu_);
      ready.swap(pending_);
      if (ready.empty()) break;
      continue;
    }
    if (probe.size > 0) continue;  // maybe the next one is due already
    std::unique_lock<std::mutex> l(mu_);
    const int64_t now = MonotonicNs();
    if (wake > now && pending_.empty()) {
      cv_.wait_for(l, std::chrono::nanoseconds(wake - now));
    }
  }
  return absl::OkStatus();
}

ProbeSummary IcmpProbeClient::Summary() const {
  std::lock_guard<std::mutex> l(mu_);
  return sender_.Summary();
}

LatencySummary IcmpProbeClient::RxOverhead() const {
  std::lock_guard<std::mutex> l(mu_);
  return rx_overhead_.Summarize();
}

}  // namespace ringstamp
