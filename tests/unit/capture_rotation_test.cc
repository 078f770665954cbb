// capture -C/-G/-W (apps/capture_rotation.h): the names tcpdump(8) gives rotated files, when
// a file is left for the next, when -G with -W stops, and the flag checks (exit 2).
#include <doctest/doctest.h>

#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "apps/capture_rotation.h"

using namespace ringstamp::app;

namespace {

// Local time is UTC for these tests, so that strftime's output is known.
void UseUtc() {
  setenv("TZ", "UTC", 1);
  tzset();
}

// 2026-12-05 08:10:20 UTC.
constexpr std::time_t kT0 = 1796458220;

std::string Must(const absl::StatusOr<std::string>& s) {
  REQUIRE_MESSAGE(s.ok(), s.status().ToString());
  return *s;
}

// Walks `rotation` through `sizes` (one record each, at `now`), returning the files opened.
std::vector<std::string> Walk(FileRotation& rotation, const std::vector<uint64_t>& sizes,
                              std::time_t now) {
  std::vector<std::string> opened;
  for (uint64_t size : sizes) {
    auto step = rotation.BeforeRecord(size, now);
    REQUIRE(step.ok());
    if (step->action == RotationAction::kRotate) opened.push_back(step->next);
  }
  return opened;
}

void ExpectRefused(const absl::StatusOr<RotationOptions>& o, const std::string& needle) {
  REQUIRE_FALSE(o.ok());
  INFO(o.status().ToString());
  CHECK(o.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(o.status().message()).find(needle) != std::string::npos);
}

}  // namespace

TEST_CASE("rotation: the counter is as wide as the largest -W number") {
  CHECK(CounterWidth(0) == 0);
  CHECK(CounterWidth(1) == 0);
  CHECK(CounterWidth(2) == 1);
  CHECK(CounterWidth(3) == 1);
  CHECK(CounterWidth(10) == 1);
  CHECK(CounterWidth(11) == 2);
  CHECK(CounterWidth(101) == 3);
}

TEST_CASE("rotation: a file name gets its counter after the whole name, zero-padded") {
  CHECK(Must(RotatedFileName("cap.pcap", false, kT0, 0, 0)) == "cap.pcap");
  CHECK(Must(RotatedFileName("cap.pcap", false, kT0, 1, 0)) == "cap.pcap1");
  CHECK(Must(RotatedFileName("cap.pcap", false, kT0, 0, 1)) == "cap.pcap0");
  CHECK(Must(RotatedFileName("cap.pcap", false, kT0, 7, 3)) == "cap.pcap007");
  // Without -G a '%' is an ordinary character.
  CHECK(Must(RotatedFileName("cap-%H.pcap", false, kT0, 0, 0)) == "cap-%H.pcap");
}

TEST_CASE("rotation: with -G the name is a strftime template at local time") {
  UseUtc();
  CHECK(Must(RotatedFileName("cap-%Y%m%d-%H%M%S.pcap", true, kT0, 0, 0)) ==
        "cap-20261205-081020.pcap");
  CHECK(Must(RotatedFileName("cap-%H%M%S.pcap", true, kT0, 2, 2)) == "cap-081020.pcap02");
  CHECK_FALSE(RotatedFileName("", true, kT0, 0, 0).ok());
  CHECK_FALSE(RotatedFileName(std::string(5000, 'x'), true, kT0, 0, 0).ok());
  CHECK_FALSE(RotatedFileName(std::string(5000, 'x'), false, kT0, 0, 0).ok());
}

TEST_CASE("rotation: -C alone names FILE, FILE1, FILE2 and moves on only past the size") {
  FileRotation r({.size_limit_bytes = 1'000'000}, "cap.pcap");
  CHECK(Must(r.Start(kT0)) == "cap.pcap");
  // Exactly the size is not larger than it: the record still goes to this file.
  CHECK(Walk(r, {24, 999'999, 1'000'000}, kT0).empty());
  CHECK(Walk(r, {1'000'001, 100, 2'000'000, 5'000'000}, kT0) ==
        std::vector<std::string>{"cap.pcap1", "cap.pcap2", "cap.pcap3"});
  CHECK(r.files_opened() == 4);
}

TEST_CASE("rotation: -C with -W is a ring of N padded names") {
  FileRotation r({.size_limit_bytes = 1'000'000, .file_count = 3}, "cap.pcap");
  CHECK(Must(r.Start(kT0)) == "cap.pcap0");
  CHECK(Walk(r, {2'000'000, 2'000'000, 2'000'000, 2'000'000}, kT0) ==
        std::vector<std::string>{"cap.pcap1", "cap.pcap2", "cap.pcap0", "cap.pcap1"});
  FileRotation wide({.size_limit_bytes = 1'000'000, .file_count = 12}, "c");
  CHECK(Must(wide.Start(kT0)) == "c00");
  std::vector<uint64_t> big(12, 2'000'000);
  std::vector<std::string> names = Walk(wide, big, kT0);
  REQUIRE(names.size() == 12);
  CHECK(names[0] == "c01");
  CHECK(names[10] == "c11");
  CHECK(names[11] == "c00");
  // -W 1: one file, started over each time.
  FileRotation one({.size_limit_bytes = 1'000'000, .file_count = 1}, "c");
  CHECK(Must(one.Start(kT0)) == "c");
  CHECK(Walk(one, {2'000'000, 2'000'000}, kT0) == std::vector<std::string>{"c", "c"});
}

TEST_CASE("rotation: -G turns once the interval has passed, named by the opening time") {
  UseUtc();
  FileRotation r({.interval_s = 10}, "cap-%H%M%S.pcap");
  CHECK(Must(r.Start(kT0)) == "cap-081020.pcap");
  CHECK(Walk(r, {1'000'000'000}, kT0 + 9).empty());  // size does not matter without -C
  CHECK(Walk(r, {24}, kT0 + 10) == std::vector<std::string>{"cap-081030.pcap"});
  // The next interval counts from the rotation, not from a fixed grid.
  CHECK(Walk(r, {24}, kT0 + 19).empty());
  CHECK(Walk(r, {24}, kT0 + 45) == std::vector<std::string>{"cap-081105.pcap"});
  CHECK(r.files_opened() == 3);
}

TEST_CASE("rotation: -G with -W stops instead of opening file N plus 1") {
  UseUtc();
  FileRotation r({.interval_s = 1, .file_count = 2}, "cap-%S.pcap");
  CHECK(Must(r.Start(kT0)) == "cap-20.pcap");  // no counter with -G alone
  CHECK(Walk(r, {24}, kT0 + 1) == std::vector<std::string>{"cap-21.pcap"});
  auto step = r.BeforeRecord(24, kT0 + 1);
  REQUIRE(step.ok());
  CHECK(step->action == RotationAction::kKeep);
  step = r.BeforeRecord(24, kT0 + 2);
  REQUIRE(step.ok());
  CHECK(step->action == RotationAction::kStop);
  // Stopped stays stopped.
  step = r.BeforeRecord(24, kT0 + 2);
  REQUIRE(step.ok());
  CHECK(step->action == RotationAction::kStop);
  CHECK(r.files_opened() == 2);
}

TEST_CASE("rotation: -G with -C numbers the files of an interval from 0 again") {
  UseUtc();
  FileRotation r({.size_limit_bytes = 1'000'000, .interval_s = 60}, "cap-%M%S.pcap");
  CHECK(Must(r.Start(kT0)) == "cap-1020.pcap");
  CHECK(Walk(r, {2'000'000, 2'000'000}, kT0 + 1) ==
        std::vector<std::string>{"cap-1020.pcap1", "cap-1020.pcap2"});
  // The time turn comes first and the size of the old file then does not matter.
  CHECK(Walk(r, {2'000'000}, kT0 + 60) == std::vector<std::string>{"cap-1120.pcap"});
  // With -W too: padded, wrapping within the interval, and never a stop.
  FileRotation w({.size_limit_bytes = 1'000'000, .interval_s = 60, .file_count = 2}, "c%M");
  CHECK(Must(w.Start(kT0)) == "c100");
  CHECK(Walk(w, {2'000'000, 2'000'000, 2'000'000}, kT0) ==
        std::vector<std::string>{"c101", "c100", "c101"});
  CHECK(Walk(w, {24, 24}, kT0 + 60) == std::vector<std::string>{"c110"});
  CHECK(Walk(w, {24}, kT0 + 120) == std::vector<std::string>{"c120"});
  CHECK(Walk(w, {24}, kT0 + 180) == std::vector<std::string>{"c130"});
}

TEST_CASE("rotation flags: good values are taken and scaled") {
  auto o = CheckRotationFlags("cap.pcap", 10, 60, 5);
  REQUIRE(o.ok());
  CHECK(o->size_limit_bytes == 10'000'000);
  CHECK(o->interval_s == 60);
  CHECK(o->file_count == 5);
  CHECK(o->enabled());
  auto none = CheckRotationFlags("-", std::nullopt, std::nullopt, std::nullopt);
  REQUIRE(none.ok());
  CHECK_FALSE(none->enabled());
  auto top = CheckRotationFlags("c", kMaxRotateMegabytes, kMaxRotateSeconds, kMaxRotateFiles);
  CHECK(top.ok());
}

TEST_CASE("rotation flags: zero, negative and huge values are refused naming the flag") {
  ExpectRefused(CheckRotationFlags("c", 0, std::nullopt, std::nullopt), "-C 0");
  ExpectRefused(CheckRotationFlags("c", -5, std::nullopt, std::nullopt), "-C -5");
  ExpectRefused(CheckRotationFlags("c", kMaxRotateMegabytes + 1, std::nullopt, std::nullopt),
                "-C ");
  ExpectRefused(CheckRotationFlags("c", std::nullopt, 0, std::nullopt), "-G 0");
  ExpectRefused(CheckRotationFlags("c", std::nullopt, -1, std::nullopt), "-G -1");
  ExpectRefused(CheckRotationFlags("c", std::nullopt, kMaxRotateSeconds + 1, std::nullopt), "-G ");
  ExpectRefused(CheckRotationFlags("c", 1, std::nullopt, 0), "-W 0");
  ExpectRefused(CheckRotationFlags("c", 1, std::nullopt, -3), "-W -3");
  ExpectRefused(CheckRotationFlags("c", 1, std::nullopt, kMaxRotateFiles + 1), "-W ");
  ExpectRefused(CheckRotationFlags("c", int64_t{1} << 62, std::nullopt, std::nullopt), "-C ");
}

TEST_CASE("rotation flags: -W alone, stdout and no file are usage errors") {
  ExpectRefused(CheckRotationFlags("c", std::nullopt, std::nullopt, 3), "-W limits");
  ExpectRefused(CheckRotationFlags("-", 1, std::nullopt, std::nullopt), "stdout");
  ExpectRefused(CheckRotationFlags("-", std::nullopt, 1, 2), "stdout");
  ExpectRefused(CheckRotationFlags("", std::nullopt, 1, std::nullopt), "-w FILE");
}
