#include "ringstamp/engine/conn/rudp_conn.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "absl/strings/str_format.h"
#include "ringstamp/common/clock.h"
#include "ringstamp/common/deadline_wait.h"
#include "ringstamp/engine/udp_frame.h"

namespace ringstamp {

absl::StatusOr<std::shared_ptr<RUDPConn>> RUDPConn::Create(std::shared_ptr<EtherConn> conn,
                                                           RUDPConnOptions options) {
  if (conn == nullptr || conn->closed()) {
    return absl::FailedPreconditionError("RUDPConn needs an open EtherConn");
  }
  if (options.local_ip.is_valid() && !conn->HasAddress(options.local_ip)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s is not an address of endpoint %s; give the EtherConn that address first",
        options.local_ip.ToString(), conn->mac().ToString()));
  }
  if (!options.local_ip.is_valid() && conn->addresses().empty()) {
    return absl::InvalidArgumentError("the EtherConn has no IP address to bind UDP to");
  }
  if (options.max_datagram == 0 || options.max_datagram > 65507) {
    return absl::InvalidArgumentError("max_datagram must be 1..65507");
  }
  std::shared_ptr<RUDPConn> c(new RUDPConn(conn, options, conn->relay().NextConnId()));
  RUDPConn* raw = c.get();
  bool taken = false;
  PacketRelay& relay = conn->relay();
  const absl::Status applied = relay.TryApplyToWorkers([&, raw](RelayWorker& w) {
    UdpRoute* route = &raw->routes_[w.index()];
    if (w.tables().udp.Insert(raw->Key(w), route) != route) {
      taken = true;
    } else {
      w.tables().stamp_receivers[raw->id_] = raw;
    }
  });
  if (taken || !applied.ok()) {
    // Some worker had the key already, or did not take the change: undo where we did insert.
    relay.ApplyToWorkers([&, raw](RelayWorker& w) {
      const UdpKey key = raw->Key(w);
      if (const UdpRoute* r = w.tables().udp.Find(key); r != nullptr && r->conn == raw) {
        w.tables().udp.Erase(key);
      }
      w.tables().stamp_receivers.erase(raw->id_);
    });
    c->closed_ = true;
    if (!applied.ok()) return applied;
    return absl::AlreadyExistsError(absl::StrFormat(
        "UDP %s port %d is already bound on endpoint %s",
        options.local_ip.is_valid() ? options.local_ip.ToString() : std::string("*"),
        options.local_port, conn->mac().ToString()));
  }
  return c;
}

RUDPConn::RUDPConn(std::shared_ptr<EtherConn> conn, RUDPConnOptions options, uint32_t id)
    : conn_(std::move(conn)), options_(options), id_(id) {
  route_count_ = static_cast<size_t>(conn_->relay().worker_count());
  routes_ = std::make_unique<UdpRoute[]>(route_count_);
  for (size_t i = 0; i < route_count_; ++i) {
    routes_[i].conn = this;
    routes_[i].connected = options_.connected.has_value();
  }
  batch_handlers_.resize(conn_->relay().worker_count());
  stamp_handlers_.resize(conn_->relay().worker_count());
}

RUDPConn::~RUDPConn() { Close(); }

UdpKey RUDPConn::Key(const RelayWorker& w) const {
  return UdpKey{&conn_->Rx(w), options_.local_ip, options_.local_port};
}

UdpEndpoint RUDPConn::local() const { return {options_.local_ip, options_.local_port}; }

void RUDPConn::Close() {
  if (closed_.exchange(true)) return;
  RUDPConn* raw = this;
  conn_->relay().ApplyToWorkers([raw](RelayWorker& w) {
    const UdpKey key = raw->Key(w);
    if (const UdpRoute* r = w.tables().udp.Find(key); r != nullptr && r->conn == raw) {
      w.tables().udp.Erase(key);
    }
    w.tables().stamp_receivers.erase(raw->id_);
  });
  q_cv_.notify_all();
}

absl::Status RUDPConn::WriteTo(std::span<const std::byte> data, const UdpEndpoint& dst,
                               const TxOptions& tx) {
  return Send(data, dst, nullptr, tx);
}

absl::Status RUDPConn::Reply(std::span<const std::byte> data, const DatagramMeta& to,
                             const TxOptions& tx) {
  return Send(data, to.source(), &to.src_mac, tx);
}

absl::Status RUDPConn::ReplyInPlace(size_t size,
                                    absl::FunctionRef<size_t(std::span<std::byte>)> fill,
                                    const DatagramMeta& to, const TxOptions& tx) {
  return SendFilled(size, fill, to.source(), &to.src_mac, tx);
}

absl::Status RUDPConn::Send(std::span<const std::byte> data, const UdpEndpoint& dst,
                            const MacAddress* via, const TxOptions& tx) {
  return SendFilled(
      data.size(),
      [data](std::span<std::byte> out) -> size_t {
        if (!data.empty()) std::memcpy(out.data(), data.data(), data.size());
        return data.size();
      },
      dst, via, tx);
}

absl::Status RUDPConn::SendFilled(size_t size, absl::FunctionRef<size_t(std::span<std::byte>)> fill,
                                  const UdpEndpoint& dst, const MacAddress* via,
                                  const TxOptions& tx_in) {
  TxOptions tx = tx_in;
  tx.receiver = id_;  // TX stamps of our datagrams come back to us, not to the EtherConn
  if (closed_) return absl::FailedPreconditionError("RUDPConn is closed");
  if (!dst.ip.is_valid() || dst.port == 0) {
    return absl::InvalidArgumentError("destination needs an address and a non-zero port");
  }
  IpAddress src = options_.local_ip;
  if (!src.is_valid()) src = conn_->AddressOf(dst.ip.family());
  if (!src.is_valid() || src.family() != dst.ip.family()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("cannot send to %s from %s: address families differ", dst.ip.ToString(),
                        options_.local_ip.is_valid() ? options_.local_ip.ToString()
                                                     : std::string("this endpoint")));
  }
  UdpFrameSpec spec{.src_mac = conn_->mac(),
                    .vlans = conn_->vlans(),
                    .src = src,
                    .dst = dst.ip,
                    .src_port = options_.local_port,
                    .dst_port = dst.port,
                    .tos = options_.tos,
                    .ttl = options_.ttl};
  if (spec.src_port == 0) spec.src_port = dst.port;  // accept-any conns answer from the port asked
  const size_t hdr = UdpFrameHeaderSize(spec);
  if (hdr + size > 9216) {
    return absl::InvalidArgumentError(absl::StrFormat("datagram of %d bytes is too large", size));
  }
  auto build = [&](std::span<std::byte> out, const MacAddress& mac) -> size_t {
    if (out.size() < hdr + size) return 0;
    spec.dst_mac = mac;
    const size_t n = fill(out.subspan(hdr, size));
    if (n == 0 && size != 0) return 0;
    return BuildUdpFrame(out, spec, std::min(n, size));
  };
  absl::Status s;
  if (via != nullptr) {
    if (conn_->SendToMac(*via, hdr + size, build, tx) == 0) {
      s = absl::ResourceExhaustedError("TX ring or queue full; datagram dropped");
    }
  } else {
    s = conn_->SendIp(dst.ip, hdr + size, build, tx);
  }
  (s.ok() ? sent_ : send_failed_).fetch_add(1, std::memory_order_relaxed);
  return s;
}

absl::Status RUDPConn::Write(std::span<const std::byte> data, const TxOptions& tx) {
  if (!options_.connected)
    return absl::FailedPreconditionError("Write needs a connected RUDPConn; use WriteTo");
  return WriteTo(data, *options_.connected, tx);
}

absl::StatusOr<size_t> RUDPConn::WriteBatch(std::span<const UdpWriteMsg> msgs) {
  size_t n = 0;
  for (const UdpWriteMsg& m : msgs) {
    absl::Status s = WriteTo(m.data, m.dst, m.tx);
    if (!s.ok()) {
      if (n == 0) return s;
      break;
    }
    ++n;
  }
  return n;
}

void RUDPConn::AllocateQueueLocked() {
  if (!slots_.empty()) return;
  slots_.resize(std::max<uint32_t>(1, options_.queue_datagrams));
  data_.resize(slots_.size() * options_.max_datagram);
}

void RUDPConn::DeliverUnhandled(RelayWorker& w, const Datagram& d) {
  if (batch_handlers_[w.index()]) {
    w.QueueForBatchHandler(this, d);
    return;
  }
  std::lock_guard<std::mutex> l(q_mu_);
  // Kept from Create on, as a bound socket keeps what arrives before its first recv: a
  // client that writes and then reads must not lose an answer that beat its ReadFrom.
  AllocateQueueLocked();
  if (q_count_ == slots_.size()) {
    queue_dropped_.Add();
    if (options_.policy == QueuePolicy::kDropNewest) return;
    q_head_ = (q_head_ + 1) % slots_.size();
    --q_count_;
  }
  const size_t i = (q_head_ + q_count_) % slots_.size();
  Slot& s = slots_[i];
  s.meta = d.meta;
  s.size = static_cast<uint32_t>(d.payload.size());
  const size_t n = std::min<size_t>(d.payload.size(), options_.max_datagram);
  std::memcpy(data_.data() + i * options_.max_datagram, d.payload.data(), n);
  // A reader waits only on an empty queue: the first datagram after empty asks the worker to
  // wake one at the end of its batch (the rest of the batch lands before it runs).
  if (q_count_++ == 0) w.WakeReadersLater(this);
}

void RUDPConn::DeliverBatch(RelayWorker& w, std::span<const Datagram> d) {
  if (const auto& h = batch_handlers_[w.index()]) h(d, *this);
}

absl::StatusOr<UdpReadResult> RUDPConn::ReadFrom(std::span<std::byte> buf, int64_t deadline_ns) {
  UdpReadMsg msg{buf, {}};
  auto n = ReadBatch(std::span(&msg, 1), deadline_ns);
  if (!n.ok()) return n.status();
  return msg.result;
}

absl::StatusOr<size_t> RUDPConn::ReadBatch(std::span<UdpReadMsg> msgs, int64_t deadline_ns) {
  if (msgs.empty()) return 0;
  if (conn_->relay().CurrentWorker() != nullptr) {
    return absl::FailedPreconditionError(
        "ReadFrom blocks: not on a relay worker thread; use SetHandler");
  }
  std::unique_lock<std::mutex> l(q_mu_);
  AllocateQueueLocked();
  for (;;) {
    if (q_count_ > 0) {
      size_t n = 0;
      while (n < msgs.size() && q_count_ > 0) {
        const Slot& s = slots_[q_head_];
        UdpReadMsg& m = msgs[n];
        const size_t stored = std::min<size_t>(s.size, options_.max_datagram);
        m.result.n = std::min(m.buf.size(), stored);
        m.result.datagram_size = s.size;
        m.result.src = s.meta.source();
        m.result.meta = s.meta;
        std::memcpy(m.buf.data(), data_.data() + q_head_ * options_.max_datagram, m.result.n);
        q_head_ = (q_head_ + 1) % slots_.size();
        --q_count_;
        ++n;
      }
      // The worker wakes one reader per batch; what this one left is for the next.
      if (q_count_ > 0) q_cv_.notify_one();
      return n;
    }
    if (closed_) return absl::CancelledError("RUDPConn closed");
    if (!WaitTowardDeadline(q_cv_, l, deadline_ns)) {
      return absl::DeadlineExceededError("read deadline passed");
    }
  }
}

void RUDPConn::SetHandler(std::function<void(const Datagram&, RUDPConn&)> handler) {
  conn_->relay().ApplyToWorkers([this, handler](RelayWorker& w) {
    routes_[w.index()].handler = handler;
    if (handler) batch_handlers_[w.index()] = nullptr;
  });
}

void RUDPConn::SetBatchHandler(std::function<void(std::span<const Datagram>, RUDPConn&)> handler) {
  conn_->relay().ApplyToWorkers([this, handler](RelayWorker& w) {
    batch_handlers_[w.index()] = handler;
    if (handler) routes_[w.index()].handler = nullptr;
  });
}

void RUDPConn::SetTxStampHandler(std::function<void(const TxStampReport&)> handler) {
  conn_->relay().ApplyToWorkers(
      [this, handler](RelayWorker& w) { stamp_handlers_[w.index()] = handler; });
}

void RUDPConn::OnTxStamp(const TxStampReport& report) {
  RelayWorker* w = conn_->relay().CurrentWorker();
  if (w == nullptr) return;
  if (const auto& h = stamp_handlers_[w->index()]) h(report);
}

RUDPConnStats RUDPConn::Stats() const {
  RUDPConnStats s{0, queue_dropped_.Get(), 0, sent_.load(), send_failed_.load()};
  for (size_t i = 0; i < route_count_; ++i) {
    s.received += routes_[i].received.Get();
    s.filtered += routes_[i].filtered.Get();
  }
  return s;
}

size_t RUDPConn::MemoryBytes() const {
  std::lock_guard<std::mutex> l(q_mu_);
  return sizeof(*this) + route_count_ * sizeof(UdpRoute) +
         batch_handlers_.capacity() * sizeof(batch_handlers_[0]) +
         stamp_handlers_.capacity() * sizeof(stamp_handlers_[0]) +
         slots_.capacity() * sizeof(Slot) + data_.capacity();
}

}  // namespace ringstamp
