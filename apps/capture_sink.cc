#include "apps/capture_sink.h"

#include <unistd.h>

#include <array>
#include <cstdio>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "apps/packet_summary.h"
#include "ringstamp/common/clock.h"

namespace ringstamp::app {
namespace {
std::mutex g_stdout_mu;
}  // namespace

std::string WorkerCapturePath(const std::string& path, int worker, int workers) {
  if (workers <= 1 || path.empty() || path == "-") return path;
  const size_t slash = path.rfind('/');
  const size_t dot = path.rfind('.');
  const bool has_ext = dot != std::string::npos && (slash == std::string::npos || dot > slash + 1);
  if (!has_ext) return absl::StrCat(path, "-w", worker);
  return absl::StrCat(path.substr(0, dot), "-w", worker, path.substr(dot));
}

absl::Status CaptureSink::Open() {
  start_ns_ = RealtimeNs();
  if (options_.path.empty()) return absl::OkStatus();
  if (options_.pcapng) {
    PcapngWriterOptions o{.snaplen = options_.snaplen, .interface_name = options_.ifname};
    auto w = options_.path == "-" ? PcapngWriter::OpenFd(STDOUT_FILENO, "stdout", o)
                                  : PcapngWriter::Open(options_.path, o);
    if (!w.ok()) return w.status();
    pcapng_.emplace(std::move(*w));
  } else {
    PcapWriterOptions o{.snaplen = options_.snaplen};
    auto w = options_.path == "-" ? PcapWriter::OpenFd(STDOUT_FILENO, "stdout", o)
                                  : PcapWriter::Open(options_.path, o);
    if (!w.ok()) return w.status();
    pcap_.emplace(std::move(*w));
  }
  return absl::OkStatus();
}

void CaptureSink::Write(const Frame& f) {
  if (options_.summary_lines) {
    std::string line = FormatPacketSummary(f);
    std::lock_guard<std::mutex> l(g_stdout_mu);
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
  }
  if (!pcap_ && !pcapng_) return;
  const std::optional<Stamp> best = f.stamps.BestSystem();
  const int64_t ns = best ? best->ns : 0;
  const StampSource source = best ? best->source : StampSource::kUserspace;
  std::span<const std::byte> bytes = f.bytes();
  if (f.vlan_valid && bytes.size() >= 12) {
    // Put the stripped outer tag back between the MAC addresses and the rest.
    std::array<std::byte, 4> tag = {
        static_cast<std::byte>(f.vlan_tpid >> 8), static_cast<std::byte>(f.vlan_tpid),
        static_cast<std::byte>(f.vlan_tci >> 8), static_cast<std::byte>(f.vlan_tci)};
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
  if (pcap_) closed_status_ = pcap_->Close();
  if (pcapng_) {
    // Flush first: the writer's own drops are final only then.
    (void)pcapng_->Flush();
    InterfaceStatistics isb{
        .start_ns = start_ns_,
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
    closed_status_ = pcapng_->Close();
  }
  return closed_status_;
}

uint64_t CaptureSink::statistics_blocks() const {
  return pcapng_ ? pcapng_->stats().trailer_blocks : 0;
}

uint64_t CaptureSink::records_written() const {
  if (pcap_) return pcap_->stats().records_written;
  if (pcapng_) return pcapng_->stats().records_written;
  return 0;
}

const absl::Status& CaptureSink::status() const {
  if (pcap_) return pcap_->status();
  if (pcapng_) return pcapng_->status();
  return closed_status_;
}

}  // namespace ringstamp::app
