// The `ringstamp` command refuses bad input with exit 2 and a message naming the
// flag, before it opens anything: the interface named here (nosuch0) does not
// exist, so reaching the interface would give another error. Then gen's
// --tstamp and its count of TX stamps per source, on a testbed.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/support/netns_test_setup.h"
#include "tests/support/netns_testbed.h"
#include "tests/support/ringstamp_cli.h"

using namespace ringstamp::testing;

namespace {

const std::string kBin = RINGSTAMP_BIN;

const std::string kGen = kBin +
                         " gen -i nosuch0 --dst-mac 02:00:00:00:00:02 --src-mac 02:00:00:00:00:01 "
                         "--src-ip 10.0.0.1 --dst-ip 10.0.0.2 ";
const std::string kClient =
    kBin + " probe client -i nosuch0 --mac 02:00:00:00:00:01 --ip 10.0.0.1/24 ";

struct Row {
  std::string args;    // appended to the command
  std::string needle;  // in the message
};

void ExpectUsageError(const std::string& base, const std::vector<Row>& rows) {
  for (const Row& r : rows) {
    auto res = RunHost(base + r.args, 20);
    INFO(base, r.args, "\n", res.output);
    CHECK(res.exit_code == 2);
    CHECK(res.output.find(r.needle) != std::string::npos);
    CHECK(res.output.find("nosuch0") == std::string::npos);  // never got as far as the interface
  }
}

}  // namespace

TEST_CASE("cli input: gen refuses NaN, infinite, huge and negative numbers with exit 2") {
  ExpectUsageError(kGen, {{"--rate nan", "--rate"},
                          {"--rate inf", "--rate"},
                          {"--rate -5", "--rate"},
                          {"--rate 1e300", "--rate"},
                          {"--duration nan", "--duration"},
                          {"--duration -1", "--duration"},
                          {"--duration 1e30", "--duration"},
                          {"--count -3", "--count"},
                          {"-c -3", "-c"}});
}

TEST_CASE("cli input: gen refuses a multicast or zero source MAC or IP with exit 2") {
  const std::string base = kBin + " gen -i nosuch0 --dst-mac 02:00:00:00:00:02 --dst-ip 10.0.0.2 ";
  ExpectUsageError(base, {{"--src-ip 10.0.0.1 --src-mac 01:00:5e:00:00:01", "unicast"},
                          {"--src-ip 10.0.0.1 --src-mac ff:ff:ff:ff:ff:ff", "unicast"},
                          {"--src-ip 10.0.0.1 --src-mac 00:00:00:00:00:00", "not all zeros"},
                          {"--src-mac 02:00:00:00:00:01 --src-ip 224.0.0.1", "multicast"},
                          {"--src-mac 02:00:00:00:00:01 --src-ip 0.0.0.0", "unspecified"},
                          {"--src-mac 02:00:00:00:00:01 --src-ip 255.255.255.255", "broadcast"}});
}

TEST_CASE("cli input: probe client refuses a negative count and a server that is not a peer") {
  ExpectUsageError(kClient, {{"--server 10.0.0.2 --count -1", "--count"},
                             {"--server 10.0.0.2 --duration -2", "--duration"},
                             {"--server 10.0.0.2 --duration inf", "--duration"},
                             {"--server 10.0.0.1", "our own address"},
                             {"--server 10.0.0.255", "broadcast address of our subnet"},
                             {"--server 255.255.255.255", "broadcast"},
                             {"--server 239.1.1.1", "multicast"}});
  // A multicast --mac or --ip of our own: refused before the interface is opened.
  ExpectUsageError(kBin + " probe client -i nosuch0 --server 10.0.0.2 ",
                   {{"--ip 10.0.0.1/24 --mac 01:00:00:00:00:01", "unicast"},
                    {"--mac 02:00:00:00:00:01 --ip 224.0.0.9", "multicast"}});
}

TEST_CASE("cli input: probe server refuses a NaN or negative duration") {
  ExpectUsageError(kBin + " probe server -i nosuch0 --ip 10.0.0.1 ",
                   {{"--duration nan", "--duration"}, {"--duration -1", "--duration"}});
}

TEST_CASE("cli input: a flag abseil cannot parse, or an unknown flag, is a usage error") {
  ExpectUsageError(kGen, {{"--rate fast", "--rate: 'fast' is not a valid value"},
                          {"--count 1x", "--count"},
                          {"--workers", "--workers needs a value"},
                          {"--no-such-flag 1", "unknown flag --no-such-flag"}});
  ExpectUsageError(kBin + " capture -i nosuch0 ",
                   {{"--snaplen abc", "--snaplen"}, {"--duration=1x", "--duration"}});
}

TEST_CASE("cli input: gen --tstamp is checked and wants --tx-stamps") {
  ExpectUsageError(
      kGen, {{"--tx-stamps --tstamp sometimes", "--tstamp"}, {"--tstamp software", "--tx-stamps"}});
}

TEST_CASE("gen tstamp: every frame's TX stamp is counted by its source") {
  auto testbed = TestbedOrSkip();
  if (!testbed) return;
  Testbed& tb = *testbed;
  constexpr int kFrames = 300;
  for (const std::string mode : {"software", "auto"}) {
    INFO("--tstamp ", mode);
    auto r = tb.Run(tb.ns_a(),
                    GenCommand(kBin, tb,
                               absl::StrCat("--count ", kFrames,
                                            " --rate 3000 --tx-stamps --tstamp ", mode, " --json")),
                    60);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    auto j = nlohmann::json::parse(r.output.substr(r.output.find('{')));
    const auto& ts = j["tx_stamps"];
    CHECK(ts["tstamp"] == mode);
    // veth gives software stamps only: none may be called hardware.
    CHECK(ts["by_source"]["hardware"] == 0);
    CHECK(ts["by_source"]["software"].get<int>() + ts["by_source"]["none"].get<int>() == kFrames);
    CHECK(ts["by_source"]["software"].get<int>() == ts["stamps"].get<int>());
    CHECK(ts["by_source"]["software"].get<int>() > 0);
  }
  // Hardware asked where the driver has none: a clear error, nothing sent.
  auto hw = tb.Run(tb.ns_a(),
                   GenCommand(kBin, tb, "--count 10 --tx-stamps --tstamp hardware --json"), 30);
  INFO(hw.output);
  CHECK(hw.exit_code == 1);
  CHECK(hw.output.find(tb.if_a()) != std::string::npos);
}
