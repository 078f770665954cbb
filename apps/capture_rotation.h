// capture_rotation.h — tcpdump's file rotation for `capture -w FILE` (-C, -G, -W): which file
// comes next, and when to move on to it. It opens nothing; CaptureSink does.
//
// Example:
// Given: #include <ctime>
// Given: #include "apps/capture_sink.h"
// Given: const std::string& path; std::optional<int64_t> C; std::optional<int64_t> G
// Given: std::optional<int64_t> W; int i; int workers; uint64_t file_bytes
//   RS_ASSIGN_OR_RETURN(RotationOptions o, CheckRotationFlags(path, C, G, W));
//   FileRotation r(o, WorkerCapturePath(path, i, workers));
//   RS_ASSIGN_OR_RETURN(std::string first, r.Start(time(nullptr)));  // name of the first file
//   RS_ASSIGN_OR_RETURN(RotationStep s, r.BeforeRecord(file_bytes, time(nullptr)));  // each record
//   // kRotate: close, open s.next; kStop: -G with -W made its N files, write nothing more
//
// Names, as tcpdump(8):
//   -C S            FILE, FILE1, FILE2, ...                   (a new file once one is > S MB)
//   -C S -W N       FILE0 .. FILE<N-1>, then FILE0 again      (counter zero-padded to N-1's width)
//   -G T            strftime(FILE), local time at each opening (same expansion: same file)
//   -G T -W N       the same, and the capture stops when the (N+1)th file would open
//   -G T -C S       strftime(FILE), strftime(FILE)1, ...      (the counter restarts at each -G turn)
//   -G T -C S -W N  strftime(FILE)0 .. <N-1>, wrapping within a -G interval; N limits nothing
// FILE is the worker's own name (WorkerCapturePath: cap.pcap → cap-w1.pcap with several
// workers); the counter goes after the whole name, as tcpdump's does (cap.pcap1).
//
// Pure: no I/O (strftime reads the time zone). One FileRotation per worker, used from that
// worker's thread only. Cost per record: two compares; a name (one allocation) per rotation.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace ringstamp::app {

// The largest values taken: -C in millions of bytes (1 TB), -G in seconds (a leap year),
// -W in files.
inline constexpr int64_t kMaxRotateMegabytes = 1'000'000;
inline constexpr int64_t kMaxRotateSeconds = 366 * 86400;
inline constexpr int64_t kMaxRotateFiles = 1'000'000;

struct RotationOptions {
  int64_t size_limit_bytes = 0;  // -C × 1,000,000; 0: no size rotation
  int64_t interval_s = 0;        // -G; 0: no time rotation
  int64_t file_count = 0;        // -W; 0: no limit
  bool enabled() const { return size_limit_bytes > 0 || interval_s > 0; }
};

// Checks -C/-G/-W as given (nullopt: not on the command line) against the -w `path`: each
// 1..its maximum, -W only with -C or -G, and a file to rotate (not "" and not "-" = stdout).
// InvalidArgument naming the flag, so the command exits 2 before opening anything.
absl::StatusOr<RotationOptions> CheckRotationFlags(std::string_view path,
                                                   std::optional<int64_t> size_mb,
                                                   std::optional<int64_t> interval_s,
                                                   std::optional<int64_t> file_count);

// Digits of the counter with -W `file_count`: those of file_count - 1 (-W 3 → 1, -W 11 → 2,
// -W 1 → 0: no counter at all); 0 without -W.
int CounterWidth(int64_t file_count);

// One file's name: `name_template` through strftime(3) at local time `opened_at` when -G is
// on (as given otherwise), then `counter` zero-padded to `width` — no counter when both are 0.
// InvalidArgument when the expansion is empty or longer than PATH_MAX.
absl::StatusOr<std::string> RotatedFileName(const std::string& name_template, bool expand_time,
                                            std::time_t opened_at, int64_t counter, int width);

enum class RotationAction { kKeep, kRotate, kStop };

struct RotationStep {
  RotationAction action = RotationAction::kKeep;
  std::string next;  // kRotate: the file to open now
};

class FileRotation {
 public:
  FileRotation(RotationOptions options, std::string name_template)
      : options_(options), template_(std::move(name_template)) {}

  // The first file's name, opened at `now` (Unix seconds). Error: see RotatedFileName.
  absl::StatusOr<std::string> Start(std::time_t now);
  // Before writing a record to the current file, which is `file_bytes` long (header and
  // buffered records included): keep it, move to `next`, or stop (-G with -W: N files made).
  // A -G turn comes before a -C one (the new file is empty). Error: see RotatedFileName.
  absl::StatusOr<RotationStep> BeforeRecord(uint64_t file_bytes, std::time_t now);

  // Files opened so far (Start included).
  int64_t files_opened() const { return files_opened_; }

 private:
  absl::StatusOr<std::string> Name() const;

  RotationOptions options_;
  std::string template_;
  std::time_t interval_start_ = 0;  // -G: when the current interval's first file opened
  int64_t counter_ = 0;             // -C: the number after the name
  int64_t time_turns_ = 0;          // -G: files opened by time (the first one included)
  int64_t files_opened_ = 0;
  bool stopped_ = false;
};

}  // namespace ringstamp::app
