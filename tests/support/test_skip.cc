#include "tests/support/test_skip.h"

#include <doctest/doctest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace ringstamp::testing {
namespace {
std::atomic<int> g_skips{0};
}  // namespace

void SkipTest(std::string_view category, std::string_view reason) {
  g_skips.fetch_add(1, std::memory_order_relaxed);
  const char* test = doctest::getContextOptions() != nullptr &&
                             doctest::getContextOptions()->currentTest != nullptr
                         ? doctest::getContextOptions()->currentTest->m_name
                         : "?";
  std::printf("SKIPPED [%.*s]: %.*s (%s)\n", static_cast<int>(category.size()), category.data(),
              static_cast<int>(reason.size()), reason.data(), test);
  std::fflush(stdout);
  if (const char* log = std::getenv("RINGSTAMP_SKIP_LOG"); log != nullptr && *log != '\0') {
    if (std::FILE* f = std::fopen(log, "a")) {
      std::fprintf(f, "%.*s\t%s\t%.*s\n", static_cast<int>(category.size()), category.data(), test,
                   static_cast<int>(reason.size()), reason.data());
      std::fclose(f);
    }
  }
}

int SkipCount() { return g_skips.load(std::memory_order_relaxed); }

}  // namespace ringstamp::testing
