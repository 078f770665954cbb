#include "ringstamp/engine/conn/packet_relay.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "ringstamp/common/clock.h"
#include "ringstamp/common/status_macros.h"
#include "ringstamp/engine/conn/ether_conn.h"
#include "ringstamp/engine/conn/relay_worker.h"
#include "ringstamp/ring/bpf_filter.h"
#include "ringstamp/ring/packet_socket.h"

namespace ringstamp {

RelayOptions RelayOptions::FromPlan(std::string_view ifname, const TimestampingPlan& plan) {
  RelayOptions ro;
  ro.engine.ifname = std::string(ifname);
  ro.engine.hardware_stamps = plan.hardware_rx;
  ro.engine.phc_map = plan.phc_map;
  ro.tx_stamps = plan.software_tx || plan.hardware_tx;
  ro.tx_hardware_stamps = plan.hardware_tx;
  ro.tx_stamp_timeout_ns = plan.hardware_tx ? 10'000'000 : 1'000'000'000;
  return ro;
}

absl::StatusOr<std::unique_ptr<PacketRelay>> PacketRelay::Create(const RelayOptions& options) {
  std::unique_ptr<PacketRelay> relay(new PacketRelay(options));
  EngineOptions eo = options.engine;
  eo.rx = true;
  eo.tx = true;
  // The relay sees what arrives for its endpoints' MACs, which are not the NIC's own.
  eo.promiscuous = true;
  if (!options.filter.empty()) {
    RS_ASSIGN_OR_RETURN(BpfProgram prog,
                        BpfProgram::Compile(options.filter, {.interface = eo.ifname}));
    eo.bpf.assign(prog.instructions().begin(), prog.instructions().end());
  }
  RS_ASSIGN_OR_RETURN(auto mac, InterfaceMac(eo.ifname));
  relay->interface_mac_.bytes = mac;
  PacketRelay* self = relay.get();
  RS_ASSIGN_OR_RETURN(relay->engine_, Engine::Create(eo, [self](int i) {
                        auto w = std::make_unique<RelayWorker>(self, i);
                        self->workers_.push_back(w.get());
                        return w;
                      }));
  return relay;
}

PacketRelay::~PacketRelay() { Stop(); }

absl::Status PacketRelay::Start() {
  if (running_) return absl::OkStatus();
  RS_RETURN_IF_ERROR(engine_->Start());
  running_ = true;
  return absl::OkStatus();
}

void PacketRelay::Stop() {
  if (engine_) engine_->Stop();
  running_ = false;
}

absl::Status PacketRelay::Claim(const std::vector<L2Key>& keys) {
  std::lock_guard<std::mutex> l(reg_mu_);
  for (const L2Key& k : keys) {
    if (taken_.contains(k)) {
      return absl::AlreadyExistsError(absl::StrFormat(
          "an endpoint with MAC %s, this VLAN stack and EtherType 0x%04x already exists on the "
          "relay; use another MAC or VLAN stack",
          MacAddress::FromU64(k.mac_type >> 16).ToString(),
          static_cast<unsigned>(k.mac_type & 0xffff)));
    }
  }
  for (const L2Key& k : keys) taken_.insert(k);
  ++endpoints_;
  return absl::OkStatus();
}

void PacketRelay::Release(const std::vector<L2Key>& keys) {
  std::lock_guard<std::mutex> l(reg_mu_);
  for (const L2Key& k : keys) taken_.erase(k);
  if (endpoints_ > 0) --endpoints_;
}

void PacketRelay::SetDefault(std::shared_ptr<EtherConn> conn) {
  EtherConn* raw = conn.get();
  ApplyToWorkers([raw](RelayWorker& w) { w.tables().default_conn = raw; });
  std::lock_guard<std::mutex> l(reg_mu_);
  default_conn_ = std::move(conn);
}

void PacketRelay::ApplyToWorkers(const std::function<void(RelayWorker&)>& fn) {
  absl::Status s = Apply(fn, std::nullopt);
  (void)s;  // unbounded: always OK
}

absl::Status PacketRelay::TryApplyToWorkers(const std::function<void(RelayWorker&)>& fn,
                                            std::chrono::milliseconds timeout) {
  return Apply(fn, timeout);
}

absl::Status PacketRelay::Apply(const std::function<void(RelayWorker&)>& fn,
                                std::optional<std::chrono::milliseconds> timeout) {
  std::lock_guard<std::mutex> l(apply_mu_);
  RelayWorker* self = CurrentWorker();
  std::vector<uint64_t> tickets(workers_.size(), 0);
  for (size_t i = 0; i < workers_.size(); ++i) {
    if (workers_[i] == self) {
      fn(*workers_[i]);  // our own tables, on our own thread
    } else {
      tickets[i] = workers_[i]->Post(fn);
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout.value_or(kApplyTimeout);
  std::vector<int> late;
  for (size_t i = 0; i < workers_.size(); ++i) {
    if (tickets[i] == 0) continue;
    if (!timeout) {
      WaitAppliedUnbounded(*workers_[i], tickets[i]);
      continue;
    }
    const auto left = std::max(std::chrono::milliseconds(0),
                               std::chrono::duration_cast<std::chrono::milliseconds>(
                                   deadline - std::chrono::steady_clock::now()));
    if (!workers_[i]->WaitApplied(tickets[i], left) && workers_[i]->Withdraw(tickets[i])) {
      late.push_back(workers_[i]->index());
    }
  }
  if (late.empty()) return absl::OkStatus();
  control_waits_over_timeout_.fetch_add(1, std::memory_order_relaxed);
  return absl::DeadlineExceededError(absl::StrFormat(
      "relay worker(s) %s did not take the change within %d ms (a handler blocking its "
      "thread?); the change was withdrawn there",
      absl::StrJoin(late, ","), static_cast<int>(timeout->count())));
}

absl::StatusOr<PacketRelay::TimerId> PacketRelay::AddTimer(
    int worker, std::function<int64_t(int64_t now_mono_ns)> fn) {
  if (worker < 0 || worker >= worker_count()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("no relay worker %d: this relay has %d (0..%d)", worker, worker_count(),
                        worker_count() - 1));
  }
  if (!fn) return absl::InvalidArgumentError("AddTimer: empty function");
  const TimerId id{worker, next_timer_id_.fetch_add(1, std::memory_order_relaxed)};
  workers_[static_cast<size_t>(worker)]->Post(
      [id, fn = std::move(fn)](RelayWorker& w) mutable { w.AddTimer(id.id, std::move(fn)); });
  return id;
}

void PacketRelay::CancelTimer(TimerId id) {
  if (id.worker < 0 || id.worker >= worker_count()) return;
  RelayWorker& w = *workers_[static_cast<size_t>(id.worker)];
  if (CurrentWorker() == &w) {
    w.RemoveTimer(id.id);  // its own thread: between batches or inside a timer
    return;
  }
  WaitAppliedUnbounded(w, w.Post([id](RelayWorker& rw) { rw.RemoveTimer(id.id); }));
}

void PacketRelay::WakeTimer(TimerId id) {
  if (id.worker < 0 || id.worker >= worker_count()) return;
  RelayWorker& w = *workers_[static_cast<size_t>(id.worker)];
  if (CurrentWorker() == &w) {
    w.WakeTimer(id.id, MonotonicNs());
    return;
  }
  (void)w.Post([id](RelayWorker& rw) { rw.WakeTimer(id.id, MonotonicNs()); });
}

void PacketRelay::WaitAppliedUnbounded(RelayWorker& w, uint64_t ticket) {
  while (!w.WaitApplied(ticket, kApplyTimeout)) {
    control_waits_over_timeout_.fetch_add(1, std::memory_order_relaxed);
  }
}

RelayWorker* PacketRelay::CurrentWorker() const {
  RelayWorker* w = CurrentRelayWorker();
  return (w != nullptr && &w->relay() == this) ? w : nullptr;
}

absl::Status PacketRelay::Transmit(absl::FunctionRef<size_t(std::span<std::byte>)> build,
                                   uint32_t conn_id, const TxOptions& tx, int hint) {
  if (RelayWorker* w = CurrentWorker()) {
    if (!w->SendInPlace(build, conn_id, tx)) {
      return absl::ResourceExhaustedError("TX ring full (or the frame did not fit); frame dropped");
    }
    return absl::OkStatus();
  }
  thread_local std::vector<std::byte> scratch(9232);
  const size_t len = build(scratch);
  if (len == 0) return absl::InvalidArgumentError("frame does not fit a TX slot");
  RelayWorker& w = *workers_[static_cast<size_t>(hint) % workers_.size()];
  if (!w.Enqueue(std::span<const std::byte>(scratch.data(), len), conn_id, tx)) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "relay TX queue full (%d frames waiting for worker %d); slow down or raise tx_queue_frames",
        options_.tx_queue_frames, w.index()));
  }
  return absl::OkStatus();
}

bool PacketRelay::TransmitFrame(std::span<const std::byte> frame, uint32_t conn_id,
                                const TxOptions& tx, int hint) {
  if (RelayWorker* w = CurrentWorker()) return w->SendCopy(frame, conn_id, tx);
  return workers_[static_cast<size_t>(hint) % workers_.size()]->Enqueue(frame, conn_id, tx);
}

RelayStats PacketRelay::Stats() const {
  RelayStats s;
  for (const RelayWorker* w : workers_) {
    const auto& c = w->counters();
    s.frames += c.frames.Get();
    s.delivered += c.delivered.Get();
    s.no_owner += c.no_owner.Get();
    s.malformed += c.malformed.Get();
    s.broadcast += c.broadcast.Get();
    s.multicast += c.multicast.Get();
    s.tx_frames += c.tx_frames.Get();
    s.tx_ring_full += c.tx_ring_full.Get();
    s.tx_stamps += c.tx_stamps.Get();
    s.tx_stamps_missed += c.tx_stamps_missed.Get();
    s.tx_stamp_resyncs += c.tx_stamp_resyncs.Get();
    s.tx_queue_full += c.tx_queue_full.load(std::memory_order_relaxed);
  }
  std::lock_guard<std::mutex> l(reg_mu_);
  s.endpoints = endpoints_;
  s.control_waits_over_timeout = control_waits_over_timeout_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace ringstamp
