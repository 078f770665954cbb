// packet_socket.h — PacketSocket: an AF_PACKET socket on one interface, set up in named steps.
//
// Example:
//   RS_ASSIGN_OR_RETURN(PacketSocket sock, PacketSocket::Open("eth1", {.protocol = ETH_P_ALL}));
//   RS_RETURN_IF_ERROR(sock.SetQdiscBypass(true));
//   ... set up rings on sock.fd() (ring_setup.h) ...
//   RS_RETURN_IF_ERROR(sock.Bind());           // last: the kernel's order is version → ring → mmap
//   RS_ASSIGN_OR_RETURN(PacketStats s, sock.ReadStats());  // deltas since the last read, totals
//
// Ownership: owns the fd (closed on destruction; promiscuous membership goes with it).
// Threads: setup from one thread; ReadStats() from the thread that owns the socket's
// rings (the kernel resets its counters on read, so only one reader may exist).
// Errors: every step returns a Status naming the interface, the call and the way out.
// Cost: setup syscalls only; nothing here is on the per-frame path.
#pragma once

#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ringstamp/common/fd.h"

namespace ringstamp {

struct PacketSocketOptions {
  // EtherType to receive in host order; ETH_P_ALL for everything, 0 for a
  // TX-only socket that receives nothing (such a socket cannot join a fanout group).
  uint16_t protocol = ETH_P_ALL;
  // Do not hand up frames this host sends (PACKET_IGNORE_OUTGOING).
  bool ignore_outgoing = false;
};

// Kernel ring counters (tpacket_stats_v3). `packets` counts every frame the
// socket saw, dropped ones included, as the kernel reports it.
struct PacketCounters {
  uint64_t packets = 0;
  uint64_t drops = 0;
  uint64_t freezes = 0;  // tp_freeze_q_cnt: times the queue froze because the ring was full
};

struct PacketStats {
  PacketCounters delta;  // since the previous ReadStats()
  PacketCounters total;  // since Open()
};

enum class FanoutMode : uint16_t {
  kHash = PACKET_FANOUT_HASH,
  kLoadBalance = PACKET_FANOUT_LB,
  kCpu = PACKET_FANOUT_CPU,
  kRollover = PACKET_FANOUT_ROLLOVER,
  kRandom = PACKET_FANOUT_RND,
  kQueueMapping = PACKET_FANOUT_QM,
};

struct FanoutOptions {
  FanoutMode mode = FanoutMode::kHash;
  uint16_t group_id = 0;   // with unique_id and 0: the kernel assigns one
  bool unique_id = false;  // PACKET_FANOUT_FLAG_UNIQUEID
  bool rollover = false;   // PACKET_FANOUT_FLAG_ROLLOVER: spill to another member when full
  bool defrag = false;     // PACKET_FANOUT_FLAG_DEFRAG
};

class PacketSocket {
 public:
  // Creates the socket (with protocol 0: it receives nothing until Bind) and
  // resolves the interface. Errors:
  // unknown interface (lists how to find one), missing CAP_NET_RAW.
  static absl::StatusOr<PacketSocket> Open(std::string_view ifname,
                                           PacketSocketOptions options = {});

  PacketSocket(PacketSocket&&) = default;
  PacketSocket& operator=(PacketSocket&&) = default;

  int fd() const { return fd_.get(); }
  int ifindex() const { return ifindex_; }
  const std::string& ifname() const { return ifname_; }
  uint16_t protocol() const { return protocol_; }
  // The interface MTU read at Open() (what the TX ring checks frames against).
  uint32_t mtu() const { return mtu_; }

  absl::Status SetVersion(int tpacket_version);
  absl::Status SetPromiscuous(bool on);
  absl::Status SetQdiscBypass(bool on);
  // PACKET_LOSS: the kernel skips a malformed TX ring frame instead of stopping at it.
  // Must be set before a ring is attached (EBUSY after).
  absl::Status SetLoss(bool on);
  absl::Status AttachFilter(std::span<const sock_filter> program);
  absl::Status DetachFilter();
  // Raises SO_RCVBUF/SO_SNDBUF (SO_*BUFFORCE when allowed).
  absl::Status SetBuffers(int rcvbuf, int sndbuf);
  struct BindOptions {
    // Accept an interface that is down: the socket receives from the moment it
    // comes up (a TAP the caller brings up after setup). Otherwise a down
    // interface is a FailedPrecondition "interface is down" error.
    bool allow_down = false;
  };
  // Binds to the interface with the socket's protocol; only from here on does
  // the socket receive, and only this interface's frames. Call after ring and
  // filter setup, and before JoinFanout. Reads SO_ERROR after the bind: the
  // kernel reports a down interface only there.
  absl::Status Bind(BindOptions options);
  absl::Status Bind() { return Bind(BindOptions{}); }
  // Joins a fanout group after Bind(); returns the group id in use (the
  // kernel's choice when unique_id and group_id 0).
  absl::StatusOr<uint16_t> JoinFanout(const FanoutOptions& options);

  // Reads and resets the kernel's counters (TPACKET_V3 layout; on V1/V2 the
  // freeze count is 0).
  absl::StatusOr<PacketStats> ReadStats();

 private:
  PacketSocket() = default;
  UniqueFd fd_;
  int ifindex_ = 0;
  std::string ifname_;
  uint16_t protocol_ = 0;
  uint32_t mtu_ = 0;
  int version_ = TPACKET_V1;
  PacketCounters totals_;
};

// Interface index and MTU by name in the caller's network namespace, with a
// message that says what to do when the name is wrong.
absl::StatusOr<int> InterfaceIndex(std::string_view ifname);
absl::StatusOr<uint32_t> InterfaceMtu(std::string_view ifname);
// The interface's hardware (MAC) address.
absl::StatusOr<std::array<uint8_t, 6>> InterfaceMac(std::string_view ifname);

}  // namespace ringstamp
