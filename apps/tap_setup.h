// tap_setup.h — `--tap NAME --tap-ip ADDR/LEN`: the TAP port a command uses instead of `-i IFACE`.
//
// Example:
// Given: #include "ringstamp/engine/engine_options.h"
// Given: EngineOptions& engine_options
//   RS_ASSIGN_OR_RETURN(auto tap, MaybeCreateTap(/*queues=*/1));   // nullptr without --tap
//   if (tap) engine_options.tap = tap.get(), engine_options.ifname = tap->name();
//
// The device is created in the caller's network namespace with the host-side
// address given, frames the host sends on it carry kernel software stamps
// (TapRxSource::kPacketRing), and it is removed when the port is destroyed
// (a killed process's TAP goes with its file descriptors). Main thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "ringstamp/ring/tap_port.h"

namespace ringstamp::app {

// Checks -i / --tap exclusivity; returns the interface name to use.
absl::StatusOr<std::string> PortName();
absl::StatusOr<std::unique_ptr<TapPort>> MaybeCreateTap(uint32_t queues);

}  // namespace ringstamp::app
