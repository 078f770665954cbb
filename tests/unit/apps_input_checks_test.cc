// The validators behind `ringstamp`'s usage errors (exit 2): each bad value is
// refused with a message naming the flag, each good one accepted.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "apps/input_checks.h"

using namespace ringstamp;
using namespace ringstamp::app;

namespace {

// What one row expects: accepted, or refused with a message holding `needle`.
void Expect(const absl::Status& s, bool ok, const std::string& needle) {
  INFO(s.ToString());
  CHECK(s.ok() == ok);
  if (!ok) {
    CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(s.message()).find(needle) != std::string::npos);
  }
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

TEST_CASE("input checks: counts") {
  struct Row {
    int64_t count;
    bool ok;
  };
  for (const Row& r :
       std::vector<Row>{{0, true}, {1, true}, {INT64_MAX, true}, {-1, false}, {INT64_MIN, false}}) {
    INFO("count ", r.count);
    Expect(CheckCount("--count", r.count), r.ok, "--count");
  }
}

TEST_CASE("input checks: durations and rates: finite, not negative, not huge") {
  struct Row {
    double value;
    bool ok;
  };
  const std::vector<Row> rows = {{0, true},      {0.5, true},     {3600, true},  {1e9, true},
                                 {-1, false},    {-0.001, false}, {kNaN, false}, {kInf, false},
                                 {-kInf, false}, {1e10, false},   {1e300, false}};
  for (const Row& r : rows) {
    INFO("value ", r.value);
    Expect(CheckDurationSeconds("--duration", r.value), r.ok, "--duration");
    Expect(CheckRate("--rate", r.value), r.ok, "--rate");
  }
}

TEST_CASE("input checks: source MAC must be unicast and not zero") {
  struct Row {
    const char* mac;
    bool ok;
  };
  for (const Row& r : std::vector<Row>{{"02:00:00:00:00:01", true},
                                       {"00:11:22:33:44:55", true},
                                       {"00:00:00:00:00:00", false},
                                       {"ff:ff:ff:ff:ff:ff", false},
                                       {"01:00:5e:00:00:01", false},
                                       {"33:33:00:00:00:01", false},
                                       {"03:00:00:00:00:01", false}}) {
    INFO("mac ", r.mac);
    auto mac = MacAddress::Parse(r.mac);
    REQUIRE(mac.has_value());
    Expect(CheckSourceMac("--src-mac", *mac), r.ok, "--src-mac");
  }
}

TEST_CASE("input checks: source IP must be one unicast host") {
  struct Row {
    const char* ip;
    bool ok;
    const char* why;
  };
  for (const Row& r : std::vector<Row>{{"10.0.0.1", true, ""},
                                       {"fd00::1", true, ""},
                                       {"0.0.0.0", false, "unspecified"},
                                       {"::", false, "unspecified"},
                                       {"224.0.0.1", false, "multicast"},
                                       {"239.1.2.3", false, "multicast"},
                                       {"ff02::1", false, "multicast"},
                                       {"255.255.255.255", false, "broadcast"}}) {
    INFO("ip ", r.ip);
    auto ip = IpAddress::Parse(r.ip);
    REQUIRE(ip.has_value());
    Expect(CheckSourceIp("--src-ip", *ip), r.ok, r.why);
  }
}

TEST_CASE("input checks: the probed server is another unicast host") {
  const std::vector<std::string> ips = {"10.1.2.1/24", "fd00::1", "192.168.7.9/31"};
  const std::vector<OwnAddress> own = OwnAddresses(ips);
  REQUIRE(own.size() == 3);
  CHECK(own[0].prefix == 24);
  CHECK(own[1].prefix == 64);
  CHECK(own[2].prefix == 31);
  struct Row {
    const char* ip;
    bool ok;
    const char* why;
  };
  for (const Row& r : std::vector<Row>{{"10.1.2.2", true, ""},
                                       {"10.9.9.255", true, ""},  // another subnet's .255
                                       {"fd00::2", true, ""},
                                       {"192.168.7.8", true, ""},  // /31: no broadcast address
                                       {"10.1.2.1", false, "our own address"},
                                       {"fd00::1", false, "our own address"},
                                       {"10.1.2.255", false, "broadcast address of our subnet"},
                                       {"255.255.255.255", false, "broadcast"},
                                       {"0.0.0.0", false, "unspecified"},
                                       {"224.0.0.5", false, "multicast"},
                                       {"ff02::1", false, "multicast"}}) {
    INFO("server ", r.ip);
    auto ip = IpAddress::Parse(r.ip);
    REQUIRE(ip.has_value());
    Expect(CheckPeerAddress("--server", *ip, own), r.ok, r.why);
  }
}

TEST_CASE("input checks: rings over all workers must fit in memory") {
  constexpr uint64_t kMiB = 1 << 20;
  struct Row {
    int workers;
    uint64_t per_worker;
    std::optional<uint64_t> available;
    bool ok;
  };
  for (const Row& r : std::vector<Row>{{1, 64 * kMiB, 1024 * kMiB, true},
                                       {16, 64 * kMiB, 1024 * kMiB, true},  // exactly fits
                                       {17, 64 * kMiB, 1024 * kMiB, false},
                                       {256, 64 * kMiB, 4096 * kMiB, false},
                                       {256, 64 * kMiB, std::nullopt, true}}) {
    INFO("workers ", r.workers);
    Expect(CheckRingMemory(r.workers, r.per_worker, r.available), r.ok, "--workers");
  }
  // The message says how many workers would fit.
  absl::Status s = CheckRingMemory(17, 64 * kMiB, 1024 * kMiB);
  CHECK(std::string(s.message()).find("--workers 16 or fewer") != std::string::npos);
}
