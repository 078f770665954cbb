#include "ringstamp/ring/bpf_filter.h"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <initializer_list>
#include <string>
#include <vector>

using namespace ringstamp;

namespace {

// Ethernet (+ optional 802.1Q tag) + IPv4 + UDP, 20 bytes of payload.
std::vector<std::byte> UdpFrame(uint16_t dst_port, int vlan_id = -1) {
  // Byte by byte: GCC 12 at -O3 reports a false -Warray-bounds for vector::insert of an
  // initializer list here.
  std::vector<std::byte> out;
  out.reserve(80);
  auto put = [&out](std::initializer_list<uint8_t> bytes) {
    for (uint8_t b : bytes) out.push_back(std::byte{b});
  };
  put({0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1});
  if (vlan_id >= 0) {
    put({0x81, 0x00, static_cast<uint8_t>(vlan_id >> 8), static_cast<uint8_t>(vlan_id & 0xff)});
  }
  put({0x08, 0x00});
  put({0x45, 0, 0, 48, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2});
  put({0x30, 0x39, static_cast<uint8_t>(dst_port >> 8), static_cast<uint8_t>(dst_port & 0xff), 0,
       28, 0, 0});
  for (int i = 0; i < 20; ++i) out.push_back(std::byte{0xab});
  return out;
}

}  // namespace

TEST_CASE("bpf: a good expression compiles and matches in userspace") {
  auto prog =
      BpfProgram::Compile("udp dst port 53", {.snaplen = 2048, .target = BpfTarget::kOffline});
  REQUIRE_MESSAGE(prog.ok(), prog.status().ToString());
  CHECK(prog->size() > 1);
  CHECK(prog->expression() == "udp dst port 53");
  CHECK_FALSE(prog->uses_vlan_extensions());
  CHECK(prog->RunOffline(UdpFrame(53)) == 2048);  // accept value = snaplen
  CHECK(prog->RunOffline(UdpFrame(54)) == 0);
  CHECK(prog->Disassemble().find("ret") != std::string::npos);
}

TEST_CASE("bpf: a bad expression gives libpcap's own message") {
  auto prog = BpfProgram::Compile("tcp port");
  REQUIRE_FALSE(prog.ok());
  CHECK(prog.status().code() == absl::StatusCode::kInvalidArgument);
  const std::string msg(prog.status().message());
  CHECK_MESSAGE(msg.rfind("bad filter 'tcp port': ", 0) == 0, msg);
  CHECK_MESSAGE(msg.find("syntax error") != std::string::npos, msg);

  auto unknown = BpfProgram::Compile("host no.such.host.invalid");
  REQUIRE_FALSE(unknown.ok());
  CHECK(std::string(unknown.status().message()).find("no.such.host.invalid") != std::string::npos);
}

TEST_CASE("bpf: snaplen out of range is rejected before libpcap sees it") {
  CHECK_FALSE(BpfProgram::Compile("udp", {.snaplen = 0}).ok());
  CHECK_FALSE(BpfProgram::Compile("udp", {.snaplen = 262145}).ok());
  CHECK(BpfProgram::Compile("udp", {.snaplen = 262144}).ok());
}

TEST_CASE("bpf: an empty expression accepts every frame, DropAll none") {
  auto all = BpfProgram::Compile("", {.snaplen = 96});
  REQUIRE(all.ok());
  CHECK(all->RunOffline(UdpFrame(1)) == 96);
  CHECK(all->RunOffline(UdpFrame(2, 7)) == 96);
  CHECK(BpfProgram::DropAll().size() == 1);
  CHECK(BpfProgram::DropAll().RunOffline(UdpFrame(1)) == 0);
  CHECK(BpfProgram::AcceptAll(128).RunOffline(UdpFrame(1)) == 128);
}

TEST_CASE("bpf: offline 'vlan' tests the tag in the frame bytes") {
  auto prog = BpfProgram::Compile("vlan 100 and udp dst port 53", {.target = BpfTarget::kOffline});
  REQUIRE_MESSAGE(prog.ok(), prog.status().ToString());
  CHECK_FALSE(prog->uses_vlan_extensions());
  CHECK(prog->RunOffline(UdpFrame(53, 100)) > 0);
  CHECK(prog->RunOffline(UdpFrame(53, 101)) == 0);
  CHECK(prog->RunOffline(UdpFrame(53)) == 0);
}

TEST_CASE("bpf: a socket-target program without VLAN tests needs no capture handle") {
  auto sock = BpfProgram::Compile("udp port 862", {.interface = "rs-no-such-if0"});
  auto off = BpfProgram::Compile("udp port 862", {.target = BpfTarget::kOffline});
  REQUIRE_MESSAGE(sock.ok(), sock.status().ToString());
  REQUIRE(off.ok());
  CHECK(sock->Disassemble() == off->Disassemble());
}

TEST_CASE("bpf: a socket-target VLAN test without a usable capture handle fails clearly") {
  auto prog = BpfProgram::Compile("vlan 100", {.interface = "rs-no-such-if0"});
  REQUIRE_FALSE(prog.ok());
  CHECK(prog.status().code() == absl::StatusCode::kFailedPrecondition);
  const std::string msg(prog.status().message());
  CHECK_MESSAGE(msg.find("pcap_activate(rs-no-such-if0)") != std::string::npos, msg);
  CHECK_MESSAGE(msg.find("'vlan 100'") != std::string::npos, msg);
}

TEST_CASE("bpf: AttachBpf and DetachBpf on a socket, clear error on a non-socket") {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(s >= 0);
  auto prog = BpfProgram::Compile("udp");
  REQUIRE(prog.ok());
  CHECK(AttachBpf(s, BpfProgram::DropAll()).ok());
  CHECK(AttachBpf(s, *prog).ok());
  CHECK(DetachBpf(s).ok());
  CHECK(DetachBpf(s).ok());  // nothing attached is fine
  close(s);

  int p[2];
  REQUIRE(pipe(p) == 0);
  absl::Status st = AttachBpf(p[0], *prog);
  CHECK_FALSE(st.ok());
  const std::string msg(st.message());
  CHECK_MESSAGE(msg.find("SO_ATTACH_FILTER") != std::string::npos, msg);
  CHECK_MESSAGE(msg.find("'udp'") != std::string::npos, msg);
  close(p[0]);
  close(p[1]);
}
