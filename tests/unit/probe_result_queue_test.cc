// ProbeResultQueue::ShouldTell: when a probe client's worker wakes the calling thread for
// results — the first after a quiet period, a full batch — and when it leaves them for the
// calling thread's own next look.
#include "ringstamp/engine/probe/probe_result_queue.h"

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>

using namespace ringstamp;

namespace {

// Adds `n` results at `now` and returns what ShouldTell says.
bool Add(ProbeResultQueue& q, size_t n, int64_t now) {
  const size_t before = q.results.size();
  for (size_t i = 0; i < n; ++i) q.results.push_back(ProbeResult{});
  return q.ShouldTell(before, now);
}

}  // namespace

TEST_CASE("ProbeResultQueue: the first result wakes the calling thread, the next ones wait") {
  ProbeResultQueue q;
  constexpr int64_t t0 = 5'000'000'000;
  CHECK(Add(q, 1, t0));  // never told before
  CHECK(q.last_told_ns == t0);
  CHECK_FALSE(Add(q, 1, t0 + 1'000));  // one is waiting already: the thread has been told
  q.results.clear();                   // the calling thread took them
  // Within the period of the last wake: the thread looks again on its own in that period.
  CHECK_FALSE(Add(q, 1, t0 + kProbeTellPeriodNs - 1));
  CHECK(q.last_told_ns == t0);
  q.results.clear();
  // A period after the last wake: told again.
  CHECK(Add(q, 1, t0 + kProbeTellPeriodNs));
  CHECK(q.last_told_ns == t0 + kProbeTellPeriodNs);
}

TEST_CASE("ProbeResultQueue: a full batch wakes it within the period, once") {
  ProbeResultQueue q;
  constexpr int64_t t0 = 1'000'000;
  CHECK(Add(q, 1, t0));
  q.results.clear();
  CHECK_FALSE(Add(q, kProbeTellBatch - 1, t0 + 10));
  CHECK(Add(q, 1, t0 + 20));  // the batch is full
  CHECK(q.last_told_ns == t0 + 20);
  CHECK_FALSE(Add(q, 1, t0 + 30));  // more than a batch: told already
  q.results.clear();
  CHECK(Add(q, kProbeTellBatch + 3, t0 + 40));  // a whole batch at once
}

TEST_CASE("ProbeResultQueue: nothing added tells nothing") {
  ProbeResultQueue q;
  CHECK_FALSE(Add(q, 0, 0));
  CHECK(Add(q, 2, 0));  // the clock may start at 0: the first result is still told
  q.results.clear();
  CHECK_FALSE(Add(q, 0, kProbeTellPeriodNs * 10));
  CHECK_FALSE(q.tell_after_send);
}
