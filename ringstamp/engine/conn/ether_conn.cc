#include "ringstamp/engine/conn/ether_conn.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "ringstamp/common/absl_compat.h"
#include "ringstamp/common/clock.h"
#include "ringstamp/common/deadline_wait.h"
#include "ringstamp/common/status_macros.h"
#include "ringstamp/engine/conn/rudp_conn.h"
#include "ringstamp/engine/conn/short_frames.h"
#include "ringstamp/engine/proto/arp.h"
#include "ringstamp/engine/proto/ethernet.h"
#include "ringstamp/engine/proto/icmp.h"
#include "ringstamp/engine/proto/igmp.h"
#include "ringstamp/engine/proto/ip_proto.h"
#include "ringstamp/engine/proto/ipv4.h"
#include "ringstamp/engine/proto/ipv4_udp.h"
#include "ringstamp/engine/proto/ipv6.h"
#include "ringstamp/engine/proto/mld.h"
#include "ringstamp/engine/proto/multicast.h"
#include "ringstamp/engine/proto/ndp.h"
#include "ringstamp/engine/proto/udp.h"
#include "ringstamp/engine/worker.h"

namespace ringstamp {
namespace {

constexpr size_t kMaxFrame = 9216;

size_t L2HeaderSize(const VlanStack& v) { return kEthernetHeaderSize + kVlanTagSize * v.size(); }

// Writes what the general parse (IPv4 or IPv6, then UDP) found into `d`: its payload and IP/UDP
// fields, for EtherConn::DispatchUdp (RelayWorker::DeliverUdp fills the rest of its meta).
void SetParsed(Datagram& d, const UdpView& udp, const IpAddress& src, const IpAddress& dst,
               uint8_t ttl, uint8_t tos) {
  d.payload = udp.payload;
  d.meta.src = src;
  d.meta.src_port = udp.src_port;
  d.meta.dst = dst;
  d.meta.dst_port = udp.dst_port;
  d.meta.ttl = ttl;
  d.meta.tos = tos;
}

}  // namespace

// ---------------------------------------------------------------- addresses

bool IpSubnet::Contains(const IpAddress& ip) const {
  if (ip.family() != address.family()) return false;
  auto a = address.bytes();
  auto b = ip.bytes();
  int bits = prefix;
  for (size_t i = 0; i < a.size() && bits > 0; ++i, bits -= 8) {
    const uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((a[i] & mask) != (b[i] & mask)) return false;
  }
  return true;
}

absl::StatusOr<IpSubnet> ParseIpSubnet(std::string_view text) {
  IpSubnet p;
  const size_t slash = text.find('/');
  auto ip = IpAddress::Parse(text.substr(0, slash));
  if (!ip) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "'%s' is not an address; write ADDR/PREFIX, e.g. 10.0.0.10/24 or fd00::10/64",
        ToAbsl(text)));
  }
  p.address = *ip;
  const int max = ip->is_v4() ? 32 : 128;
  p.prefix = max;
  if (slash != std::string_view::npos) {
    int len = -1;
    if (!absl::SimpleAtoi(ToAbsl(text.substr(slash + 1)), &len) || len < 0 || len > max) {
      return absl::InvalidArgumentError(
          absl::StrFormat("'%s': prefix length must be 0..%d", ToAbsl(text), max));
    }
    p.prefix = len;
  }
  return p;
}

// ---------------------------------------------------------------- creation

absl::StatusOr<std::shared_ptr<EtherConn>> PacketRelay::NewEtherConn(
    const EtherConnOptions& options) {
  if (options.mac.IsMulticast() || options.mac.IsZero()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "endpoint MAC %s must be a unicast, non-zero address (e.g. 02:00:00:00:00:01)",
        options.mac.ToString()));
  }
  if (options.ethertypes.empty()) {
    return absl::InvalidArgumentError("endpoint needs at least one EtherType");
  }
  for (const VlanTag& tag : options.vlans) {
    if (!IsVlanTpid(tag.tpid)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "endpoint VLAN tag with TPID 0x%04x: frames carry tags only with TPID 0x8100 (802.1Q), "
          "0x88a8 (802.1ad) or 0x9100; use one of those",
          tag.tpid));
    }
  }
  std::vector<IpSubnet> addresses;
  for (const std::string& a : options.addresses) {
    RS_ASSIGN_OR_RETURN(IpSubnet p, ParseIpSubnet(a));
    addresses.push_back(p);
  }
  std::vector<L2Key> keys;
  for (uint16_t et : options.ethertypes) {
    keys.push_back(L2Key{options.mac.ToU64(), options.vlans.WithoutPriority(), et});
  }
  RS_RETURN_IF_ERROR(Claim(keys));
  std::shared_ptr<EtherConn> conn(new EtherConn(this, NextConnId(), options, std::move(addresses)));
  EtherConn* raw = conn.get();
  if (!UdpKeyCanName(raw->routes_.get(), raw->route_count_)) {
    conn->Close();  // gives the claimed keys back
    return absl::InternalError(
        "the endpoint's per-worker state was allocated above 2^48, where the relay cannot name "
        "it; this needs a process that maps memory that high on purpose");
  }
  if (absl::Status applied = TryApplyToWorkers([raw](RelayWorker& w) { raw->Register(w); });
      !applied.ok()) {
    conn->Close();  // takes it out of the workers that did register it
    return applied;
  }
  if (options.gratuitous_arp) raw->Announce();
  return conn;
}

EtherConn::EtherConn(PacketRelay* relay, uint32_t id, EtherConnOptions options,
                     std::vector<IpSubnet> addresses)
    : relay_(relay),
      id_(id),
      options_(std::move(options)),
      addresses_(std::move(addresses)),
      neighbors_(options_.neighbors) {
  route_count_ = static_cast<size_t>(relay_->worker_count());
  routes_ = std::make_unique<EtherRoute[]>(route_count_);
  for (size_t i = 0; i < route_count_; ++i) {
    routes_[i].conn = this;
    routes_[i].handles_ip = !addresses_.empty();
  }
  stamp_handlers_.resize(relay_->worker_count());
  echo_routes_.resize(relay_->worker_count());
  for (const IpSubnet& p : addresses_) {
    if (!p.address.is_v6()) continue;
    if (auto m = MulticastMac(SolicitedNodeAddress(p.address))) groups_.push_back(*m);
  }
  if (std::any_of(addresses_.begin(), addresses_.end(),
                  [](const IpSubnet& p) { return p.address.is_v6(); })) {
    groups_.push_back(*MulticastMac(kAllNodesV6));
  }
}

EtherConn::~EtherConn() { Close(); }

void EtherConn::Register(RelayWorker& w) {
  RelayTables& t = w.tables();
  const VlanStack v = options_.vlans.WithoutPriority();
  for (uint16_t et : options_.ethertypes) {
    t.unicast.Set(L2Key{options_.mac.ToU64(), v, et}, &Rx(w));
    if (options_.accept_broadcast) {
      t.group[L2Key{MacAddress::Broadcast().ToU64(), v, et}].push_back(this);
    }
  }
  for (const MacAddress& g : groups_) t.group[L2Key{g.ToU64(), v, kEtherTypeIpv6}].push_back(this);
  for (const IpSubnet& p : addresses_) t.ip_owner[IpOwnerKey{v, p.address}] = this;
  t.ethers[id_] = this;
  t.stamp_receivers[id_] = this;
}

void EtherConn::Unregister(RelayWorker& w) {
  RelayTables& t = w.tables();
  const VlanStack v = options_.vlans.WithoutPriority();
  auto drop_from = [&](const L2Key& k) {
    auto it = t.group.find(k);
    if (it == t.group.end()) return;
    auto& vec = it->second;
    vec.erase(std::remove(vec.begin(), vec.end(), this), vec.end());
    if (vec.empty()) t.group.erase(it);
  };
  for (uint16_t et : options_.ethertypes) {
    t.unicast.Erase(L2Key{options_.mac.ToU64(), v, et});
    drop_from(L2Key{MacAddress::Broadcast().ToU64(), v, et});
  }
  for (const MacAddress& g : groups_) drop_from(L2Key{g.ToU64(), v, kEtherTypeIpv6});
  for (const IpSubnet& p : addresses_) {
    auto it = t.ip_owner.find(IpOwnerKey{v, p.address});
    if (it != t.ip_owner.end() && it->second == this) t.ip_owner.erase(it);
  }
  t.ethers.erase(id_);
  t.stamp_receivers.erase(id_);
  for (EchoClient* c : echo_routes_[w.index()]) t.stamp_receivers.erase(c->receiver_id);
  echo_routes_[w.index()].clear();
  if (t.default_conn == this) t.default_conn = nullptr;
}

void EtherConn::Close() {
  if (closed_.exchange(true)) return;
  relay_->ApplyToWorkers([this](RelayWorker& w) { Unregister(w); });
  std::vector<L2Key> keys;
  for (uint16_t et : options_.ethertypes) {
    keys.push_back(L2Key{options_.mac.ToU64(), options_.vlans.WithoutPriority(), et});
  }
  relay_->Release(keys);
  q_cv_.notify_all();
}

bool EtherConn::HasAddress(const IpAddress& ip) const {
  for (const IpSubnet& p : addresses_) {
    if (p.address == ip) return true;
  }
  return false;
}

IpAddress EtherConn::AddressOf(IpFamily family) const {
  for (const IpSubnet& p : addresses_) {
    if (p.address.family() == family) return p.address;
  }
  return IpAddress();
}

absl::StatusOr<IpAddress> EtherConn::NextHop(const IpAddress& dst) const {
  for (const IpSubnet& p : addresses_) {
    if (p.Contains(dst)) return dst;
  }
  const IpAddress& gw = dst.is_v4() ? options_.gateway4 : options_.gateway6;
  if (gw.is_valid()) return gw;
  // An endpoint without a subnet for this family treats every address as on-link.
  const bool has_family = std::any_of(addresses_.begin(), addresses_.end(), [&](const IpSubnet& p) {
    return p.address.family() == dst.family();
  });
  if (!has_family) {
    return absl::FailedPreconditionError(
        absl::StrFormat("endpoint %s has no %s address to send to %s from", options_.mac.ToString(),
                        dst.is_v4() ? "IPv4" : "IPv6", dst.ToString()));
  }
  return absl::FailedPreconditionError(absl::StrFormat(
      "%s is off every subnet of endpoint %s and no gateway is set; give the endpoint a gateway",
      dst.ToString(), options_.mac.ToString()));
}

// ---------------------------------------------------------------- TX

uint32_t EtherConn::SendToMac(
    const MacAddress& dst, size_t max_len,
    absl::FunctionRef<size_t(std::span<std::byte>, const MacAddress&)> build, const TxOptions& tx) {
  (void)max_len;
  absl::Status s =
      relay_->Transmit([&](std::span<std::byte> out) { return build(out, dst); },
                       tx.receiver != 0 ? tx.receiver : id_, tx, static_cast<int>(id_));
  if (s.ok()) {
    counters_.sent.fetch_add(1, std::memory_order_relaxed);
    return 1;
  }
  counters_.send_failed.fetch_add(1, std::memory_order_relaxed);
  return 0;
}

absl::Status EtherConn::SendIp(
    const IpAddress& dst, size_t max_len,
    absl::FunctionRef<size_t(std::span<std::byte>, const MacAddress&)> build, const TxOptions& tx) {
  if (closed_) return absl::FailedPreconditionError("endpoint is closed");
  // Multicast destinations map straight to their MAC.
  if (dst.is_v4() && (dst.bytes()[0] & 0xf0) == 0xe0) {
    if (SendToMac(*MulticastMac(dst), max_len, build, tx) == 0) {
      return absl::ResourceExhaustedError("TX queue or ring full; datagram dropped");
    }
    return absl::OkStatus();
  }
  if (dst.is_v6() && dst.bytes()[0] == 0xff) {
    if (SendToMac(*MulticastMac(dst), max_len, build, tx) == 0) {
      return absl::ResourceExhaustedError("TX queue or ring full; datagram dropped");
    }
    return absl::OkStatus();
  }
  if (dst.is_v4() && dst == IpAddress::V4(0xffffffffu)) {
    if (SendToMac(MacAddress::Broadcast(), max_len, build, tx) == 0) {
      return absl::ResourceExhaustedError("TX queue or ring full; datagram dropped");
    }
    return absl::OkStatus();
  }
  RS_ASSIGN_OR_RETURN(IpAddress hop, NextHop(dst));
  const int64_t now = MonotonicNs();
  if (auto mac = neighbors_.Lookup(hop, now)) {
    if (SendToMac(*mac, max_len, build, tx) == 0) {
      return absl::ResourceExhaustedError("TX queue or ring full; datagram dropped");
    }
    return absl::OkStatus();
  }
  if (relay_->CurrentWorker() != nullptr) {
    // A worker never blocks: park the frame and ask.
    std::vector<std::byte> frame(std::min(max_len, kMaxFrame));
    const size_t len = build(frame, MacAddress{});
    if (len == 0) return absl::InvalidArgumentError("datagram does not fit a frame");
    frame.resize(len);
    RS_ASSIGN_OR_RETURN(bool ask, neighbors_.Park(hop, {std::move(frame), tx}, now));
    if (ask) hop.is_v4() ? SendArpRequest(hop) : SendNeighborSolicitation(hop);
    return absl::OkStatus();
  }
  RS_ASSIGN_OR_RETURN(bool ask, neighbors_.Start(hop, now));
  if (ask) hop.is_v4() ? SendArpRequest(hop) : SendNeighborSolicitation(hop);
  const int64_t deadline =
      now + options_.neighbors.retry_ns * std::max(1, options_.neighbors.retries) + 100'000'000;
  RS_ASSIGN_OR_RETURN(MacAddress mac, neighbors_.Wait(hop, deadline));
  if (SendToMac(mac, max_len, build, tx) == 0) {
    return absl::ResourceExhaustedError("TX queue full; datagram dropped");
  }
  return absl::OkStatus();
}

absl::Status EtherConn::Write(std::span<const std::byte> payload, uint16_t ethertype,
                              const MacAddress& dst, const TxOptions& tx) {
  if (closed_) return absl::FailedPreconditionError("endpoint is closed");
  const size_t hdr = L2HeaderSize(options_.vlans);
  if (hdr + payload.size() > kMaxFrame) {
    return absl::InvalidArgumentError(
        absl::StrFormat("payload of %d bytes is too large", payload.size()));
  }
  absl::Status s = relay_->Transmit(
      [&](std::span<std::byte> out) -> size_t {
        if (out.size() < hdr + payload.size()) return 0;
        BuildEthernet(out, dst, options_.mac, options_.vlans, ethertype);
        if (!payload.empty()) std::memcpy(out.data() + hdr, payload.data(), payload.size());
        return hdr + payload.size();
      },
      id_, tx, static_cast<int>(id_));
  if (s.ok()) {
    counters_.sent.fetch_add(1, std::memory_order_relaxed);
  } else {
    counters_.send_failed.fetch_add(1, std::memory_order_relaxed);
  }
  return s;
}

void EtherConn::SendArpRequest(const IpAddress& target) {
  const IpAddress src = AddressOf(IpFamily::kV4);
  const ArpPacket req = ArpPacket::Request(options_.mac, src, target);
  std::byte payload[kArpPacketSize];
  BuildArp(payload, req);
  (void)Write(payload, kEtherTypeArp, MacAddress::Broadcast());
}

void EtherConn::SendNeighborSolicitation(const IpAddress& target) {
  const IpAddress src = AddressOf(IpFamily::kV6);
  const IpAddress dst = SolicitedNodeAddress(target);
  const MacAddress dst_mac = *MulticastMac(dst);
  const size_t l2 = L2HeaderSize(options_.vlans);
  (void)relay_->Transmit(
      [&](std::span<std::byte> out) -> size_t {
        const size_t icmp =
            BuildNeighborSolicitation(out.subspan(l2 + kIpv6HeaderSize),
                                      {.target = target, .source_mac = options_.mac}, src, dst);
        if (icmp == 0) return 0;
        BuildEthernet(out, dst_mac, options_.mac, options_.vlans, kEtherTypeIpv6);
        BuildIpv6(
            out.subspan(l2),
            {.next_header = kIpProtoIcmpv6, .hop_limit = kNdpHopLimit, .src = src, .dst = dst},
            icmp);
        return l2 + kIpv6HeaderSize + icmp;
      },
      id_, {}, static_cast<int>(id_));
}

void EtherConn::Announce() {
  for (const IpSubnet& p : addresses_) {
    if (p.address.is_v4()) {
      std::byte payload[kArpPacketSize];
      BuildArp(payload, ArpPacket::Gratuitous(options_.mac, p.address));
      (void)Write(payload, kEtherTypeArp, MacAddress::Broadcast());
    } else {
      const IpAddress dst = kAllNodesV6;
      const size_t l2 = L2HeaderSize(options_.vlans);
      (void)relay_->Transmit(
          [&](std::span<std::byte> out) -> size_t {
            const size_t icmp = BuildNeighborAdvertisement(
                out.subspan(l2 + kIpv6HeaderSize),
                {.target = p.address, .override_flag = true, .target_mac = options_.mac}, p.address,
                dst);
            if (icmp == 0) return 0;
            BuildEthernet(out, *MulticastMac(dst), options_.mac, options_.vlans, kEtherTypeIpv6);
            BuildIpv6(out.subspan(l2),
                      {.next_header = kIpProtoIcmpv6,
                       .hop_limit = kNdpHopLimit,
                       .src = p.address,
                       .dst = dst},
                      icmp);
            return l2 + kIpv6HeaderSize + icmp;
          },
          id_, {}, static_cast<int>(id_));
    }
  }
}

void EtherConn::FlushParked(const IpAddress& ip, const MacAddress& mac, int64_t now,
                            LearnRule rule) {
  for (ParkedFrame& f : neighbors_.Learn(ip, mac, now, rule)) {
    mac.StoreTo(f.bytes.data());  // parked frames were built with a zero destination MAC
    const uint32_t receiver = f.tx.receiver != 0 ? f.tx.receiver : id_;  // as SendToMac
    if (relay_->TransmitFrame(f.bytes, receiver, f.tx, static_cast<int>(id_))) {
      counters_.sent.fetch_add(1, std::memory_order_relaxed);
    } else {
      counters_.send_failed.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

void EtherConn::AddStaticNeighbor(const IpAddress& ip, const MacAddress& mac) {
  neighbors_.AddStatic(ip, mac);
}

std::optional<MacAddress> EtherConn::LookupNeighbor(const IpAddress& ip) const {
  return neighbors_.Lookup(ip, MonotonicNs());
}

absl::StatusOr<MacAddress> EtherConn::Resolve(const IpAddress& ip, int64_t timeout_ns) {
  if (relay_->CurrentWorker() != nullptr) {
    return absl::FailedPreconditionError("Resolve blocks: not on a relay worker thread");
  }
  const int64_t now = MonotonicNs();
  if (auto mac = neighbors_.Lookup(ip, now)) return *mac;
  RS_ASSIGN_OR_RETURN(bool ask, neighbors_.Start(ip, now));
  if (ask) ip.is_v4() ? SendArpRequest(ip) : SendNeighborSolicitation(ip);
  return neighbors_.Wait(ip, now + timeout_ns);
}

void EtherConn::Tick(RelayWorker&, int64_t now_ns) {
  neighbors_.Tick(now_ns, [this](const IpAddress& ip) {
    ip.is_v4() ? SendArpRequest(ip) : SendNeighborSolicitation(ip);
  });
}

absl::Status EtherConn::JoinGroup(const IpAddress& group, bool report) {
  auto mac = MulticastMac(group);
  if (!mac) return absl::InvalidArgumentError(group.ToString() + " is not a multicast group");
  const MacAddress m = *mac;
  const uint16_t et = group.is_v4() ? kEtherTypeIpv4 : kEtherTypeIpv6;
  relay_->ApplyToWorkers([this, m, et](RelayWorker& w) {
    w.tables().group[L2Key{m.ToU64(), options_.vlans.WithoutPriority(), et}].push_back(this);
  });
  groups_.push_back(m);
  if (report) return SendMembershipReport(group, /*join=*/true);
  return absl::OkStatus();
}

absl::Status EtherConn::LeaveGroup(const IpAddress& group, bool report) {
  auto mac = MulticastMac(group);
  if (!mac) return absl::InvalidArgumentError(group.ToString() + " is not a multicast group");
  const MacAddress m = *mac;
  const uint16_t et = group.is_v4() ? kEtherTypeIpv4 : kEtherTypeIpv6;
  relay_->ApplyToWorkers([this, m, et](RelayWorker& w) {
    auto it = w.tables().group.find(L2Key{m.ToU64(), options_.vlans.WithoutPriority(), et});
    if (it == w.tables().group.end()) return;
    auto& v = it->second;
    auto pos = std::find(v.begin(), v.end(), this);
    if (pos != v.end()) v.erase(pos);
    if (v.empty()) w.tables().group.erase(it);
  });
  auto pos = std::find(groups_.begin(), groups_.end(), m);
  if (pos != groups_.end()) groups_.erase(pos);
  if (report) return SendMembershipReport(group, /*join=*/false);
  return absl::OkStatus();
}

// ---------------------------------------------------------------- RX

void EtherConn::OnFrame(RelayWorker& w, const L2View& l2, const Frame& frame) {
  EtherRoute& route = Rx(w);
  route.received.Add();
  if (route.TakesAsL2(l2.ethertype)) {
    ToUser(w, route, l2, frame);
    return;
  }
  switch (l2.ethertype) {
    case kEtherTypeArp:
      HandleArp(w, l2);
      return;
    case kEtherTypeIpv4:
      HandleIpv4(w, l2, frame);
      return;
    default:
      HandleIpv6(w, l2, frame);
      return;
  }
}

void EtherConn::HandleArp(RelayWorker& w, const L2View& l2) {
  auto arp = ParseArp(l2.payload);
  if (!arp) {
    Rx(w).malformed.Add();
    return;
  }
  const int64_t now = MonotonicNs();
  const bool for_us = HasAddress(arp->target_ip);
  // RFC 826's merge: update the sender's entry if there is one (an INCOMPLETE
  // entry is one: our request's reply completes it); create one only when the
  // packet is a request for one of our addresses. A reply we never asked for
  // creates nothing (counted in neighbors.not_learnt).
  if (arp->sender_ip.is_valid() && !arp->sender_ip.IsUnspecified()) {
    FlushParked(
        arp->sender_ip, arp->sender_mac, now,
        for_us && arp->op == ArpOp::kRequest ? LearnRule::kUpdateOrCreate : LearnRule::kUpdateOnly);
  }
  if (arp->op != ArpOp::kRequest || !for_us || !options_.answer_arp) return;
  if (arp->sender_ip == arp->target_ip) return;  // someone's gratuitous ARP
  const ArpPacket reply =
      ArpPacket::Reply(options_.mac, arp->target_ip, arp->sender_mac, arp->sender_ip);
  w.SendInPlace(
      [&](std::span<std::byte> out) -> size_t {
        return BuildArpReplyFrame(out, arp->sender_mac, options_.mac, options_.vlans, reply);
      },
      id_, {});
  Rx(w).arp_answered.Add();
}

void EtherConn::HandleIpv4(RelayWorker& w, const L2View& l2, const Frame& frame) {
  const ChecksumCheck check = ChecksumCheckFor(frame);
  // The common case in one pass: a UDP datagram for one of our addresses. Everything else
  // (and anything malformed, to be counted with its reason) takes the general parse below.
  Datagram& d = w.ScratchDatagram();
  if (ParseIpv4Udp(l2.payload, check, UdpFieldsOf(d)) && HasAddress(d.meta.dst)) {
    DispatchUdp(w, l2, frame, d);
    return;
  }
  auto ip = ParseIpv4(l2.payload);
  if (!ip) {
    Rx(w).malformed.Add();
    return;
  }
  const bool mine = HasAddress(ip->dst);
  const bool group = (ip->dst.bytes()[0] & 0xf0) == 0xe0 || ip->dst == IpAddress::V4(0xffffffffu);
  if (!mine && !group) {
    Rx(w).not_ours.Add();
    ToUser(w, l2, frame);
    return;
  }
  if (ip->is_fragment()) {
    Rx(w).malformed.Add();  // not reassembled
    return;
  }
  if (ip->protocol == kIpProtoUdp) {
    auto udp = ParseUdp(ip->payload, ip->src, ip->dst, check);
    if (!udp) {
      Rx(w).malformed.Add();
      return;
    }
    SetParsed(d, *udp, ip->src, ip->dst, ip->ttl, ip->tos);
    DispatchUdp(w, l2, frame, d);
    return;
  }
  if (ip->protocol == kIpProtoIcmp && mine &&
      (options_.answer_ping || !echo_routes_[w.index()].empty())) {
    auto icmp = ParseIcmpv4(ip->payload, ChecksumCheckFor(frame));
    if (!icmp) {
      Rx(w).malformed.Add();
      return;
    }
    if (icmp->type == kIcmpv4EchoReply &&
        DeliverEchoReply(w, frame, ip->src, ip->dst, ip->ttl, icmp->echo_id(), icmp->echo_seq(),
                         icmp->body)) {
      return;
    }
    if (icmp->type == kIcmpv4EchoRequest && options_.answer_ping) {
      const EchoReplyFrame reply{.dst = l2.src,
                                 .src = options_.mac,
                                 .vlans = options_.vlans,
                                 .ip_src = ip->dst,
                                 .ip_dst = ip->src,
                                 .id = icmp->echo_id(),
                                 .seq = icmp->echo_seq(),
                                 .data = icmp->body};
      w.SendInPlace(
          [&](std::span<std::byte> out) -> size_t { return BuildIcmpv4EchoReplyFrame(out, reply); },
          id_, {});
      Rx(w).echo_answered.Add();
      return;
    }
  }
  ToUser(w, l2, frame);
}

void EtherConn::HandleIpv6(RelayWorker& w, const L2View& l2, const Frame& frame) {
  auto ip = ParseIpv6(l2.payload);
  if (!ip) {
    Rx(w).malformed.Add();
    return;
  }
  const bool mine = HasAddress(ip->dst);
  const bool group = ip->dst.bytes()[0] == 0xff;
  if (!mine && !group) {
    Rx(w).not_ours.Add();
    ToUser(w, l2, frame);
    return;
  }
  if (ip->is_fragment()) {
    Rx(w).malformed.Add();
    return;
  }
  if (ip->upper_protocol == kIpProtoUdp) {
    auto udp = ParseUdp(ip->payload, ip->src, ip->dst, ChecksumCheckFor(frame));
    if (!udp) {
      Rx(w).malformed.Add();
      return;
    }
    Datagram& d = w.ScratchDatagram();
    SetParsed(d, *udp, ip->src, ip->dst, ip->hop_limit, ip->traffic_class);
    DispatchUdp(w, l2, frame, d);
    return;
  }
  if (ip->upper_protocol != kIpProtoIcmpv6) {
    ToUser(w, l2, frame);
    return;
  }
  auto icmp = ParseIcmpv6(ip->payload, ip->src, ip->dst, ChecksumCheckFor(frame));
  if (!icmp) {
    Rx(w).malformed.Add();
    return;
  }
  const int64_t now = MonotonicNs();
  const size_t l2h = L2HeaderSize(options_.vlans);
  if (icmp->type == kIcmpv6NeighborSolicitation) {
    auto ns = ParseNeighborSolicitation(*ip, *icmp);
    if (!ns) {
      Rx(w).malformed.Add();
      return;
    }
    if (!HasAddress(ns->target) || !options_.answer_arp) return;
    const bool dad = ip->src.IsUnspecified();  // duplicate address detection: answer to all-nodes
    // RFC 4861 §7.2.3: an NS for our address with a source link-layer option
    // may create the sender's entry.
    if (!dad && ns->source_mac) {
      FlushParked(ip->src, *ns->source_mac, now, LearnRule::kUpdateOrCreate);
    }
    const IpAddress dst = dad ? kAllNodesV6 : ip->src;
    const MacAddress dst_mac =
        dad ? *MulticastMac(kAllNodesV6) : (ns->source_mac ? *ns->source_mac : l2.src);
    const IpAddress target = ns->target;
    w.SendInPlace(
        [&](std::span<std::byte> out) -> size_t {
          const size_t icmp_len = BuildNeighborAdvertisement(out.subspan(l2h + kIpv6HeaderSize),
                                                             {.target = target,
                                                              .solicited = !dad,
                                                              .override_flag = true,
                                                              .target_mac = options_.mac},
                                                             target, dst);
          if (icmp_len == 0) return 0;
          BuildIpv6(
              out.subspan(l2h),
              {.next_header = kIpProtoIcmpv6, .hop_limit = kNdpHopLimit, .src = target, .dst = dst},
              icmp_len);
          BuildEthernet(out, dst_mac, options_.mac, options_.vlans, kEtherTypeIpv6);
          return l2h + kIpv6HeaderSize + icmp_len;
        },
        id_, {});
    Rx(w).ndp_answered.Add();
    return;
  }
  if (icmp->type == kIcmpv6NeighborAdvertisement) {
    auto na = ParseNeighborAdvertisement(*ip, *icmp);
    if (!na) {
      Rx(w).malformed.Add();
      return;
    }
    // RFC 4861 §7.2.5: an NA for a target with no entry is discarded; it
    // updates an existing one (INCOMPLETE: the answer to our NS), and without
    // the Override flag it does not replace a known link-layer address.
    FlushParked(na->target, na->target_mac ? *na->target_mac : l2.src, now,
                na->override_flag ? LearnRule::kUpdateOnly : LearnRule::kNoOverride);
    return;
  }
  if (icmp->type == kIcmpv6EchoReply && mine &&
      DeliverEchoReply(w, frame, ip->src, ip->dst, ip->hop_limit, icmp->echo_id(), icmp->echo_seq(),
                       icmp->body)) {
    return;
  }
  if (icmp->type == kIcmpv6EchoRequest && mine && options_.answer_ping) {
    const size_t data = icmp->body.size();
    w.SendInPlace(
        [&](std::span<std::byte> out) -> size_t {
          const size_t need = l2h + kIpv6HeaderSize + kIcmpHeaderSize + data;
          if (out.size() < need) return 0;
          std::memcpy(out.data() + l2h + kIpv6HeaderSize + kIcmpHeaderSize, icmp->body.data(),
                      data);
          BuildIcmpv6Echo(out.subspan(l2h + kIpv6HeaderSize),
                          {.reply = true, .id = icmp->echo_id(), .seq = icmp->echo_seq()}, data,
                          ip->dst, ip->src);
          BuildIpv6(
              out.subspan(l2h),
              {.next_header = kIpProtoIcmpv6, .hop_limit = 64, .src = ip->dst, .dst = ip->src},
              kIcmpHeaderSize + data);
          BuildEthernet(out, l2.src, options_.mac, options_.vlans, kEtherTypeIpv6);
          return need;
        },
        id_, {});
    Rx(w).echo_answered.Add();
    return;
  }
  ToUser(w, l2, frame);
}

void EtherConn::DispatchUdp(RelayWorker& w, const L2View& l2, const Frame& frame, Datagram& d) {
  const auto& table = w.tables().udp;
  // The most specific binding: address and port, the port on every address, every port of
  // the address, every port of every address.
  const EtherRoute* const me = &Rx(w);
  const IpAddress& dst = d.meta.dst;
  const uint16_t port = d.meta.dst_port;
  UdpRoute* to = table.Find(UdpKey{me, dst, port});
  if (to == nullptr) to = table.Find(UdpKey{me, IpAddress(), port});
  if (to == nullptr) to = table.Find(UdpKey{me, dst, 0});
  if (to == nullptr) to = table.Find(UdpKey{me, IpAddress(), 0});
  if (to == nullptr) {
    Rx(w).udp_no_port.Add();
    ToUser(w, l2, frame);
    return;
  }
  w.DeliverUdp(to, l2, frame, d);
}

bool EtherConn::DeliverEchoReply(RelayWorker& w, const Frame& frame, const IpAddress& src,
                                 const IpAddress& dst, uint8_t ttl, uint16_t id, uint16_t seq,
                                 std::span<const std::byte> data) {
  for (EchoClient* c : echo_routes_[w.index()]) {
    if (c->id != id) continue;
    Rx(w).echo_replies.Add();
    c->handlers.on_reply(EchoReply{.src = src,
                                   .dst = dst,
                                   .id = id,
                                   .seq = seq,
                                   .ttl = ttl,
                                   .data = data,
                                   .stamps = frame.stamps,
                                   .worker = w.index()});
    return true;
  }
  return false;
}

void EtherConn::ToQueue(EtherRoute& route, const L2View& l2, const Frame& frame) {
  std::lock_guard<std::mutex> l(q_mu_);
  if (!queue_ready_) return;  // nobody reads: not queued
  route.to_handler.Add();
  if (q_count_ == queue_.size()) {
    route.queue_dropped.Add();
    if (options_.policy == QueuePolicy::kDropNewest) return;
    q_head_ = (q_head_ + 1) % queue_.size();
    --q_count_;
  }
  QueuedL2& q = queue_[(q_head_ + q_count_) % queue_.size()];
  q.meta = L2ReadResult{0, l2.payload.size(), l2.src, l2.dst, l2.vlans, l2.ethertype, frame.stamps};
  const size_t n = std::min<size_t>(l2.payload.size(), q.data.size());
  std::memcpy(q.data.data(), l2.payload.data(), n);
  q.meta.n = n;
  ++q_count_;
  q_cv_.notify_one();
}

void EtherConn::SetHandler(std::function<void(const L2Packet&)> handler) {
  relay_->ApplyToWorkers([this, handler](RelayWorker& w) { Rx(w).handler = handler; });
}

void EtherConn::SetTxStampHandler(std::function<void(const TxStampReport&)> handler) {
  relay_->ApplyToWorkers([this, handler](RelayWorker& w) { stamp_handlers_[w.index()] = handler; });
}

absl::Status EtherConn::RegisterEchoClient(uint16_t id, EchoClientHandlers handlers) {
  if (closed_) return absl::FailedPreconditionError("endpoint is closed");
  if (!handlers.on_reply) {
    return absl::InvalidArgumentError("an echo client needs a reply handler (on_reply)");
  }
  EchoClient* raw = nullptr;
  {
    std::lock_guard<std::mutex> l(echo_mu_);
    for (const auto& c : echo_clients_) {
      if (c->id == id) {
        return absl::AlreadyExistsError(
            absl::StrFormat("echo identifier %d is already taken on endpoint %s; pick another", id,
                            options_.mac.ToString()));
      }
    }
    echo_clients_.push_back(
        std::make_unique<EchoClient>(id, relay_->NextConnId(), std::move(handlers)));
    raw = echo_clients_.back().get();
  }
  relay_->ApplyToWorkers([this, raw](RelayWorker& w) {
    echo_routes_[w.index()].push_back(raw);
    w.tables().stamp_receivers[raw->receiver_id] = raw;
  });
  return absl::OkStatus();
}

void EtherConn::UnregisterEchoClient(uint16_t id) {
  EchoClient* raw = nullptr;
  {
    std::lock_guard<std::mutex> l(echo_mu_);
    for (const auto& c : echo_clients_) {
      if (c->id == id) raw = c.get();
    }
  }
  if (raw == nullptr) return;
  if (!closed_) {  // Close already took every route away
    relay_->ApplyToWorkers([this, raw](RelayWorker& w) {
      auto& routes = echo_routes_[w.index()];
      routes.erase(std::remove(routes.begin(), routes.end(), raw), routes.end());
      w.tables().stamp_receivers.erase(raw->receiver_id);
    });
  }
  std::lock_guard<std::mutex> l(echo_mu_);
  echo_clients_.erase(std::remove_if(echo_clients_.begin(), echo_clients_.end(),
                                     [raw](const auto& c) { return c.get() == raw; }),
                      echo_clients_.end());
}

absl::Status EtherConn::SendEchoRequest(const EchoRequest& req, std::span<const std::byte> data,
                                        const TxOptions& tx_in) {
  if (closed_) return absl::FailedPreconditionError("endpoint is closed");
  if (!req.dst.is_valid()) {
    return absl::InvalidArgumentError("an echo request needs a destination address");
  }
  const IpAddress src = req.src.is_valid() ? req.src : AddressOf(req.dst.family());
  if (!src.is_valid() || src.family() != req.dst.family() || !HasAddress(src)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("endpoint %s has no %s address %s to ping %s from; give it one",
                        options_.mac.ToString(), req.dst.is_v4() ? "IPv4" : "IPv6",
                        req.src.is_valid() ? req.src.ToString() : "", req.dst.ToString()));
  }
  const bool v4 = req.dst.is_v4();
  const size_t l2h = L2HeaderSize(options_.vlans);
  const size_t iph = v4 ? kIpv4MinHeaderSize : kIpv6HeaderSize;
  const size_t need = l2h + iph + kIcmpHeaderSize + data.size();
  if (need > kMaxFrame) {
    return absl::InvalidArgumentError(
        absl::StrFormat("echo data of %d bytes does not fit a frame", data.size()));
  }
  TxOptions tx = tx_in;
  if (tx.want_stamp && tx.receiver == 0) {
    std::lock_guard<std::mutex> l(echo_mu_);
    for (const auto& c : echo_clients_) {
      if (c->id == req.id && c->handlers.on_tx_stamp) tx.receiver = c->receiver_id;
    }
  }
  const size_t len = std::max<size_t>(need, 60);  // pad to the Ethernet minimum
  auto build = [&](std::span<std::byte> out, const MacAddress& mac) -> size_t {
    if (out.size() < len) return 0;
    std::byte* icmp = out.data() + l2h + iph;
    if (!data.empty()) std::memcpy(icmp + kIcmpHeaderSize, data.data(), data.size());
    std::memset(out.data() + need, 0, len - need);
    const IcmpEcho echo{.reply = false, .id = req.id, .seq = req.seq};
    if (v4) {
      if (BuildIcmpv4Echo(out.subspan(l2h + iph), echo, data.size()) == 0) return 0;
      BuildIpv4(
          out.subspan(l2h),
          {.tos = req.tos, .ttl = req.ttl, .protocol = kIpProtoIcmp, .src = src, .dst = req.dst},
          kIcmpHeaderSize + data.size());
    } else {
      if (BuildIcmpv6Echo(out.subspan(l2h + iph), echo, data.size(), src, req.dst) == 0) return 0;
      BuildIpv6(out.subspan(l2h),
                {.traffic_class = req.tos,
                 .next_header = kIpProtoIcmpv6,
                 .hop_limit = req.ttl,
                 .src = src,
                 .dst = req.dst},
                kIcmpHeaderSize + data.size());
    }
    BuildEthernet(out, mac, options_.mac, options_.vlans, v4 ? kEtherTypeIpv4 : kEtherTypeIpv6);
    return len;
  };
  return SendIp(req.dst, len, build, tx);
}

void EtherConn::OnTxStamp(const TxStampReport& report) {
  RelayWorker* w = relay_->CurrentWorker();
  if (w == nullptr) return;
  if (const auto& h = stamp_handlers_[w->index()]) h(report);
}

absl::Status EtherConn::SendMembershipReport(const IpAddress& group, bool join) {
  const MulticastRecordType type =
      join ? MulticastRecordType::kChangeToExclude : MulticastRecordType::kChangeToInclude;
  const MulticastGroupRecord record{type, group, {}};
  const size_t l2h = L2HeaderSize(options_.vlans);
  if (group.is_v4()) {
    const IpAddress src = AddressOf(IpFamily::kV4);
    if (!src.is_valid())
      return absl::FailedPreconditionError("IGMP report needs an IPv4 address on the endpoint");
    return relay_->Transmit(
        [&](std::span<std::byte> out) -> size_t {
          return BuildIgmpv3ReportFrame(out, options_.mac, options_.vlans, src, record);
        },
        id_, {}, static_cast<int>(id_));
  }
  const IpAddress src = AddressOf(IpFamily::kV6);
  if (!src.is_valid())
    return absl::FailedPreconditionError("MLD report needs an IPv6 address on the endpoint");
  return relay_->Transmit(
      [&](std::span<std::byte> out) -> size_t {
        const size_t hbh =
            BuildIpv6RouterAlertHopByHop(out.subspan(l2h + kIpv6HeaderSize), kIpProtoIcmpv6);
        if (hbh == 0) return 0;
        const size_t mld = BuildMldv2Report(out.subspan(l2h + kIpv6HeaderSize + hbh),
                                            std::span(&record, 1), src, kMldv2RoutersV6);
        if (mld == 0) return 0;
        BuildIpv6(
            out.subspan(l2h),
            {.next_header = kIpProtoHopByHop, .hop_limit = 1, .src = src, .dst = kMldv2RoutersV6},
            hbh + mld);
        BuildEthernet(out, *MulticastMac(kMldv2RoutersV6), options_.mac, options_.vlans,
                      kEtherTypeIpv6);
        return l2h + kIpv6HeaderSize + hbh + mld;
      },
      id_, {}, static_cast<int>(id_));
}

absl::StatusOr<L2ReadResult> EtherConn::ReadFrom(std::span<std::byte> buf, int64_t deadline_ns) {
  if (relay_->CurrentWorker() != nullptr) {
    return absl::FailedPreconditionError(
        "ReadFrom blocks: not on a relay worker thread; use SetHandler");
  }
  std::unique_lock<std::mutex> l(q_mu_);
  if (!queue_ready_) {
    queue_.resize(std::max<uint32_t>(1, options_.read_queue_frames));
    for (QueuedL2& q : queue_) q.data.resize(options_.max_frame);
    queue_ready_ = true;
  }
  for (;;) {
    if (q_count_ > 0) {
      QueuedL2& q = queue_[q_head_];
      L2ReadResult r = q.meta;
      r.n = std::min(buf.size(), q.meta.n);
      std::memcpy(buf.data(), q.data.data(), r.n);
      q_head_ = (q_head_ + 1) % queue_.size();
      --q_count_;
      return r;
    }
    if (closed_) return absl::CancelledError("endpoint closed");
    if (!WaitTowardDeadline(q_cv_, l, deadline_ns)) {
      return absl::DeadlineExceededError("read deadline passed");
    }
  }
}

size_t EtherConn::MemoryBytes() const {
  size_t queue = 0;
  {
    std::lock_guard<std::mutex> l(q_mu_);
    queue = queue_.capacity() * sizeof(QueuedL2);
    for (const QueuedL2& q : queue_) queue += q.data.capacity();
  }
  size_t echo = echo_routes_.capacity() * sizeof(echo_routes_[0]);
  for (const auto& r : echo_routes_) echo += r.capacity() * sizeof(r[0]);
  return sizeof(*this) + route_count_ * sizeof(EtherRoute) +
         stamp_handlers_.capacity() * sizeof(stamp_handlers_[0]) + echo +
         addresses_.capacity() * sizeof(IpSubnet) + groups_.capacity() * sizeof(MacAddress) +
         options_.ethertypes.capacity() * sizeof(uint16_t) +
         options_.addresses.capacity() * sizeof(std::string) + neighbors_.MemoryBytes() + queue;
}

EtherConnStats EtherConn::Stats() const {
  EtherConnStats s;
  for (size_t i = 0; i < route_count_; ++i) {
    const EtherRoute& c = routes_[i];
    s.received += c.received.Get();
    s.to_handler += c.to_handler.Get();
    s.queue_dropped += c.queue_dropped.Get();
    s.arp_answered += c.arp_answered.Get();
    s.ndp_answered += c.ndp_answered.Get();
    s.echo_answered += c.echo_answered.Get();
    s.echo_replies += c.echo_replies.Get();
    s.udp_no_port += c.udp_no_port.Get();
    s.malformed += c.malformed.Get();
    s.not_ours += c.not_ours.Get();
  }
  s.sent = counters_.sent.load();
  s.send_failed = counters_.send_failed.load();
  s.neighbors = neighbors_.counters();
  return s;
}

}  // namespace ringstamp
