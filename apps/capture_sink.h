// capture_sink.h — CaptureSink: one worker's capture output (pcap, pcapng, summary lines, or
// counting).
//
//   CaptureSink sink(CaptureSinkOptions{.path = "out.pcap", .snaplen = 262144});
//   RS_RETURN_IF_ERROR(sink.Open());
//   sink.Write(frame);            // on the worker's thread
//   sink.Close();                 // on the worker's thread (OnStop), SIGINT included
//
// VLAN tags the kernel stripped into the ring header are put back into the
// written frame (so tcpdump/tshark see the tags that were on the wire). The
// record's time is the frame's best system-clock stamp (hardware mapped to
// system time, else software, else userspace); pcapng also records which.
// Threads: one sink per worker, used on that worker's thread; summary lines go
// to stdout under a process-wide mutex. Cost: a memcpy per frame into the
// writer's buffer; one write(2) per MiB.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "apps/pcap_writer.h"
#include "ring/frame.h"

namespace ringstamp::app {

struct CaptureSinkOptions {
  std::string path;  // "" (no file), "-" (stdout) or a file path
  bool pcapng = false;
  uint32_t snaplen = 262144;
  bool summary_lines = false;  // tcpdump-like line per packet on stdout
  std::string ifname;          // for pcapng's interface block
};

class CaptureSink {
 public:
  explicit CaptureSink(CaptureSinkOptions options) : options_(std::move(options)) {}
  absl::Status Open();
  void Write(const Frame& frame);
  // Flushes and closes the file; the first error seen, if any.
  absl::Status Close();
  // Records in the file so far (whole records only).
  uint64_t records_written() const;
  const absl::Status& status() const;

 private:
  CaptureSinkOptions options_;
  std::optional<PcapWriter> pcap_;
  std::optional<PcapngWriter> pcapng_;
  absl::Status closed_status_;
};

// The file a worker writes: `path` itself with one worker; with several, the
// worker index goes before the extension ("cap.pcap" → "cap-w1.pcap").
std::string WorkerCapturePath(const std::string& path, int worker, int workers);

}  // namespace ringstamp::app
