// capture_sink.h — CaptureSink: one worker's capture output (pcap, pcapng, summary lines, or
// counting).
//
// Example:
// Given: const Frame& frame; const CaptureCounts& counts
//   CaptureSink sink(CaptureSinkOptions{.path = "out.pcap", .snaplen = 262144});
//   RS_RETURN_IF_ERROR(sink.Open());
//   sink.Write(frame);                         // on the worker's thread
//   RS_RETURN_IF_ERROR(sink.Close(counts));    // on the worker's thread (OnStop), SIGINT included
//
// VLAN tags the kernel stripped into the ring header are put back into the
// written frame (so tcpdump/tshark see the tags that were on the wire). The
// record's time is the frame's best system-clock stamp (hardware mapped to
// system time, else software, else userspace); pcapng also records which,
// and ends with an Interface Statistics Block (CaptureCounts below).
// With rotation (-C/-G/-W, options.rotation; names and rules in capture_rotation.h) the sink
// checks before each record whether the file is done: it then closes it whole (pcapng: with
// its own Interface Statistics Block) and opens the next one the same way as the first
// (symlink-safe, as whatever user the process is by then: after -Z, that user). Every file
// is a complete capture on its own, with its own header (pcapng: SHB + IDB).
// Threads: one sink per worker, used on that worker's thread; summary lines go
// to stdout under a process-wide mutex. Cost: a memcpy per frame into the
// writer's buffer (pcap through Write(span): header and copy inline, about 90 instructions
// a frame, a third of frame-by-frame Write); one write(2) per MiB; with rotation a time(2) (vDSO) per
// record and a close + open(2) per file.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "apps/capture_rotation.h"
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
  // -C/-G/-W: `path` is then the name template (a regular file, never "-").
  RotationOptions rotation = {};
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
  explicit CaptureSink(CaptureSinkOptions options);
  absl::Status Open();
  void Write(const Frame& frame);
  // The frames of one ring batch, in order: the same records as Write for each. Plain pcap
  // without rotation, -U or summary lines (the capture's usual case) takes one loop with the
  // record header and copy inline and one flush-timer check per batch.
  void Write(std::span<const Frame> frames);
  // With rotation: the counters for the Interface Statistics Block of a pcapng file closed
  // by a rotation (the socket's totals so far, as dumpcap's ring files have them). Called on
  // the worker's thread at each rotation. Unset: that block has times and osdrop only.
  void SetCountsSource(std::function<CaptureCounts()> source) {
    counts_source_ = std::move(source);
  }
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
  // Interface Statistics Blocks written (pcapng only): 0 or 1 per file, all files.
  uint64_t statistics_blocks() const;
  // Records in the files so far (whole records only), all files.
  uint64_t records_written() const;
  const absl::Status& status() const;
  // True once the file refused a write (disk full, closed pipe, ...) or the
  // next file of a rotation did not open: later frames are only counted as
  // dropped, so the capture should stop. Cheap enough to ask after every batch.
  bool failed() const {
    return !rotation_status_.ok() || (pcap_ && !pcap_->status().ok()) ||
           (pcapng_ && !pcapng_->status().ok());
  }
  // -G with -W: the N files are made; the capture should stop (as tcpdump exits). Frames
  // after that are not written.
  bool rotation_done() const { return rotation_done_; }
  // Files opened (1 without rotation once open) and the one being written.
  int64_t files_opened() const { return files_opened_; }
  const std::string& current_path() const { return current_path_; }

 private:
  absl::Status OpenFile(const std::string& path);
  // Closes the current file (pcapng: ISB first); the first error, if any.
  absl::Status CloseFile(const CaptureCounts& counts);
  // Before a record: rotates when the file is done. False: write nothing (stop or failure).
  bool RotateIfDue();
  void AfterAppend();  // -U flush, or note when the buffer's oldest record came
  void WritePcapTagged(const Frame& f, int64_t ns);  // pcap: with the stripped VLAN tag back

  CaptureSinkOptions options_;
  std::optional<PcapWriter> pcap_;
  std::optional<PcapngWriter> pcapng_;
  absl::Status closed_status_;
  std::optional<FileRotation> rotation_;
  absl::Status rotation_status_;  // a rotation that failed (close or open), kept
  bool rotation_done_ = false;
  std::function<CaptureCounts()> counts_source_;
  std::string current_path_;
  int64_t files_opened_ = 0;
  uint64_t records_closed_ = 0;     // records in files already closed by a rotation
  uint64_t statistics_closed_ = 0;  // their statistics blocks
  int64_t start_ns_ = 0;            // CLOCK_REALTIME at Open (of the current file)
  int64_t first_buffered_ns_ = 0;   // CLOCK_MONOTONIC of the oldest unflushed record, 0: none
};

// The file a worker writes: `path` itself with one worker; with several, the
// worker index goes before the extension ("cap.pcap" → "cap-w1.pcap"). With
// rotation this is the worker's name template; the counter goes after it
// ("cap-w1.pcap1"), a -G template's % fields are kept for strftime.
std::string WorkerCapturePath(const std::string& path, int worker, int workers);

}  // namespace ringstamp::app
