#include "ringstamp/ring/bpf_filter.h"

#include <pcap/pcap.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ringstamp/common/absl_compat.h"
#include "ringstamp/common/errno_status.h"

namespace ringstamp {
namespace {

static_assert(sizeof(bpf_insn) == sizeof(sock_filter), "libpcap and kernel BPF layouts differ");
static_assert(offsetof(bpf_insn, k) == offsetof(sock_filter, k));
static_assert(offsetof(bpf_insn, jt) == offsetof(sock_filter, jt));

constexpr uint32_t kMaxSnaplen = 262144;  // libpcap's MAXIMUM_SNAPLEN

// libpcap's parser state is global in older releases: serialise every call.
std::mutex& PcapMutex() {
  static std::mutex mu;
  return mu;
}

struct PcapCloser {
  void operator()(pcap_t* p) const { pcap_close(p); }
};
using PcapHandle = std::unique_ptr<pcap_t, PcapCloser>;

std::string Quoted(std::string_view expression) {
  return absl::StrCat("'", ToAbsl(expression), "'");
}

// Compiles on `handle`; on failure returns libpcap's message.
absl::StatusOr<std::vector<sock_filter>> CompileOn(pcap_t* handle, const std::string& expression) {
  bpf_program prog{};
  if (pcap_compile(handle, &prog, expression.c_str(), /*optimize=*/1, PCAP_NETMASK_UNKNOWN) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad filter ", Quoted(expression), ": ", pcap_geterr(handle)));
  }
  std::vector<sock_filter> out(prog.bf_len);
  if (prog.bf_len > 0) std::memcpy(out.data(), prog.bf_insns, prog.bf_len * sizeof(sock_filter));
  pcap_freecode(&prog);
  return out;
}

// True when the program compares a value against a VLAN TPID: libpcap's
// in-frame `vlan` test (or a user's `ether proto 0x8100`).
bool TestsVlanEtherType(const std::vector<sock_filter>& insns) {
  for (const sock_filter& f : insns) {
    if (f.code == (BPF_JMP | BPF_JEQ | BPF_K) &&
        (f.k == 0x8100 || f.k == 0x88a8 || f.k == 0x9100)) {
      return true;
    }
  }
  return false;
}

bool ReadsVlanMetadata(const std::vector<sock_filter>& insns) {
  for (const sock_filter& f : insns) {
    if (BPF_CLASS(f.code) == BPF_LD && BPF_MODE(f.code) == BPF_ABS &&
        (f.k == static_cast<uint32_t>(SKF_AD_OFF + SKF_AD_VLAN_TAG) ||
         f.k == static_cast<uint32_t>(SKF_AD_OFF + SKF_AD_VLAN_TAG_PRESENT) ||
         f.k == static_cast<uint32_t>(SKF_AD_OFF + SKF_AD_VLAN_TPID))) {
      return true;
    }
  }
  return false;
}

// A libpcap handle activated on `interface`: only such a handle makes libpcap
// emit VLAN-extension code (it probes SO_BPF_EXTENSIONS on its socket).
absl::StatusOr<PcapHandle> ActivatedHandle(const std::string& interface, uint32_t snaplen,
                                           const std::string& expression) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  PcapHandle handle(pcap_create(interface.c_str(), errbuf));
  auto fail = [&](std::string_view why) {
    return absl::FailedPreconditionError(absl::StrCat(
        "filter ", Quoted(expression),
        " tests VLAN tags, which the kernel moves out of the frame on a live socket; libpcap "
        "writes the matching code only on an activated handle, and pcap_activate(",
        interface, ") failed: ", ToAbsl(why),
        "; bring that interface up, give its name in BpfCompileOptions::interface (the capture "
        "interface), and run with CAP_NET_RAW"));
  };
  if (handle == nullptr) return fail(errbuf);
  pcap_set_snaplen(handle.get(), static_cast<int>(snaplen));
  pcap_set_buffer_size(handle.get(), 64 * 1024);  // the smallest ring libpcap will make
  int rc = pcap_activate(handle.get());
  if (rc < 0) return fail(pcap_geterr(handle.get()));
  if (pcap_datalink(handle.get()) != DLT_EN10MB) {
    return fail(absl::StrFormat("link type is %s, not Ethernet",
                                pcap_datalink_val_to_name(pcap_datalink(handle.get()))));
  }
  return handle;
}

}  // namespace

absl::StatusOr<BpfProgram> BpfProgram::Compile(std::string_view expression,
                                               const BpfCompileOptions& options) {
  const std::string expr(expression);
  if (options.snaplen == 0 || options.snaplen > kMaxSnaplen) {
    return absl::InvalidArgumentError(
        absl::StrFormat("filter %s: snaplen %u is out of range; use 1..%u", Quoted(expr),
                        options.snaplen, kMaxSnaplen));
  }
  std::lock_guard<std::mutex> lock(PcapMutex());
  PcapHandle dead(pcap_open_dead(DLT_EN10MB, static_cast<int>(options.snaplen)));
  if (dead == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("filter ", Quoted(expr), ": pcap_open_dead failed (out of memory)"));
  }
  BpfProgram program;
  program.expression_ = expr;
  auto insns = CompileOn(dead.get(), expr);
  if (!insns.ok()) return insns.status();
  program.instructions_ = *std::move(insns);

  if (options.target == BpfTarget::kSocket && TestsVlanEtherType(program.instructions_)) {
    const std::string interface = options.interface.empty() ? "lo" : options.interface;
    auto live = ActivatedHandle(interface, options.snaplen, expr);
    if (!live.ok()) return live.status();
    auto live_insns = CompileOn(live->get(), expr);
    if (!live_insns.ok()) return live_insns.status();
    program.instructions_ = *std::move(live_insns);
  }
  if (program.instructions_.empty() || program.instructions_.size() > kMaxInstructions) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "filter %s compiles to %u instructions; the kernel takes 1..%u: simplify the expression",
        Quoted(expr), program.instructions_.size(), kMaxInstructions));
  }
  program.uses_vlan_extensions_ = ReadsVlanMetadata(program.instructions_);
  return program;
}

BpfProgram BpfProgram::DropAll() {
  BpfProgram program;
  program.instructions_.push_back(sock_filter{BPF_RET | BPF_K, 0, 0, 0});
  return program;
}

BpfProgram BpfProgram::AcceptAll(uint32_t snaplen) {
  BpfProgram program;
  program.instructions_.push_back(sock_filter{BPF_RET | BPF_K, 0, 0, snaplen});
  return program;
}

uint32_t BpfProgram::RunOffline(std::span<const std::byte> frame, uint32_t wire_len) const {
  if (wire_len == 0) wire_len = static_cast<uint32_t>(frame.size());
  // bpf_filter() reads only; its non-const parameter types are historical.
  return bpf_filter(reinterpret_cast<const bpf_insn*>(instructions_.data()),
                    reinterpret_cast<const u_char*>(frame.data()), wire_len,
                    static_cast<u_int>(frame.size()));
}

std::string BpfProgram::Disassemble() const {
  std::string out;
  std::lock_guard<std::mutex> lock(PcapMutex());  // bpf_image uses a static buffer
  for (size_t i = 0; i < instructions_.size(); ++i) {
    bpf_insn insn;
    std::memcpy(&insn, &instructions_[i], sizeof(insn));
    absl::StrAppend(&out, bpf_image(&insn, static_cast<int>(i)), "\n");
  }
  return out;
}

absl::Status AttachBpf(int fd, const BpfProgram& program) {
  if (program.size() == 0 || program.size() > BpfProgram::kMaxInstructions) {
    return absl::InvalidArgumentError(
        absl::StrFormat("SO_ATTACH_FILTER: program has %u instructions; the kernel takes 1..%u",
                        program.size(), BpfProgram::kMaxInstructions));
  }
  sock_fprog fprog{};
  fprog.len = static_cast<unsigned short>(program.size());
  fprog.filter = const_cast<sock_filter*>(program.instructions().data());
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof(fprog)) == 0) {
    return absl::OkStatus();
  }
  const int err = errno;
  std::string what = absl::StrFormat("SO_ATTACH_FILTER (fd %d, filter %s, %u instructions)", fd,
                                     Quoted(program.expression()), program.size());
  std::string_view hint;
  switch (err) {
    case ENOMEM:
      hint = "the program does not fit the socket's option memory: raise net.core.optmem_max";
      break;
    case EPERM:
      hint = "the socket's filter is locked (SO_LOCK_FILTER): open a new socket";
      break;
    case EINVAL:
      hint = "the kernel rejected the program: recompile it with BpfProgram::Compile";
      break;
    case EBADF:
    case ENOTSOCK:
      hint = "not an open socket";
      break;
    default:
      break;
  }
  return ErrnoStatus(err, what, hint);
}

absl::Status DetachBpf(int fd) {
  int unused = 0;
  if (setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &unused, sizeof(unused)) == 0 ||
      errno == ENOENT) {
    return absl::OkStatus();
  }
  const int err = errno;
  return ErrnoStatus(err, absl::StrFormat("SO_DETACH_FILTER (fd %d)", fd),
                     err == EPERM ? "the socket's filter is locked (SO_LOCK_FILTER)" : "");
}

}  // namespace ringstamp
