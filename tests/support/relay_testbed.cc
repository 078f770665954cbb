#include "tests/support/relay_testbed.h"

#include <doctest/doctest.h>

namespace ringstamp::testing {

RelayTestbed::RelayTestbed(const RelayTestbedOptions& options) {
  auto t = Testbed::Create();
  REQUIRE_MESSAGE(t.ok(), t.status().ToString());
  tb = std::move(*t);
  NetnsScope in(tb->ns_b());
  REQUIRE(in.ok());
  RelayOptions ro;
  ro.engine.ifname = options.ifname.empty() ? tb->if_b() : options.ifname;
  ro.engine.workers = options.workers;
  ro.engine.ring_budget_bytes = 8 << 20;
  ro.engine.rx_mode = RxMode::kImmediate;
  ro.engine.wait_mode = options.wait;
  auto r = PacketRelay::Create(ro);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  relay = std::move(*r);
}

RelayTestbed::~RelayTestbed() {
  if (relay) relay->Stop();
}

}  // namespace ringstamp::testing
