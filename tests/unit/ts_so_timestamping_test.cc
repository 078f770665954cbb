#include "ringstamp/timestamp/so_timestamping.h"

#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "ringstamp/common/fd.h"
#include "ringstamp/timestamp/kernel_compat.h"

using namespace ringstamp;

TEST_CASE("so_timestamping: flag names") {
  CHECK(TsFlagsToString(0) == "none");
  CHECK(TsFlagsToString(kTsTxSoftware | kTsRxSoftware | kTsSoftware) ==
        "tx_software|rx_software|software");
  CHECK(TsFlagsToString(1u << 30) == "bit30");
  CHECK(TsFlagEthtoolName(kTsRawHardware) == "hardware-raw-clock");
  CHECK(TsFlagEthtoolName(kTsTxSoftware) == "software-transmit");
}

TEST_CASE("so_timestamping: enable on a UDP socket and read the flags back") {
  UniqueFd fd(socket(AF_INET, SOCK_DGRAM, 0));
  REQUIRE(fd.valid());
  absl::Status st = EnableSocketTimestamping(fd.get(), kTsSoftwareRxTx, "udp");
  REQUIRE_MESSAGE(st.ok(), st.ToString());
  auto got = GetSocketTimestamping(fd.get());
  REQUIRE(got.ok());
  CHECK((*got & kTsSoftwareRxTx) == kTsSoftwareRxTx);
}

TEST_CASE("so_timestamping: errors name the call and the socket") {
  absl::Status st = EnableSocketTimestamping(-1, kTsSoftwareRxTx, "eth9");
  CHECK(!st.ok());
  CHECK(st.message().find("eth9: setsockopt SO_TIMESTAMPING") != absl::string_view::npos);
  CHECK(st.message().find("EBADF") != absl::string_view::npos);

  UniqueFd fd(socket(AF_INET, SOCK_DGRAM, 0));
  REQUIRE(fd.valid());
  // Bits the kernel does not know are rejected with EINVAL and explained.
  st = EnableSocketTimestamping(fd.get(), kTsSoftware | (1u << 30), "udp");
  CHECK(!st.ok());
  CHECK(st.message().find("EINVAL") != absl::string_view::npos);
  CHECK(st.message().find("kernel rejected") != absl::string_view::npos);

  // PACKET_TIMESTAMP only takes the three clock bits, and only on packet sockets.
  st = SetPacketTimestamp(fd.get(), kTsTxSoftware, "udp");
  CHECK(absl::IsInvalidArgument(st));
  st = SetPacketTimestamp(fd.get(), kTsRawHardware, "udp");
  CHECK(!st.ok());
  CHECK(st.message().find("PACKET_TIMESTAMP") != absl::string_view::npos);
}

TEST_CASE("so_timestamping: per-send cmsgs carry only TX record flags, and the key") {
  std::byte buf[kTxTimestampCmsgWithKeySpace];
  CHECK(BuildTxTimestampCmsg(std::span(buf, kTxTimestampCmsgSpace - 1), kTsTxSoftware) == 0);
  size_t n = BuildTxTimestampCmsg(buf, kTsTxSoftware | kTsTxHardware | kTsRxSoftware);
  REQUIRE(n == CMSG_SPACE(4));
  cmsghdr h;
  std::memcpy(&h, buf, sizeof(h));
  CHECK(h.cmsg_level == SOL_SOCKET);
  CHECK(h.cmsg_type == SO_TIMESTAMPING_OLD);
  CHECK(h.cmsg_len == CMSG_LEN(4));
  uint32_t v;
  std::memcpy(&v, buf + CMSG_LEN(0), 4);
  CHECK(v == (kTsTxSoftware | kTsTxHardware));

  n = BuildTxTimestampCmsgWithKey(buf, kTsTxSoftware, 0xabcdef01);
  REQUIRE(n == 2 * CMSG_SPACE(4));
  std::memcpy(&h, buf + CMSG_SPACE(4), sizeof(h));
  CHECK(h.cmsg_type == SCM_TS_OPT_ID);
  std::memcpy(&v, buf + CMSG_SPACE(4) + CMSG_LEN(0), 4);
  CHECK(v == 0xabcdef01u);
}
