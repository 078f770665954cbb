#include "apps/pcap_writer.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <new>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "apps/privileges.h"
#include "ringstamp/common/absl_compat.h"
#include "ringstamp/common/clock.h"
#include "ringstamp/common/errno_status.h"

namespace ringstamp::app {
namespace {

constexpr uint32_t kMaxSnaplen = 262144;
constexpr size_t kMinBuffer = 4096;
constexpr uint16_t kLinktypeEthernet = 1;

template <typename T>
void Put(std::byte* p, T v) {
  std::memcpy(p, &v, sizeof(v));
}

template <typename T>
void Append(std::vector<std::byte>& out, T v) {
  const size_t at = out.size();
  out.resize(at + sizeof(v));
  std::memcpy(out.data() + at, &v, sizeof(v));
}

constexpr size_t Pad4(size_t n) { return (n + 3) & ~size_t{3}; }

absl::Status CheckSnaplen(uint32_t snaplen, std::string_view name) {
  if (snaplen == 0 || snaplen > kMaxSnaplen) {
    return absl::InvalidArgumentError(absl::StrFormat("%s: snaplen %u is out of range; use 1..%u",
                                                      ToAbsl(name), snaplen, kMaxSnaplen));
  }
  return absl::OkStatus();
}

// Splits Unix ns into the pcap (seconds, nanoseconds) pair; false when clamped.
bool SplitStamp(int64_t ns, uint32_t* sec, uint32_t* nsec) {
  if (ns < 0) {
    *sec = 0;
    *nsec = 0;
    return false;
  }
  const int64_t s = ns / kNsPerSec;
  if (s > std::numeric_limits<uint32_t>::max()) {
    *sec = std::numeric_limits<uint32_t>::max();
    *nsec = static_cast<uint32_t>(kNsPerSec - 1);
    return false;
  }
  *sec = static_cast<uint32_t>(s);
  *nsec = static_cast<uint32_t>(ns % kNsPerSec);
  return true;
}

size_t TotalSize(std::span<const std::span<const std::byte>> parts) {
  size_t total = 0;
  for (const auto& part : parts) total += part.size();
  return total;
}

// Copies the first `len` bytes of the concatenated parts to `out`.
void CopyParts(std::byte* out, std::span<const std::span<const std::byte>> parts, size_t len) {
  for (const auto& part : parts) {
    if (len == 0) return;
    const size_t n = std::min(len, part.size());
    if (n > 0) std::memcpy(out, part.data(), n);
    out += n;
    len -= n;
  }
}

// ---- pcap --------------------------------------------------------------

size_t PcapRecordLength(const std::byte* record) {
  uint32_t incl_len;
  std::memcpy(&incl_len, record + 8, sizeof(incl_len));
  return PcapWriter::kRecordHeaderBytes + incl_len;
}

std::vector<std::byte> PcapFileHeader(uint32_t snaplen) {
  std::vector<std::byte> h;
  Append<uint32_t>(h, PcapWriter::kMagicNanosecond);
  Append<uint16_t>(h, 2);  // version 2.4
  Append<uint16_t>(h, 4);
  Append<int32_t>(h, 0);   // thiszone
  Append<uint32_t>(h, 0);  // sigfigs
  Append<uint32_t>(h, snaplen);
  Append<uint32_t>(h, kLinktypeEthernet);
  return h;
}

// ---- pcapng ------------------------------------------------------------

constexpr uint32_t kShbType = 0x0A0D0D0A;
constexpr uint32_t kIdbType = 0x00000001;
constexpr uint32_t kEpbType = 0x00000006;
constexpr uint32_t kIsbType = 0x00000005;
constexpr uint32_t kByteOrderMagic = 0x1A2B3C4D;
constexpr uint16_t kOptEnd = 0;
constexpr uint16_t kOptComment = 1;
constexpr uint16_t kOptShbUserAppl = 4;
constexpr uint16_t kOptIfName = 2;
constexpr uint16_t kOptIfTsresol = 9;
constexpr uint16_t kOptEpbFlags = 2;
constexpr uint16_t kOptIsbStartTime = 2;
constexpr uint16_t kOptIsbEndTime = 3;
constexpr uint16_t kOptIsbIfRecv = 4;
constexpr uint16_t kOptIsbIfDrop = 5;
constexpr uint16_t kOptIsbFilterAccept = 6;
constexpr uint16_t kOptIsbOsDrop = 7;
constexpr uint16_t kOptIsbUsrDeliv = 8;
constexpr size_t kEpbFixed = 28;  // type, length, interface, ts high/low, caplen, origlen
constexpr std::string_view kCommentPrefix = "ts=";
constexpr size_t kMaxCommentOption = 4 + Pad4(kCommentPrefix.size() + 16);
// Fixed part, options (comment, flags, end), trailing length.
constexpr size_t EpbMaxBytes(uint32_t snaplen) {
  return kEpbFixed + Pad4(snaplen) + kMaxCommentOption + 8 + 4 + 4;
}

size_t PcapngBlockLength(const std::byte* block) {
  uint32_t total;
  std::memcpy(&total, block + 4, sizeof(total));
  return total;
}

void AppendOption(std::vector<std::byte>& out, uint16_t code, std::string_view value) {
  Append<uint16_t>(out, code);
  Append<uint16_t>(out, static_cast<uint16_t>(value.size()));
  const size_t at = out.size();
  out.resize(at + Pad4(value.size()), std::byte{0});
  std::memcpy(out.data() + at, value.data(), value.size());
}

// A 64-bit option: the value as two 32-bit halves, high first (pcapng's
// timestamp layout), or as one 64-bit integer (the counters).
void AppendU64Option(std::vector<std::byte>& out, uint16_t code, uint64_t value, bool split) {
  Append<uint16_t>(out, code);
  Append<uint16_t>(out, 8);
  if (split) {
    Append<uint32_t>(out, static_cast<uint32_t>(value >> 32));
    Append<uint32_t>(out, static_cast<uint32_t>(value));
  } else {
    Append<uint64_t>(out, value);
  }
}

void FinishBlock(std::vector<std::byte>& out, size_t block_start) {
  const uint32_t total = static_cast<uint32_t>(out.size() - block_start + 4);
  Append<uint32_t>(out, total);
  std::memcpy(out.data() + block_start + 4, &total, sizeof(total));
}

std::vector<std::byte> PcapngFileHeader(uint32_t snaplen, std::string_view interface_name) {
  std::vector<std::byte> h;
  Append<uint32_t>(h, kShbType);
  Append<uint32_t>(h, 0);  // total length, set by FinishBlock
  Append<uint32_t>(h, kByteOrderMagic);
  Append<uint16_t>(h, 1);  // version 1.0
  Append<uint16_t>(h, 0);
  Append<int64_t>(h, -1);  // section length not known
  AppendOption(h, kOptShbUserAppl, "ringstamp");
  AppendOption(h, kOptEnd, "");
  FinishBlock(h, 0);

  const size_t idb = h.size();
  Append<uint32_t>(h, kIdbType);
  Append<uint32_t>(h, 0);
  Append<uint16_t>(h, kLinktypeEthernet);
  Append<uint16_t>(h, 0);
  Append<uint32_t>(h, snaplen);
  if (!interface_name.empty()) AppendOption(h, kOptIfName, interface_name);
  const char tsresol = 9;  // 10^-9 s: stamps in nanoseconds
  AppendOption(h, kOptIfTsresol, std::string_view(&tsresol, 1));
  AppendOption(h, kOptEnd, "");
  FinishBlock(h, idb);
  return h;
}

uint64_t StampTicks(int64_t ns) { return ns > 0 ? static_cast<uint64_t>(ns) : 0; }

absl::Status CheckBuffer(std::string_view name, size_t buffer_bytes, size_t max_record_bytes) {
  if (buffer_bytes < std::max(kMinBuffer, max_record_bytes)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: write buffer of %u bytes is too small; it must hold the largest "
                        "record (%u bytes) and at least %u bytes",
                        ToAbsl(name), buffer_bytes, max_record_bytes, kMinBuffer));
  }
  return absl::OkStatus();
}

}  // namespace

// ---- RecordSink --------------------------------------------------------

absl::StatusOr<RecordSink> RecordSink::Open(std::string_view path, size_t buffer_bytes,
                                            size_t max_record_bytes, RecordLengthFn record_length,
                                            std::span<const std::byte> file_header) {
  if (path == "-") {
    if (isatty(STDOUT_FILENO)) {
      return absl::FailedPreconditionError(
          "refusing to write capture data to a terminal: redirect stdout or pipe it "
          "(-w - | tshark -r -), or give a file name");
    }
    return Start(STDOUT_FILENO, /*owned=*/false, "stdout", buffer_bytes, max_record_bytes,
                 record_length, file_header);
  }
  if (path.empty()) return absl::InvalidArgumentError("capture file name is empty");
  // Check before open(2) truncates anything.
  if (absl::Status s = CheckBuffer(path, buffer_bytes, max_record_bytes); !s.ok()) return s;
  const std::string name(path);
  auto nofollow = NoFollowFlagsFor(name, "-w");
  if (!nofollow.ok()) return nofollow.status();
  int fd = ::open(name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | *nofollow, 0644);
  if (fd < 0) {
    const int err = errno;
    std::string_view hint;
    if (err == ELOOP) hint = "it became a symbolic link after it was checked; not following it";
    if (err == ENOENT) hint = "its directory does not exist";
    if (err == EACCES || err == EPERM) hint = "no permission to write there";
    if (err == EISDIR) hint = "it is a directory; give a file name inside it";
    if (err == EROFS) hint = "read-only file system; write somewhere else";
    return ErrnoStatus(err, absl::StrCat(name, ": open for writing"), hint);
  }
  auto sink =
      Start(fd, /*owned=*/true, name, buffer_bytes, max_record_bytes, record_length, file_header);
  if (!sink.ok()) ::close(fd);
  return sink;
}

absl::StatusOr<RecordSink> RecordSink::OpenFd(int fd, std::string_view name, size_t buffer_bytes,
                                              size_t max_record_bytes, RecordLengthFn record_length,
                                              std::span<const std::byte> file_header) {
  if (fd < 0) return absl::InvalidArgumentError(absl::StrCat(ToAbsl(name), ": no file descriptor"));
  return Start(fd, /*owned=*/false, std::string(name), buffer_bytes, max_record_bytes,
               record_length, file_header);
}

absl::StatusOr<RecordSink> RecordSink::Start(int fd, bool owned, std::string name,
                                             size_t buffer_bytes, size_t max_record_bytes,
                                             RecordLengthFn record_length,
                                             std::span<const std::byte> file_header) {
  if (absl::Status s = CheckBuffer(name, buffer_bytes, max_record_bytes); !s.ok()) return s;
  RecordSink sink;
  sink.buffer_.reset(new (std::nothrow) std::byte[buffer_bytes]);
  if (sink.buffer_ == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("%s: cannot allocate a write buffer of %u bytes", name, buffer_bytes));
  }
  sink.fd_ = fd;
  sink.name_ = std::move(name);
  sink.capacity_ = buffer_bytes;
  sink.max_record_ = max_record_bytes;
  sink.record_length_ = record_length;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    sink.fd_ = -1;
    return ErrnoStatus(err, absl::StrCat(sink.name_, ": fstat"));
  }
  sink.regular_file_ = S_ISREG(st.st_mode);
  if (sink.regular_file_) {
    const off_t at = lseek(fd, 0, SEEK_CUR);
    sink.file_offset_ = at > 0 ? static_cast<uint64_t>(at) : 0;
  }
  size_t done = 0;
  if (int err = sink.WriteAll(file_header.data(), file_header.size(), &done); err != 0) {
    if (sink.regular_file_ && done > 0) {
      (void)ftruncate(fd, static_cast<off_t>(sink.file_offset_));
    }
    sink.fd_ = -1;  // the caller closes what it opened
    return ErrnoStatus(err, absl::StrCat(sink.name_, ": writing the file header"),
                       err == ENOSPC ? "the disk is full" : "");
  }
  sink.file_offset_ += file_header.size();
  sink.stats_.header_bytes = file_header.size();
  sink.owned_ = owned;
  return sink;
}

RecordSink::RecordSink(RecordSink&& other) noexcept { *this = std::move(other); }

RecordSink& RecordSink::operator=(RecordSink&& other) noexcept {
  if (this == &other) return *this;
  if (!closed_ && fd_ >= 0) (void)Close();
  fd_ = std::exchange(other.fd_, -1);
  owned_ = std::exchange(other.owned_, false);
  regular_file_ = other.regular_file_;
  closed_ = std::exchange(other.closed_, true);
  name_ = std::move(other.name_);
  buffer_ = std::move(other.buffer_);
  capacity_ = std::exchange(other.capacity_, 0);
  used_ = std::exchange(other.used_, 0);
  max_record_ = other.max_record_;
  file_offset_ = other.file_offset_;
  record_length_ = other.record_length_;
  status_ = other.status_;
  stats_ = other.stats_;
  return *this;
}

RecordSink::~RecordSink() {
  if (!closed_ && fd_ >= 0) (void)Close();
}

int RecordSink::WriteAll(const std::byte* data, size_t len, size_t* done) {
  size_t off = 0;
  while (off < len) {
    const ssize_t n = ::write(fd_, data + off, len - off);
    ++stats_.write_calls;
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) {  // no progress and no error: treat as an I/O error rather than spin
      *done = off;
      return EIO;
    }
    const int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) {  // a non-blocking pipe or socket
      pollfd p{fd_, POLLOUT, 0};
      if (poll(&p, 1, -1) < 0 && errno != EINTR) {
        *done = off;
        return errno;
      }
      continue;
    }
    *done = off;
    return err;
  }
  *done = len;
  return 0;
}

void RecordSink::Fail(absl::Status status) {
  if (status_.ok()) status_ = std::move(status);
}

void RecordSink::FlushBuffer() {
  if (used_ == 0 || failed()) return;
  size_t done = 0;
  const int err = WriteAll(buffer_.get(), used_, &done);
  if (err == 0) {
    stats_.records_written += stats_.records_buffered;
    stats_.bytes_written += used_;
    file_offset_ += used_;
    stats_.records_buffered = 0;
    used_ = 0;
    return;
  }
  // Find the last record boundary that reached the file.
  size_t whole = 0;
  uint64_t whole_records = 0;
  while (whole < used_) {
    const size_t len = record_length_(buffer_.get() + whole);
    if (len == 0 || whole + len > done) break;
    whole += len;
    ++whole_records;
  }
  std::string tail;
  if (done > whole) {
    if (regular_file_) {
      if (ftruncate(fd_, static_cast<off_t>(file_offset_ + whole)) != 0) {
        const int terr = errno;
        tail = absl::StrFormat(
            "; ftruncate back to the last whole record failed (%s): the "
            "file ends in a partial record",
            std::strerror(terr));
      }
    } else {
      tail = "; the last record sent is partial (not a regular file: it cannot be taken back)";
    }
  }
  stats_.records_written += whole_records;
  stats_.bytes_written += whole;
  stats_.records_dropped += stats_.records_buffered - whole_records;
  stats_.bytes_dropped += used_ - whole;
  file_offset_ += whole;
  stats_.records_buffered = 0;
  used_ = 0;
  std::string what = absl::StrFormat(
      "%s: write failed after %u records (%u bytes); writing stopped, the file holds whole "
      "records only",
      name_, stats_.records_written, stats_.bytes_written);
  std::string hint;
  if (err == ENOSPC) hint = "the disk is full: free space or write elsewhere";
  if (err == EPIPE) hint = "the reader of the pipe went away";
  if (err == EIO) hint = "I/O error on the device";
  if (err == EDQUOT) hint = "disk quota exceeded";
  absl::StrAppend(&hint, tail);
  Fail(ErrnoStatus(err, what, hint));
}

std::byte* RecordSink::Reserve(size_t len) {
  if (!failed() && !closed_ && len <= max_record_ && used_ + len > capacity_) FlushBuffer();
  if (failed() || closed_ || len > max_record_) {
    ++stats_.records_dropped;
    stats_.bytes_dropped += len;
    return nullptr;
  }
  return buffer_.get() + used_;
}

absl::Status RecordSink::Flush() {
  if (!closed_) FlushBuffer();
  return status_;
}

absl::Status RecordSink::Close() {
  if (closed_) return status_;
  FlushBuffer();
  closed_ = true;
  if (owned_ && fd_ >= 0) {
    if (::close(fd_) != 0) {
      const int err = errno;
      Fail(ErrnoStatus(err, absl::StrCat(name_, ": close"), "data may not have reached the disk"));
    }
  }
  fd_ = -1;
  return status_;
}

absl::Status RecordSink::WriteTrailer(std::span<const std::byte> block) {
  if (closed_ || fd_ < 0) {
    return absl::FailedPreconditionError(absl::StrCat(name_, ": trailer after Close()"));
  }
  FlushBuffer();
  if (failed() && !regular_file_) return status_;  // a pipe cannot take back what it sent
  if (regular_file_ && lseek(fd_, static_cast<off_t>(file_offset_), SEEK_SET) < 0) {
    // After a failed flush the fd's position is past the cut-off tail.
    absl::Status s = ErrnoStatus(errno, absl::StrCat(name_, ": lseek before the trailer block"));
    Fail(s);
    return s;
  }
  size_t done = 0;
  const int err = WriteAll(block.data(), block.size(), &done);
  if (err == 0) {
    file_offset_ += block.size();
    ++stats_.trailer_blocks;
    stats_.trailer_bytes += block.size();
    return absl::OkStatus();
  }
  std::string hint = err == ENOSPC ? "the disk is full" : "";
  auto add = [&hint](std::string_view part) {
    absl::StrAppend(&hint, hint.empty() ? "" : "; ", ToAbsl(part));
  };
  if (done > 0) {
    if (!regular_file_) {
      add("part of the block was sent (not a regular file: it cannot be taken back)");
    } else if (ftruncate(fd_, static_cast<off_t>(file_offset_)) != 0) {
      add(absl::StrCat("ftruncate back failed (", std::strerror(errno),
                       "): the file ends in a partial block"));
    } else {
      add("the partial block was cut off, the file ends with the last record");
    }
  }
  absl::Status s = ErrnoStatus(
      err, absl::StrFormat("%s: writing a %u-byte trailer block", name_, block.size()), hint);
  Fail(s);
  return s;
}

// ---- PcapWriter --------------------------------------------------------

absl::StatusOr<PcapWriter> PcapWriter::Open(std::string_view path,
                                            const PcapWriterOptions& options) {
  if (absl::Status s = CheckSnaplen(options.snaplen, path); !s.ok()) return s;
  const std::vector<std::byte> header = PcapFileHeader(options.snaplen);
  auto sink = RecordSink::Open(path, options.buffer_bytes, kRecordHeaderBytes + options.snaplen,
                               &PcapRecordLength, header);
  if (!sink.ok()) return sink.status();
  return PcapWriter(*std::move(sink), options.snaplen);
}

absl::StatusOr<PcapWriter> PcapWriter::OpenFd(int fd, std::string_view name,
                                              const PcapWriterOptions& options) {
  if (absl::Status s = CheckSnaplen(options.snaplen, name); !s.ok()) return s;
  const std::vector<std::byte> header = PcapFileHeader(options.snaplen);
  auto sink = RecordSink::OpenFd(fd, name, options.buffer_bytes,
                                 kRecordHeaderBytes + options.snaplen, &PcapRecordLength, header);
  if (!sink.ok()) return sink.status();
  return PcapWriter(*std::move(sink), options.snaplen);
}

bool PcapWriter::AppendGather(int64_t stamp_ns, std::span<const std::span<const std::byte>> parts,
                              uint32_t wire_len) {
  const size_t total = TotalSize(parts);
  const uint32_t caplen = static_cast<uint32_t>(std::min<size_t>(total, snaplen_));
  std::byte* p = sink_.Reserve(kRecordHeaderBytes + caplen);
  if (p == nullptr) return false;
  WriterStats& stats = sink_.stats();
  if (total > snaplen_) ++stats.frames_truncated;
  uint32_t sec, nsec;
  if (!SplitStamp(stamp_ns, &sec, &nsec)) ++stats.stamps_clamped;
  const uint32_t orig_len = std::max<uint64_t>(wire_len, total) > UINT32_MAX
                                ? UINT32_MAX
                                : static_cast<uint32_t>(std::max<uint64_t>(wire_len, total));
  Put<uint32_t>(p, sec);
  Put<uint32_t>(p + 4, nsec);
  Put<uint32_t>(p + 8, caplen);
  Put<uint32_t>(p + 12, orig_len);
  CopyParts(p + kRecordHeaderBytes, parts, caplen);
  sink_.Commit(kRecordHeaderBytes + caplen);
  return true;
}

// ---- PcapngWriter ------------------------------------------------------

absl::StatusOr<PcapngWriter> PcapngWriter::Open(std::string_view path,
                                                const PcapngWriterOptions& options) {
  if (absl::Status s = CheckSnaplen(options.snaplen, path); !s.ok()) return s;
  const std::vector<std::byte> header = PcapngFileHeader(options.snaplen, options.interface_name);
  auto sink = RecordSink::Open(path, options.buffer_bytes, EpbMaxBytes(options.snaplen),
                               &PcapngBlockLength, header);
  if (!sink.ok()) return sink.status();
  return PcapngWriter(*std::move(sink), options.snaplen, options.stamp_source_comment);
}

absl::StatusOr<PcapngWriter> PcapngWriter::OpenFd(int fd, std::string_view name,
                                                  const PcapngWriterOptions& options) {
  if (absl::Status s = CheckSnaplen(options.snaplen, name); !s.ok()) return s;
  const std::vector<std::byte> header = PcapngFileHeader(options.snaplen, options.interface_name);
  auto sink = RecordSink::OpenFd(fd, name, options.buffer_bytes, EpbMaxBytes(options.snaplen),
                                 &PcapngBlockLength, header);
  if (!sink.ok()) return sink.status();
  return PcapngWriter(*std::move(sink), options.snaplen, options.stamp_source_comment);
}

bool PcapngWriter::Append(int64_t stamp_ns, StampSource source, std::span<const std::byte> frame,
                          uint32_t wire_len, PacketDirection direction) {
  const std::span<const std::byte> parts[1] = {frame};
  return AppendGather(stamp_ns, source, parts, wire_len, direction);
}

bool PcapngWriter::AppendGather(int64_t stamp_ns, StampSource source,
                                std::span<const std::span<const std::byte>> parts,
                                uint32_t wire_len, PacketDirection direction) {
  const size_t total = TotalSize(parts);
  const uint32_t caplen = static_cast<uint32_t>(std::min<size_t>(total, snaplen_));
  const std::string_view source_name = StampSourceName(source);
  const size_t comment_len = kCommentPrefix.size() + std::min<size_t>(source_name.size(), 16);
  const bool has_flags = direction != PacketDirection::kUnknown;
  size_t options_len = 0;
  if (comment_) options_len += 4 + Pad4(comment_len);
  if (has_flags) options_len += 8;
  if (options_len > 0) options_len += 4;  // opt_endofopt
  const size_t block_len = kEpbFixed + Pad4(caplen) + options_len + 4;

  std::byte* p = sink_.Reserve(block_len);
  if (p == nullptr) return false;
  WriterStats& stats = sink_.stats();
  if (total > snaplen_) ++stats.frames_truncated;
  uint64_t ts = 0;
  if (stamp_ns < 0) {
    ++stats.stamps_clamped;
  } else {
    ts = static_cast<uint64_t>(stamp_ns);
  }
  const uint32_t orig_len = std::max<uint64_t>(wire_len, total) > UINT32_MAX
                                ? UINT32_MAX
                                : static_cast<uint32_t>(std::max<uint64_t>(wire_len, total));
  Put<uint32_t>(p, kEpbType);
  Put<uint32_t>(p + 4, static_cast<uint32_t>(block_len));
  Put<uint32_t>(p + 8, 0);  // interface 0
  Put<uint32_t>(p + 12, static_cast<uint32_t>(ts >> 32));
  Put<uint32_t>(p + 16, static_cast<uint32_t>(ts));
  Put<uint32_t>(p + 20, caplen);
  Put<uint32_t>(p + 24, orig_len);
  std::byte* q = p + kEpbFixed;
  CopyParts(q, parts, caplen);
  std::memset(q + caplen, 0, Pad4(caplen) - caplen);
  q += Pad4(caplen);
  if (comment_) {
    Put<uint16_t>(q, kOptComment);
    Put<uint16_t>(q + 2, static_cast<uint16_t>(comment_len));
    std::memcpy(q + 4, kCommentPrefix.data(), kCommentPrefix.size());
    std::memcpy(q + 4 + kCommentPrefix.size(), source_name.data(),
                comment_len - kCommentPrefix.size());
    std::memset(q + 4 + comment_len, 0, Pad4(comment_len) - comment_len);
    q += 4 + Pad4(comment_len);
  }
  if (has_flags) {
    Put<uint16_t>(q, kOptEpbFlags);
    Put<uint16_t>(q + 2, 4);
    Put<uint32_t>(q + 4, direction == PacketDirection::kInbound ? 1u : 2u);
    q += 8;
  }
  if (options_len > 0) {
    Put<uint16_t>(q, kOptEnd);
    Put<uint16_t>(q + 2, 0);
    q += 4;
  }
  Put<uint32_t>(q, static_cast<uint32_t>(block_len));
  sink_.Commit(block_len);
  return true;
}

std::vector<std::byte> BuildInterfaceStatisticsBlock(const InterfaceStatistics& st) {
  std::vector<std::byte> b;
  const uint64_t ts = StampTicks(st.end_ns);
  Append<uint32_t>(b, kIsbType);
  Append<uint32_t>(b, 0);  // total length, set by FinishBlock
  Append<uint32_t>(b, 0);  // interface 0: the one IDB
  Append<uint32_t>(b, static_cast<uint32_t>(ts >> 32));
  Append<uint32_t>(b, static_cast<uint32_t>(ts));
  const size_t options_at = b.size();
  if (!st.comment.empty()) {
    AppendOption(b, kOptComment, std::string_view(st.comment).substr(0, UINT16_MAX & ~3u));
  }
  if (st.start_ns > 0) AppendU64Option(b, kOptIsbStartTime, StampTicks(st.start_ns), true);
  if (st.end_ns > 0) AppendU64Option(b, kOptIsbEndTime, ts, true);
  const std::pair<uint16_t, const std::optional<uint64_t>*> counters[] = {
      {kOptIsbIfRecv, &st.if_recv},
      {kOptIsbIfDrop, &st.if_drop},
      {kOptIsbFilterAccept, &st.filter_accept},
      {kOptIsbOsDrop, &st.os_drop},
      {kOptIsbUsrDeliv, &st.user_delivered}};
  for (const auto& [code, value] : counters) {
    if (value->has_value()) AppendU64Option(b, code, **value, false);
  }
  if (b.size() > options_at) AppendOption(b, kOptEnd, "");
  FinishBlock(b, 0);
  return b;
}

absl::Status PcapngWriter::WriteStatistics(const InterfaceStatistics& stats) {
  const std::vector<std::byte> block = BuildInterfaceStatisticsBlock(stats);
  return sink_.WriteTrailer(block);
}

}  // namespace ringstamp::app
