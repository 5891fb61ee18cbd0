#!/usr/bin/env python3
"""Turns the loopback capture of one scenario into the realistic one.

Input: classic pcap from `tcpdump -i lo` (EN10MB, zero MACs, 127.x addresses).
Per packet: map every 127.x address to its realistic address (scenarios.LO_TO_REAL), set the
client's and its gateway's MAC addresses, set server TTLs as seen after a few hops, map DNS A
rdata, recompute the IPv4 header checksum and the TCP/UDP checksums, and shift all timestamps so
that the first packet is at the scenario's time base. Output: classic pcap (editcap then embeds
the key log and writes pcapng).

usage: rewrite.py <scenario letter> <in.pcap> <out.pcap>"""
import os
import socket
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import dnswire  # noqa: E402
import scenarios as S  # noqa: E402


def csum(data):
    if len(data) % 2:
        data += b"\x00"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


def map_ip(raw4):
    ip = socket.inet_ntoa(raw4)
    if ip.startswith("127."):
        if ip not in S.LO_TO_REAL:
            raise SystemExit("unmapped loopback address %s" % ip)
        return socket.inet_aton(S.LO_TO_REAL[ip])
    return raw4


def rewrite_dns(payload):
    """Maps A rdata of every resource record in place (same length)."""
    try:
        m = dnswire.parse_message(payload)
    except (ValueError, struct.error, IndexError):
        return payload
    buf = bytearray(payload)
    for sec in ("answers", "authority", "additional"):
        for _name, rtype, _ttl, _val, off in m[sec]:
            if rtype == 1:
                buf[off:off + 4] = map_ip(bytes(buf[off:off + 4]))
    return bytes(buf)


def main():
    letter, src, dst = sys.argv[1:4]
    cfg = S.SCENARIOS[letter]
    client = socket.inet_aton(cfg["client"])
    cmac, gmac = mac(S.CLIENT_MAC), mac(S.GATEWAY_MAC[cfg["flow"]])
    data = open(src, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic == 0xA1B2C3D4:
        frac = 1_000_000
    elif magic == 0xA1B23C4D:
        frac = 1_000_000_000
    else:
        raise SystemExit("not a little-endian classic pcap")
    linktype = struct.unpack("<I", data[20:24])[0]
    if linktype != 1:
        raise SystemExit("expected EN10MB, got linktype %d" % linktype)
    out = bytearray(data[:24])
    off = 24
    first = None
    n = big = 0
    base = cfg["time_base_unix"]
    while off + 16 <= len(data):
        sec, sub, incl, orig = struct.unpack("<IIII", data[off:off + 16])
        pkt = bytearray(data[off + 16:off + 16 + incl])
        off += 16 + incl
        t = sec * frac + sub
        if first is None:
            first = t
        nt = base * frac + (t - first)
        if len(pkt) < 34 or pkt[12:14] != b"\x08\x00":
            continue  # only IPv4 is part of the scenarios
        ihl = (pkt[14] & 0x0F) * 4
        ip = 14
        proto = pkt[ip + 9]
        srcip, dstip = map_ip(bytes(pkt[ip + 12:ip + 16])), map_ip(bytes(pkt[ip + 16:ip + 20]))
        pkt[ip + 12:ip + 16], pkt[ip + 16:ip + 20] = srcip, dstip
        from_client = srcip == client
        pkt[0:6], pkt[6:12] = (gmac, cmac) if from_client else (cmac, gmac)
        pkt[ip + 8] = S.CLIENT_TTL if from_client else S.SERVER_TTL.get(socket.inet_ntoa(srcip), 64)
        total = struct.unpack("!H", pkt[ip + 2:ip + 4])[0]
        l4 = ip + ihl
        seg = bytes(pkt[l4:ip + total])
        if proto == 17 and len(seg) >= 8:
            sport = struct.unpack("!H", seg[0:2])[0]
            if sport == 53:
                seg = seg[:8] + rewrite_dns(seg[8:])
            seg = seg[:6] + b"\x00\x00" + seg[8:]
            c = csum(srcip + dstip + struct.pack("!BBH", 0, 17, len(seg)) + seg) or 0xFFFF
            seg = seg[:6] + struct.pack("!H", c) + seg[8:]
        elif proto == 6 and len(seg) >= 20:
            seg = seg[:16] + b"\x00\x00" + seg[18:]
            c = csum(srcip + dstip + struct.pack("!BBH", 0, 6, len(seg)) + seg)
            seg = seg[:16] + struct.pack("!H", c) + seg[18:]
        pkt[l4:ip + total] = seg
        pkt[ip + 10:ip + 12] = b"\x00\x00"
        pkt[ip + 10:ip + 12] = struct.pack("!H", csum(bytes(pkt[ip:ip + ihl])))
        if len(pkt) > 1514:
            big += 1
        out += struct.pack("<IIII", nt // frac, nt % frac, len(pkt), max(orig, len(pkt))) + pkt
        n += 1
    open(dst, "wb").write(out)
    print("rewrote %d packets (%d larger than 1514 bytes)" % (n, big), file=sys.stderr)
    if big:
        raise SystemExit("offloads were not disabled: frames larger than Ethernet")


if __name__ == "__main__":
    main()
