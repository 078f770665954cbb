#include "tests/support/netns_testbed.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tests/support/netns_crash_cleanup.h"

namespace ringstamp::testing {
std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += "'";
  return out;
}

bool HaveNetnsPrivileges() { return geteuid() == 0; }

bool RxStampedAtEnqueue() {
  FILE* f = std::fopen("/proc/sys/net/core/netdev_tstamp_prequeue", "r");
  if (f == nullptr) return false;
  int v = 0;
  const bool ok = std::fscanf(f, "%d", &v) == 1;
  std::fclose(f);
  return ok && v == 1;
}

std::string UniqueSuffix() {
  static std::atomic<int> counter{0};
  return absl::StrFormat("%x%x", static_cast<unsigned>(getpid()) & 0xfffff, counter++);
}

Testbed::RunResult RunHost(const std::string& command, int timeout_s) {
  Testbed::RunResult result;
  std::string full =
      absl::StrFormat("timeout -k 2 %d sh -c %s 2>&1", timeout_s, ShellQuote(command));
  FILE* p = popen(full.c_str(), "r");
  if (p == nullptr) return result;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) result.output.append(buf, n);
  int status = pclose(p);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

absl::StatusOr<std::unique_ptr<Testbed>> Testbed::Create(TestbedOptions options) {
  if (!HaveNetnsPrivileges()) {
    return absl::PermissionDeniedError("integration tests need root to create network namespaces");
  }
  std::unique_ptr<Testbed> tb(new Testbed());
  tb->suffix_ = UniqueSuffix();
  tb->ns_a_ = "rsa" + tb->suffix_;
  tb->ns_b_ = "rsb" + tb->suffix_;
  // Interface names are at most 15 characters.
  tb->if_a_ = ("va" + tb->suffix_).substr(0, 15);
  tb->if_b_ = ("vb" + tb->suffix_).substr(0, 15);
  unsigned h = 0;
  for (char c : tb->suffix_) h = h * 31 + static_cast<unsigned char>(c);
  tb->net_prefix4_ = absl::StrFormat("10.%d.%d", 100 + (h % 100), (h / 100) % 250);
  tb->ip4_a_ = tb->net_prefix4_ + ".1";
  tb->ip4_b_ = tb->net_prefix4_ + ".2";
  tb->ip6_a_ = "fd00:77::1";
  tb->ip6_b_ = "fd00:77::2";
  tb->mac_a_ = "02:52:53:00:00:01";
  tb->mac_b_ = "02:52:53:00:00:02";
  // Deleted by the destructor, or on a fatal signal before it runs (netns_crash_cleanup.h).
  RegisterNetns(tb->ns_a_);
  RegisterNetns(tb->ns_b_);

  std::string queues = options.rx_queues > 1 ? absl::StrFormat(" numtxqueues %d numrxqueues %d",
                                                               options.rx_queues, options.rx_queues)
                                             : "";
  std::string peer_queues = queues;
  std::string script =
      absl::StrCat("set -e\n", "ip netns add ", tb->ns_a_, "\n", "ip netns add ", tb->ns_b_, "\n",
                   "ip link add ", tb->if_a_, queues, " netns ", tb->ns_a_, " type veth peer name ",
                   tb->if_b_, peer_queues, " netns ", tb->ns_b_, "\n");
  for (int side = 0; side < 2; ++side) {
    const std::string& ns = side == 0 ? tb->ns_a_ : tb->ns_b_;
    const std::string& ifn = side == 0 ? tb->if_a_ : tb->if_b_;
    const std::string& mac = side == 0 ? tb->mac_a_ : tb->mac_b_;
    const std::string& ip4 = side == 0 ? tb->ip4_a_ : tb->ip4_b_;
    const std::string& ip6 = side == 0 ? tb->ip6_a_ : tb->ip6_b_;
    std::string ex = absl::StrCat("ip netns exec ", ns, " ");
    absl::StrAppend(&script, ex, "ip link set lo up\n", ex, "ip link set ", ifn, " address ", mac,
                    " mtu ", options.mtu, "\n");
    if (options.disable_ipv6_dad) {
      absl::StrAppend(&script, ex, "sysctl -qw net.ipv6.conf.all.accept_dad=0\n", ex,
                      "sysctl -qw net.ipv6.conf.default.accept_dad=0\n", ex,
                      "sysctl -qw net.ipv6.conf.", ifn, ".accept_dad=0\n");
    }
    if (options.assign_addresses) {
      absl::StrAppend(&script, ex, "ip addr add ", ip4, "/24 dev ", ifn, "\n", ex,
                      "ip -6 addr add ", ip6, "/64 dev ", ifn, " nodad\n");
    }
    absl::StrAppend(&script, ex, "ip link set ", ifn, " up\n");
  }
  // Ready means: both links operationally up (the veth carrier is delivered through linkwatch,
  // up to a second late, and until then the device drops what it is given) and no IPv6 address
  // tentative. Bounded: 50 polls of 0.1 s, then setup fails with what was seen.
  absl::StrAppend(&script, "for i in $(seq 50); do ready=1\n");
  for (int side = 0; side < 2; ++side) {
    const std::string& ns = side == 0 ? tb->ns_a_ : tb->ns_b_;
    const std::string& ifn = side == 0 ? tb->if_a_ : tb->if_b_;
    std::string ex = absl::StrCat("ip netns exec ", ns, " ");
    absl::StrAppend(&script, "  [ \"$(", ex, "cat /sys/class/net/", ifn,
                    "/operstate)\" = up ] || ready=0\n", "  [ -z \"$(", ex, "ip -6 addr show dev ",
                    ifn, " tentative)\" ] || ready=0\n");
  }
  absl::StrAppend(&script, "  [ $ready = 1 ] && break; sleep 0.1\ndone\n",
                  "[ $ready = 1 ] || { echo 'links not up after 5 s:'; ip netns exec ", tb->ns_a_,
                  " ip addr; ip netns exec ", tb->ns_b_, " ip addr; exit 1; }\n");
  RunResult r = RunHost(script, 30);
  if (r.exit_code != 0) {
    // The destructor removes whatever part was made.
    return absl::InternalError(absl::StrCat("testbed setup failed: ", r.output));
  }
  return tb;
}

Testbed::~Testbed() {
  if (ns_a_.empty()) return;
  DeleteNetns(ns_a_);
  DeleteNetns(ns_b_);
}

std::string Testbed::ip4_extra(int n) const { return absl::StrCat(net_prefix4_, ".", 100 + n); }

std::string Testbed::ip6_extra(int n) const { return absl::StrFormat("fd00:77::%x", 0x100 + n); }

Testbed::RunResult Testbed::Run(const std::string& ns, const std::string& command,
                                int timeout_s) const {
  return RunHost(absl::StrCat("ip netns exec ", ns, " sh -c ", ShellQuote(command)), timeout_s);
}

NetnsScope::NetnsScope(const std::string& ns) {
  saved_fd_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (saved_fd_ < 0) return;
  std::string path = "/run/netns/" + ns;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ok_ = setns(fd, CLONE_NEWNET) == 0;
  close(fd);
}

NetnsScope::~NetnsScope() {
  if (saved_fd_ >= 0) {
    if (ok_) (void)setns(saved_fd_, CLONE_NEWNET);
    close(saved_fd_);
  }
}

}  // namespace ringstamp::testing
