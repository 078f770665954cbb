#!/usr/bin/python3
"""Writes the fuzz targets' seed corpora (tests/fuzz/corpus/<target>/) from real frames built
with scapy and control messages laid out as the kernel lays them out. Run it again after
changing it; the files it writes are committed (a few KiB per target)."""
import os
import struct
import sys

from scapy.all import (ARP, ICMP, IP, IPv6, UDP, Dot1Q, Ether, ICMPv6EchoRequest,
                       ICMPv6MLQuery, ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptDstLLAddr,
                       ICMPv6NDOptSrcLLAddr, Raw, raw)
from scapy.contrib.igmp import IGMP

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
MAC_A, MAC_B = "02:00:00:00:00:01", "02:00:00:00:00:02"


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(bytes(data))


def stamp_tlv_tail():
    # RFC 8972: Timestamp Information (type 3) and Follow-Up Telemetry (type 7), with zero values.
    ti = struct.pack("!BBH", 0x80, 3, 4) + b"\0" * 4
    fu = struct.pack("!BBH", 0x80, 7, 16) + b"\0" * 16
    unknown = struct.pack("!BBH", 0x80, 200, 4) + b"abcd"
    return ti + fu + unknown


def main():
    eth = Ether(src=MAC_A, dst=MAC_B)
    frames = {
        "udp4": eth / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=4000, dport=862) / Raw(b"x" * 44),
        "udp6": eth / IPv6(src="fd00::1", dst="fd00::2") / UDP(sport=4000, dport=862) / Raw(b"y" * 44),
        "qinq": Ether(src=MAC_A, dst=MAC_B, type=0x88a8) / Dot1Q(vlan=100) / Dot1Q(vlan=200)
        / IP(src="10.0.0.1", dst="10.0.0.2") / UDP() / Raw(b"z" * 8),
        "icmp4": eth / IP(src="10.0.0.1", dst="10.0.0.2") / ICMP() / Raw(b"p" * 16),
        "icmp6": eth / IPv6(src="fd00::1", dst="fd00::2") / ICMPv6EchoRequest(data=b"q" * 16),
        "arp": Ether(src=MAC_A, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=MAC_A, psrc="10.0.0.1",
                                                              pdst="10.0.0.2"),
    }
    for name, f in frames.items():
        write("fuzz_parse_frame", name, raw(f))
    # Host protocols: first byte picks the parser (0 ARP, 1 IGMP, 2 ICMPv4, 3+ IPv6).
    write("fuzz_host_protocols", "arp", b"\x00" + raw(ARP(op=2, hwsrc=MAC_B, psrc="10.0.0.2",
                                                              hwdst=MAC_A, pdst="10.0.0.1")))
    write("fuzz_host_protocols", "igmp", b"\x01" + raw(IGMP(type=0x11, gaddr="0.0.0.0")))
    write("fuzz_host_protocols", "icmp4", b"\x02" + raw(ICMP() / Raw(b"p" * 16)))
    ns = IPv6(src="fd00::1", dst="ff02::1:ff00:2") / ICMPv6ND_NS(tgt="fd00::2") / \
        ICMPv6NDOptSrcLLAddr(lladdr=MAC_A)
    na = IPv6(src="fd00::2", dst="fd00::1") / ICMPv6ND_NA(tgt="fd00::2", R=0, S=1, O=1) / \
        ICMPv6NDOptDstLLAddr(lladdr=MAC_B)
    mld = IPv6(src="fe80::1", dst="ff02::1", hlim=1) / ICMPv6MLQuery()
    write("fuzz_host_protocols", "ns", b"\x03" + raw(ns))
    write("fuzz_host_protocols", "na", b"\x03" + raw(na))
    write("fuzz_host_protocols", "mld", b"\x03" + raw(mld))
    # STAMP TLVs: a request tail as the client sends it.
    write("fuzz_stamp_tlvs", "tlvs", stamp_tlv_tail())
    write("fuzz_stamp_tlvs", "padding", b"\0" * 28)
    # Control messages: SCM_TIMESTAMPING (3 timespecs) then an error-queue report.
    def cmsg(level, typ, payload):
        hdr = struct.pack("=QiI", 16 + len(payload), level, typ)
        pad = (-len(payload)) % 8
        return hdr + payload + b"\0" * pad
    ts = struct.pack("=6q", 1700000000, 1234, 0, 0, 0, 0)
    ee = struct.pack("=IBBBBII", 42, 4, 0, 0, 0, 0, 7)  # ENOMSG, SO_EE_ORIGIN_TIMESTAMPING
    write("fuzz_cmsgs", "tx_stamp", cmsg(1, 37, ts) + cmsg(263, 16, ee))
    write("fuzz_cmsgs", "rx_stamp", cmsg(1, 37, ts))
    # A TX timestamp CQE32: user_data, res, flags (F_MORE), then the timespec.
    write("fuzz_tx_cqe", "stamp", struct.pack("=QiIqq", 1, 5, 2, 1700000000, 1234))
    write("fuzz_tx_cqe", "end", struct.pack("=QiIqq", 1, -95, 0, 0, 0))
    # Operation sequences: a few of each kind.
    write("fuzz_tx_stamp_tracker", "ops", bytes([1, 0, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 2, 5, 3, 0, 0]))
    write("fuzz_neighbor_cache", "ops", bytes([1, 1, 5, 0, 2, 3, 1, 0, 5, 0, 0, 2, 5, 9, 0, 3, 10, 6, 5]))
    # A V3 block header with one small frame (version, offset_to_priv, then hdr_v1).
    block = bytearray(256)
    struct.pack_into("=III", block, 0, 1, 0, 0)
    struct.pack_into("=IIIQ", block, 8, 1, 1, 48, 0)  # status, num_pkts, offset_to_first
    write("fuzz_v3_block", "one_frame", bytes(block))
    return 0


if __name__ == "__main__":
    sys.exit(main())
