// Unit: TAP option checks, address parsing, the port's packet-type view and the
// prebuilt RTM_DELLINK request of the signal path. No root, no network.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <array>
#include <cstring>
#include <vector>

#include "ringstamp/ring/netlink_link.h"
#include "ringstamp/ring/tap_port.h"

using namespace ringstamp;

TEST_CASE("tap: ParseIpPrefix reads IPv4 and IPv6 prefixes and names what is wrong") {
  auto v4 = ParseIpPrefix("192.168.0.100/24");
  REQUIRE(v4.ok());
  CHECK(v4->family == AF_INET);
  CHECK(v4->prefix_len == 24);
  CHECK(v4->addr_len() == 4);
  CHECK(v4->addr[0] == 192);
  CHECK(v4->addr[3] == 100);
  CHECK(v4->ToString() == "192.168.0.100/24");

  auto v6 = ParseIpPrefix("fd00::100/64");
  REQUIRE(v6.ok());
  CHECK(v6->family == AF_INET6);
  CHECK(v6->prefix_len == 64);
  CHECK(v6->addr_len() == 16);
  CHECK(v6->addr[0] == 0xfd);
  CHECK(v6->addr[14] == 0x01);
  CHECK(v6->ToString() == "fd00::100/64");

  CHECK(ParseIpPrefix("10.0.0.1/0").ok());
  CHECK(ParseIpPrefix("10.0.0.1/32").ok());
  CHECK(ParseIpPrefix("::1/128").ok());

  struct Bad {
    const char* text;
    const char* says;
  };
  for (const Bad& b :
       {Bad{"192.168.0.100", "no prefix length"}, Bad{"192.168.0.100/", "0 to 32"},
        Bad{"192.168.0.100/33", "0 to 32"}, Bad{"fd00::1/129", "0 to 128"},
        Bad{"192.168.0.100/24x", "0 to 32"}, Bad{"192.168.0.300/24", "not an IPv4"},
        Bad{"tap00/24", "not an IPv4"}, Bad{"/24", "not an IPv4"}, Bad{"10.0.0.1/-1", "0 to 32"}}) {
    CAPTURE(b.text);
    auto r = ParseIpPrefix(b.text);
    REQUIRE_FALSE(r.ok());
    CHECK(absl::IsInvalidArgument(r.status()));
    const std::string msg(r.status().message());
    CHECK_MESSAGE(msg.find(b.says) != std::string::npos, msg);
  }
}

TEST_CASE("tap: ValidateTapOptions accepts sane options and names each bad one") {
  TapOptions ok{.name = "tap00", .addresses = {"192.168.0.100/24", "fd00::100/64"}};
  CHECK(ValidateTapOptions(ok).ok());
  ok.queues = 4;
  ok.mtu = 9000;
  ok.rx_source = TapRxSource::kPacketRing;
  CHECK(ValidateTapOptions(ok).ok());

  struct Case {
    const char* label;
    TapOptions options;
    const char* says;
  };
  const std::vector<Case> cases = {
      {"empty name", {.name = ""}, "no device name"},
      {"long name", {.name = "a-very-long-tap-name"}, "longer than 15"},
      {"slash", {.name = "tap/0"}, "not allowed"},
      {"percent", {.name = "tap%d"}, "not allowed"},
      {"zero queues", {.name = "tap0", .queues = 0}, "1 to 256"},
      {"too many queues", {.name = "tap0", .queues = 257}, "1 to 256"},
      {"small mtu", {.name = "tap0", .mtu = 40}, "68..65535"},
      {"rx depth", {.name = "tap0", .rx_depth = 0}, "rx_depth"},
      {"tx depth", {.name = "tap0", .tx_depth = 5000}, "tx_depth"},
      {"frame size", {.name = "tap0", .frame_size = 20}, "frame_size"},
      {"ring frames",
       {.name = "tap0", .rx_source = TapRxSource::kPacketRing, .ring_frames = 4},
       "ring_frames"},
      {"tun path", {.name = "tap0", .tun_path = ""}, "tun_path"},
      {"address", {.name = "tap0", .addresses = {"192.168.0.1"}}, "tap0: address"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.label);
    absl::Status s = ValidateTapOptions(c.options);
    REQUIRE_FALSE(s.ok());
    CHECK(absl::IsInvalidArgument(s));
    const std::string msg(s.message());
    CHECK_MESSAGE(msg.find(c.says) != std::string::npos, msg);
  }
}

TEST_CASE("tap: frames from the host are typed by destination MAC, never as outgoing") {
  auto frame = [](std::array<uint8_t, 6> dst) {
    std::vector<std::byte> f(60);
    std::memcpy(f.data(), dst.data(), 6);
    return f;
  };
  CHECK(TapPacketType(frame({0x02, 0, 0, 0, 0, 1})) == PACKET_HOST);
  CHECK(TapPacketType(frame({0xff, 0xff, 0xff, 0xff, 0xff, 0xff})) == PACKET_BROADCAST);
  CHECK(TapPacketType(frame({0x33, 0x33, 0, 0, 0, 1})) == PACKET_MULTICAST);
  CHECK(TapPacketType(frame({0x01, 0x00, 0x5e, 0, 0, 1})) == PACKET_MULTICAST);
  CHECK(TapPacketType(frame({0xff, 0xff, 0xff, 0xff, 0xff, 0xfe})) == PACKET_MULTICAST);
  CHECK(TapPacketType(std::vector<std::byte>(3, std::byte{0xff})) == PACKET_HOST);
  CHECK(std::string(TapRxSourceName(TapRxSource::kTapRead)) == "tap-read");
  CHECK(std::string(TapRxSourceName(TapRxSource::kPacketRing)) == "packet-ring");
}

TEST_CASE("tap: the signal path's RTM_DELLINK request is complete and fixed-size") {
  std::array<std::byte, 64> buf{};
  const size_t len = NetlinkLink::BuildDeleteLinkRequest(42, 7, buf);
  REQUIRE(len == sizeof(nlmsghdr) + sizeof(ifinfomsg));
  nlmsghdr h;
  std::memcpy(&h, buf.data(), sizeof(h));
  CHECK(h.nlmsg_len == len);
  CHECK(h.nlmsg_type == RTM_DELLINK);
  CHECK(h.nlmsg_flags == NLM_F_REQUEST);
  CHECK(h.nlmsg_seq == 7);
  ifinfomsg ifi;
  std::memcpy(&ifi, buf.data() + sizeof(h), sizeof(ifi));
  CHECK(ifi.ifi_index == 42);
  CHECK(ifi.ifi_family == AF_UNSPEC);

  std::array<std::byte, 16> small{};
  CHECK(NetlinkLink::BuildDeleteLinkRequest(42, 7, small) == 0);
}
