"""Structurally valid NTLMSSP messages (MS-NLMP 2.2.1.1-3). The hashes are dummies: the mock
servers do not verify them; only the wire structure and the identity fields matter."""
import base64
import hashlib
import hmac
import struct

SIG = b"NTLMSSP\x00"
# NEGOTIATE_56|KEY_EXCH|128|VERSION|TARGET_INFO|EXTENDED_SESSIONSECURITY|ALWAYS_SIGN|NTLM|SIGN|REQUEST_TARGET|OEM|UNICODE
NEG_FLAGS = 0xE2088297
CHAL_FLAGS = 0xE28A8215  # + TARGET_TYPE_DOMAIN, TARGET_INFO
AUTH_FLAGS = 0xE2888215
VERSION_IOS = struct.pack("<BBHxxxB", 6, 1, 7601, 15)      # what Apple's NTLM stack announces
VERSION_SERVER = struct.pack("<BBHxxxB", 6, 3, 9600, 15)  # Windows Server 2012 R2


def _u(s):
    return s.encode("utf-16-le")


def negotiate():
    msg = SIG + struct.pack("<I", 1) + struct.pack("<I", NEG_FLAGS)
    msg += struct.pack("<HHI", 0, 0, 40) + struct.pack("<HHI", 0, 0, 40) + VERSION_IOS
    return msg


def av_pairs(nb_domain, nb_computer, dns_domain, dns_computer, filetime):
    out = b""
    for av_id, val in ((2, _u(nb_domain)), (1, _u(nb_computer)), (4, _u(dns_domain)),
                       (3, _u(dns_computer)), (5, _u(dns_domain)),
                       (7, struct.pack("<Q", filetime))):
        out += struct.pack("<HH", av_id, len(val)) + val
    return out + struct.pack("<HH", 0, 0)


def filetime(unix_ts):
    return int((unix_ts + 11644473600) * 10_000_000)


def challenge(server_challenge, target, nb_computer, dns_domain, dns_computer, unix_ts):
    tname = _u(target)
    tinfo = av_pairs(target, nb_computer, dns_domain, dns_computer, filetime(unix_ts))
    off = 56
    msg = SIG + struct.pack("<I", 2)
    msg += struct.pack("<HHI", len(tname), len(tname), off)
    msg += struct.pack("<I", CHAL_FLAGS) + server_challenge + b"\x00" * 8
    msg += struct.pack("<HHI", len(tinfo), len(tinfo), off + len(tname)) + VERSION_SERVER
    return msg + tname + tinfo


def parse(blob):
    """Returns (type, fields) for an NTLMSSP message; fields for type 2: target_info, challenge;
    for type 3: domain, user, workstation."""
    if blob[:8] != SIG:
        raise ValueError("not NTLMSSP")
    mtype = struct.unpack("<I", blob[8:12])[0]

    def field(pos):
        ln, _mx, off = struct.unpack("<HHI", blob[pos:pos + 8])
        return blob[off:off + ln]
    if mtype == 2:
        return 2, {"challenge": blob[24:32], "target_info": field(40), "target": field(12).decode("utf-16-le")}
    if mtype == 3:
        return 3, {"domain": field(28).decode("utf-16-le"), "user": field(36).decode("utf-16-le"),
                   "workstation": field(44).decode("utf-16-le")}
    return mtype, {}


def authenticate(type2, domain, user, workstation, client_challenge, unix_ts):
    _, c = parse(type2)
    # NTLMv2 response = NTProofStr(16) || blob; dummy key (no password hashing in the samples)
    blob = struct.pack("<BBHI", 1, 1, 0, 0) + struct.pack("<Q", filetime(unix_ts)) + client_challenge
    blob += b"\x00" * 4 + c["target_info"] + b"\x00" * 4
    key = hashlib.md5(b"dummy-ntowfv2:" + _u(user.upper() + domain)).digest()
    proof = hmac.new(key, c["challenge"] + blob, "md5").digest()
    nt = proof + blob
    lm = b"\x00" * 24
    payload = [lm, nt, _u(domain), _u(user), _u(workstation),
               hmac.new(key, proof, "md5").digest()]  # encrypted random session key (dummy)
    off = 88  # 64-byte header + 8 version + 16 MIC
    hdr = b""
    body = b""
    order = [lm, nt, _u(domain), _u(user), _u(workstation), payload[5]]
    offsets = []
    for p in order:
        offsets.append(off + len(body))
        body += p
    lm_f, nt_f, d_f, u_f, w_f, k_f = [struct.pack("<HHI", len(p), len(p), o) for p, o in zip(order, offsets)]
    hdr = SIG + struct.pack("<I", 3) + lm_f + nt_f + d_f + u_f + w_f + k_f + struct.pack("<I", AUTH_FLAGS)
    hdr += VERSION_IOS
    mic = hmac.new(key, b"mic", "md5").digest()
    return hdr + mic + body


def b64(msg):
    return base64.b64encode(msg).decode("ascii")
