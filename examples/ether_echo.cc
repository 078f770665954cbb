// ether_echo — an Ethernet endpoint with a VLAN stack (QinQ too) that echoes frames.
//
//   ether_echo -i IFACE [--mac MAC] [--vlan 100,200] [--ethertype 0x88b5] [--count N]
//
// Every frame of ETHERTYPE sent to MAC inside the VLAN stack (outer S-tag 0x88a8 VID 100,
// inner C-tag 0x8100 VID 200 for `--vlan 100,200`; one C-tag for `--vlan 100`; untagged
// without --vlan) goes back to its sender with the same stack and payload, and a line:
//   echo 46 bytes from 02:52:53:00:00:02 in vlan 100/200, ethertype 0x88b5, software stamp
// Frames in another stack or with another EtherType are not this endpoint's and never reach
// it. Stops after N echoes (--count) or at SIGINT/SIGTERM.
//
// What it shows: an EtherConn owning a non-IP EtherType in a QinQ stack, no OS VLAN
// interface created; the handler runs on the worker thread with a zero-copy view and
// writes the echo from there (straight into the TX ring).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "endpoint.h"
#include "example_args.h"

namespace {

using namespace ringstamp;

constexpr char kUsage[] =
    "usage: ether_echo -i IFACE [--mac MAC] [--vlan OUTER[,INNER]] [--ethertype 0x88b5] "
    "[--count N]\n";

// "100" → one C-tag; "100,200" → S-tag 100 outside, C-tag 200 inside.
std::optional<VlanStack> ParseStack(const std::string& text) {
  VlanStack stack;
  if (text.empty()) return stack;
  std::vector<long> vids;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string part =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    char* end = nullptr;
    long vid = std::strtol(part.c_str(), &end, 10);
    if (part.empty() || *end != '\0' || vid < 1 || vid > 4094) return std::nullopt;
    vids.push_back(vid);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (vids.size() > 2) return std::nullopt;
  for (size_t i = 0; i < vids.size(); ++i) {
    const bool outer_of_two = vids.size() == 2 && i == 0;
    stack.Push(VlanTag::Make(outer_of_two ? kEtherTypeQinQ : kEtherTypeVlan,
                             static_cast<uint16_t>(vids[i])));
  }
  return stack;
}

std::string StackText(const VlanStack& s) {
  if (s.empty()) return "untagged";
  std::string t = "vlan ";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i > 0) t += '/';
    t += std::to_string(s[i].vid());
  }
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  examples::Args a(argc, argv, 1);
  const std::string ifname = a.Required("-i");
  const std::string mac = a.Get("--mac");
  const std::string vlan = a.Get("--vlan");
  const long ethertype = std::strtol(a.Get("--ethertype", "0x88b5").c_str(), nullptr, 0);
  const long count = a.Int("--count", 0, 0, 1'000'000'000);
  if (!a.Rest().empty() || !a.ok()) return a.Usage(kUsage);
  std::optional<VlanStack> stack = ParseStack(vlan);
  if (!stack) {
    std::fprintf(stderr, "ether_echo: --vlan %s: want one or two VIDs 1..4094, e.g. 100,200\n%s",
                 vlan.c_str(), kUsage);
    return 2;
  }
  if (ethertype < 0x0600 || ethertype > 0xffff || IsVlanTpid(static_cast<uint16_t>(ethertype))) {
    std::fprintf(stderr,
                 "ether_echo: --ethertype: want an EtherType 0x0600..0xffff, not a VLAN TPID\n");
    return 2;
  }

  sigset_t stop = examples::BlockStopSignals();
  auto ep = examples::OpenEndpoint({.ifname = ifname,
                                    .mac = mac,
                                    .vlans = *stack,
                                    .ethertypes = {static_cast<uint16_t>(ethertype)}});
  if (!ep.ok()) {
    std::fprintf(stderr, "ether_echo: %s\n", std::string(ep.status().message()).c_str());
    return 1;
  }
  EtherConn& conn = *(*ep)->conn;
  std::atomic<long> echoed{0};
  // On the worker thread: the frame's payload (after the tags) back to its sender.
  conn.SetHandler([&](const L2Packet& p) {
    if (absl::Status s = conn.Write(p.payload, p.ethertype, p.src); !s.ok()) {
      std::fprintf(stderr, "ether_echo: %s\n", std::string(s.message()).c_str());
      return;
    }
    const std::optional<Stamp> t = p.stamps.BestSystem();
    std::printf("echo %zu bytes from %s in %s, ethertype 0x%04x, %s stamp\n", p.payload.size(),
                p.src.ToString().c_str(), StackText(p.vlans).c_str(), p.ethertype,
                t ? std::string(StampSourceName(t->source)).c_str() : "no");
    std::fflush(stdout);
    if (++echoed == count) kill(getpid(), SIGTERM);  // the main thread's sigwait ends the run
  });
  std::fprintf(stderr, "ether_echo: echoing ethertype 0x%04lx to %s in %s on %s\n", ethertype,
               conn.mac().ToString().c_str(), StackText(*stack).c_str(), ifname.c_str());
  int sig = 0;
  sigwait(&stop, &sig);
  conn.Close();  // after it returns no worker runs the handler (which uses `echoed`)
  std::fprintf(stderr, "ether_echo: %ld frames echoed\n", echoed.load());
  return 0;
}
