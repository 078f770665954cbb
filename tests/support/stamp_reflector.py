#!/usr/bin/python3
"""A STAMP session-reflector written from the RFCs, not from ringstamp's code.

The foreign reflector of tests/netns/probe_foreign_reflector_test.cc: `ringstamp probe
client` is checked against it. Python standard library only (socket, struct, time).

Packet layouts, unauthenticated mode:
  RFC 8762 section 4.2.1, session-sender test packet (44 bytes):
    Sequence Number (4) | Timestamp (8) | Error Estimate (2) | MBZ (30)
  RFC 8762 section 4.3.1, session-reflector test packet (44 bytes):
    Sequence Number (4) | Timestamp (8) | Error Estimate (2) | MBZ (2)
    | Receive Timestamp (8) | Session-Sender Sequence Number (4)
    | Session-Sender Timestamp (8) | Session-Sender Error Estimate (2) | MBZ (2)
    | Ses-Sender TTL (1) | MBZ (3)
  RFC 8972 section 3 puts a Session ID in the first MBZ (2) after the error estimate and
  TLVs after byte 44; section 4 TLV header: Flags (1: U 0x80, M 0x40, I 0x20) | Type (1)
  | Length (2).
    Extra Padding, type 1 (section 4.1): returned as received.
    Timestamp Information, type 3 (section 4.3), 4 bytes: Sync Src In | Timestamp In |
      Sync Src Out | Timestamp Out (methods: 1 HW assist, 2 SW local, 3 control plane).
    Follow-Up Telemetry, type 7 (section 4.7), 16 bytes: Sequence Number (4) of the
      reflector's previous packet | Follow-up Timestamp (8) | Timestamp Mode (1) | Reserved (3).
    Any other type: returned with U set.

Usage: stamp_reflector.py --bind ADDR --port N --log FILE [--tlvs] [--duration S]
  --tlvs: answer the TLVs (reply as long as the request). Without it the reflector knows
  no TLVs and answers with the 44-byte base packet only.
The log gets "ready" once the socket is bound, then one line per reply:
  reply <ref_seq> <sender_seq> <t2_ntp> <t3_ntp> <followup_seq> <followup_ntp> <len>
with the raw 64-bit NTP values written into the packet (followup_* 0 when none was sent).
Timestamps are this process's CLOCK_REALTIME reads: t2 after the request was received,
t3 before the reply was built, the follow-up time just before the reply was handed to the
kernel; the Timestamp Information TLV says so (control plane, free-running clock).
"""

import argparse
import socket
import struct
import time

NTP_UNIX_OFFSET = 2208988800
IP_RECVTTL = getattr(socket, "IP_RECVTTL", 12)
IP_TTL = getattr(socket, "IP_TTL", 2)

TLV_EXTRA_PADDING = 1
TLV_TIMESTAMP_INFO = 3
TLV_FOLLOW_UP = 7
FLAG_U = 0x80
FLAG_M = 0x40
METHOD_CONTROL_PLANE = 3
SYNC_LOCAL_FREE_RUNNING = 5


def ntp_now():
    """CLOCK_REALTIME as a 64-bit NTP timestamp (32.32 fixed point since 1900)."""
    ns = time.time_ns()
    sec, frac_ns = divmod(ns, 1_000_000_000)
    frac = (frac_ns << 32) // 1_000_000_000
    return ((sec + NTP_UNIX_OFFSET) << 32) | frac


def error_estimate():
    # RFC 4656 section 4.1.2: S=0 (not synchronised to UTC), Z=0 (NTP format),
    # scale 0, multiplier 1: 2^-32 s, this program's reading error is not known better.
    return 0x0001


def answer_tlvs(tail, t2_ntp, follow_up):
    """The reply's bytes after 44 for the request's `tail` (same length)."""
    out = bytearray(tail)
    if not any(tail):
        return bytes(out)  # plain RFC 8762 padding
    off = 0
    while off < len(out):
        if len(out) - off < 4:
            out[off] |= FLAG_M
            break
        flags, typ, length = struct.unpack_from("!BBH", out, off)
        if length > len(out) - off - 4:
            out[off] = flags | FLAG_M
            break
        value = off + 4
        if typ == TLV_TIMESTAMP_INFO and length >= 4:
            struct.pack_into("!BBBB", out, value, SYNC_LOCAL_FREE_RUNNING, METHOD_CONTROL_PLANE,
                             SYNC_LOCAL_FREE_RUNNING, METHOD_CONTROL_PLANE)
            out[off] = flags & ~FLAG_U
        elif typ == TLV_FOLLOW_UP and length >= 16:
            seq, ts = follow_up
            struct.pack_into("!IQB3x", out, value, seq, ts, METHOD_CONTROL_PLANE if ts else 0)
            out[off] = flags & ~FLAG_U
        elif typ == TLV_EXTRA_PADDING:
            out[off] = flags & ~FLAG_U
        else:
            out[off] = flags | FLAG_U
        off = value + length
    return bytes(out)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bind", required=True)
    p.add_argument("--port", type=int, default=862)
    p.add_argument("--log", required=True)
    p.add_argument("--tlvs", action="store_true")
    p.add_argument("--duration", type=float, default=60.0)
    a = p.parse_args()

    family = socket.AF_INET6 if ":" in a.bind else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET:
        s.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
    s.bind((a.bind, a.port))
    log = open(a.log, "w", buffering=1)
    log.write("ready\n")

    deadline = time.monotonic() + a.duration
    ref_seq = 0
    prev = (0, 0)  # (sequence number, follow-up timestamp) of the previous reply
    while time.monotonic() < deadline:
        s.settimeout(max(0.01, min(0.5, deadline - time.monotonic())))
        try:
            data, anc, _, peer = s.recvmsg(2048, socket.CMSG_SPACE(4))
        except socket.timeout:
            continue
        t2 = ntp_now()
        if len(data) < 44:
            continue
        ttl = 0
        for level, typ, value in anc:
            if level == socket.IPPROTO_IP and typ == IP_TTL and len(value) >= 4:
                ttl = struct.unpack("=i", value[:4])[0]
        sseq, sts, serr, ssid = struct.unpack_from("!IQHH", data, 0)
        t3 = ntp_now()
        base = struct.pack("!IQHHQIQHHB3x", ref_seq, t3, error_estimate(), ssid, t2, sseq, sts,
                           serr, 0, ttl & 0xFF)
        follow_up = prev
        if a.tlvs:
            reply = base + answer_tlvs(data[44:], t2, follow_up)
        else:
            reply = base
            follow_up = (0, 0)
        tx = ntp_now()
        s.sendto(reply, peer)
        log.write("reply %d %d %d %d %d %d %d\n" % (ref_seq, sseq, t2, t3, follow_up[0],
                                                     follow_up[1], len(reply)))
        prev = (ref_seq, tx)
        ref_seq += 1
    log.write("done %d\n" % ref_seq)


if __name__ == "__main__":
    main()
