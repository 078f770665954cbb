// ether_conn.h — EtherConn: an Ethernet endpoint with its own MAC and VLAN stack on a PacketRelay,
// and the host duties for its addresses (ARP/NDP answers and resolution, ICMP echo).
//
// Example:
// Given: #include "ringstamp/common/clock.h"
// Given: #include "ringstamp/engine/conn/packet_relay.h"
// Given: PacketRelay* relay; const VlanStack& stack; std::span<const std::byte> payload
// Given: const MacAddress& dst_mac; std::span<std::byte> buf
//   RS_ASSIGN_OR_RETURN(auto conn, relay->NewEtherConn({
//       .mac = MacAddress::Parse("02:00:00:00:00:10").value(),
//       .vlans = stack,                              // empty, one tag, or QinQ
//       .addresses = {"10.0.0.10/24", "fd00::10/64"},
//       .gateway4 = IpAddress::Parse("10.0.0.1").value()}));
//   RS_RETURN_IF_ERROR(conn->Write(payload, 0x88b5, dst_mac));  // built straight into the TX ring
//   RS_ASSIGN_OR_RETURN(L2ReadResult r, conn->ReadFrom(buf, MonotonicNs() + 1'000'000'000));
//   // or SetHandler(...) to see frames on the worker thread
//
// No OS interface or address is created: the endpoint exists only in the relay.
// It answers ARP requests and IPv6 neighbour solicitations for its addresses,
// ICMP/ICMPv6 echo requests (so `ping` works), resolves next hops itself
// (NeighborCache: retries, timeouts, static entries; off-subnet through the
// gateway) and hands UDP to its RUDPConns. It can ping too: SendEchoRequest
// writes an echo request (TX stamp on request), and the echo replies whose
// identifier an echo client registered go to that client (RegisterEchoClient).
// Other frames of its EtherTypes go to the handler (worker thread, zero-copy
// view) or, with no handler, to a bounded queue that ReadFrom copies from
// (overflow counted; drop-newest or drop-oldest as chosen).
// Threads: Write/ReadFrom/Resolve from any thread (ReadFrom and Resolve block:
// never on a worker thread); JoinGroup/LeaveGroup/Close from one controlling
// thread at a time, and so do RegisterEchoClient/UnregisterEchoClient; the
// handlers run on worker threads (several at once when the relay has several
// workers).
// Memory: ~1.2 KiB fixed with one worker (MemoryBytes), plus the neighbour cache (grows with
// the neighbours it talks to, ~0.1 KiB each) and the read queue (allocated on first ReadFrom).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ringstamp/engine/conn/l2_view.h"
#include "ringstamp/engine/conn/neighbor_cache.h"
#include "ringstamp/engine/conn/packet_relay.h"
#include "ringstamp/engine/conn/relay_worker.h"
#include "ringstamp/engine/proto/ip_address.h"
#include "ringstamp/engine/proto/mac_address.h"
#include "ringstamp/engine/proto/udp.h"
#include "ringstamp/engine/proto/vlan.h"
#include "ringstamp/ring/ring_counters.h"

namespace ringstamp {

enum class QueuePolicy : uint8_t { kDropNewest, kDropOldest };

struct EtherConnOptions {
  MacAddress mac;
  VlanStack vlans;
  // EtherTypes this endpoint owns. ARP, IPv4 and IPv6 by default.
  std::vector<uint16_t> ethertypes = {0x0806, 0x0800, 0x86dd};
  // "ADDR/PREFIX" (IPv4 or IPv6); a bare address means /32 or /128.
  std::vector<std::string> addresses;
  IpAddress gateway4;  // next hop for off-subnet IPv4 (none: off-subnet is an error)
  IpAddress gateway6;
  bool accept_broadcast = true;
  bool answer_arp = true;       // ARP and NDP answers for our addresses
  bool answer_ping = true;      // ICMP/ICMPv6 echo replies
  bool gratuitous_arp = false;  // announce IPv4 addresses when created (and NA for IPv6)
  NeighborCacheOptions neighbors;
  uint32_t read_queue_frames = 256;  // ReadFrom queue, allocated on first use
  uint32_t max_frame = 2048;
  QueuePolicy policy = QueuePolicy::kDropNewest;
};

// One received frame as the handler sees it: a view, valid only inside the handler call that
// got it. The addresses, the payload, the VLAN stack and the stamps are the received frame's
// own (references, not copies: the relay hands a frame over without copying its 72-byte stamps,
// 34-byte stack or 6-byte MACs); copy what must outlive the call.
struct L2Packet {
  const MacAddress& src;
  const MacAddress& dst;
  const VlanStack& vlans;
  uint16_t ethertype = 0;
  std::span<const std::byte> payload;
  const Timestamps& stamps;
  int worker = -1;
};

struct L2ReadResult {
  size_t n = 0;  // bytes copied into the caller's buffer (payload after the Ethernet header)
  size_t payload_size = 0;  // before truncation to the buffer
  MacAddress src;
  MacAddress dst;
  VlanStack vlans;
  uint16_t ethertype = 0;
  Timestamps stamps;
};

// An ICMP / ICMPv6 echo reply addressed to one of this endpoint's addresses,
// handed to the echo client that registered its identifier.
struct EchoReply {
  IpAddress src;  // who answered
  IpAddress dst;  // our address it came to
  uint16_t id = 0;
  uint16_t seq = 0;
  uint8_t ttl = 0;                  // TTL / hop limit as received
  std::span<const std::byte> data;  // after the 8-byte ICMP header; valid during the call
  Timestamps stamps;                // RX stamps of the frame
  int worker = -1;
};

// An echo request for SendEchoRequest.
struct EchoRequest {
  IpAddress dst;
  IpAddress src;  // none: the endpoint's first address of dst's family
  uint16_t id = 0;
  uint16_t seq = 0;
  uint8_t ttl = 64;  // TTL / hop limit
  uint8_t tos = 0;   // TOS / traffic class
};

struct EchoClientHandlers {
  std::function<void(const EchoReply&)> on_reply;  // required
  // TX stamps of this client's SendEchoRequest calls with want_stamp (worker thread); may be empty.
  std::function<void(const TxStampReport&)> on_tx_stamp;
};

struct IpSubnet {
  IpAddress address;
  int prefix = 0;
  bool Contains(const IpAddress& ip) const;
};
absl::StatusOr<IpSubnet> ParseIpSubnet(std::string_view text);

struct EtherConnStats {
  uint64_t received = 0;       // frames dispatched to this endpoint
  uint64_t to_handler = 0;     // frames given to the handler or queue
  uint64_t queue_dropped = 0;  // read queue full
  uint64_t arp_answered = 0;
  uint64_t ndp_answered = 0;
  uint64_t echo_answered = 0;
  uint64_t echo_replies = 0;  // echo replies handed to an echo client
  uint64_t udp_no_port = 0;   // UDP for our address with no RUDPConn bound
  uint64_t malformed = 0;     // IP/ARP/ICMP/UDP headers that did not parse
  uint64_t not_ours = 0;      // IP packets for addresses we do not own
  uint64_t sent = 0;
  uint64_t send_failed = 0;
  NeighborCounters neighbors;
};

class EtherConn : public TxStampReceiver, public std::enable_shared_from_this<EtherConn> {
 public:
  ~EtherConn() override;
  EtherConn(const EtherConn&) = delete;
  EtherConn& operator=(const EtherConn&) = delete;

  uint32_t id() const { return id_; }
  const MacAddress& mac() const { return options_.mac; }
  const VlanStack& vlans() const { return options_.vlans; }
  const std::vector<IpSubnet>& addresses() const { return addresses_; }
  PacketRelay& relay() { return *relay_; }
  bool HasAddress(const IpAddress& ip) const;
  // The first address of the family, or none.
  IpAddress AddressOf(IpFamily family) const;

  // Sends `payload` as one frame of `ethertype` to `dst`.
  absl::Status Write(std::span<const std::byte> payload, uint16_t ethertype, const MacAddress& dst,
                     const TxOptions& tx = {});

  // Worker-thread handler for frames not consumed by host duties or UDP.
  void SetHandler(std::function<void(const L2Packet&)> handler);
  // Blocking read (copy) with a CLOCK_MONOTONIC deadline; -1 waits forever.
  absl::StatusOr<L2ReadResult> ReadFrom(std::span<std::byte> buf, int64_t deadline_ns = -1);
  // TX stamps of frames written with TxOptions::want_stamp (worker thread).
  void SetTxStampHandler(std::function<void(const TxStampReport&)> handler);

  // Echo client: ICMP / ICMPv6 echo replies with identifier `id` addressed to
  // one of this endpoint's addresses go to handlers.on_reply (worker thread,
  // zero-copy view; no allocation on that path) instead of the handler or read
  // queue; TX stamps of SendEchoRequest calls with that id and want_stamp go to
  // handlers.on_tx_stamp. One client per identifier (AlreadyExists when taken).
  // Blocks until every worker applied it.
  absl::Status RegisterEchoClient(uint16_t id, EchoClientHandlers handlers);
  // After it returns no worker calls the client's handlers. An unknown id is ignored.
  void UnregisterEchoClient(uint16_t id);
  // Sends an ICMP (IPv4) or ICMPv6 echo request carrying `data` to req.dst,
  // through its next hop (resolved as for UDP: blocks up to the resolution
  // timeout the first time, not on a worker thread). With tx.want_stamp its TX
  // stamp (tx.tag) goes to the echo client of req.id, or, with none, to
  // SetTxStampHandler's handler. Any thread.
  absl::Status SendEchoRequest(const EchoRequest& req, std::span<const std::byte> data,
                               const TxOptions& tx = {});

  // Neighbours.
  void AddStaticNeighbor(const IpAddress& ip, const MacAddress& mac);
  std::optional<MacAddress> LookupNeighbor(const IpAddress& ip) const;
  // Blocks (not on a worker thread) until `ip` answers ARP/NDP or the timeout passes.
  absl::StatusOr<MacAddress> Resolve(const IpAddress& ip, int64_t timeout_ns = 3'000'000'000);
  // The MAC a packet to `dst` goes to (dst itself on-link, else the gateway), or an error.
  absl::StatusOr<IpAddress> NextHop(const IpAddress& dst) const;

  // Multicast: receive frames for `group`'s MAC; with `report`, send an IGMPv3/MLDv2 join.
  absl::Status JoinGroup(const IpAddress& group, bool report = true);
  absl::Status LeaveGroup(const IpAddress& group, bool report = true);

  // Deregisters from the relay (waits until no worker uses it). Idempotent.
  void Close();
  bool closed() const { return closed_; }

  EtherConnStats Stats() const;
  // Bytes this endpoint holds: the object, its per-worker routes, its neighbour cache
  // (grows with the neighbours it talks to) and its read queue once allocated.
  size_t MemoryBytes() const;

 private:
  // Relay-internal: the relay's workers and RUDPConn call these, on worker threads.
  friend class RelayWorker;
  friend class RUDPConn;
  void OnFrame(RelayWorker& w, const L2View& l2, const Frame& frame);
  // A frame the conn does not consume (EtherRoute::TakesAsL2) to the handler of `route` (this
  // conn's route on `w`), or without one to the read queue. With a handler it reads nothing
  // of the conn object: the worker calls it with the route its table gave. Inline: the handler
  // is called from the worker's dispatch without another call in between.
  void ToUser(RelayWorker& w, EtherRoute& route, const L2View& l2, const Frame& frame) {
    if (route.handler) {
      route.to_handler.Add();
      route.handler(
          L2Packet{l2.src, l2.dst, l2.vlans, l2.ethertype, l2.payload, frame.stamps, w.index()});
      return;
    }
    ToQueue(route, l2, frame);
  }
  // A frame for the read queue (ToUser without a handler).
  void ToQueue(EtherRoute& route, const L2View& l2, const Frame& frame);
  void OnTxStamp(const TxStampReport& report) override;
  // Housekeeping on worker 0: neighbour retries.
  void Tick(RelayWorker& w, int64_t now_ns);
  // Sends an IP packet whose next hop is known or resolvable: `build` writes the
  // frame given the destination MAC. On a worker thread a missing neighbour parks
  // the frame and asks; elsewhere it blocks up to the resolution timeout.
  absl::Status SendIp(const IpAddress& dst, size_t max_len,
                      absl::FunctionRef<size_t(std::span<std::byte>, const MacAddress&)> build,
                      const TxOptions& tx);
  uint32_t SendToMac(const MacAddress& dst, size_t max_len,
                     absl::FunctionRef<size_t(std::span<std::byte>, const MacAddress&)> build,
                     const TxOptions& tx);

  friend class PacketRelay;
  EtherConn(PacketRelay* relay, uint32_t id, EtherConnOptions options,
            std::vector<IpSubnet> addresses);
  void Register(RelayWorker& w);
  void Unregister(RelayWorker& w);
  void HandleArp(RelayWorker& w, const L2View& l2);
  void HandleIpv4(RelayWorker& w, const L2View& l2, const Frame& frame);
  void HandleIpv6(RelayWorker& w, const L2View& l2, const Frame& frame);
  void ToUser(RelayWorker& w, const L2View& l2, const Frame& frame) { ToUser(w, Rx(w), l2, frame); }
  // True when an echo client took the reply.
  bool DeliverEchoReply(RelayWorker& w, const Frame& frame, const IpAddress& src,
                        const IpAddress& dst, uint8_t ttl, uint16_t id, uint16_t seq,
                        std::span<const std::byte> data);
  // `d` (parsed from `frame`, to one of this conn's addresses or a group: its payload and IP/UDP
  // fields filled) to the RUDPConn bound most specifically to its address and port, else to
  // the L2 handler.
  void DispatchUdp(RelayWorker& w, const L2View& l2, const Frame& frame, Datagram& d);
  absl::Status SendMembershipReport(const IpAddress& group, bool join);
  void SendArpRequest(const IpAddress& target);
  void SendNeighborSolicitation(const IpAddress& target);
  void Announce();
  void FlushParked(const IpAddress& ip, const MacAddress& mac, int64_t now, LearnRule rule);

  PacketRelay* relay_;
  uint32_t id_;
  EtherConnOptions options_;
  std::vector<IpSubnet> addresses_;
  std::vector<MacAddress> groups_;  // joined multicast MACs (solicited-node included)
  NeighborCache neighbors_;
  std::atomic<bool> closed_{false};  // read by any thread (Write, ReadFrom), set by Close

  // One copy per worker, each written only on its worker's thread (ApplyToWorkers),
  // so a handler can be set while traffic flows without a lock on the frame path
  // (the frame handlers are in the routes below).
  std::vector<std::function<void(const TxStampReport&)>> stamp_handlers_;

  // Echo clients, owned here; echo_mu_ guards the list for senders on other
  // threads. Each worker routes through its own copy of the pointers
  // (echo_routes_[worker], written only on that worker), registered in its
  // stamp_receivers under the client's own receiver id.
  struct EchoClient final : TxStampReceiver {
    EchoClient(uint16_t id, uint32_t receiver_id, EchoClientHandlers handlers)
        : id(id), receiver_id(receiver_id), handlers(std::move(handlers)) {}
    void OnTxStamp(const TxStampReport& report) override {
      if (handlers.on_tx_stamp) handlers.on_tx_stamp(report);
    }
    const uint16_t id;
    const uint32_t receiver_id;
    const EchoClientHandlers handlers;
  };
  mutable std::mutex echo_mu_;
  std::vector<std::unique_ptr<EchoClient>> echo_clients_;
  std::vector<std::vector<EchoClient*>> echo_routes_;

  // Read queue, allocated on first ReadFrom.
  mutable std::mutex q_mu_;
  std::condition_variable q_cv_;
  struct QueuedL2 {
    L2ReadResult meta;
    std::vector<std::byte> data;
  };
  std::vector<QueuedL2> queue_;
  size_t q_head_ = 0, q_count_ = 0;
  bool queue_ready_ = false;

  // The receive path on each worker (EtherRoute: the frame handler and the receive
  // counters), each written only on its worker's thread (no locked read-modify-write on
  // the frame path); the workers' unicast tables point at them; Stats() sums the counters.
  // Sends come from any thread: those counters are shared atomics.
  EtherRoute& Rx(const RelayWorker& w) { return routes_[w.index()]; }
  std::unique_ptr<EtherRoute[]> routes_;
  size_t route_count_ = 0;
  struct Counters {
    std::atomic<uint64_t> sent{0}, send_failed{0};
  } counters_;
};

}  // namespace ringstamp
