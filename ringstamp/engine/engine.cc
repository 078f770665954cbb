#include "ringstamp/engine/engine.h"

#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "ringstamp/common/clock.h"
#include "ringstamp/common/status_macros.h"
#include "ringstamp/timestamp/hw_timestamping.h"

namespace ringstamp {

std::vector<int> AllowedCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  return cpus;
}

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(const EngineOptions& options,
                                                       const HandlerFactory& make_handler) {
  if (!options.rx && !options.tx) {
    return absl::InvalidArgumentError("engine: neither RX nor TX asked for");
  }
  if (options.tap != nullptr) {
    if (!options.bpf.empty()) {
      return absl::InvalidArgumentError(
          "engine: BPF filters apply to AF_PACKET ports, not to a TAP port");
    }
  } else if (options.ifname.empty()) {
    return absl::InvalidArgumentError(
        "engine: no interface given (-i IFACE); `ip link` lists them");
  }
  const std::vector<int> allowed = AllowedCpus();
  std::vector<int> cpus = options.cpus;
  if (cpus.empty()) {
    int n = options.workers > 0 ? options.workers : static_cast<int>(allowed.size());
    if (n < 1) n = 1;
    for (int i = 0; i < n; ++i) cpus.push_back(allowed.empty() ? -1 : allowed[i % allowed.size()]);
  } else {
    for (int c : cpus) {
      if (std::find(allowed.begin(), allowed.end(), c) == allowed.end()) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "engine: CPU %d is not available to this process (allowed: %s); pick from those", c,
            absl::StrJoin(allowed, ",")));
      }
    }
  }
  if (cpus.size() > 1024) {
    return absl::InvalidArgumentError("engine: more than 1024 workers asked for");
  }
  std::unique_ptr<Engine> e(new Engine(options));
  for (size_t i = 0; i < cpus.size(); ++i) {
    RS_ASSIGN_OR_RETURN(auto w, Worker::Create(e.get(), static_cast<int>(i), cpus[i], options,
                                               make_handler(static_cast<int>(i))));
    e->workers_.push_back(std::move(w));
  }
  if (options.rx && options.tap == nullptr && e->workers_.size() > 1) {
    FanoutOptions f = options.fanout;
    for (auto& w : e->workers_) {
      RS_ASSIGN_OR_RETURN(uint16_t id, w->rx_socket()->JoinFanout(f));
      // The first join fixes the group; the others join it by id.
      f.group_id = id;
      f.unique_id = false;
      e->fanout_group_ = id;
    }
  }
  return e;
}

namespace {
void DetachStopSignals(Engine* engine);
}  // namespace

// A signal after this point must not reach freed memory: forget the engine first.
Engine::~Engine() {
  DetachStopSignals(this);
  Stop();
}

absl::Status Engine::Start() {
  if (started_) return absl::FailedPreconditionError("engine already started");
  started_ = true;
  for (auto& w : workers_) {
    absl::Status s = w->Start();
    if (!s.ok()) {
      Stop();
      return s;
    }
  }
  return absl::OkStatus();
}

void Engine::RequestStop() {
  stop_.store(true, std::memory_order_relaxed);
  for (auto& w : workers_) w->Wake();
}

void Engine::Wait() {
  for (auto& w : workers_) w->Join();
}

void Engine::Stop() {
  RequestStop();
  Wait();
}

EngineStats Engine::Snapshot() const {
  EngineStats s;
  s.taken_at_ns = MonotonicNs();
  for (const auto& w : workers_) {
    s.workers.push_back(w->Stats());
    s.total += s.workers.back();
  }
  return s;
}

std::string Engine::warnings() const {
  std::string out;
  for (const auto& w : workers_) out += w->warnings();
  return out;
}

namespace {
std::atomic<Engine*> g_signal_engine{nullptr};
std::atomic<bool> g_signalled{false};
constexpr int kMaxStopCallbacks = 8;
std::atomic<void (*)()> g_stop_callbacks[kMaxStopCallbacks];

std::atomic<int> g_signal_count{0};

// Writes a constant message with write(2): async-signal-safe.
void SignalSafeNote(const char* text) {
  size_t n = 0;
  while (text[n] != '\0') ++n;
  ssize_t w = ::write(STDERR_FILENO, text, n);
  (void)w;
}

void OnStopSignal(int sig) {
  if (g_signal_count.fetch_add(1) > 0) {
    // The second signal: the clean stop is taking too long for the user. Put the NIC's
    // timestamping config back and leave now; files hold the whole records written so far.
    RestoreAllHwTimestamping();
    SignalSafeNote("ringstamp: second signal: exiting now (NIC config restored)\n");
    _exit(128 + sig);
  }
  g_signalled.store(true);
  for (auto& cb : g_stop_callbacks) {
    if (auto fn = cb.load()) fn();
  }
  if (Engine* e = g_signal_engine.load()) e->RequestStop();
}

void DetachStopSignals(Engine* engine) {
  Engine* expected = engine;
  g_signal_engine.compare_exchange_strong(expected, nullptr);
}
}  // namespace

void InstallStopSignals(Engine* engine) {
  g_signal_engine.store(engine);
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);  // a closed terminal stops cleanly too
}

void AddStopCallback(void (*fn)()) {
  for (auto& cb : g_stop_callbacks) {
    void (*expected)() = nullptr;
    if (cb.compare_exchange_strong(expected, fn)) return;
  }
}

bool StopSignalled() { return g_signalled.load(); }

}  // namespace ringstamp
