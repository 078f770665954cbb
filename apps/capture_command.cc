// ringstamp capture: RX rings to pcap/pcapng with nanosecond stamps, or to tcpdump-like lines.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "apps/capture_rotation.h"
#include "apps/capture_sink.h"
#include "apps/cli_parse.h"
#include "apps/command.h"
#include "apps/common_flags.h"
#include "apps/input_checks.h"
#include "apps/json_line.h"
#include "apps/link_watch.h"
#include "apps/phc_mapping_output.h"
#include "apps/privileges.h"
#include "apps/run_engine.h"
#include "apps/tap_setup.h"
#include "ringstamp/common/clock.h"
#include "ringstamp/engine/engine.h"
#include "ringstamp/engine/timestamping_plan.h"
#include "ringstamp/ring/bpf_filter.h"
#include "ringstamp/ring/ring_setup.h"

ABSL_FLAG(std::string, w, "", "write packets to this pcap file ('-' for stdout)");
ABSL_FLAG(std::string, filter, "", "tcpdump filter expression, compiled by libpcap");
ABSL_FLAG(int32_t, snaplen, 262144, "bytes kept of each frame");
ABSL_FLAG(bool, pcapng, false, "write pcapng (records the stamp source of every packet)");
ABSL_FLAG(bool, n, false,
          "print addresses as numbers (ringstamp never resolves names; accepted as in tcpdump -n)");
ABSL_FLAG(bool, U, false,
          "packet-buffered: each packet goes to the file as it is captured (tcpdump -U); "
          "without it a buffered packet waits at most 1 s");
ABSL_FLAG(int32_t, B, 65536, "ring buffer per worker in KiB, as tcpdump -B");
ABSL_FLAG(std::optional<int64_t>, C, std::nullopt,
          "rotate -w's file once it is larger than this many million bytes (1,000,000): FILE, "
          "FILE1, FILE2, ... as tcpdump -C");
ABSL_FLAG(std::optional<int64_t>, G, std::nullopt,
          "rotate -w's file every this many seconds; FILE is then a strftime(3) template "
          "(local time at each opening), as tcpdump -G");
ABSL_FLAG(std::optional<int64_t>, W, std::nullopt,
          "with -C: a ring of this many files FILE0..FILE<N-1>, the oldest overwritten; with -G "
          "alone: stop after this many files (as tcpdump -W)");
ABSL_FLAG(std::string, Z, "",
          "after the sockets, rings and files are open, become this user (keeping only "
          "CAP_NET_ADMIN, to restore the NIC's timestamping config at exit), as tcpdump -Z");

namespace ringstamp::app {
namespace {

// Each worker's RX ring.

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "ringstamp capture: %s\n", std::string(s.message()).c_str());
  return s.code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
}

class CaptureHandler : public FrameHandler {
 public:
  // `tap_socket`: the TAP queue's ring socket (--tap), whose PACKET_STATISTICS
  // the worker does not read; nullptr on an AF_PACKET interface.
  CaptureHandler(CaptureSinkOptions sink, uint64_t count, std::atomic<uint64_t>* taken,
                 bool filtered, PacketSocket* tap_socket)
      : sink_(std::move(sink)),
        count_(count),
        taken_(taken),
        filtered_(filtered),
        tap_socket_(tap_socket) {
    // A pcapng file closed by a rotation gets the socket's counters so far in its
    // statistics block (asked on this worker's thread, in the middle of Write).
    sink_.SetCountsSource([this] {
      return worker_ != nullptr ? CountsNow(*worker_, /*final=*/false) : CaptureCounts{};
    });
  }

  absl::Status Open() { return sink_.Open(); }

  void OnFrame(Worker& w, const Frame& f) override {
    worker_ = &w;
    Take(w, f);
    StopIfFailed(w);
  }
  // A batch without a virtual call per frame.
  void OnFrames(Worker& w, std::span<const Frame> frames) override {
    worker_ = &w;
    if (count_ == 0) {
      sink_.Write(frames);
    } else {
      for (const Frame& f : frames) Take(w, f);
    }
    StopIfFailed(w);
  }
  void Take(Worker& w, const Frame& f) {
    if (count_ > 0) {
      const uint64_t n = taken_->fetch_add(1, std::memory_order_relaxed) + 1;
      if (n > count_) return;
      if (n == count_) w.engine().RequestStop();
    }
    sink_.Write(f);
  }
  // A file that refused a write (disk full, the pipe's reader gone) ends the
  // capture: every later frame would only be counted as lost.
  // -G with -W made its files: the capture ends (tcpdump exits 0 then).
  void StopIfFailed(Worker& w) {
    if (sink_.failed() && !failed_.exchange(true, std::memory_order_relaxed)) {
      w.engine().RequestStop();
    }
    if (sink_.rotation_done() && !rotation_done_.exchange(true, std::memory_order_relaxed)) {
      w.engine().RequestStop();
    }
  }
  bool failed() const { return failed_.load(std::memory_order_relaxed); }
  bool rotation_done() const { return rotation_done_.load(std::memory_order_relaxed); }
  // A slow capture's buffered packets reach the file (or the pipe's reader) within the
  // sink's flush interval, frames or not.
  PollResult OnPoll(Worker& w) override {
    const int64_t again = sink_.FlushIfDue(MonotonicNs());
    StopIfFailed(w);
    return {.wake_at_ns = again};
  }
  // After the worker's last poll and its last PACKET_STATISTICS read: the
  // counts are final. SIGINT, -c and --duration all end here.
  void OnStop(Worker& w) override { close_status_ = sink_.Close(CountsNow(w, /*final=*/true)); }

  // The counters of the worker's socket; a TAP queue's only when `final` (at the end).
  CaptureCounts CountsNow(Worker& w, bool final) {
    const WorkerStats s = w.Stats();
    CaptureCounts counts{.delivered = s.frames, .filtered = filtered_};
    if (tap_socket_ != nullptr) {
      // Nobody else reads this socket's counters: its totals are the capture's.
      if (!final) return counts;
      if (auto st = tap_socket_->ReadStats(); st.ok()) {
        counts.received = st->total.packets;
        counts.dropped = st->total.drops;
      }
    } else if (w.rx_socket() != nullptr) {
      counts.received = s.kernel_packets;
      counts.dropped = s.kernel_drops;
    }
    return counts;
  }

  const CaptureSink& sink() const { return sink_; }
  const absl::Status& close_status() const { return close_status_; }

 private:
  CaptureSink sink_;
  uint64_t count_;
  std::atomic<uint64_t>* taken_;
  std::atomic<bool> failed_{false};
  std::atomic<bool> rotation_done_{false};
  Worker* worker_ = nullptr;  // the worker this handler runs on, once it has frames
  bool filtered_;
  PacketSocket* tap_socket_;
  absl::Status close_status_;
};

// True when stdout is a pipe or socket whose reader has gone (poll reports
// POLLERR on the write end): what we write next would fail with EPIPE.
bool StdoutReaderGone() {
  pollfd p{STDOUT_FILENO, 0, 0};
  return poll(&p, 1, 0) > 0 && (p.revents & POLLERR) != 0;
}

int RunCapture(const CommandArgs& args) {
  // A closed pipe must be an EPIPE we report, not a signal that ends the
  // process without a word (the file header is written during setup already).
  signal(SIGPIPE, SIG_IGN);
  // As tcpdump: the filter may also come as the words after the flags.
  std::string expr = absl::GetFlag(FLAGS_filter);
  if (!args.positional.empty()) {
    if (!expr.empty()) {
      return Fail(
          absl::InvalidArgumentError("a filter came both in --filter and as trailing words ('" +
                                     args.positional[0] + "' ...); give it once"));
    }
    expr = absl::StrJoin(args.positional, " ");
  }
  auto port = PortName();
  if (!port.ok()) return Fail(port.status());
  const std::string ifname = *port;
  const std::string path = absl::GetFlag(FLAGS_w);
  auto rotation = CheckRotationFlags(path, absl::GetFlag(FLAGS_C), absl::GetFlag(FLAGS_G),
                                     absl::GetFlag(FLAGS_W));
  if (!rotation.ok()) return Fail(rotation.status());
  const int workers = absl::GetFlag(FLAGS_workers);
  if (workers < 1 || workers > 256)
    return Fail(absl::InvalidArgumentError("--workers must be 1..256"));
  const int32_t ring_kib = absl::GetFlag(FLAGS_B);
  if (ring_kib < 1024 || ring_kib > (4 << 20)) {
    return Fail(absl::InvalidArgumentError(absl::StrFormat(
        "-B %d: the ring buffer per worker must be 1024..4194304 KiB (1 MiB..4 GiB)", ring_kib)));
  }
  const uint64_t ring_bytes = static_cast<uint64_t>(ring_kib) << 10;
  if (absl::Status c = CheckRingMemory(workers, ring_bytes, AvailableMemoryBytes()); !c.ok()) {
    return Fail(c);
  }
  if (path == "-" && workers > 1) {
    return Fail(absl::InvalidArgumentError(
        "-w - (stdout) takes one worker: several workers write one file each; use --workers 1"));
  }
  if (path == "-" && isatty(STDOUT_FILENO)) {
    return Fail(absl::InvalidArgumentError(
        "-w - would write binary pcap to a terminal; pipe it (| tshark -r -) or redirect it"));
  }
  const int snaplen = absl::GetFlag(FLAGS_snaplen);
  if (snaplen < 1 || snaplen > 262144) {
    return Fail(absl::InvalidArgumentError("--snaplen must be 1..262144"));
  }
  const int64_t count = absl::GetFlag(FLAGS_c);
  if (count < 0) return Fail(absl::InvalidArgumentError("-c must be ≥ 0"));
  const double duration = absl::GetFlag(FLAGS_duration);
  if (absl::Status c = CheckDurationSeconds("--duration", duration); !c.ok()) return Fail(c);
  auto mode = ParseTstampMode(absl::GetFlag(FLAGS_tstamp));
  if (!mode.ok()) return Fail(mode.status());
  const bool json = absl::GetFlag(FLAGS_json);
  const bool quiet = absl::GetFlag(FLAGS_q);
  const std::string run_as = absl::GetFlag(FLAGS_Z);
  if (!run_as.empty()) {
    if (absl::Status s = CheckCanBecome(run_as); !s.ok()) return Fail(s);
  }

  // The filter is compiled before anything starts: a bad expression changes nothing.
  auto program = expr.empty()
                     ? absl::StatusOr<BpfProgram>(BpfProgram::AcceptAll(snaplen))
                     : BpfProgram::Compile(
                           expr, {.snaplen = static_cast<uint32_t>(snaplen), .interface = ifname});
  if (!program.ok()) return Fail(program.status());

  auto tap = MaybeCreateTap(static_cast<uint32_t>(workers));
  if (!tap.ok()) return Fail(tap.status());
  if (*tap && !expr.empty()) {
    return Fail(
        absl::InvalidArgumentError("--filter applies to AF_PACKET interfaces; a --tap port hands "
                                   "over every frame the host sends"));
  }
  // Before the NIC's config is changed: a signal during setup restores it.
  InstallHwTimestampingRestoreHandlers();
  auto plan =
      PlanTimestamping(ifname, *tap ? TstampMode::kSoftware : *mode, /*rx=*/true, /*tx=*/false);
  if (!plan.ok()) return Fail(plan.status());
  if (!json) std::fprintf(stderr, "%s\n", plan->note.c_str());

  EngineOptions eo;
  eo.ifname = ifname;
  eo.workers = workers;
  eo.tx = false;
  eo.promiscuous = true;
  eo.ignore_outgoing = false;  // a capture sees both directions, as tcpdump does
  eo.rx_mode = absl::GetFlag(FLAGS_immediate) ? RxMode::kImmediate : RxMode::kBlock;
  eo.ring_budget_bytes = ring_bytes;
  eo.block_timeout_ms = 10;
  if (!*tap) eo.bpf.assign(program->instructions().begin(), program->instructions().end());
  eo.tap = tap->get();
  eo.hardware_stamps = plan->hardware_rx;
  eo.phc_map = plan->phc_map;
  if (eo.rx_mode == RxMode::kImmediate && snaplen + 100 > 2048) {
    eo.immediate_frame_size = static_cast<uint32_t>(std::min(snaplen, 65536) + 128 + 15) / 16 * 16;
  }

  std::atomic<uint64_t> taken{0};
  std::vector<CaptureHandler*> handlers(workers, nullptr);
  const bool open_after_drop = rotation->enabled() && !run_as.empty();
  absl::Status open_status;
  auto engine = Engine::Create(eo, [&](int i) {
    CaptureSinkOptions so{.path = WorkerCapturePath(path, i, workers),
                          .pcapng = absl::GetFlag(FLAGS_pcapng),
                          .snaplen = static_cast<uint32_t>(snaplen),
                          .summary_lines = path.empty() && !quiet && !json,
                          .ifname = ifname,
                          .packet_buffered = absl::GetFlag(FLAGS_U),
                          .rotation = *rotation};
    PacketSocket* tap_socket =
        *tap ? (*tap)->queue(static_cast<uint32_t>(i)).rx().packet_socket() : nullptr;
    auto h = std::make_unique<CaptureHandler>(so, static_cast<uint64_t>(count), &taken,
                                              !expr.empty(), tap_socket);
    // Rotating with -Z: every file, the first included, is opened as that user (after the
    // drop below), as tcpdump does; a ring of -W files can then be reused.
    if (!open_after_drop) {
      if (absl::Status s = h->Open(); !s.ok() && open_status.ok()) open_status = s;
    }
    handlers[i] = h.get();
    return h;
  });
  if (!engine.ok()) return Fail(engine.status());
  if (!open_status.ok()) return Fail(open_status);
  if (!(*engine)->warnings().empty()) std::fprintf(stderr, "%s", (*engine)->warnings().c_str());
  // From here SIGINT/SIGTERM/SIGHUP stop cleanly (the sinks close whole, the NIC is restored
  // after the last frame); a second one restores and exits at once.
  InstallStopSignals(engine->get());
  // Before any worker thread starts: capabilities are per thread.
  if (!run_as.empty()) {
    if (absl::Status s = DropPrivilegesTo(run_as); !s.ok()) return Fail(s);
  }
  if (open_after_drop) {
    for (CaptureHandler* h : handlers) {
      if (absl::Status s = h->Open(); !s.ok()) {
        return Fail(absl::Status(
            s.code(), absl::StrCat(s.message(), " (as -Z ", run_as,
                                   ": with -C/-G the directory must be writable by that user)")));
      }
    }
  }
  // On stderr also with --json (the JSON is on stdout): scripts wait for this line.
  std::fprintf(stderr, "capturing on %s with %d worker%s%s%s\n", ifname.c_str(), workers,
               workers == 1 ? "" : "s", expr.empty() ? "" : ", filter: ", expr.c_str());
  const int64_t t0 = MonotonicNs();
  if (absl::Status s = (*engine)->Start(); !s.ok()) return Fail(s);
  std::fflush(stderr);
  bool auto_checked = false;
  // Output to stdout (-w -, or summary lines) ends when its reader goes away.
  const bool watch_stdout = path == "-" || (path.empty() && !quiet && !json);
  bool stdout_gone = false;
  // An interface that goes down or away ends the capture with what was written kept
  // (tcpdump and libpcap do the same): nothing more can arrive on it.
  std::optional<LinkWatch> link;
  if (!*tap) link.emplace(ifname);
  std::string link_error;
  RunEngineLoop(**engine, {.duration_ns = static_cast<int64_t>(duration * 1e9),
                           .live = StderrIsTerminal() && !json && (!path.empty() || quiet),
                           .label = "capture",
                           .done = [&] {
                             for (CaptureHandler* h : handlers) {
                               if (h->failed()) return true;
                             }
                             if (watch_stdout && StdoutReaderGone()) {
                               stdout_gone = true;
                               return true;
                             }
                             if (link) {
                               if (auto change = link->Poll(MonotonicNs());
                                   change && *change != LinkState::kUp) {
                                 link_error = link->Describe(*change);
                                 return true;
                               }
                             }
                             // --tstamp auto keeps hardware only when stamps actually arrive.
                             if (auto_checked || !plan->hardware_rx) return false;
                             EngineStats s = (*engine)->Snapshot();
                             if (auto note = AutoFallBackIfNoHardware(*plan, ifname, s.total.frames,
                                                                      s.total.hw_stamps_missing)) {
                               if (!json) std::fprintf(stderr, "%s\n", note->c_str());
                               auto_checked = true;
                             } else if (s.total.frames >= 32) {
                               auto_checked = true;
                             }
                             return false;
                           }});
  const double elapsed = static_cast<double>(MonotonicNs() - t0) / 1e9;
  EngineStats st = (*engine)->Snapshot();
  uint64_t packets = 0, written = 0;
  int64_t files = 0;
  bool rotation_done = false;
  absl::Status write_status;
  nlohmann::json per_worker = nlohmann::json::array();
  for (int i = 0; i < workers; ++i) {
    const uint64_t seen = st.workers[i].frames;
    const uint64_t kept = count > 0 ? std::min<uint64_t>(seen, static_cast<uint64_t>(count)) : seen;
    per_worker.push_back({{"packets", seen},
                          {"kernel_drops", st.workers[i].kernel_drops},
                          {"freezes", st.workers[i].freezes},
                          {"file", WorkerCapturePath(path, i, workers)},
                          {"records_written", handlers[i]->sink().records_written()},
                          {"statistics_blocks", handlers[i]->sink().statistics_blocks()}});
    if (rotation->enabled()) {
      per_worker.back()["files_opened"] = handlers[i]->sink().files_opened();
      per_worker.back()["last_file"] = handlers[i]->sink().current_path();
    }
    written += handlers[i]->sink().records_written();
    files += handlers[i]->sink().files_opened();
    rotation_done |= handlers[i]->rotation_done();
    (void)kept;
    if (write_status.ok() && !handlers[i]->close_status().ok())
      write_status = handlers[i]->close_status();
  }
  if (write_status.ok() && !link_error.empty()) {
    write_status = absl::UnavailableError(link_error + "; capture stopped");
  }
  if (write_status.ok() && stdout_gone) {
    write_status = absl::FailedPreconditionError(
        "stdout: the reader closed the pipe (EPIPE: Broken pipe); capture stopped");
  }
  packets =
      count > 0 ? std::min<uint64_t>(taken.load(), static_cast<uint64_t>(count)) : st.total.frames;
  const double pps = elapsed > 0 ? static_cast<double>(packets) / elapsed : 0;
  const std::string source(ObservedRxSource(*plan, st.total.frames, st.total.hw_stamps_missing));
  if (json) {
    nlohmann::json j = {{"packets", packets},
                        {"bytes", st.total.bytes},
                        {"kernel_drops", st.total.kernel_drops},
                        {"kernel_packets", st.total.kernel_packets},
                        {"freezes", st.total.freezes},
                        {"pps", pps},
                        {"duration_s", elapsed},
                        {"timestamp_source", source},
                        {"hw_stamps_missing", st.total.hw_stamps_missing},
                        {"truncated", st.total.truncated},
                        {"foreign_frames", st.total.foreign_frames},
                        {"records_written", written},
                        {"workers", per_worker}};
    if (rotation->enabled()) {
      j["files_opened"] = files;
      if (rotation_done) j["file_limit_reached"] = true;
    }
    if (!expr.empty()) j["filter"] = expr;
    // Hardware stamps: how well they map to system time.
    if (auto phc = PhcMappingJson(*plan)) j["phc_mapping"] = std::move(*phc);
    if (!link_error.empty()) {
      j["link_error"] = link_error;
    } else if (!write_status.ok()) {
      j["write_error"] = std::string(write_status.message());
    }
    if (st.total.socket_errors > 0) j["socket_errors"] = st.total.socket_errors;
    PrintJsonLine("capture", std::move(j));
  } else {
    std::fprintf(stderr,
                 "%llu packets captured (%llu bytes) in %.3f s, %s pps; %llu kernel drops, %llu "
                 "freezes; %llu passed the filter; stamps: %s\n",
                 static_cast<unsigned long long>(packets),
                 static_cast<unsigned long long>(st.total.bytes), elapsed, HumanRate(pps).c_str(),
                 static_cast<unsigned long long>(st.total.kernel_drops),
                 static_cast<unsigned long long>(st.total.freezes),
                 static_cast<unsigned long long>(st.total.kernel_packets), source.c_str());
    if (plan->hardware_rx && st.total.hw_stamps_missing > 0) {
      std::fprintf(stderr,
                   "hw_stamps_missing: %llu of %llu frames came without a hardware stamp although "
                   "the NIC was set for them; they carry software stamps\n",
                   static_cast<unsigned long long>(st.total.hw_stamps_missing),
                   static_cast<unsigned long long>(st.total.frames));
    }
    if (const std::string phc = PhcMappingLine(*plan); !phc.empty()) {
      std::fprintf(stderr, "%s\n", phc.c_str());
    }

    if (st.total.foreign_frames > 0) {
      std::fprintf(stderr,
                   "foreign_frames: %llu frames of another interface reached the ring and were "
                   "skipped\n",
                   static_cast<unsigned long long>(st.total.foreign_frames));
    }
    if (!path.empty()) {
      std::fprintf(
          stderr, "%llu records written to %s%s%s\n", static_cast<unsigned long long>(written),
          path.c_str(), workers > 1 ? " (one file per worker: NAME-wN.EXT)" : "",
          rotation->enabled() ? absl::StrFormat(", %d file%s opened", static_cast<long long>(files),
                                                files == 1 ? "" : "s")
                                    .c_str()
                              : "");
    }
    if (rotation_done) {
      std::fprintf(stderr, "file limit reached: -W %lld files made, capture stopped\n",
                   static_cast<long long>(rotation->file_count));
    }
  }
  if (!write_status.ok()) {
    std::fprintf(stderr,
                 "ringstamp capture: %s (the output holds every record counted as written, each "
                 "one whole)\n",
                 std::string(write_status.message()).c_str());
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace

RINGSTAMP_COMMAND(capture, "capture",
                  "capture frames to pcap with nanosecond stamps (tcpdump/netsniff-ng)",
                  (std::vector<std::string>{"i",         "w",       "c",      "duration", "workers",
                                            "filter",    "snaplen", "tstamp", "json",     "label",
                                            "immediate", "q",       "pcapng", "tap",      "tap_ip",
                                            "Z",         "n",       "U",      "B",        "C",
                                            "G",         "W"}),
                  RunCapture);

}  // namespace ringstamp::app
