// pcap_writer.h — buffered pcap (nanosecond) and pcapng writers that never
// leave a torn record in the file, over one shared buffered file sink.
//
// Example:
// Given: int64_t frame_stamp_ns; std::span<const std::byte> frame_bytes; uint32_t wire_len
//   RS_ASSIGN_OR_RETURN(PcapWriter w, PcapWriter::Open("out.pcap", {.snaplen = 2048}));
//   w.Append(frame_stamp_ns, frame_bytes, wire_len);   // hot path: memcpy, no allocation
//   absl::Status st = w.Close();                       // on exit, SIGINT included
//
// Formats. PcapWriter: classic pcap with magic 0xa1b23c4d (nanosecond stamps),
// version 2.4, LINKTYPE_ETHERNET, written in host byte order (readers detect it
// from the magic); byte-identical to libpcap's pcap_dump with
// PCAP_TSTAMP_PRECISION_NANO. PcapngWriter: one Section Header Block, one
// Interface Description Block (LINKTYPE_ETHERNET, if_tsresol=9, if_name), then
// one Enhanced Packet Block per frame whose opt_comment says where the stamp
// came from ("ts=software", tshark's frame.comment), plus epb_flags with the
// direction when it is known. At the end of a capture WriteStatistics adds one
// Interface Statistics Block (start and end time in the IDB's nanoseconds, the
// kernel's counters; see InterfaceStatistics). Frames are written as given: a caller that
// wants VLAN tags the kernel stripped re-inserts them (AppendGather lets it
// do so without a copy: MACs, tag, rest).
//
// Output. A path, or "-" for stdout (refused when stdout is a terminal).
// Records go into a buffer (1 MiB by default) and reach the file with one
// write(2) per full buffer; short writes are continued, EINTR retried, EAGAIN
// waited out with poll. Only whole records are ever flushed. When a write
// fails (ENOSPC, EIO, EPIPE...), the writer reports the error, stops writing,
// and — for a regular file — truncates the file back to the end of the last
// whole record that reached it, so the file stays readable: records_written
// says how many records it holds. Later Appends are counted as dropped.
// A writer to a pipe cannot take back a partial record; the error says so.
// Ignore SIGPIPE in programs that write to pipes, or EPIPE becomes a signal.
//
// Threads: one writer per file, used from one thread (Close and Flush too: on
// SIGINT, let the writing thread notice a flag and call Close). Cost: per
// record one bounds check and a memcpy of the captured bytes (plus 16 or
// ~40 bytes of header); per buffer one write(2). Memory: the buffer, taken at
// Open. Append never allocates and never throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ringstamp/timestamp/timestamps.h"

namespace ringstamp::app {

// Counters of one writer. Record bytes exclude the file header: a fresh
// regular file is header_bytes + bytes_written long after Close.
struct WriterStats {
  uint64_t records_written = 0;   // whole records that reached the file
  uint64_t bytes_written = 0;     // their bytes
  uint64_t records_buffered = 0;  // appended, not yet flushed
  uint64_t records_dropped = 0;   // lost: appended after an error, or cut off by it
  uint64_t bytes_dropped = 0;
  uint64_t frames_truncated = 0;  // frames longer than snaplen, cut (still written)
  uint64_t stamps_clamped = 0;    // stamps outside the format's range, written clamped
  uint64_t write_calls = 0;       // write(2) calls, retries included
  uint64_t header_bytes = 0;      // file header (pcap global header, or SHB + IDB)
  uint64_t trailer_blocks = 0;    // blocks written after the records (pcapng ISB), not records
  uint64_t trailer_bytes = 0;     // their bytes: a file is header + written + trailer bytes long
};

// The buffered, record-preserving file sink both writers use. It knows
// nothing of pcap: a RecordLengthFn tells it where records end in its buffer.
class RecordSink {
 public:
  // Length of the record that starts at `record` (whole records are in the buffer).
  using RecordLengthFn = size_t (*)(const std::byte* record);

  // Opens `path` ("-" = stdout) for writing (created 0644, truncated), takes a
  // buffer of `buffer_bytes` (≥ max_record_bytes and ≥ 4096) and writes
  // `file_header` at once, so a file that opened is a valid empty capture.
  static absl::StatusOr<RecordSink> Open(std::string_view path, size_t buffer_bytes,
                                         size_t max_record_bytes, RecordLengthFn record_length,
                                         std::span<const std::byte> file_header);
  // The same over an fd the caller owns (a pipe, a socket): never closed here.
  static absl::StatusOr<RecordSink> OpenFd(int fd, std::string_view name, size_t buffer_bytes,
                                           size_t max_record_bytes, RecordLengthFn record_length,
                                           std::span<const std::byte> file_header);

  RecordSink(RecordSink&& other) noexcept;
  RecordSink& operator=(RecordSink&& other) noexcept;
  RecordSink(const RecordSink&) = delete;
  RecordSink& operator=(const RecordSink&) = delete;
  ~RecordSink();  // flushes and closes, ignoring errors: call Close() to see them

  // Room for one record of `len` ≤ max_record_bytes bytes, flushing the
  // buffer first when it is full. nullptr when the sink has failed: the
  // record is counted as dropped. Fill it, then Commit(len) before the next call.
  std::byte* Reserve(size_t len);
  // Reserve's inline fast path: room for `len` bytes when they fit in the buffer as it is
  // and the sink is writing; nullptr otherwise (then call Reserve: it flushes, or drops).
  std::byte* ReserveInBuffer(size_t len) {
    return used_ + len <= capacity_ && len <= max_record_ && !closed_ && status_.ok()
               ? buffer_.get() + used_
               : nullptr;
  }
  void Commit(size_t len) {
    used_ += len;
    ++stats_.records_buffered;
  }

  // Writes every whole buffered record. Returns the sink's first error, if any.
  absl::Status Flush();
  // Flush, then close (owned fds only). Idempotent: returns the first error.
  absl::Status Close();
  // Flushes, then writes `block` at once as the file's last block (a trailer,
  // not a record: counted in trailer_blocks/bytes). On a regular file this is
  // tried even after a write error stopped the records — so a disk-full
  // capture can still say what it lost — and a block that does not fit whole
  // is cut off again (the file ends with a whole block either way). Not on a
  // pipe that failed already. OK when the whole block reached the file; an
  // error otherwise (also kept as status() when it is the first one).
  absl::Status WriteTrailer(std::span<const std::byte> block);

  const absl::Status& status() const { return status_; }
  bool failed() const { return !status_.ok(); }
  const std::string& name() const { return name_; }
  // How long the file is once the buffer is flushed: header, records (buffered ones
  // included) and trailer. What tcpdump -C compares with its limit (its ftell).
  uint64_t file_bytes() const { return file_offset_ + used_; }
  WriterStats& stats() { return stats_; }
  const WriterStats& stats() const { return stats_; }

 private:
  RecordSink() = default;
  static absl::StatusOr<RecordSink> Start(int fd, bool owned, std::string name, size_t buffer_bytes,
                                          size_t max_record_bytes, RecordLengthFn record_length,
                                          std::span<const std::byte> file_header);
  // Writes buffer_[0, len): 0 on success, else the errno that stopped it and
  // *done = the bytes that did reach the fd.
  int WriteAll(const std::byte* data, size_t len, size_t* done);
  void FlushBuffer();
  void Fail(absl::Status status);

  int fd_ = -1;
  bool owned_ = false;
  bool regular_file_ = false;
  bool closed_ = false;
  std::string name_;
  std::unique_ptr<std::byte[]> buffer_;
  size_t capacity_ = 0;
  size_t used_ = 0;
  size_t max_record_ = 0;
  uint64_t file_offset_ = 0;  // where buffer_[0] lands in the file
  RecordLengthFn record_length_ = nullptr;
  absl::Status status_;
  WriterStats stats_;
};

struct PcapWriterOptions {
  uint32_t snaplen = 262144;       // 1..262144; longer frames are cut (and counted)
  size_t buffer_bytes = 1u << 20;  // one write(2) per this many bytes
};

class PcapWriter {
 public:
  static constexpr uint32_t kMagicNanosecond = 0xa1b23c4d;
  static constexpr size_t kFileHeaderBytes = 24;
  static constexpr size_t kRecordHeaderBytes = 16;

  // Path "-" writes to stdout. Errors: bad options, open(2)/write(2) of the header.
  static absl::StatusOr<PcapWriter> Open(std::string_view path,
                                         const PcapWriterOptions& options = {});
  static absl::StatusOr<PcapWriter> OpenFd(int fd, std::string_view name,
                                           const PcapWriterOptions& options = {});

  // One record stamped `stamp_ns` (Unix ns) with the captured bytes `frame`
  // and the frame's length on the wire `wire_len` (0 or less than the
  // captured length: the captured length). False when the record was dropped.
  // Inline: a frame within snaplen, a stamp within the format and room in the buffer cost
  // one 16-byte store of the header and one memcpy; anything else goes to AppendGather.
  bool Append(int64_t stamp_ns, std::span<const std::byte> frame, uint32_t wire_len = 0) {
    const size_t len = kRecordHeaderBytes + frame.size();
    std::byte* p = frame.size() <= snaplen_ && static_cast<uint64_t>(stamp_ns) < kStampLimitNs
                       ? sink_.ReserveInBuffer(len)
                       : nullptr;
    if (p == nullptr) {
      const std::span<const std::byte> parts[1] = {frame};
      return AppendGather(stamp_ns, parts, wire_len);
    }
    const uint32_t caplen = static_cast<uint32_t>(frame.size());
    const uint64_t stamp = static_cast<uint64_t>(stamp_ns);
    const uint32_t header[4] = {static_cast<uint32_t>(stamp / 1'000'000'000),
                                static_cast<uint32_t>(stamp % 1'000'000'000), caplen,
                                wire_len > caplen ? wire_len : caplen};
    std::memcpy(p, header, sizeof(header));
    std::memcpy(p + kRecordHeaderBytes, frame.data(), caplen);
    sink_.Commit(len);
    return true;
  }
  // The same with the frame given as consecutive pieces (e.g. MACs, a VLAN
  // tag to re-insert, the rest): written as one record, no copy in between.
  bool AppendGather(int64_t stamp_ns, std::span<const std::span<const std::byte>> parts,
                    uint32_t wire_len = 0);

  absl::Status Flush() { return sink_.Flush(); }
  absl::Status Close() { return sink_.Close(); }
  const absl::Status& status() const { return sink_.status(); }
  const WriterStats& stats() const { return sink_.stats(); }
  uint64_t file_bytes() const { return sink_.file_bytes(); }
  uint32_t snaplen() const { return snaplen_; }

 private:
  // Stamps from 0 up to here have whole seconds that fit the header's 32 bits (unsigned:
  // negative stamps compare above it); the rest are clamped by AppendGather.
  static constexpr uint64_t kStampLimitNs = (uint64_t{UINT32_MAX} + 1) * 1'000'000'000;
  PcapWriter(RecordSink sink, uint32_t snaplen) : sink_(std::move(sink)), snaplen_(snaplen) {}
  RecordSink sink_;
  uint32_t snaplen_;
};

// Direction of a frame, for pcapng's epb_flags (PACKET_OUTGOING → kOutbound).
enum class PacketDirection : uint8_t { kUnknown, kInbound, kOutbound };

// Counters of one pcapng Interface Statistics Block (block type 5) for the
// writer's one interface (id 0). Times are Unix ns, written in the IDB's
// resolution (if_tsresol 9: ns). A counter that is nullopt is left out, as is
// a time ≤ 0 and an empty comment; the pcapng names and option codes follow.
struct InterfaceStatistics {
  int64_t start_ns = 0;                    // isb_starttime (2): when the capture started
  int64_t end_ns = 0;                      // isb_endtime (3), also the block's timestamp
  std::optional<uint64_t> if_recv;         // isb_ifrecv (4)
  std::optional<uint64_t> if_drop;         // isb_ifdrop (5)
  std::optional<uint64_t> filter_accept;   // isb_filteraccept (6)
  std::optional<uint64_t> os_drop;         // isb_osdrop (7)
  std::optional<uint64_t> user_delivered;  // isb_usrdeliv (8)
  std::string comment;                     // opt_comment (1), UTF-8, < 65536 bytes
};

// The whole block in host byte order (the order the writer's SHB declares):
// type, total length, interface id 0, timestamp high/low, the options in code
// order (comment first) each padded to 4 bytes with zeros, opt_endofopt, and
// the total length again. Allocates: not for the per-frame path.
std::vector<std::byte> BuildInterfaceStatisticsBlock(const InterfaceStatistics& stats);

struct PcapngWriterOptions {
  uint32_t snaplen = 262144;
  size_t buffer_bytes = 1u << 20;
  std::string interface_name = {};   // if_name of the one interface, when not empty
  bool stamp_source_comment = true;  // opt_comment "ts=<source>" on every packet
};

class PcapngWriter {
 public:
  static absl::StatusOr<PcapngWriter> Open(std::string_view path,
                                           const PcapngWriterOptions& options = {});
  static absl::StatusOr<PcapngWriter> OpenFd(int fd, std::string_view name,
                                             const PcapngWriterOptions& options = {});

  // One Enhanced Packet Block; `source` names where stamp_ns came from.
  bool Append(int64_t stamp_ns, StampSource source, std::span<const std::byte> frame,
              uint32_t wire_len = 0, PacketDirection direction = PacketDirection::kUnknown);
  bool AppendGather(int64_t stamp_ns, StampSource source,
                    std::span<const std::span<const std::byte>> parts, uint32_t wire_len = 0,
                    PacketDirection direction = PacketDirection::kUnknown);

  // Flushes the records, then writes one Interface Statistics Block at once
  // (RecordSink::WriteTrailer: tried after a disk-full error too, never left
  // torn). Call it last, before Close; records appended after it would follow
  // the statistics (readers accept that, but the counters would be stale).
  absl::Status WriteStatistics(const InterfaceStatistics& stats);

  absl::Status Flush() { return sink_.Flush(); }
  absl::Status Close() { return sink_.Close(); }
  const absl::Status& status() const { return sink_.status(); }
  const WriterStats& stats() const { return sink_.stats(); }
  uint64_t file_bytes() const { return sink_.file_bytes(); }

 private:
  PcapngWriter(RecordSink sink, uint32_t snaplen, bool comment)
      : sink_(std::move(sink)), snaplen_(snaplen), comment_(comment) {}
  RecordSink sink_;
  uint32_t snaplen_;
  bool comment_;
};

}  // namespace ringstamp::app
