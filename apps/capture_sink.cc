#include "apps/capture_sink.h"

#include <unistd.h>

#include <array>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "apps/packet_summary.h"
#include "ringstamp/common/clock.h"

namespace ringstamp::app {
namespace {
std::mutex g_stdout_mu;

// The outer tag the kernel stripped, as it was on the wire: TPID, TCI.
std::array<std::byte, 4> VlanTag(const Frame& f) {
  return {static_cast<std::byte>(f.vlan_tpid >> 8), static_cast<std::byte>(f.vlan_tpid),
          static_cast<std::byte>(f.vlan_tci >> 8), static_cast<std::byte>(f.vlan_tci)};
}
}  // namespace

std::string WorkerCapturePath(const std::string& path, int worker, int workers) {
  if (workers <= 1 || path.empty() || path == "-") return path;
  const size_t slash = path.rfind('/');
  const size_t dot = path.rfind('.');
  const bool has_ext = dot != std::string::npos && (slash == std::string::npos || dot > slash + 1);
  if (!has_ext) return absl::StrCat(path, "-w", worker);
  return absl::StrCat(path.substr(0, dot), "-w", worker, path.substr(dot));
}

CaptureSink::CaptureSink(CaptureSinkOptions options) : options_(std::move(options)) {
  if (options_.rotation.enabled() && !options_.path.empty() && options_.path != "-") {
    rotation_.emplace(options_.rotation, options_.path);
  }
}

absl::Status CaptureSink::Open() {
  start_ns_ = RealtimeNs();
  if (options_.path.empty()) return absl::OkStatus();
  if (!rotation_) return OpenFile(options_.path);
  auto first = rotation_->Start(std::time(nullptr));
  if (!first.ok()) return first.status();
  return OpenFile(*first);
}

absl::Status CaptureSink::OpenFile(const std::string& path) {
  start_ns_ = RealtimeNs();
  current_path_ = path;
  if (options_.pcapng) {
    PcapngWriterOptions o{.snaplen = options_.snaplen, .interface_name = options_.ifname};
    auto w = path == "-" ? PcapngWriter::OpenFd(STDOUT_FILENO, "stdout", o)
                         : PcapngWriter::Open(path, o);
    if (!w.ok()) return w.status();
    pcapng_.emplace(std::move(*w));
  } else {
    PcapWriterOptions o{.snaplen = options_.snaplen};
    auto w =
        path == "-" ? PcapWriter::OpenFd(STDOUT_FILENO, "stdout", o) : PcapWriter::Open(path, o);
    if (!w.ok()) return w.status();
    pcap_.emplace(std::move(*w));
  }
  ++files_opened_;
  return absl::OkStatus();
}

bool CaptureSink::RotateIfDue() {
  if (!rotation_) return true;
  if (rotation_done_ || !rotation_status_.ok()) return false;
  const uint64_t size = pcap_ ? pcap_->file_bytes() : pcapng_->file_bytes();
  auto step = rotation_->BeforeRecord(size, std::time(nullptr));
  if (!step.ok()) {
    rotation_status_ = step.status();
    return false;
  }
  switch (step->action) {
    case RotationAction::kKeep:
      return true;
    case RotationAction::kStop:
      rotation_done_ = true;
      return false;
    case RotationAction::kRotate:
      break;
  }
  const CaptureCounts counts = counts_source_ ? counts_source_() : CaptureCounts{};
  absl::Status closed = CloseFile(counts);
  // Closing flushed the buffered records: the closed file's counts are final now.
  records_closed_ = records_written();
  statistics_closed_ = statistics_blocks();
  pcap_.reset();
  pcapng_.reset();
  first_buffered_ns_ = 0;
  if (!closed.ok()) {
    rotation_status_ = closed;
    return false;
  }
  if (absl::Status opened = OpenFile(step->next); !opened.ok()) {
    rotation_status_ =
        absl::Status(opened.code(), absl::StrCat("rotating to the next file: ", opened.message()));
    return false;
  }
  return true;
}

void CaptureSink::Write(const Frame& f) {
  if (options_.summary_lines) {
    std::string line = FormatPacketSummary(f);
    std::lock_guard<std::mutex> l(g_stdout_mu);
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
  }
  if (!pcap_ && !pcapng_) return;
  if (!RotateIfDue()) return;
  const std::optional<Stamp> best = f.stamps.BestSystem();
  const int64_t ns = best ? best->ns : 0;
  const StampSource source = best ? best->source : StampSource::kUserspace;
  std::span<const std::byte> bytes = f.bytes();
  if (f.vlan_valid && bytes.size() >= 12) {
    // Put the stripped outer tag back between the MAC addresses and the rest.
    const std::array<std::byte, 4> tag = VlanTag(f);
    const std::span<const std::byte> parts[3] = {bytes.first(12), tag, bytes.subspan(12)};
    if (pcap_) {
      pcap_->AppendGather(ns, parts, f.wire_len + 4);
    } else {
      pcapng_->AppendGather(ns, source, parts, f.wire_len + 4);
    }
    AfterAppend();
    return;
  }
  if (pcap_) {
    pcap_->Append(ns, bytes, f.wire_len);
  } else {
    pcapng_->Append(ns, source, bytes, f.wire_len);
  }
  AfterAppend();
}

void CaptureSink::Write(std::span<const Frame> frames) {
  if (!pcap_ || rotation_ || options_.summary_lines || options_.packet_buffered) {
    for (const Frame& f : frames) Write(f);
    return;
  }
  for (const Frame& f : frames) {
    const std::optional<Stamp> best = f.stamps.BestSystem();
    const int64_t ns = best ? best->ns : 0;
    if (f.vlan_valid && f.snap_len >= 12) {
      WritePcapTagged(f, ns);
    } else {
      pcap_->Append(ns, f.bytes(), f.wire_len);
    }
  }
  AfterAppend();
}

void CaptureSink::WritePcapTagged(const Frame& f, int64_t ns) {
  const std::span<const std::byte> bytes = f.bytes();
  const std::array<std::byte, 4> tag = VlanTag(f);
  const std::span<const std::byte> parts[3] = {bytes.first(12), tag, bytes.subspan(12)};
  pcap_->AppendGather(ns, parts, f.wire_len + 4);
}

void CaptureSink::AfterAppend() {
  if (options_.packet_buffered) {
    (void)(pcap_ ? pcap_->Flush() : pcapng_->Flush());  // an error shows in status()
  } else if (first_buffered_ns_ == 0 && options_.flush_interval_ns > 0) {
    first_buffered_ns_ = MonotonicNs();
  }
}

int64_t CaptureSink::FlushIfDue(int64_t now_ns) {
  if (first_buffered_ns_ == 0) return 0;
  const int64_t due = first_buffered_ns_ + options_.flush_interval_ns;
  if (now_ns < due) return due;
  (void)(pcap_ ? pcap_->Flush() : pcapng_->Flush());
  first_buffered_ns_ = 0;
  return 0;
}

absl::Status CaptureSink::Close(const CaptureCounts& counts) {
  if (pcap_ || pcapng_) closed_status_ = CloseFile(counts);
  if (closed_status_.ok() && !rotation_status_.ok()) closed_status_ = rotation_status_;
  return closed_status_;
}

absl::Status CaptureSink::CloseFile(const CaptureCounts& counts) {
  if (pcap_) return pcap_->Close();
  // Flush first: the writer's own drops are final only then.
  (void)pcapng_->Flush();
  InterfaceStatistics isb{.start_ns = start_ns_,
                          .end_ns = RealtimeNs(),
                          .if_recv = counts.received,
                          .if_drop = counts.dropped,
                          .filter_accept = counts.filtered ? counts.received : std::nullopt,
                          .os_drop = pcapng_->stats().records_dropped,
                          .user_delivered = counts.delivered,
                          .comment =
                              "ringstamp: ifrecv/ifdrop = PACKET_STATISTICS of the capture socket; "
                              "osdrop = frames the file could not take"};
  // Its error, if any, is the writer's status when it is the first one.
  (void)pcapng_->WriteStatistics(isb);
  return pcapng_->Close();
}

uint64_t CaptureSink::statistics_blocks() const {
  return statistics_closed_ + (pcapng_ ? pcapng_->stats().trailer_blocks : 0);
}

uint64_t CaptureSink::records_written() const {
  if (pcap_) return records_closed_ + pcap_->stats().records_written;
  if (pcapng_) return records_closed_ + pcapng_->stats().records_written;
  return records_closed_;
}

const absl::Status& CaptureSink::status() const {
  if (pcap_) return pcap_->status();
  if (pcapng_) return pcapng_->status();
  return closed_status_;
}

}  // namespace ringstamp::app
