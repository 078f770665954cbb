// pcap_records.h — reads a classic pcap file written by another program (tcpdump -w with
// --time-stamp-precision=nano, or micro) into records, and finds the STAMP packets in them,
// so integration tests can hold ringstamp's stamps against an outside capture.
//
//   auto recs = ReadPcapRecords("/tmp/a.pcap");          // absl::StatusOr<std::vector<...>>
//   for (const PcapRecord& r : *recs)
//     if (auto s = StampSeqOf(r, /*reflector_packet=*/true)) by_seq[*s] = r.ns;
//
// Own parser on purpose (no libpcap): the file is the other program's word. Any thread;
// allocates (test code).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace ringstamp::testing {

struct PcapRecord {
  int64_t ns = 0;  // Unix ns (micro-precision files scaled up)
  std::vector<uint8_t> bytes;
};

// Every record of a little- or big-endian, micro- or nanosecond pcap file of Ethernet
// frames. A record cut short by the end of the file is left out.
absl::StatusOr<std::vector<PcapRecord>> ReadPcapRecords(const std::string& path);

// For an untagged Ethernet / IPv4 / UDP frame to or from port 862 (STAMP): the session
// sender's sequence number — bytes 0..3 of the payload in a sender packet, 24..27 in a
// reflector packet (RFC 8762 §4.2.1, §4.3.1) — and which of the two it is (a frame to port
// 862 is a sender packet, from 862 a reflector packet). nullopt for anything else.
struct StampFrame {
  uint32_t sender_seq = 0;
  bool reflector_packet = false;
};
std::optional<StampFrame> StampFrameOf(const PcapRecord& record);

}  // namespace ringstamp::testing
