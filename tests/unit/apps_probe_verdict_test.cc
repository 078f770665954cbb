// Unit: the probe client's exit status from its counters (ping's: 0 answered, 1 not).
#include <doctest/doctest.h>

#include "apps/probe_verdict.h"

using namespace ringstamp;
using namespace ringstamp::app;

TEST_CASE("probe verdict: 0 when replies came, 1 when none did, whatever --max-loss says") {
  ProbeCounters c;
  c.sent = 10;
  c.received = 9;
  c.lost = 1;
  CHECK(JudgeProbeRun(c, 100).code == 0);
  CHECK(JudgeProbeRun(c, 10).code == 0);  // 10 % is not above 10 %
  c.received = 0;
  c.lost = 10;
  const ProbeVerdict none = JudgeProbeRun(c, 100);
  CHECK(none.code == 1);
  CHECK(none.why == "no reply to any of 10 probes");
  // Late replies still came back: not "nothing received".
  c.late = 10;
  c.lost = 0;
  CHECK(JudgeProbeRun(c, 100).code == 0);
  // Nothing sent (stopped at once): nothing to judge.
  CHECK(JudgeProbeRun(ProbeCounters{}, 0).code == 0);
}

TEST_CASE("probe verdict: loss above --max-loss is 1, over the probes whose fate is known") {
  ProbeCounters c;
  c.sent = 104;
  c.received = 90;
  c.lost = 10;
  c.in_flight = 1;
  c.unanswered_at_stop = 3;  // 100 known, 10 lost: 10 %
  ProbeVerdict v = JudgeProbeRun(c, 5);
  CHECK(v.code == 1);
  CHECK(v.loss_pct == doctest::Approx(10.0));
  CHECK(v.why == "loss 10% (10 of 100 probes) is above --max-loss 5%");
  CHECK(JudgeProbeRun(c, 10).code == 0);
  CHECK(JudgeProbeRun(c, 9.99).code == 1);
}

TEST_CASE(
    "probe verdict: refused probes are not loss, but above --max-loss of the sent they fail") {
  ProbeCounters c;
  c.sent = 100;
  c.received = 90;
  c.lost = 9;
  c.send_failures = 1;  // 99 reached the network, 9 of them lost: 9.09 %
  ProbeVerdict v = JudgeProbeRun(c, 50);
  CHECK(v.code == 0);
  CHECK(v.loss_pct == doctest::Approx(100.0 * 9 / 99));
  c.received = 80;
  c.lost = 0;
  c.send_failures = 20;  // 20 of 100 never left
  v = JudgeProbeRun(c, 10);
  CHECK(v.code == 1);
  CHECK(v.loss_pct == 0);
  CHECK(v.why.starts_with("20 of 100 probes (20%) could not be sent, above --max-loss 10%"));
  CHECK(JudgeProbeRun(c, 20).code == 0);
  // Only refused probes and no reply: not "no reply to any", the refusals are the news.
  ProbeCounters all;
  all.sent = 5;
  all.send_failures = 5;
  v = JudgeProbeRun(all, 0);
  CHECK(v.code == 1);
  CHECK(v.why.starts_with("5 of 5 probes (100%) could not be sent"));
}

TEST_CASE("probe verdict: --max-loss takes 0..100 with or without a percent sign") {
  CHECK(*ParseMaxLoss("5") == 5);
  CHECK(*ParseMaxLoss("0.1%") == doctest::Approx(0.1));
  CHECK(*ParseMaxLoss("100") == 100);
  for (const char* bad : {"", "%", "-1", "101", "nan", "inf", "5x", "five"}) {
    CAPTURE(bad);
    auto r = ParseMaxLoss(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(std::string(r.status().message()).find("--max-loss") != std::string::npos);
  }
}
