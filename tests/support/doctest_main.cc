// The doctest main shared by unit_tests and netns_tests.
//
// Beyond doctest's own main it refuses two ways of passing without testing anything:
// - a run whose filters match no test case exits 1 ("ran no test"), so a ctest entry whose
//   name no longer selects its test case fails instead of reporting Passed;
// - with RINGSTAMP_ONE_TEST_CASE=1 (set on every ctest entry) a run must select exactly one
//   test case, so a name that is a wildcard pattern for several cannot hide one.
// A run in which a test called SkipTest and nothing failed exits kSkipExitCode (77), which
// ctest reports as Skipped (see test_skip.h).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tests/support/test_skip.h"

namespace {

// Sees the run's totals; doctest calls test_run_end only when tests were run, not for
// --list-test-cases, --count and the like.
struct RunTotals : doctest::IReporter {
  static inline bool ran = false;
  static inline unsigned selected = 0;
  static inline unsigned failed = 0;

  explicit RunTotals(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats& s) override {
    ran = true;
    selected = s.numTestCasesPassingFilters;
    failed = s.numTestCasesFailed;
  }
  void test_case_start(const doctest::TestCaseData&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};
DOCTEST_REGISTER_LISTENER("ringstamp_run_totals", 1, RunTotals);

}  // namespace

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int result = context.run();
  if (context.shouldExit() && !RunTotals::ran) return result;  // --help, --list-test-cases, ...
  if (result != 0) return result;
  if (!RunTotals::ran) return result;
  if (RunTotals::selected == 0) {
    std::fprintf(stderr,
                 "doctest main: the filters select no test case, so nothing was tested; "
                 "check the --test-case name (a ';' in a test name splits its ctest entry)\n");
    return 1;
  }
  const char* one = std::getenv("RINGSTAMP_ONE_TEST_CASE");
  if (one != nullptr && std::strcmp(one, "1") == 0 && RunTotals::selected != 1) {
    std::fprintf(stderr,
                 "doctest main: this ctest entry selects %u test cases, not one; a test name "
                 "must not contain doctest's wildcards '*' or '?'\n",
                 RunTotals::selected);
    return 1;
  }
  if (ringstamp::testing::SkipCount() > 0 && RunTotals::failed == 0) {
    return ringstamp::testing::kSkipExitCode;
  }
  return result;
}
