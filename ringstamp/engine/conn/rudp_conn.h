// rudp_conn.h — RUDPConn: a UDP endpoint (IPv4 or IPv6 address + port) on an EtherConn, shaped like
// a datagram socket, without a kernel socket.
//
// Example:
// Given: std::shared_ptr<EtherConn> conn; const IpAddress& ip; const IpAddress& peer_ip
// Given: std::span<const std::byte> data; std::span<std::byte> buf
//   RS_ASSIGN_OR_RETURN(auto udp, RUDPConn::Create(conn, {.local_ip = ip, .local_port = 9000}));
//   RS_RETURN_IF_ERROR(udp->WriteTo(data, {peer_ip, 9000}));  // next hop resolved by the EtherConn
//   RS_ASSIGN_OR_RETURN(UdpReadResult r, udp->ReadFrom(buf));  // r.n bytes from r.src, r.meta
//   // or zero-copy on the worker thread:
//   udp->SetHandler([](const Datagram& d, RUDPConn& c) { (void)c.WriteTo(d.payload, d.meta.source()); });
//   // or a whole ring batch per call (an echo server: one TX kick for all the replies):
//   udp->SetBatchHandler([](std::span<const Datagram> ds, RUDPConn& c) {
//     for (const Datagram& d : ds) (void)c.Reply(d.payload, d.meta);
//   });
//
// Meta carries what golang.org/x/net/ipv4 control messages carry — TTL/hop
// limit, TOS/traffic class, source, destination, ifindex — plus the VLAN stack,
// the sender's MAC and the frame's Timestamps. Per-conn TOS/DSCP and TTL;
// accept-any (local_port 0: every UDP datagram reaching local_ip, or with no
// local_ip any of the EtherConn's addresses, that no other conn took; the most
// specific binding wins: address and port, port, address, neither); connected mode (only the peer's
// datagrams, and WriteTo without an address goes to it). Checksums are computed
// on TX and verified on RX (a zero IPv4 checksum is accepted).
// Threads: WriteTo/ReadFrom/batches from any thread (ReadFrom blocks, so not on
// a worker thread); the handler runs on worker threads. A blocked reader is woken
// once per ring batch, when the batch's datagrams are all queued, not per datagram.
// Memory: ~0.5 KiB fixed; the read queue (queue_datagrams × max_datagram bytes) is
// allocated when the first datagram without a handler arrives (on the worker, once) or
// at the first ReadFrom, whichever comes first — datagrams are kept from Create on, as a
// bound socket keeps them before its first recv; a conn whose handler takes everything
// never has one.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ringstamp/engine/conn/datagram.h"
#include "ringstamp/engine/conn/ether_conn.h"
#include "ringstamp/engine/proto/ip_address.h"
#include "ringstamp/ring/ring_counters.h"

namespace ringstamp {

struct UdpReadResult {
  size_t n = 0;              // bytes copied
  size_t datagram_size = 0;  // before truncation to the buffer
  UdpEndpoint src;
  DatagramMeta meta;
};

struct RUDPConnOptions {
  IpAddress local_ip;       // must be one of the EtherConn's addresses (none: all of them)
  uint16_t local_port = 0;  // 0: accept-any (on local_ip, or on every address when none)
  uint8_t tos = 0;          // TOS / traffic class for sends (DSCP << 2 | ECN)
  uint8_t ttl = 64;         // TTL / hop limit for sends
  std::optional<UdpEndpoint> connected;
  uint32_t queue_datagrams = 1024;
  uint32_t max_datagram = 2048;
  QueuePolicy policy = QueuePolicy::kDropNewest;
};

struct RUDPConnStats {
  uint64_t received = 0;
  uint64_t queue_dropped = 0;
  uint64_t filtered = 0;  // not from the connected peer
  uint64_t sent = 0;
  uint64_t send_failed = 0;
};

struct UdpReadMsg {
  std::span<std::byte> buf;
  UdpReadResult result;
};
struct UdpWriteMsg {
  std::span<const std::byte> data;
  UdpEndpoint dst;
  TxOptions tx;
};

class RUDPConn : public TxStampReceiver, public std::enable_shared_from_this<RUDPConn> {
 public:
  static absl::StatusOr<std::shared_ptr<RUDPConn>> Create(std::shared_ptr<EtherConn> conn,
                                                          RUDPConnOptions options);
  ~RUDPConn() override;

  UdpEndpoint local() const;
  EtherConn& ether() { return *conn_; }

  absl::Status WriteTo(std::span<const std::byte> data, const UdpEndpoint& dst,
                       const TxOptions& tx = {});
  // Answers a received datagram: to its source address and port, through the MAC
  // it came from (no neighbour lookup: right on-link and through a router alike).
  absl::Status Reply(std::span<const std::byte> data, const DatagramMeta& to,
                     const TxOptions& tx = {});
  // As Reply, but the payload is written in place: `fill` gets the payload's `size` bytes
  // inside the frame (in the TX slot on the worker thread: no copy) and returns how many it
  // wrote (0: send nothing). The UDP checksum is computed after it returns, so `fill` may
  // write a time into the payload as its last step (a reflector's t3).
  absl::Status ReplyInPlace(size_t size, absl::FunctionRef<size_t(std::span<std::byte>)> fill,
                            const DatagramMeta& to, const TxOptions& tx = {});
  // Connected mode: to the peer.
  absl::Status Write(std::span<const std::byte> data, const TxOptions& tx = {});
  // Writes each message; returns how many were sent before the first error (and that error).
  absl::StatusOr<size_t> WriteBatch(std::span<const UdpWriteMsg> msgs);

  // Deadline: CLOCK_MONOTONIC ns; -1 waits forever; 0 does not wait.
  absl::StatusOr<UdpReadResult> ReadFrom(std::span<std::byte> buf, int64_t deadline_ns = -1);
  // Fills up to msgs.size() messages: waits for the first, takes the rest that are queued.
  absl::StatusOr<size_t> ReadBatch(std::span<UdpReadMsg> msgs, int64_t deadline_ns = -1);

  void SetHandler(std::function<void(const Datagram&, RUDPConn&)> handler);
  // As SetHandler, but the handler gets every datagram for this conn from one batch of the
  // ring at once (in arrival order; payloads valid during the call), after the batch's frames
  // were dispatched: a server answers the whole batch from one call, its replies
  // (Reply/ReplyInPlace) go into the TX ring and leave in one kick. Replaces a handler set by
  // SetHandler and is replaced by one (or cleared with nullptr).
  void SetBatchHandler(std::function<void(std::span<const Datagram>, RUDPConn&)> handler);
  void SetTxStampHandler(std::function<void(const TxStampReport&)> handler);
  void SetTos(uint8_t tos) { options_.tos = tos; }
  void SetTtl(uint8_t ttl) { options_.ttl = ttl; }

  void Close();
  RUDPConnStats Stats() const;
  // Bytes this conn holds (fixed part plus an allocated queue).
  size_t MemoryBytes() const;

  uint32_t id() const { return id_; }

 private:
  // Relay-internal: the relay's workers and the EtherConn call these, on worker threads.
  friend class RelayWorker;
  friend class EtherConn;
  // `route` is this conn's route on `w` (routes_[w.index()]). Inline: the per-datagram
  // handler is called from the worker's dispatch without another call in between.
  void Deliver(RelayWorker& w, UdpRoute& route, const Datagram& d) {
    if (route.connected &&
        !(options_.connected->ip == d.meta.src && options_.connected->port == d.meta.src_port)) {
      route.filtered.Add();
      return;
    }
    route.received.Add();
    if (route.handler) {
      route.handler(d, *this);
      return;
    }
    DeliverUnhandled(w, d);
  }
  // A datagram with no per-datagram handler: held for the batch handler, or queued for readers.
  void DeliverUnhandled(RelayWorker& w, const Datagram& d);
  // The worker's end of a batch: this conn's batch handler, and its blocked readers.
  void DeliverBatch(RelayWorker& w, std::span<const Datagram> d);
  // One reader; a reader that leaves datagrams queued wakes the next (ReadBatch).
  void WakeReaders() { q_cv_.notify_one(); }
  // The read queue, sized by the options, if there is none yet. Under q_mu_.
  void AllocateQueueLocked();
  void OnTxStamp(const TxStampReport& report) override;
  RUDPConn(std::shared_ptr<EtherConn> conn, RUDPConnOptions options, uint32_t id);
  // This conn's binding in worker `w`'s UDP table.
  UdpKey Key(const RelayWorker& w) const;
  absl::Status Send(std::span<const std::byte> data, const UdpEndpoint& dst, const MacAddress* via,
                    const TxOptions& tx);
  absl::Status SendFilled(size_t size, absl::FunctionRef<size_t(std::span<std::byte>)> fill,
                          const UdpEndpoint& dst, const MacAddress* via, const TxOptions& tx);

  std::shared_ptr<EtherConn> conn_;
  RUDPConnOptions options_;
  uint32_t id_;
  std::atomic<bool> closed_{false};  // read by any thread (WriteTo, ReadFrom), set by Close
  // One per worker, each written only on its worker's thread: the per-datagram handler and
  // the receive counters in one line (UdpRoute, the UDP table's value); the batch handlers.
  // Stats() sums the counters. Sends come from any thread: shared atomics (below).
  std::unique_ptr<UdpRoute[]> routes_;
  size_t route_count_ = 0;
  std::vector<std::function<void(std::span<const Datagram>, RUDPConn&)>> batch_handlers_;
  std::vector<std::function<void(const TxStampReport&)>> stamp_handlers_;

  mutable std::mutex q_mu_;
  std::condition_variable q_cv_;
  struct Slot {
    DatagramMeta meta;
    uint32_t size = 0;
  };
  std::vector<Slot> slots_;
  std::vector<std::byte> data_;
  size_t q_head_ = 0, q_count_ = 0;
  RelaxedCounter queue_dropped_;  // written under q_mu_ (by any worker), read by Stats()

  std::atomic<uint64_t> sent_{0}, send_failed_{0};
};

}  // namespace ringstamp
