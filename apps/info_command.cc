// ringstamp info: an interface's timestamping, as `ethtool -T` shows it and as ringstamp uses it.
//
//   ringstamp info -i eth1 [--json]
//
// Reads only: capabilities (ETHTOOL_GET_TS_INFO), driver, the current hwtstamp
// config (SIOCGHWTSTAMP), the PHC and its offset to CLOCK_REALTIME. It never
// changes the NIC's config. Exit 0 on success, 1 when the interface cannot be
// read (wrong name, ...), 2 on bad usage.
#include <sys/socket.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "apps/command.h"
#include "apps/common_flags.h"
#include "apps/json_line.h"
#include "ringstamp/common/fd.h"
#include "ringstamp/timestamp/hw_timestamping.h"
#include "ringstamp/timestamp/phc.h"
#include "ringstamp/timestamp/so_timestamping.h"
#include "ringstamp/timestamp/uring_tx_stamps.h"

namespace ringstamp::app {
namespace {

struct PhcReport {
  std::string path;
  std::optional<PhcOffset> offset;
  std::optional<bool> frozen;
  std::string error;  // why the PHC could not be opened or read
};

// One line per stamp kind: whether ringstamp delivers it here and why (not).
struct Deliver {
  bool yes = false;
  std::string why;
};

struct InfoReport {
  std::string ifname;
  int ifindex = 0;
  DriverInfo driver;
  TsInfo caps;
  std::optional<HwTstampConfig> config;
  std::string config_error;
  std::optional<PhcReport> phc;
  Deliver hw_rx, hw_tx, sw_rx, sw_tx;
  // How TX stamps come back to this program on this kernel.
  TxTransport tx_transport = TxTransport::kErrorQueue;
  std::string tx_transport_why;
};

// Opens an io_uring TX-stamp source on a scratch UDP socket: the kernel either
// has SOCKET_URING_OP_TX_TIMESTAMP (Linux >= 6.15) or says why not.
void ProbeTxTransport(InfoReport& r) {
  UniqueFd s(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) {
    r.tx_transport_why = "the socket error queue (no UDP socket to probe io_uring with)";
    return;
  }
  absl::Status st =
      EnableSocketTimestamping(s.get(), kTsTxSoftware | kTsSoftware | kTsOptId | kTsOptTsonly);
  if (!st.ok()) {
    r.tx_transport_why = "the socket error queue (" + std::string(st.message()) + ")";
    return;
  }
  auto src = UringTxStampSource::Create(s.get());
  if (src.ok()) {
    r.tx_transport = TxTransport::kIoUring;
    r.tx_transport_why =
        "io_uring completions (SOCKET_URING_OP_TX_TIMESTAMP), no syscall per stamp";
  } else {
    r.tx_transport_why =
        "the socket error queue (io_uring: " + std::string(src.status().message()) + ")";
  }
}

std::string DriverName(const InfoReport& r) {
  return r.driver.driver.empty() ? std::string("its driver") : "driver " + r.driver.driver;
}

void DecideDelivery(InfoReport& r) {
  const std::string drv = DriverName(r);
  const TsInfo& c = r.caps;
  r.sw_rx.yes = c.HasSoftwareRx();
  r.sw_rx.why = r.sw_rx.yes ? "kernel stamp on arrival (SO_TIMESTAMPING on the ring socket)"
                            : drv + " does not list software-receive";
  r.sw_tx.yes = c.HasSoftwareTx();
  r.sw_tx.why = r.sw_tx.yes ? "kernel stamp when the driver hands the frame to the NIC"
                            : drv +
                                  " does not stamp sent frames in software (no "
                                  "skb_tx_timestamp): TX times are userspace only";
  const std::string cur = r.config ? " (now " + FormatHwTstampConfig(*r.config) + ")" : "";
  const std::string mapping =
      c.phc_index >= 0 ? "" : "; no PHC, so raw NIC times cannot be put on the system timeline";
  if (!c.HasHardwareRx()) {
    r.hw_rx.why = drv + " has no hardware receive timestamping";
  } else {
    r.hw_rx.yes = true;
    const bool all = c.rx_filters & (1u << kHwRxAll);
    r.hw_rx.why = absl::StrCat(all ? "every frame" : "only PTP/NTP frames the filters match",
                               ", with --tstamp hardware", cur, mapping);
  }
  if (!c.HasHardwareTx()) {
    r.hw_tx.why = drv + " has no hardware transmit timestamping";
  } else {
    r.hw_tx.yes = true;
    r.hw_tx.why = absl::StrCat("with --tstamp hardware", cur, mapping);
  }
}

absl::StatusOr<InfoReport> Gather(const std::string& ifname) {
  absl::StatusOr<HwTimestamping> hw = HwTimestamping::Open(ifname);
  if (!hw.ok()) return hw.status();
  InfoReport r;
  r.ifname = ifname;
  r.ifindex = hw->ifindex();
  if (auto d = hw->GetDriverInfo(); d.ok()) r.driver = *d;
  absl::StatusOr<TsInfo> caps = hw->GetTsInfo();
  if (!caps.ok()) return caps.status();
  r.caps = *caps;
  absl::StatusOr<HwTstampConfig> cfg = hw->GetConfig();
  if (cfg.ok()) {
    r.config = *cfg;
  } else {
    r.config_error = std::string(cfg.status().message());
  }
  if (r.caps.phc_index >= 0) {
    PhcReport p;
    p.path = *PhcPath(r.caps.phc_index);
    absl::StatusOr<Phc> phc = Phc::Open(p.path);
    if (!phc.ok()) {
      p.error = std::string(phc.status().message());
    } else {
      absl::StatusOr<PhcOffset> off = phc->MeasureOffset();
      if (off.ok()) {
        p.offset = *off;
      } else {
        p.error = std::string(off.status().message());
      }
      absl::StatusOr<bool> frozen = phc->IsFrozen();
      if (frozen.ok()) p.frozen = *frozen;
    }
    r.phc = p;
  }
  DecideDelivery(r);
  ProbeTxTransport(r);
  return r;
}

std::string SignedSeconds(int64_t ns) {
  return absl::StrCat(ns < 0 ? "-" : "+", FormatStampNs(ns < 0 ? -ns : ns));
}

void PrintList(const char* title, const std::vector<std::string>& items) {
  std::printf("%s:%s\n", title, items.empty() ? " none" : "");
  for (const std::string& s : items) std::printf("\t%s\n", s.c_str());
}

void PrintText(const InfoReport& r) {
  std::printf("Interface %s (index %d, %s", r.ifname.c_str(), r.ifindex, DriverName(r).c_str());
  if (!r.driver.version.empty()) std::printf(" %s", r.driver.version.c_str());
  std::printf(")\n");
  PrintList("Capabilities", TsCapabilityNames(r.caps.so_timestamping));
  if (r.caps.phc_index >= 0) {
    std::printf("PTP Hardware Clock: %d\n", r.caps.phc_index);
  } else {
    std::printf("PTP Hardware Clock: none\n");
  }
  PrintList("Hardware Transmit Timestamp Modes", HwTxTypeNames(r.caps.tx_types));
  PrintList("Hardware Receive Filter Modes", HwRxFilterNames(r.caps.rx_filters));
  if (r.config) {
    std::printf("Hardware timestamping config: %s\n", FormatHwTstampConfig(*r.config).c_str());
  } else {
    std::printf("Hardware timestamping config: unavailable: %s\n", r.config_error.c_str());
  }
  if (!r.phc) {
    std::printf("PHC offset to system time: none (no PHC)\n");
  } else if (r.phc->offset) {
    const PhcOffset& o = *r.phc->offset;
    std::printf("PHC %s offset to system time: %s s ± %lld ns (%s, best of %d)%s\n",
                r.phc->path.c_str(), SignedSeconds(o.offset_ns()).c_str(),
                static_cast<long long>(o.uncertainty_ns),
                std::string(PhcOffsetMethodName(o.method)).c_str(), o.samples,
                r.phc->frozen.value_or(false) ? "; FROZEN: the PHC does not advance" : "");
  } else {
    std::printf("PHC %s: %s\n", r.phc->path.c_str(), r.phc->error.c_str());
  }
  std::printf("Stamps ringstamp delivers on %s:\n", r.ifname.c_str());
  auto line = [](const char* name, const Deliver& d) {
    std::printf("\t%-12s %s: %s\n", name, d.yes ? "yes" : "no", d.why.c_str());
  };
  line("hardware RX", r.hw_rx);
  line("hardware TX", r.hw_tx);
  line("software RX", r.sw_rx);
  line("software TX", r.sw_tx);
  std::printf("\t%-12s yes: this program's clock, every frame\n", "userspace");
  std::printf("TX stamps come back through %s\n", r.tx_transport_why.c_str());
}

nlohmann::json ToJson(const InfoReport& r) {
  nlohmann::json j;
  j["interface"] = r.ifname;
  j["ifindex"] = r.ifindex;
  j["driver"] = {{"name", r.driver.driver},
                 {"version", r.driver.version},
                 {"firmware", r.driver.firmware},
                 {"bus_info", r.driver.bus_info}};
  j["so_timestamping"] = r.caps.so_timestamping;
  j["capabilities"] = TsCapabilityNames(r.caps.so_timestamping);
  j["phc_index"] = r.caps.phc_index;
  j["tx_types"] = HwTxTypeNames(r.caps.tx_types);
  j["rx_filters"] = HwRxFilterNames(r.caps.rx_filters);
  if (r.config) {
    j["hwtstamp_config"] = {{"supported", true},
                            {"tx_type", HwTxTypeName(r.config->tx_type)},
                            {"rx_filter", HwRxFilterName(r.config->rx_filter)},
                            {"flags", r.config->flags}};
  } else {
    j["hwtstamp_config"] = {{"supported", false}, {"error", r.config_error}};
  }
  if (!r.phc) {
    j["phc"] = nullptr;
  } else {
    nlohmann::json p = {{"path", r.phc->path}};
    if (r.phc->offset) {
      const PhcOffset& o = *r.phc->offset;
      p["offset_ns"] = o.offset_ns();
      p["uncertainty_ns"] = o.uncertainty_ns;
      p["method"] = std::string(PhcOffsetMethodName(o.method));
      p["samples"] = o.samples;
    } else {
      p["error"] = r.phc->error;
    }
    if (r.phc->frozen) p["frozen"] = *r.phc->frozen;
    j["phc"] = p;
  }
  auto d = [](const Deliver& x) { return nlohmann::json{{"available", x.yes}, {"why", x.why}}; };
  j["delivers"] = {{"hardware_rx", d(r.hw_rx)},
                   {"hardware_tx", d(r.hw_tx)},
                   {"software_rx", d(r.sw_rx)},
                   {"software_tx", d(r.sw_tx)},
                   {"userspace", {{"available", true}, {"why", "this program's clock"}}}};
  j["tx_stamp_transport"] = {{"name", std::string(TxTransportName(r.tx_transport))},
                             {"why", r.tx_transport_why}};
  return j;
}

int RunInfo(const CommandArgs& args) {
  if (!args.positional.empty()) {
    std::fprintf(stderr, "ringstamp info: unexpected argument '%s'\n", args.positional[0].c_str());
    return kExitUsage;
  }
  const std::string ifname = absl::GetFlag(FLAGS_i);
  if (ifname.empty()) {
    std::fprintf(stderr, "ringstamp info: -i IFACE is required\n");
    return kExitUsage;
  }
  absl::StatusOr<InfoReport> r = Gather(ifname);
  if (!r.ok()) {
    std::fprintf(stderr, "ringstamp info: %s\n", std::string(r.status().message()).c_str());
    return kExitFailure;
  }
  if (absl::GetFlag(FLAGS_json)) {
    PrintJsonLine("info", ToJson(*r));
  } else {
    PrintText(*r);
  }
  return kExitOk;
}

}  // namespace

RINGSTAMP_COMMAND(info, "info", "timestamping capabilities of an interface (reads, never changes)",
                  (std::vector<std::string>{"i", "json", "label"}), RunInfo);

}  // namespace ringstamp::app
