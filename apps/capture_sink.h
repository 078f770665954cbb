// capture_sink.h — CaptureSink: one worker's capture output (pcap, pcapng, summary lines, or
// counting).
//
//   CaptureSink sink(CaptureSinkOptions{.path = "out.pcap", .snaplen = 262144});
//   RS_RETURN_IF_ERROR(sink.Open());
//   sink.Write(frame);            // on the worker's thread
//   sink.Close(counts);           // on the worker's thread (OnStop), SIGINT included
//
// VLAN tags the kernel stripped into the ring header are put back into the
// written frame (so tcpdump/tshark see the tags that were on the wire). The
// record's time is the frame's best system-clock stamp (hardware mapped to
// system time, else software, else userspace); pcapng also records which,
// and ends with an Interface Statistics Block (CaptureCounts below).
// Threads: one sink per worker, used on that worker's thread; summary lines go
// to stdout under a process-wide mutex. Cost: a memcpy per frame into the
// writer's buffer; one write(2) per MiB.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "apps/pcap_writer.h"
#include "ringstamp/ring/frame.h"

namespace ringstamp::app {

struct CaptureSinkOptions {
  std::string path;  // "" (no file), "-" (stdout) or a file path
  bool pcapng = false;
  uint32_t snaplen = 262144;
  bool summary_lines = false;  // tcpdump-like line per packet on stdout
  std::string ifname;          // for pcapng's interface block
  // -U: every record goes to the file as it is written (one write(2) each), as tcpdump -U.
  bool packet_buffered = false;
  // Otherwise records wait in the buffer at most this long (FlushIfDue), so a reader at the
  // other end of a pipe sees a slow capture's packets promptly. 0: only when full.
  int64_t flush_interval_ns = 1'000'000'000;
};

// What the kernel and the worker counted for the socket this sink's frames
// came from, for pcapng's Interface Statistics Block. nullopt: not known.
struct CaptureCounts {
  // isb_ifrecv: frames the kernel handed to the capture socket, its drops
  // included (PACKET_STATISTICS tp_packets: what libpcap calls ps_recv and
  // dumpcap writes here). After a --filter: only the frames it accepted.
  std::optional<uint64_t> received;
  // isb_ifdrop: of those, dropped by the kernel for want of ring room
  // (tp_drops; dumpcap's choice of option, and what Wireshark shows as drops).
  std::optional<uint64_t> dropped;
  // isb_usrdeliv: frames the ring handed to the program (the worker's count).
  std::optional<uint64_t> delivered;
  // A BPF filter chose the frames: `received` is then also isb_filteraccept.
  bool filtered = false;
};

class CaptureSink {
 public:
  explicit CaptureSink(CaptureSinkOptions options) : options_(std::move(options)) {}
  absl::Status Open();
  void Write(const Frame& frame);
  // pcapng: writes the Interface Statistics Block — isb_starttime (Open),
  // isb_endtime (now), the counts given, and isb_osdrop = frames the program
  // lost after the kernel handed them over (records the file could not take:
  // disk full) — also after a disk-full error, never torn. Then flushes and
  // closes the file; the first error seen, if any (a statistics block that
  // did not fit after a write error adds none).
  absl::Status Close(const CaptureCounts& counts = {});
  // Flushes buffered records older than flush_interval_ns (CLOCK_MONOTONIC `now_ns`).
  // Returns when to ask again (0: nothing buffered). Worker thread; cheap when nothing is due.
  int64_t FlushIfDue(int64_t now_ns);
  // Interface Statistics Blocks in the file (0 or 1; pcapng only).
  uint64_t statistics_blocks() const;
  // Records in the file so far (whole records only).
  uint64_t records_written() const;
  const absl::Status& status() const;
  // True once the file refused a write (disk full, closed pipe, ...): later
  // frames are only counted as dropped, so the capture should stop. Cheap
  // enough to ask after every batch.
  bool failed() const {
    return (pcap_ && !pcap_->status().ok()) || (pcapng_ && !pcapng_->status().ok());
  }

 private:
  void AfterAppend();  // -U flush, or note when the buffer's oldest record came

  CaptureSinkOptions options_;
  std::optional<PcapWriter> pcap_;
  std::optional<PcapngWriter> pcapng_;
  absl::Status closed_status_;
  int64_t start_ns_ = 0;           // CLOCK_REALTIME at Open
  int64_t first_buffered_ns_ = 0;  // CLOCK_MONOTONIC of the oldest unflushed record, 0: none
};

// The file a worker writes: `path` itself with one worker; with several, the
// worker index goes before the extension ("cap.pcap" → "cap-w1.pcap").
std::string WorkerCapturePath(const std::string& path, int worker, int workers);

}  // namespace ringstamp::app
