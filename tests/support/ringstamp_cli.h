// ringstamp_cli.h — command lines for the `ringstamp` binary on a Testbed, shared by the
// capture and gen integration tests. The binary's path comes from the caller (netns
// tests have it as RINGSTAMP_BIN).
//
//   pid_t cap = StartCapture(kBin, tb, "--json -c 100", "/tmp/x.json");   // in ns_b
//   auto gen = tb.Run(tb.ns_a(), GenCommand(kBin, tb, "--count 100"));
//   CHECK(WaitPid(cap, 30) == 0);                                         // child_process.h
//
// Any thread. StartCapture forks; reap the child with WaitPid.
#pragma once

#include <sys/types.h>

#include <string>

#include "tests/support/netns_testbed.h"

namespace ringstamp::testing {

// `<bin> gen -i <if_a> --dst-mac <mac_b> --src-ip <ip4_a> --dst-ip <ip4_b> <extra>`: IPv4
// UDP from ns_a to ns_b; run it in ns_a.
std::string GenCommand(const std::string& bin, const Testbed& tb, const std::string& extra);

// `<bin> capture -i <if_b> <args>` in ns_b, in the background, stdout to `out`, stderr to
// `out`.err; the pid is ringstamp's own (a signal sent to it reaches the capture).
pid_t StartCapture(const std::string& bin, const Testbed& tb, const std::string& args,
                   const std::string& out);

}  // namespace ringstamp::testing
