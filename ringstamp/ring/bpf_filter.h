// bpf_filter.h — BpfProgram: a tcpdump expression compiled by libpcap into an owned
// classic BPF program, and AttachBpf() to put it on an AF_PACKET socket.
//
// Example:
// Given: int fd
//   RS_ASSIGN_OR_RETURN(BpfProgram prog, BpfProgram::Compile("udp port 862", {.snaplen = 2048}));
//   RS_RETURN_IF_ERROR(AttachBpf(fd, BpfProgram::DropAll()));  // while the ring is set up
//   RS_RETURN_IF_ERROR(AttachBpf(fd, prog));                     // then drain what slipped in
//
// Ownership: a BpfProgram owns its instructions (a std::vector); copy or move it
// freely. The kernel copies the program on attach, so it may die afterwards.
// Threads: Compile() may be called from any thread (libpcap calls are serialised
// by a process-wide mutex); the rest is plain data. Cost: Compile() takes
// tens of µs, plus one short-lived libpcap capture handle (a socket and a small
// ring, ~1 ms) when the expression tests VLAN tags (see below). Setup only.
//
// The accept value of a compiled program is the snap length: the kernel cuts
// every accepted frame to that many bytes before it reaches the socket/ring.
//
// VLAN tags on live sockets. On receive the kernel removes the outer 802.1Q/
// 802.1ad tag from the frame data into packet metadata before AF_PACKET sees
// it (skb_vlan_untag / hardware VLAN offload); the ring reports it in
// tp_vlan_tci. A program compiled on a "dead" libpcap handle tests the tag in
// the frame bytes (ldh [12] == 0x8100 ...), so on a live socket `vlan 100`
// matches nothing. libpcap generates the other form — kernel BPF extensions
// SKF_AD_VLAN_TAG_PRESENT / SKF_AD_VLAN_TAG, with a fallback to the in-frame
// tag — only on an activated capture handle. So for BpfTarget::kSocket,
// Compile() first compiles on a dead handle; when that program tests a VLAN
// EtherType (0x8100, 0x88a8, 0x9100), it compiles again on a libpcap handle
// activated on `options.interface` (default "lo"; it must exist and be up in
// the calling thread's network namespace, and needs CAP_NET_RAW). If that
// handle cannot be activated, Compile() fails and says so rather than return a
// program that silently matches nothing. As with tcpdump on Linux, filters
// without `vlan` also match tagged frames on a live socket (the outer tag is
// no longer in the data): add `not vlan` to exclude them.
#pragma once

#include <linux/filter.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ringstamp {

static_assert(sizeof(sock_filter) == 8, "classic BPF instruction layout");

// Where a program will run; decides how libpcap encodes VLAN tests.
enum class BpfTarget {
  kSocket,   // on a live AF_PACKET socket (kernel BPF extensions for VLAN metadata)
  kOffline,  // on frames with their tags in the data (files, userspace matching)
};

struct BpfCompileOptions {
  uint32_t snaplen = 262144;  // 1..262144; accepted frames are cut to this length
  BpfTarget target = BpfTarget::kSocket;
  // kSocket + a VLAN test only: the interface libpcap activates to generate
  // VLAN-extension code. Empty means "lo" of the calling thread's namespace.
  std::string interface = {};
};

class BpfProgram {
 public:
  // Largest program the kernel accepts (BPF_MAXINSNS).
  static constexpr size_t kMaxInstructions = BPF_MAXINSNS;

  // Compiles `expression` (tcpdump syntax; empty accepts every frame) for
  // Ethernet frames with libpcap's optimiser on and netmask unknown.
  // Errors: InvalidArgument "bad filter 'tcp port': can't parse filter
  // expression: syntax error" (libpcap's own words) for a bad expression or
  // snaplen; FailedPrecondition when a VLAN test needs an activated libpcap
  // handle that cannot be had (see the banner).
  static absl::StatusOr<BpfProgram> Compile(std::string_view expression,
                                            const BpfCompileOptions& options = {});

  // `ret #0`: the socket receives nothing. Attach it before bind/ring setup so
  // no frame is queued before the real filter is in place.
  static BpfProgram DropAll();

  // `ret #snaplen`: every frame, cut to snaplen bytes.
  static BpfProgram AcceptAll(uint32_t snaplen = 262144);

  std::span<const sock_filter> instructions() const { return instructions_; }
  size_t size() const { return instructions_.size(); }
  // The expression it came from ("" for DropAll/AcceptAll/empty expressions).
  const std::string& expression() const { return expression_; }
  // True when the program reads VLAN metadata through kernel BPF extensions.
  bool uses_vlan_extensions() const { return uses_vlan_extensions_; }

  // Runs the program in userspace (libpcap's interpreter) on one frame whose
  // captured bytes are `frame` and wire length `wire_len` (0: frame.size()).
  // Returns the accept length (0 = rejected). A program that reads kernel
  // metadata (uses_vlan_extensions(), inbound/outbound) rejects every frame
  // here: compile with BpfTarget::kOffline for userspace matching.
  uint32_t RunOffline(std::span<const std::byte> frame, uint32_t wire_len = 0) const;

  // One line per instruction, as tcpdump -d prints them (for logs and tests).
  std::string Disassemble() const;

 private:
  BpfProgram() = default;
  std::vector<sock_filter> instructions_;
  std::string expression_;
  bool uses_vlan_extensions_ = false;
};

// Attaches (or replaces) the socket's filter with SO_ATTACH_FILTER. The kernel
// keeps its own copy. Errors name the call, the program and the way out
// (e.g. ENOMEM: raise net.core.optmem_max; EPERM: the filter was locked).
absl::Status AttachBpf(int fd, const BpfProgram& program);

// Removes the socket's filter (SO_DETACH_FILTER); a socket without one is fine.
absl::Status DetachBpf(int fd);

}  // namespace ringstamp
