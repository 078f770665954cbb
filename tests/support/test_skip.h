// test_skip.h — how a test says it cannot run here, so that ctest reports Skipped (not
// Passed) and scripts/test.sh can count and name every skip.
//
//   if (!HaveNetnsPrivileges()) return SkipTest("root", "creates network namespaces");
//
// SkipTest records the skip (category and reason) for the doctest main in
// doctest_main.cc, which then exits with kSkipExitCode (77, registered with ctest as
// SKIP_RETURN_CODE) when no check failed. A skip in one SUBCASE skips the whole test case
// as far as ctest is concerned: a test that ran only in part is not reported as passed.
// When RINGSTAMP_SKIP_LOG names a file, one line "category<TAB>test case<TAB>reason" is
// appended to it per skip; test.sh reads that file.
//
// Categories (the names RINGSTAMP_ALLOW_SKIP takes): "root" (needs root), "kernel" (this
// kernel lacks the feature), "tool" (an outside program is missing), "hw" (hardware tests).
// Call from the test case's thread. Cost: a file append per skip.
#pragma once

#include <string_view>

namespace ringstamp::testing {

inline constexpr int kSkipExitCode = 77;

// Records the skip and prints "SKIPPED [category]: reason". Returns nothing so a test
// can `return SkipTest(...)`.
void SkipTest(std::string_view category, std::string_view reason);

// How many skips this process recorded (the doctest main reads it).
int SkipCount();

}  // namespace ringstamp::testing
