#include "apps/common_flags.h"

#include "absl/flags/flag.h"

ABSL_FLAG(std::string, i, "", "network interface to use, e.g. eth1");
ABSL_FLAG(bool, json, false, "print JSON instead of text");
ABSL_FLAG(ringstamp::app::FlagSeconds, duration, {},
          "stop after this long: seconds or with a unit (10, 10s, 250ms, 2m; 0: no limit)");
ABSL_FLAG(int64_t, c, 0, "stop after this many packets, also --count (0: no limit)");
ABSL_FLAG(int64_t, count, 0, "number of packets or probes to send, also -c (0: no limit)");
ABSL_FLAG(int32_t, workers, 1, "worker threads, one per CPU");
ABSL_FLAG(std::string, tstamp, "auto", "timestamp source: auto, hardware or software");
ABSL_FLAG(std::string, vlan, "", "VLAN stack, outer first: ID or ID,ID (QinQ)");
ABSL_FLAG(bool, q, false, "quiet: no per-packet lines");
ABSL_FLAG(bool, immediate, false, "hand each frame over as it lands (TPACKET_V2 ring)");
ABSL_FLAG(int32_t, size, 0,
          "gen: Ethernet frame bytes without FCS (default 60); probe client: UDP payload bytes "
          "(44 minimum; default 72, with stamp-source TLVs), with --mode icmp echo data bytes "
          "(16 to 1472 over IPv4, 1452 over IPv6; default 56)");
ABSL_FLAG(std::string, tap, "",
          "create this TAP device and use it instead of -i: the far end is this host's own stack");
ABSL_FLAG(std::string, tap_ip, "", "address (ADDR/LEN) the host's stack gets on the --tap device");
ABSL_FLAG(std::vector<std::string>, label, {},
          "KEY=VALUE added to every JSON line's labels (repeat the flag or comma-separate)");
