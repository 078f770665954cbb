#!/usr/bin/python3
"""Sends a mix of malformed and hostile frames at a STAMP reflector (issue 13's scapy mix):
  truncated  IPv4/UDP to port 862 whose IP total length runs past the frame
  ext6       IPv6 with a chain of 64 empty Destination Options headers, cut short
  short      UDP to port 862 with 20 bytes: too short for STAMP
  badtlv     a 44-byte STAMP request with a TLV whose length runs past the packet
usage: hostile_mix.py IFACE SRC_MAC DST_MAC SRC_IP4 DST_IP4 SRC_IP6 DST_IP6 COUNT
Prints "sent <kind> <n>" per kind."""
import sys

from scapy.all import IP, UDP, Ether, IPv6, IPv6ExtHdrDestOpt, Raw, conf, raw

conf.verb = 0
iface, smac, dmac, s4, d4, s6, d6, count = sys.argv[1:9]
count = int(count)
eth = Ether(src=smac, dst=dmac)

truncated = raw(eth / IP(src=s4, dst=d4, len=1400) / UDP(sport=4000, dport=862) / Raw(b"\0" * 60))
chain = IPv6ExtHdrDestOpt()
for _ in range(63):
    chain = chain / IPv6ExtHdrDestOpt()
ext6 = raw(eth / IPv6(src=s6, dst=d6) / chain / UDP(sport=4000, dport=862) / Raw(b"\0" * 8))
ext6 = ext6[:len(ext6) - 12]  # cut inside the last headers
short = raw(eth / IP(src=s4, dst=d4) / UDP(sport=4001, dport=862) / Raw(b"\1" * 20))
tlv = bytes([0x80, 3, 0, 200]) + b"\0" * 8  # Timestamp Information claiming 200 bytes
badtlv = raw(eth / IP(src=s4, dst=d4) / UDP(sport=4002, dport=862) / Raw(b"\0" * 44 + tlv))

s = conf.L2socket(iface=iface)
for name, frame in (("truncated", truncated), ("ext6", ext6), ("short", short), ("badtlv", badtlv)):
    for _ in range(count):
        s.send(frame)
    print("sent", name, count)
s.close()
