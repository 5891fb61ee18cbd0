#!/usr/bin/env python3
# Usage: python3 fuzz/h2-seed.py fuzz/seeds/pipeline/h2-prior-knowledge.pcap
# Writes fuzz/seeds/pipeline/h2-prior-knowledge.pcap: one HTTP/2 connection with prior
# knowledge (preface), two interleaved streams, CONTINUATION, padding, trailers, RST_STREAM.
import struct, sys
def frame(kind, flags, sid, p=b""):
    return struct.pack(">I", len(p))[1:] + bytes([kind, flags]) + struct.pack(">I", sid) + p
def lit(name, value):  # literal without indexing, new name, no Huffman
    return bytes([0x00, len(name)]) + name + bytes([len(value)]) + value
def lit_idx(name, value):  # literal with incremental indexing, new name
    return bytes([0x40, len(name)]) + name + bytes([len(value)]) + value
req1 = bytes([0x82, 0x87]) + bytes([0x41, 11]) + b"example.com" + bytes([0x44, 4]) + b"/one" + lit_idx(b"user-agent", b"seed")
req3 = bytes([0x83, 0x87, 0xc0]) + bytes([0x04, 4]) + b"/two" + bytes([0xbe])
client = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0, struct.pack(">HI", 1, 4096)) + \
    frame(1, 0x05, 1, req1) + frame(1, 0x00, 3, req3[:3]) + frame(9, 0x04, 3, req3[3:]) + \
    frame(0, 0x09, 3, b"\x02body\0\0") + frame(3, 0, 1, struct.pack(">I", 8))
resp = bytes([0x88]) + lit(b"content-type", b"text/plain")
server = frame(4, 0, 0) + frame(4, 1, 0) + frame(1, 0x04, 3, resp) + frame(0, 0, 3, b"hello") + \
    frame(1, 0x05, 3, lit(b"grpc-status", b"0")) + frame(7, 0, 0, struct.pack(">II", 3, 0))
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b)//2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
C, S = bytes([10,0,0,1]), bytes([10,0,0,2])
frames = []; t = [1700000000_000000]
seq = {C: 1000, S: 5000}
def seg(src, dst, sport, dport, flags, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq[src], seq[dst], 5 << 4, flags, 65535, 0, 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00"
    frames.append((t[0], eth + ip + tcp)); t[0] += 1000
    seq[src] += len(payload) + (1 if flags & 0x03 else 0)
def c2s(flags, p=b""): seg(C, S, 50000, 8080, flags, p)
def s2c(flags, p=b""): seg(S, C, 8080, 50000, flags, p)
c2s(0x02); seq[S] -= 0; s2c(0x12); c2s(0x10)
c2s(0x18, client); s2c(0x18, server); c2s(0x11); s2c(0x11); c2s(0x10)
out = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)
for ts, d in frames:
    out += struct.pack("<IIII", ts // 1000000, ts % 1000000, len(d), len(d)) + d
open(sys.argv[1], "wb").write(out)
