#include "tests/support/netns_crash_cleanup.h"

#include <sys/mount.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <csignal>
#include <cstring>
#include <mutex>

namespace ringstamp::testing {
namespace {

constexpr size_t kMaxNames = 64;
constexpr size_t kPathMax = 96;
constexpr char kRunDir[] = "/run/netns/";
constexpr int kSignals[] = {SIGABRT, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTERM, SIGINT, SIGHUP};

// A registered namespace's path and the process that made it (a child forked without exec
// inherits the table, and must not delete its parent's namespaces when it dies); `live` is set
// after both are written and cleared before the slot is reused, so the signal handler reads
// only whole entries.
struct Slot {
  std::atomic<bool> live{false};
  pid_t pid = 0;
  char path[kPathMax] = {};
};
std::array<Slot, kMaxNames> g_slots;
std::mutex g_mu;  // registration, removal and installing the handlers (not the handler)
struct sigaction g_previous[NSIG];

// umount2 + unlink: async-signal-safe.
void RemovePath(const char* path) {
  (void)umount2(path, MNT_DETACH);
  (void)unlink(path);
}

void OnFatalSignal(int sig) {
  const pid_t self = getpid();
  for (Slot& s : g_slots) {
    if (s.live.load(std::memory_order_acquire) && s.pid == self) RemovePath(s.path);
  }
  // On to whoever handled it before (doctest reports the crash, then re-raises), or the default.
  sigaction(sig, &g_previous[sig], nullptr);
  raise(sig);
}

// Installs the handler where it is not the current one. At every registration, not once: doctest
// puts its own crash handlers in place for each test case and the ones before back after it.
void InstallHandlers() {
  for (int sig : kSignals) {
    struct sigaction current = {};
    if (sigaction(sig, nullptr, &current) == 0 && current.sa_handler == OnFatalSignal) continue;
    struct sigaction sa = {};
    sa.sa_handler = OnFatalSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    sigaction(sig, &sa, &g_previous[sig]);
  }
}

bool PathOf(const std::string& name, char (&out)[kPathMax]) {
  if (sizeof(kRunDir) - 1 + name.size() + 1 > kPathMax) return false;
  std::memcpy(out, kRunDir, sizeof(kRunDir) - 1);
  std::memcpy(out + sizeof(kRunDir) - 1, name.data(), name.size());
  out[sizeof(kRunDir) - 1 + name.size()] = '\0';
  return true;
}

}  // namespace

void RegisterNetns(const std::string& name) {
  std::lock_guard<std::mutex> l(g_mu);
  InstallHandlers();
  for (Slot& s : g_slots) {
    if (s.live.load(std::memory_order_relaxed)) continue;
    if (!PathOf(name, s.path)) return;
    s.pid = getpid();
    s.live.store(true, std::memory_order_release);
    return;
  }
}

void DeleteNetns(const std::string& name) {
  char path[kPathMax];
  if (!PathOf(name, path)) return;
  {
    std::lock_guard<std::mutex> l(g_mu);
    for (Slot& s : g_slots) {
      if (s.live.load(std::memory_order_relaxed) && std::strcmp(s.path, path) == 0) {
        s.live.store(false, std::memory_order_release);
      }
    }
  }
  RemovePath(path);
}

}  // namespace ringstamp::testing
