// Unit: the tcpdump/ping spellings NormalizeArgs maps onto a command's own flags.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "apps/argv_normalize.h"
#include "apps/cli_parse.h"

using namespace ringstamp::app;

namespace {

const std::vector<FlagShape> kCapture = {{"i"},       {"w"},       {"c"},       {"snaplen"},
                                         {"q", true}, {"n", true}, {"U", true}, {"Z"},
                                         {"tap_ip"},  {"C"},       {"G"},       {"W"}};
const std::vector<FlagShape> kProbeClient = {{"i"},        {"count"},   {"timeout"},
                                             {"interval"}, {"q", true}, {"json", true}};

std::vector<std::string> N(std::vector<std::string> args, const std::vector<FlagShape>& f) {
  return NormalizeArgs(args, f);
}

using V = std::vector<std::string>;

}  // namespace

TEST_CASE("argv: a value glued to a one-letter flag is split off") {
  CHECK(N({"-c10", "-ieth1"}, kCapture) == V{"-c", "10", "-i", "eth1"});
  CHECK(N({"-c", "10"}, kCapture) == V{"-c", "10"});
  CHECK(N({"-c=10"}, kCapture) == V{"-c=10"});
}

TEST_CASE("argv: one-letter booleans run together are expanded, repeats once") {
  CHECK(N({"-nn"}, kCapture) == V{"-n"});
  CHECK(N({"-qnU"}, kCapture) == V{"-q", "-n", "-U"});
  // A letter that is not a boolean flag: left whole, so the error names what was typed.
  CHECK(N({"-nx"}, kCapture) == V{"-nx"});
}

TEST_CASE("argv: synonyms map onto the spelling the command defines") {
  CHECK(N({"-s", "96"}, kCapture) == V{"--snaplen", "96"});
  CHECK(N({"-s96"}, kCapture) == V{"--snaplen", "96"});
  CHECK(N({"--count", "5"}, kCapture) == V{"-c", "5"});
  CHECK(N({"-c", "5", "-W", "2s"}, kProbeClient) == V{"--count", "5", "--timeout", "2s"});
  CHECK(N({"-c5"}, kProbeClient) == V{"--count", "5"});
}

TEST_CASE("argv: capture's rotation flags take glued values and -W stays capture's own") {
  CHECK(N({"-C10", "-G60", "-W3"}, kCapture) == V{"-C", "10", "-G", "60", "-W", "3"});
  CHECK(N({"-C", "1", "-W", "2"}, kCapture) == V{"-C", "1", "-W", "2"});
  // -W is ping's --timeout only where the command has no -W of its own; --timeout is never
  // capture's -W (a file count is not a timeout).
  CHECK(N({"--timeout", "5"}, kCapture) == V{"--timeout", "5"});
  CHECK(N({"-W", "2s"}, kProbeClient) == V{"--timeout", "2s"});
}

TEST_CASE("argv: ping's -i is the probe's interval when it reads as a duration, -I the interface") {
  CHECK(N({"-i", "0.2", "-I", "eth1"}, kProbeClient) == V{"--interval", "0.2", "-i", "eth1"});
  CHECK(N({"-i10ms", "-Ieth1"}, kProbeClient) == V{"--interval", "10ms", "-i", "eth1"});
  CHECK(N({"-i=250us"}, kProbeClient) == V{"--interval", "250us"});
  // Anything that is not digits with an optional unit stays the interface.
  CHECK(N({"-i", "eth1"}, kProbeClient) == V{"-i", "eth1"});
  CHECK(N({"-i", "veth-a1"}, kProbeClient) == V{"-i", "veth-a1"});
  CHECK(N({"-i", "ms"}, kProbeClient) == V{"-i", "ms"});
  CHECK(N({"-i", "."}, kProbeClient) == V{"-i", "."});
  CHECK(N({"-qi", "1"}, kProbeClient) == V{"-qi", "1"});
  // A command without --interval keeps -i as the interface whatever its value.
  CHECK(N({"-i", "10"}, kCapture) == V{"-i", "10"});
  CHECK(N({"-I", "eth1"}, kCapture) == V{"-I", "eth1"});
}

TEST_CASE("argv: dashes in long names become abseil's underscores, values untouched") {
  CHECK(N({"--tap-ip=10.0.0-1/24"}, kCapture) == V{"--tap_ip=10.0.0-1/24"});
  CHECK(N({"--tap-ip", "a-b"}, kCapture) == V{"--tap_ip", "a-b"});
}

TEST_CASE("argv: words after -- and positional words pass unchanged") {
  CHECK(N({"-c", "1", "udp", "port", "53"}, kCapture) == V{"-c", "1", "udp", "port", "53"});
  CHECK(N({"--", "-nn", "--count"}, kCapture) == V{"--", "-nn", "--count"});
}

TEST_CASE("flag seconds: plain seconds or a duration with a unit") {
  struct Row {
    const char* text;
    bool ok;
    double seconds;
  };
  const Row rows[] = {{"10", true, 10},      {"1.5", true, 1.5},     {"10s", true, 10},
                      {"250ms", true, 0.25}, {"2m", true, 120},      {"1h30m", true, 5400},
                      {"0", true, 0},        {"2x", false, 0},       {"", false, 0},
                      {"ms", false, 0},      {"inf", true, HUGE_VAL}};
  for (const Row& r : rows) {
    INFO(std::string(r.text));
    FlagSeconds out;
    std::string error;
    CHECK(AbslParseFlag(r.text, &out, &error) == r.ok);
    if (r.ok && std::isinf(r.seconds)) CHECK(std::isinf(out.seconds));  // refused later
    if (r.ok && !std::isinf(r.seconds)) CHECK(out.seconds == doctest::Approx(r.seconds));
    if (!r.ok) CHECK(error.find("10s, 250ms") != std::string::npos);
  }
  CHECK(AbslUnparseFlag(FlagSeconds{0}) == "0");
  CHECK(AbslUnparseFlag(FlagSeconds{2.5}) == "2.5s");
}
