"""Minimal DNS wire format (RFC 1035) used by the mock client, the responder and the rewriter."""
import socket
import struct

TYPE = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "AAAA": 28}
TYPE_NAME = {v: k for k, v in TYPE.items()}
RCODE_NAME = {0: "NOERROR", 2: "SERVFAIL", 3: "NXDOMAIN", 5: "REFUSED"}


def encode_name(name, out=None, table=None):
    """Encodes `name`; with `table` (suffix -> offset) uses and records compression pointers.
    `out` is the message built so far, so offsets can be recorded."""
    buf = b""
    labels = [l for l in name.rstrip(".").split(".") if l]
    base = len(out) if out is not None else 0
    for i in range(len(labels)):
        suffix = ".".join(labels[i:]).lower()
        if table is not None and suffix in table:
            return buf + struct.pack("!H", 0xC000 | table[suffix])
        if table is not None and base + len(buf) < 0x3FFF:
            table[suffix] = base + len(buf)
        lab = labels[i].encode("ascii")
        buf += bytes([len(lab)]) + lab
    return buf + b"\x00"


def decode_name(msg, off):
    """Returns (name, offset after the name in the original position)."""
    labels, jumped, end, hops = [], False, off, 0
    while True:
        if off >= len(msg):
            raise ValueError("name runs past message")
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if not jumped:
                end = off + 2
            off = ((n & 0x3F) << 8) | msg[off + 1]
            jumped = True
            hops += 1
            if hops > 32:
                raise ValueError("pointer loop")
            continue
        if n == 0:
            if not jumped:
                end = off + 1
            return ".".join(labels), end
        labels.append(msg[off + 1:off + 1 + n].decode("ascii"))
        off += 1 + n


def build_query(txid, qname, qtype):
    hdr = struct.pack("!HHHHHH", txid, 0x0100, 1, 0, 0, 0)  # RD
    return hdr + encode_name(qname) + struct.pack("!HH", TYPE[qtype], 1)


def parse_message(msg):
    """Returns dict(txid, flags, rcode, questions[(name,type)], answers/authority/additional
    [(name, type, ttl, data, rdata_offset)]); data = dotted IP / name / raw bytes."""
    txid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", msg[:12])
    off = 12
    qs = []
    for _ in range(qd):
        name, off = decode_name(msg, off)
        qt, _qc = struct.unpack("!HH", msg[off:off + 4])
        off += 4
        qs.append((name, qt))
    sections = []
    for count in (an, ns, ar):
        recs = []
        for _ in range(count):
            name, off = decode_name(msg, off)
            rt, _rc, ttl, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
            off += 10
            rd_off = off
            rdata = msg[off:off + rdlen]
            if rt == 1 and rdlen == 4:
                data = socket.inet_ntoa(rdata)
            elif rt == 28 and rdlen == 16:
                data = socket.inet_ntop(socket.AF_INET6, rdata)
            elif rt in (2, 5):
                data = decode_name(msg, off)[0]
            else:
                data = rdata
            recs.append((name, rt, ttl, data, rd_off))
            off += rdlen
        sections.append(recs)
    return {"txid": txid, "flags": flags, "rcode": flags & 0xF, "questions": qs,
            "answers": sections[0], "authority": sections[1], "additional": sections[2]}


def build_response(query, rcode, answers, authority=()):
    """answers/authority: [(name, type_name, ttl, data)] where data is an IP, a name, or for SOA
    a tuple (mname, rname, serial, refresh, retry, expire, minimum)."""
    txid, qflags = struct.unpack("!HH", query[:4])
    qname, qend = decode_name(query, 12)
    qtype, qclass = struct.unpack("!HH", query[qend:qend + 4])
    flags = 0x8000 | (qflags & 0x0100) | 0x0080 | rcode  # QR, copy RD, RA
    out = bytearray(struct.pack("!HHHHHH", txid, flags, 1, len(answers), len(authority), 0))
    table = {}
    out += encode_name(qname, out, table)
    out += struct.pack("!HH", qtype, qclass)
    for name, tname, ttl, data in list(answers) + list(authority):
        out += encode_name(name, out, table)
        t = TYPE[tname]
        out += struct.pack("!HHI", t, 1, ttl)
        rdlen_pos = len(out)
        out += b"\x00\x00"
        if t == 1:
            rd = socket.inet_aton(data)
        elif t == 28:
            rd = socket.inet_pton(socket.AF_INET6, data)
        elif t in (2, 5):
            rd = encode_name(data, out, table)
        elif t == 6:
            m, r, serial, refresh, retry, expire, minimum = data
            rd = encode_name(m, out, table)
            rd += encode_name(r, out + rd, table)
            rd += struct.pack("!IIIII", serial, refresh, retry, expire, minimum)
        else:
            raise ValueError(tname)
        out += rd
        struct.pack_into("!H", out, rdlen_pos, len(rd))
    return bytes(out)
