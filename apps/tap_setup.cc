#include "apps/tap_setup.h"

#include "absl/flags/flag.h"
#include "apps/common_flags.h"

namespace ringstamp::app {

absl::StatusOr<std::string> PortName() {
  const std::string i = absl::GetFlag(FLAGS_i), tap = absl::GetFlag(FLAGS_tap);
  if (!i.empty() && !tap.empty()) {
    return absl::InvalidArgumentError("give -i IFACE or --tap NAME, not both");
  }
  if (i.empty() && tap.empty()) {
    return absl::InvalidArgumentError("-i IFACE (or --tap NAME --tap-ip ADDR/LEN) is required");
  }
  if (tap.empty() && !absl::GetFlag(FLAGS_tap_ip).empty()) {
    return absl::InvalidArgumentError("--tap-ip goes with --tap NAME");
  }
  return i.empty() ? tap : i;
}

absl::StatusOr<std::unique_ptr<TapPort>> MaybeCreateTap(uint32_t queues) {
  const std::string tap = absl::GetFlag(FLAGS_tap);
  if (tap.empty()) return std::unique_ptr<TapPort>();
  TapOptions o;
  o.name = tap;
  if (const std::string ip = absl::GetFlag(FLAGS_tap_ip); !ip.empty()) o.addresses.push_back(ip);
  o.queues = queues;
  o.rx_source = TapRxSource::kPacketRing;  // kernel software stamps on what the host sends
  return TapPort::Create(o);
}

}  // namespace ringstamp::app
