#include "apps/probe_fleet.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "ringstamp/common/clock.h"

namespace ringstamp::app {

ProbeFleet::ProbeFleet(std::shared_ptr<EtherConn> conn, Options options, ResultFn on_result)
    : conn_(std::move(conn)), options_(std::move(options)), on_result_(std::move(on_result)) {}

ProbeFleet::~ProbeFleet() {
  StopAll();
  for (auto& s : sessions_) {
    if (s->thread.joinable()) s->thread.join();
  }
}

absl::Status ProbeFleet::Add(const ProbeTarget& target) {
  if (sessions_.size() >= kMaxProbeTargets) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("%s: more than %d targets in one client; split them across clients",
                        target.Name(), kMaxProbeTargets));
  }
  auto s = std::make_unique<FleetSession>();
  s->target = target;
  s->keys.target = target.Name();
  s->keys.labels = target.labels;
  s->slot = std::find(slot_used_.begin(), slot_used_.end(), false) - slot_used_.begin();
  if (options_.icmp) {
    auto c = IcmpProbeClient::Create(
        conn_, {.target = target.ip, .tos = options_.tos, .sender = options_.echo});
    if (!c.ok()) return c.status();
    s->icmp = std::move(*c);
  } else {
    auto c = ProbeClient::Create(conn_,
                                 {.local_port = static_cast<uint16_t>(kStampPort + 40000 + s->slot),
                                  .server = {target.ip, target.port},
                                  .tos = options_.tos,
                                  .sender = options_.stamp});
    if (!c.ok()) return c.status();
    s->stamp = std::move(*c);
  }
  if (s->slot == slot_used_.size()) slot_used_.push_back(false);
  slot_used_[s->slot] = true;
  if (options_.report_every_ns > 0) {
    const int64_t now = RealtimeNs();
    s->window = ProbeWindow(now);
    s->next_report_ns = NextBoundary(now, options_.report_every_ns);
  }
  FleetSession* raw = s.get();
  if (options_.on_start) options_.on_start(*raw);
  sessions_.push_back(std::move(s));
  raw->thread = std::thread([this, raw] { RunSession(raw); });
  return absl::OkStatus();
}

void ProbeFleet::RunSession(FleetSession* s) {
  auto on_result = [this, s](const ProbeResult& r) {
    std::lock_guard<std::mutex> l(out_mu_);
    on_result_(*s, r);
  };
  if (s->icmp) {
    s->status = s->icmp->Run(on_result, &s->stop, options_.deadline_mono_ns);
    s->summary = s->icmp->Summary();
    s->rx_overhead = s->icmp->RxOverhead();
  } else {
    s->status = s->stamp->Run(on_result, &s->stop, options_.deadline_mono_ns);
    s->summary = s->stamp->Summary();
    s->rx_overhead = s->stamp->RxOverhead();
  }
  s->finished.store(true);
}

absl::StatusOr<ProbeFleet::Change> ProbeFleet::Reconcile(const std::vector<ProbeTarget>& targets) {
  Change c;
  for (auto& s : sessions_) {
    if (s->removed) continue;
    if (std::find(targets.begin(), targets.end(), s->target) == targets.end()) {
      s->removed = true;
      s->stop.store(true);
      ++c.removed;
    } else {
      ++c.kept;
    }
  }
  for (const ProbeTarget& t : targets) {
    const bool running = std::any_of(sessions_.begin(), sessions_.end(),
                                     [&](const auto& s) { return !s->removed && s->target == t; });
    if (running) continue;
    if (absl::Status st = Add(t); !st.ok()) return st;
    ++c.added;
  }
  return c;
}

void ProbeFleet::ForEach(const std::function<void(FleetSession&)>& fn) {
  for (auto& s : sessions_) fn(*s);
}

void ProbeFleet::StopAll() {
  for (auto& s : sessions_) s->stop.store(true);
}

bool ProbeFleet::Reap(const EndFn& ended) {
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    FleetSession& s = **it;
    if (!s.finished.load()) {
      ++it;
      continue;
    }
    s.thread.join();
    {
      std::lock_guard<std::mutex> l(out_mu_);
      ended(s);
    }
    slot_used_[s.slot] = false;
    it = sessions_.erase(it);  // the client (its RUDPConn or echo identifier) goes with it
  }
  return !sessions_.empty();
}

}  // namespace ringstamp::app
