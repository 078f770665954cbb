#include "tests/support/pcap_records.h"

#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace ringstamp::testing {
namespace {

uint32_t Get32(const uint8_t* p, bool swap) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return swap ? __builtin_bswap32(v) : v;
}

uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t Be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

}  // namespace

absl::StatusOr<std::vector<PcapRecord>> ReadPcapRecords(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::vector<uint8_t> data;
  uint8_t buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) data.insert(data.end(), buf, buf + n);
  std::fclose(f);
  if (data.size() < 24) return absl::DataLossError(absl::StrCat(path, ": no pcap header"));
  uint32_t magic;
  std::memcpy(&magic, data.data(), 4);
  bool swap = false, nano = false;
  switch (magic) {
    case 0xa1b2c3d4:
      break;
    case 0xa1b23c4d:
      nano = true;
      break;
    case 0xd4c3b2a1:
      swap = true;
      break;
    case 0x4d3cb2a1:
      swap = nano = true;
      break;
    default:
      return absl::DataLossError(absl::StrCat(path, ": not a classic pcap file"));
  }
  if (Get32(data.data() + 20, swap) != 1) {
    return absl::DataLossError(absl::StrCat(path, ": link type is not Ethernet"));
  }
  std::vector<PcapRecord> out;
  size_t off = 24;
  while (data.size() - off >= 16) {
    const uint8_t* h = data.data() + off;
    const int64_t sec = Get32(h, swap), frac = Get32(h + 4, swap);
    const uint32_t caplen = Get32(h + 8, swap);
    if (data.size() - off - 16 < caplen) break;
    PcapRecord r;
    r.ns = sec * 1'000'000'000 + (nano ? frac : frac * 1000);
    r.bytes.assign(h + 16, h + 16 + caplen);
    out.push_back(std::move(r));
    off += 16 + caplen;
  }
  return out;
}

std::optional<StampFrame> StampFrameOf(const PcapRecord& record) {
  const std::vector<uint8_t>& b = record.bytes;
  if (b.size() < 14 + 20 + 8 || Be16(&b[12]) != 0x0800) return std::nullopt;
  const size_t ihl = (b[14] & 0x0f) * 4u;
  if ((b[14] >> 4) != 4 || ihl < 20 || b[14 + 9] != 17 || b.size() < 14 + ihl + 8) {
    return std::nullopt;
  }
  const uint8_t* udp = &b[14 + ihl];
  const size_t payload = 14 + ihl + 8;
  const uint16_t sport = Be16(udp), dport = Be16(udp + 2);
  if (dport == 862 && b.size() >= payload + 4) {
    return StampFrame{Be32(&b[payload]), false};
  }
  if (sport == 862 && b.size() >= payload + 28) {
    return StampFrame{Be32(&b[payload + 24]), true};
  }
  return std::nullopt;
}

}  // namespace ringstamp::testing
