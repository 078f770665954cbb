// netlink_link.h — NetlinkLink: configure an existing network interface over rtnetlink (libmnl).
//
// Example:
//   RS_ASSIGN_OR_RETURN(NetlinkLink nl, NetlinkLink::Open());     // this thread's namespace
//   RS_ASSIGN_OR_RETURN(LinkRef tap, nl.Lookup("tap00"));
//   RS_RETURN_IF_ERROR(nl.SetMtu(tap, 1500));
//   RS_ASSIGN_OR_RETURN(IpPrefix p, ParseIpPrefix("192.168.0.100/24"));
//   RS_RETURN_IF_ERROR(nl.AddAddress(tap, p));
//   RS_RETURN_IF_ERROR(nl.SetUp(tap, true));
//
// Creates nothing: it sets a link's MAC, MTU and up/down state (RTM_SETLINK),
// adds and removes IPv4/IPv6 addresses (RTM_NEWADDR / RTM_DELADDR), deletes a
// link (RTM_DELLINK) and looks links up by name (RTM_GETLINK). Every request
// asks for an ACK and waits for it; an error carries the interface, the
// request, the errno name, the kernel's own extended-ACK text when it gave one,
// and what to do about it. No shell-out to `ip`.
// Namespace: the socket belongs to the network namespace of the thread that
// called Open(), for its whole life, whatever that thread does afterwards.
// Ownership: owns one NETLINK_ROUTE socket (closed on destruction). Move-only.
// Threads: one thread at a time per NetlinkLink. Cost: one round trip to the
// kernel per call (tens of µs): setup paths only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

struct mnl_socket;
struct nlmsghdr;

namespace ringstamp {

// An IPv4 or IPv6 address with a prefix length, as in "192.168.0.100/24".
struct IpPrefix {
  int family = 0;                  // AF_INET or AF_INET6
  std::array<uint8_t, 16> addr{};  // network byte order; 4 bytes used for AF_INET
  uint8_t prefix_len = 0;          // 0..32 (IPv4) / 0..128 (IPv6)
  size_t addr_len() const;         // 4 or 16
  std::string ToString() const;    // "192.168.0.100/24", "fd00::100/64"
  friend bool operator==(const IpPrefix&, const IpPrefix&) = default;
};

// Parses "ADDR/LEN" (IPv4 or IPv6). A missing "/LEN", a bad address, a length
// out of range or trailing junk is InvalidArgument naming the text.
absl::StatusOr<IpPrefix> ParseIpPrefix(std::string_view cidr);

// A link as the kernel knows it: its name (for messages) and ifindex (for requests).
struct LinkRef {
  std::string name;
  int index = 0;
};

// A link's device counters (IFLA_STATS64), as `ip -s link` shows them.
struct LinkCounters {
  uint64_t rx_packets = 0, tx_packets = 0;
  uint64_t rx_bytes = 0, tx_bytes = 0;
  uint64_t rx_dropped = 0, tx_dropped = 0;
};

// What RTM_GETLINK reports about a link.
struct LinkInfo {
  LinkRef ref;
  uint32_t mtu = 0;
  uint32_t flags = 0;         // IFF_UP, IFF_RUNNING, ... (ifi_flags)
  uint32_t tx_queue_len = 0;  // IFLA_TXQLEN
  std::optional<std::array<uint8_t, 6>> mac;
  std::optional<LinkCounters> counters;  // filled by Query() only
};

struct AddressOptions {
  // IPv6 only: IFA_F_NODAD, the address is usable at once instead of
  // "tentative" for the ~1 s of duplicate address detection.
  bool no_dad = false;
};

class NetlinkLink {
 public:
  // Opens and binds a NETLINK_ROUTE socket with extended ACKs. Errors name the call.
  static absl::StatusOr<NetlinkLink> Open();

  NetlinkLink(NetlinkLink&& other) noexcept;
  NetlinkLink& operator=(NetlinkLink&& other) noexcept;
  NetlinkLink(const NetlinkLink&) = delete;
  NetlinkLink& operator=(const NetlinkLink&) = delete;
  ~NetlinkLink();

  // The link named `name`, or nullopt when no such link exists in the socket's namespace.
  absl::StatusOr<std::optional<LinkInfo>> Find(std::string_view name);
  // Like Find, but NotFound (with how to list links) when the name is absent.
  absl::StatusOr<LinkRef> Lookup(std::string_view name);
  absl::StatusOr<bool> Exists(std::string_view name);
  // The link by index, with its counters. NotFound when it is gone.
  absl::StatusOr<LinkInfo> Query(const LinkRef& link);

  absl::Status SetMac(const LinkRef& link, const std::array<uint8_t, 6>& mac);
  absl::Status SetMtu(const LinkRef& link, uint32_t mtu);
  absl::Status SetUp(const LinkRef& link, bool up);
  // The device's transmit queue length (IFLA_TXQLEN; for a TAP: the frames it
  // holds for the reader before the host's sends are dropped).
  absl::Status SetTxQueueLen(const LinkRef& link, uint32_t frames);
  absl::Status AddAddress(const LinkRef& link, const IpPrefix& prefix,
                          const AddressOptions& options = {});
  absl::Status RemoveAddress(const LinkRef& link, const IpPrefix& prefix);
  // Deletes the link by index (the name is only for messages); NotFound when it is gone.
  absl::Status DeleteLink(const LinkRef& link);
  // Deletes the link by name; NotFound when there is none.
  absl::Status DeleteLink(std::string_view name);

  int fd() const;

  // Writes a complete RTM_DELLINK request for `ifindex` (NLM_F_REQUEST, no ACK
  // asked) into `out` and returns its length, 0 when `out` is too small. For
  // signal handlers: build it at setup, later send it with a plain sendto() on
  // a NETLINK_ROUTE socket opened in the link's namespace. Needs 32 bytes.
  static size_t BuildDeleteLinkRequest(int ifindex, uint32_t seq, std::span<std::byte> out);

 private:
  // Says what to do about errno `err` for one kind of request ("" when nothing useful).
  using HintFn = std::string_view (*)(int err);
  // Reply messages other than the ACK (RTM_GETLINK answers) go here.
  using ReplyFn = void (*)(const nlmsghdr* reply, void* data);

  explicit NetlinkLink(mnl_socket* sock);
  // A fresh request header (NLM_F_REQUEST | NLM_F_ACK | flags) at the start of buf_.
  nlmsghdr* StartRequest(uint16_t type, uint16_t flags);
  // Sends `request` and reads until its ACK. An error is "<what>: <strerror> (ENAME);
  // the kernel says: <extack>; <hint(err)>".
  absl::Status Request(nlmsghdr* request, std::string_view what, HintFn hint,
                       ReplyFn on_reply = nullptr, void* reply_data = nullptr);

  static constexpr size_t kBufSize = 32 * 1024;
  mnl_socket* sock_ = nullptr;
  uint32_t portid_ = 0;
  uint32_t seq_ = 0;
  int last_errno_ = 0;                // the kernel's errno for the last failed request (0: none)
  std::unique_ptr<std::byte[]> buf_;  // request and reply buffer
};

}  // namespace ringstamp
