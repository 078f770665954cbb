#include "apps/capture_rotation.h"

#include <climits>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ringstamp/common/absl_compat.h"

namespace ringstamp::app {
namespace {

absl::Status CheckRange(const char* flag, int64_t value, int64_t max, const char* unit) {
  if (value < 1 || value > max) {
    return absl::InvalidArgumentError(absl::StrFormat("%s %d: give %s from 1 to %d", flag,
                                                      static_cast<long long>(value), unit,
                                                      static_cast<long long>(max)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RotationOptions> CheckRotationFlags(std::string_view path,
                                                   std::optional<int64_t> size_mb,
                                                   std::optional<int64_t> interval_s,
                                                   std::optional<int64_t> file_count) {
  RotationOptions o;
  if (size_mb) {
    if (absl::Status s =
            CheckRange("-C", *size_mb, kMaxRotateMegabytes, "a file size in millions of bytes");
        !s.ok()) {
      return s;
    }
    o.size_limit_bytes = *size_mb * 1'000'000;
  }
  if (interval_s) {
    if (absl::Status s = CheckRange("-G", *interval_s, kMaxRotateSeconds, "seconds"); !s.ok()) {
      return s;
    }
    o.interval_s = *interval_s;
  }
  if (file_count) {
    if (absl::Status s = CheckRange("-W", *file_count, kMaxRotateFiles, "a number of files");
        !s.ok()) {
      return s;
    }
    if (!size_mb && !interval_s) {
      return absl::InvalidArgumentError(
          "-W limits the files of a rotation: give it with -C (size) or -G (seconds)");
    }
    o.file_count = *file_count;
  }
  if (!o.enabled()) return o;
  const char* which = size_mb ? "-C" : interval_s ? "-G" : "-W";
  if (path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(which, " rotates the file of -w: give -w FILE"));
  }
  if (path == "-") {
    return absl::InvalidArgumentError(absl::StrCat(
        which, " rotates files; -w - (stdout) cannot be rotated: give -w FILE, or drop -C/-G/-W"));
  }
  return o;
}

int CounterWidth(int64_t file_count) {
  int width = 0;
  for (int64_t left = file_count - 1; left > 0; left /= 10) ++width;
  return width;
}

absl::StatusOr<std::string> RotatedFileName(const std::string& name_template, bool expand_time,
                                            std::time_t opened_at, int64_t counter, int width) {
  std::string name = name_template;
  if (expand_time) {
    std::tm local{};
    if (localtime_r(&opened_at, &local) == nullptr) {
      return absl::InvalidArgumentError("-G: the local time is out of range");
    }
    // strftime returns 0 both for "too long" and for an empty result: both are refused.
    char buffer[PATH_MAX + 1];
    const size_t n = std::strftime(buffer, sizeof buffer, name_template.c_str(), &local);
    if (n == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "-w ", name_template, ": the -G template expands to an empty or over-long name"));
    }
    name.assign(buffer, n);
  }
  if (counter != 0 || width != 0) {
    absl::StrAppend(&name, absl::StrFormat("%0*d", width, static_cast<long long>(counter)));
  }
  if (name.size() > PATH_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat("-w ", name_template, ": the rotated file name is longer than PATH_MAX"));
  }
  return name;
}

absl::StatusOr<std::string> FileRotation::Name() const {
  // tcpdump: no counter with -G alone; with -C one padded to -W's width.
  const bool numbered = options_.size_limit_bytes > 0;
  return RotatedFileName(template_, options_.interval_s > 0, interval_start_,
                         numbered ? counter_ : 0, numbered ? CounterWidth(options_.file_count) : 0);
}

absl::StatusOr<std::string> FileRotation::Start(std::time_t now) {
  interval_start_ = now;
  counter_ = 0;
  time_turns_ = 1;
  files_opened_ = 1;
  stopped_ = false;
  return Name();
}

absl::StatusOr<RotationStep> FileRotation::BeforeRecord(uint64_t file_bytes, std::time_t now) {
  if (stopped_) return RotationStep{.action = RotationAction::kStop};
  if (options_.interval_s > 0 && now - interval_start_ >= options_.interval_s) {
    // -W with -G alone: N files made, the capture ends (as tcpdump exits).
    if (options_.file_count > 0 && options_.size_limit_bytes == 0 &&
        time_turns_ >= options_.file_count) {
      stopped_ = true;
      return RotationStep{.action = RotationAction::kStop};
    }
    interval_start_ = now;
    counter_ = 0;
    ++time_turns_;
    ++files_opened_;
    auto name = Name();
    if (!name.ok()) return name.status();
    return RotationStep{.action = RotationAction::kRotate, .next = std::move(*name)};
  }
  if (options_.size_limit_bytes > 0 &&
      file_bytes > static_cast<uint64_t>(options_.size_limit_bytes)) {
    ++counter_;
    if (options_.file_count > 0 && counter_ >= options_.file_count) counter_ = 0;
    ++files_opened_;
    auto name = Name();
    if (!name.ok()) return name.status();
    return RotationStep{.action = RotationAction::kRotate, .next = std::move(*name)};
  }
  return RotationStep{};
}

}  // namespace ringstamp::app
