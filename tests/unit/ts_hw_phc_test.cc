#include <doctest/doctest.h>

#include <cerrno>

#include "ringstamp/timestamp/hw_timestamping.h"
#include "ringstamp/timestamp/phc.h"

using namespace ringstamp;

TEST_CASE("hwts: names of TX types, RX filters and capabilities (ethtool's spelling)") {
  CHECK(HwTxTypeName(kHwTxOn) == "on");
  CHECK(HwTxTypeName(kHwTxOnestepP2p) == "onestep-p2p");
  CHECK(HwTxTypeName(9) == "tx-type-9");
  CHECK(HwRxFilterName(kHwRxAll) == "all");
  CHECK(HwRxFilterName(kHwRxPtpV2Event) == "ptpv2-event");
  CHECK(HwRxFilterName(kHwRxNtpAll) == "ntp-all");
  CHECK(HwRxFilterName(16) == "rx-filter-16");
  // The e1000e masks from KERNEL-NOTES: tx_types 0x3, rx_filters 0x7db3.
  CHECK(HwTxTypeNames(0x3) == std::vector<std::string>{"off", "on"});
  CHECK(HwRxFilterNames(0x7db3) == std::vector<std::string>{"none", "all", "ptpv1-l4-sync",
                                                            "ptpv1-l4-delay-req", "ptpv2-l4-sync",
                                                            "ptpv2-l4-delay-req", "ptpv2-l2-sync",
                                                            "ptpv2-l2-delay-req", "ptpv2-event",
                                                            "ptpv2-sync", "ptpv2-delay-req"});
  CHECK(TsCapabilityNames(0x5f) ==
        std::vector<std::string>{"hardware-transmit", "software-transmit", "hardware-receive",
                                 "software-receive", "software-system-clock",
                                 "hardware-raw-clock"});
  CHECK(FormatHwTstampConfig({0, kHwTxOn, kHwRxPtpV2Event}) == "tx=on rx=ptpv2-event");
  CHECK(FormatHwTstampConfig({1, kHwTxOff, kHwRxNone}) == "tx=off rx=none flags=0x1");
}

TEST_CASE("hwts: TsInfo tells hardware from software capability") {
  TsInfo veth{0x1a, -1, 0, 0};
  CHECK(veth.HasSoftwareRx());
  CHECK(veth.HasSoftwareTx());
  CHECK_FALSE(veth.HasHardwareRx());
  CHECK_FALSE(veth.HasHardwareTx());
  TsInfo e1000e{0x5f, 0, 0x3, 0x7db3};
  CHECK(e1000e.HasHardwareRx());
  CHECK(e1000e.HasHardwareTx());
  TsInfo rx_none_only{0x5f, 0, 0x1, 0x1};  // can do nothing but "off" / "none"
  CHECK_FALSE(rx_none_only.HasHardwareRx());
  CHECK_FALSE(rx_none_only.HasHardwareTx());
}

TEST_CASE("phc: best sample is the shortest window, uncertainty half of it") {
  std::vector<PhcSample> s = {
      {1000, 50'000, 1400},  // window 400
      {2000, 51'000, 2100},  // window 100: best
      {3000, 52'000, 2900},  // negative: clock stepped, ignored
      {4000, 53'000, 4300},
  };
  auto best = BestPhcSample(s);
  REQUIRE(best.has_value());
  CHECK(best->phc_ns == 51'000);
  CHECK(best->system_ns == 2050);
  CHECK(best->uncertainty_ns == 50);
  CHECK(best->offset_ns() == 51'000 - 2050);
  std::vector<PhcSample> bad = {{10, 5, 9}};
  CHECK_FALSE(BestPhcSample(bad).has_value());
  CHECK_FALSE(BestPhcSample({}).has_value());
}

TEST_CASE("phc: raw hardware stamps map onto the system clock by the offset") {
  PhcOffset o;
  o.phc_ns = 37'000'000'100;  // PHC runs 37 s + 100 ns ahead (TAI-like)
  o.system_ns = 100;
  CHECK(PhcToSystemNs(37'000'000'500, o) == 500);
  Timestamps ts;
  ts.hardware_ns = 37'000'000'500;
  ts.software_ns = 510;
  MapHardwareToSystem(ts, o);
  CHECK(ts.hardware_system_ns == 500);
  CHECK(*ts.BestSystem() == Stamp{500, StampSource::kHardwareRaw});
  // Driver-converted (sys) hardware and missing hardware stamps are left alone.
  Timestamps sys;
  sys.hardware_ns = 700;
  sys.hardware_source = StampSource::kHardwareSys;
  MapHardwareToSystem(sys, o);
  CHECK_FALSE(sys.hardware_system_ns.has_value());
  Timestamps none;
  MapHardwareToSystem(none, o);
  CHECK(none == Timestamps{});
}

TEST_CASE("phc: paths and open errors") {
  CHECK(*PhcPath(3) == "/dev/ptp3");
  CHECK(absl::IsNotFound(PhcPath(-1).status()));
  auto p = Phc::Open("/nonexistent/ptp99");
  CHECK(absl::IsNotFound(p.status()));
  CHECK(p.status().message().find("open /nonexistent/ptp99") != absl::string_view::npos);
  CHECK(PhcOffsetMethodName(PhcOffsetMethod::kPrecise) == "precise");
}

namespace {

// A driver model: accepts some (tx, rx) pairs, may widen the filter, may lack SIOCGHWTSTAMP.
struct FakeDriver {
  TsInfo caps{0x5f, 0, 0x3, 0x7db3};
  bool has_get = true;
  int set_errno = ERANGE;  // answer for refused pairs
  std::vector<HwTstampConfig> accepted;
  int widen_to = -1;  // rx filter applied instead of the one asked
  HwTstampConfig current{0, kHwTxOff, kHwRxNone};
  std::vector<HwTstampConfig> tried;

  absl::StatusOr<HwNegotiation> Negotiate(HwTstampRequest req) {
    auto info = [&](TsInfo& out) {
      out = caps;
      return 0;
    };
    auto get = [&](HwTstampConfig& out) {
      if (!has_get) return EOPNOTSUPP;
      out = current;
      return 0;
    };
    auto set = [&](HwTstampConfig& c) {
      tried.push_back(c);
      for (const HwTstampConfig& a : accepted) {
        if (a == c) {
          if (widen_to >= 0) c.rx_filter = widen_to;
          current = c;
          return 0;
        }
      }
      return set_errno;
    };
    return NegotiateHwTstamp("eth1", "e1000e", req, HwTstampOps{info, get, set});
  }
};

}  // namespace

TEST_CASE("hwts: negotiation gets rx=all when the driver takes it, and reads it back") {
  FakeDriver d;
  d.accepted = {{0, kHwTxOn, kHwRxAll}};
  auto n = d.Negotiate({.rx_filter = kHwRxAll, .tx = true});
  REQUIRE(n.ok());
  CHECK(n->hardware);
  CHECK(n->hardware_rx_all());
  CHECK(n->hardware_tx());
  CHECK(n->changed);
  CHECK(n->previous == HwTstampConfig{0, kHwTxOff, kHwRxNone});
  CHECK(n->applied == HwTstampConfig{0, kHwTxOn, kHwRxAll});
  CHECK(d.tried.size() == 1u);
  CHECK(n->note ==
        "eth1: hardware timestamps on (tx=on rx=all, driver e1000e); previous config tx=off "
        "rx=none is restored on exit");
}

TEST_CASE("hwts: negotiation falls back ALL -> PTP v2 event -> ... like linuxptp/chrony") {
  FakeDriver d;
  d.caps.rx_filters = 0xffff;
  d.accepted = {{0, kHwTxOn, kHwRxPtpV1L4Event}};
  auto n = d.Negotiate({.rx_filter = kHwRxAll, .tx = true});
  REQUIRE(n.ok());
  REQUIRE(d.tried.size() == 5u);
  CHECK(d.tried[0].rx_filter == kHwRxAll);
  CHECK(d.tried[1].rx_filter == kHwRxPtpV2Event);
  CHECK(d.tried[2].rx_filter == kHwRxPtpV2L2Event);
  CHECK(d.tried[3].rx_filter == kHwRxPtpV2L4Event);
  CHECK(d.tried[4].rx_filter == kHwRxPtpV1L4Event);
  CHECK(n->applied.rx_filter == kHwRxPtpV1L4Event);
  CHECK(n->hardware_rx());
  CHECK_FALSE(n->hardware_rx_all());
  CHECK(n->note.find("only frames matching rx=ptpv1-l4-event get hardware RX stamps") !=
        std::string::npos);
  CHECK(n->attempts[0] == "tx=on rx=all: ERANGE (Numerical result out of range)");
}

TEST_CASE("hwts: the driver's rx_filters mask prunes filters it does not list") {
  FakeDriver d;
  d.caps.rx_filters = (1u << kHwRxNone) | (1u << kHwRxPtpV2Event);
  d.accepted = {{0, kHwTxOn, kHwRxPtpV2Event}};
  auto n = d.Negotiate({.rx_filter = kHwRxAll, .tx = true});
  REQUIRE(n.ok());
  CHECK(d.tried.size() == 1u);  // ALL was never sent to the driver
  CHECK(n->attempts[0] == "rx=all: skipped, not in driver e1000e's rx filters");
  CHECK(n->applied.rx_filter == kHwRxPtpV2Event);
}

TEST_CASE("hwts: filter widened by the driver is what is reported") {
  FakeDriver d;
  d.accepted = {{0, kHwTxOn, kHwRxPtpV2Event}};
  d.widen_to = kHwRxAll;
  auto n = d.Negotiate({.rx_filter = kHwRxPtpV2Event, .tx = true});
  REQUIRE(n.ok());
  CHECK(n->applied == HwTstampConfig{0, kHwTxOn, kHwRxAll});
  CHECK(n->hardware_rx_all());
}

TEST_CASE("hwts: TX-only, then RX-only, when the driver refuses the rest") {
  FakeDriver d;
  d.caps.rx_filters = 0xffff;
  d.accepted = {{0, kHwTxOn, kHwRxNone}};
  auto n = d.Negotiate({.rx_filter = kHwRxAll, .tx = true});
  REQUIRE(n.ok());
  CHECK(n->hardware_tx());
  CHECK_FALSE(n->hardware_rx());
  CHECK(n->note.find("no hardware RX stamps: received frames get software stamps") !=
        std::string::npos);

  FakeDriver rx_only;
  rx_only.set_errno = EINVAL;  // some drivers answer EINVAL instead of ERANGE
  rx_only.accepted = {{0, kHwTxOff, kHwRxAll}};
  n = rx_only.Negotiate({.rx_filter = kHwRxAll, .tx = true});
  REQUIRE(n.ok());
  CHECK(n->hardware_rx_all());
  CHECK_FALSE(n->hardware_tx());
  CHECK(n->note.find("no hardware TX stamps") != std::string::npos);
}

TEST_CASE("hwts: refusals: nothing accepted, EPERM, unchanged config, no SIOCGHWTSTAMP") {
  FakeDriver none;
  auto n = none.Negotiate({.rx_filter = kHwRxAll, .tx = true});
  REQUIRE(n.ok());
  CHECK_FALSE(n->hardware);
  CHECK_FALSE(n->changed);
  CHECK(n->note ==
        "eth1: driver e1000e refused every hardware timestamping config tried; software "
        "timestamps will be used");

  FakeDriver perm;
  perm.set_errno = EPERM;
  n = perm.Negotiate({.rx_filter = kHwRxAll, .tx = true});
  CHECK(absl::IsPermissionDenied(n.status()));
  CHECK(n.status().message().find("CAP_NET_ADMIN") != absl::string_view::npos);
  CHECK(perm.tried.size() == 1u);

  FakeDriver same;
  same.current = {0, kHwTxOn, kHwRxAll};
  same.accepted = {{0, kHwTxOn, kHwRxAll}};
  n = same.Negotiate({.rx_filter = kHwRxAll, .tx = true});
  REQUIRE(n.ok());
  CHECK(n->hardware);
  CHECK_FALSE(n->changed);

  FakeDriver no_get;
  no_get.has_get = false;
  no_get.accepted = {{0, kHwTxOn, kHwRxAll}};
  n = no_get.Negotiate({.rx_filter = kHwRxAll, .tx = true});
  REQUIRE(n.ok());
  CHECK_FALSE(n->previous_known);
  CHECK(n->changed);
  CHECK(n->applied == HwTstampConfig{0, kHwTxOn, kHwRxAll});  // what SIOCSHWTSTAMP wrote back

  FakeDriver no_tx;
  no_tx.caps.tx_types = 0x1;  // off only
  no_tx.accepted = {{0, kHwTxOff, kHwRxAll}};
  n = no_tx.Negotiate({.rx_filter = kHwRxAll, .tx = true});
  REQUIRE(n.ok());
  CHECK(n->attempts[0] == "tx=on: skipped, driver e1000e lists tx types off");
  CHECK(n->hardware_rx_all());
}
