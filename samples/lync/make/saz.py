"""Fiddler Session Archive (SAZ) writer for the mock client's own record of a run.

Model (documented in ../README.md): the phone (x-clientip 192.168.137.23, a Windows "mobile
hotspot" address) uses Fiddler Classic on a PC as its proxy with HTTPS decryption on; the PC's
egress address is the capture's client address, and x-egressport is the client port seen in the
pcapng for the same TCP connection. Every TLS connection of the run is a CONNECT tunnel session
(Fiddler-generated "200 Connection Established"), every HTTP exchange a session with an
absolute-form request line. The port-80 attempt that never got a SYN-ACK is Fiddler's
"502 Fiddler - Connection Failed"; the long poll still pending when the capture stopped has no
_s.txt. Timestamps are the scenario's time base plus the client's elapsed time, written as
Fiddler does (7-digit fraction trimmed, local offset -07:00 = PDT)."""
import calendar
import datetime
import hashlib
import time
import zipfile

import scenarios as S
from certs import decode_cert

PHONE_IP = "192.168.137.23"
TZ_OFFSET = -7 * 3600
FIDDLER = "Fiddler (v4.5.1.2) Session Archive. See http://fiddler2.com"
MIN = "0001-01-01T00:00:00"
CONTENT_TYPES = ('<?xml version="1.0" encoding="utf-8" ?>\r\n'
                 '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\r\n'
                 '<Default Extension="htm" ContentType="text/html" />\r\n'
                 '<Default Extension="xml" ContentType="application/xml" />\r\n'
                 '<Default Extension="txt" ContentType="text/plain" />\r\n'
                 '</Types>')
TIMERS = ["ClientConnected", "ClientBeginRequest", "GotRequestHeaders", "ClientDoneRequest", "GatewayTime", "DNSTime",
          "TCPConnectTime", "HTTPSHandshakeTime", "ServerConnected", "FiddlerBeginRequest", "ServerGotRequest",
          "ServerBeginResponse", "GotResponseHeaders", "ServerDoneResponse", "ClientBeginResponse", "ClientDoneResponse"]
CIPHER_NAMES = {0xC024: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", 0xC023: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
                0xC00A: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", 0xC009: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
                0xC028: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", 0xC027: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
                0xC014: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", 0xC013: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
                0x003D: "TLS_RSA_WITH_AES_256_CBC_SHA256", 0x003C: "TLS_RSA_WITH_AES_128_CBC_SHA256",
                0x0035: "TLS_RSA_AES_256_SHA", 0x002F: "TLS_RSA_AES_128_SHA", 0x00FF: "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"}
EXT_NAMES = {0: "server_name", 5: "status_request", 10: "supported_groups", 11: "ec_point_formats", 13: "signature_algs",
             16: "ALPN", 22: "encrypt_then_mac", 23: "extended_master_secret", 35: "SessionTicket", 65281: "renegotiation_info"}


try:
    import zoneinfo
    TZ = zoneinfo.ZoneInfo("America/Los_Angeles")  # the Fiddler PC's clock (PDT in June 2015)
except Exception:  # no tzdata: June 2015 was PDT anyway
    TZ = datetime.timezone(datetime.timedelta(seconds=TZ_OFFSET))


def local(ts):
    return datetime.datetime.fromtimestamp(ts, TZ)


def fiddler_time(ts):
    if ts is None:
        return MIN
    d = local(ts)
    frac = ("%.7f" % (ts % 1))[2:].rstrip("0")
    off = d.strftime("%z")
    return d.strftime("%Y-%m-%dT%H:%M:%S") + ("." + frac if frac else "") + off[:3] + ":" + off[3:]


def clock(ts):
    return local(ts).strftime("%H:%M:%S") + ".%03d" % int((ts % 1) * 1000)


def client_hello_text(ch):
    """Fiddler's human-readable parse of the TLS ClientHello (approximation of its layout)."""
    if len(ch) < 44 or ch[0] != 22:
        return ""
    body = ch[9:]
    ver = body[0:2]
    rnd = body[2:34]
    sid_len = body[34]
    off = 35 + sid_len
    n = int.from_bytes(body[off:off + 2], "big")
    ciphers = [int.from_bytes(body[off + 2 + i:off + 4 + i], "big") for i in range(0, n, 2)]
    off += 2 + n
    off += 1 + body[off]
    ext_total = int.from_bytes(body[off:off + 2], "big")
    off += 2
    end = off + ext_total
    exts = []
    while off + 4 <= end:
        et = int.from_bytes(body[off:off + 2], "big")
        ln = int.from_bytes(body[off + 2:off + 4], "big")
        data = body[off + 4:off + 4 + ln]
        name = EXT_NAMES.get(et, "0x%04x" % et)
        if et == 0:
            val = data[5:].decode()
        elif not data:
            val = "empty"
        else:
            val = " ".join("%02X" % b for b in data[:32])
        exts.append("\t%s\t%s" % (name, val))
        off += 4 + ln
    out = ["A SSLv3-compatible ClientHello handshake was found. Fiddler extracted the parameters below.", "",
           "Version: %d.%d (TLS/1.2)" % (ver[0], ver[1]), "Random: " + " ".join("%02X" % b for b in rnd),
           "SessionID: empty", "Extensions: "] + exts + ["Ciphers: "]
    out += ["\t[%04X]\t%s" % (c, CIPHER_NAMES.get(c, "Unrecognized cipher - See https://www.iana.org/assignments/tls-parameters/")) for c in ciphers]
    out += ["", "Compression: ", "\t[00]\tNO_COMPRESSION", "", ""]
    return "\n".join(out)


def dn(items):
    return ", ".join("%s=%s" % ({"commonName": "CN", "organizationName": "O", "countryName": "C",
                                 "domainComponent": "DC"}.get(k, k), v)
                     for rdn in reversed(items) for k, v in rdn)


def cert_text(der):
    c = decode_cert(der)
    nb = calendar.timegm(time.strptime(c["notBefore"], "%b %d %H:%M:%S %Y %Z"))
    na = calendar.timegm(time.strptime(c["notAfter"], "%b %d %H:%M:%S %Y %Z"))

    def us(ts):
        d = local(ts)
        return "%d/%d/%d %s" % (d.month, d.day, d.year, d.strftime("%I:%M:%S %p").lstrip("0"))
    sans = ", ".join(v for k, v in c.get("subjectAltName", ()) if k == "DNS")
    return ("== Server Certificate ==========\n[Subject]\n  %s\n\n[Issuer]\n  %s\n\n[Serial Number]\n  %s\n\n"
            "[Not Before]\n  %s\n\n[Not After]\n  %s\n\n[Thumbprint]\n  %s\n\n[SubjectAltNames]\n%s\n"
            % (dn(c["subject"]), dn(c["issuer"]), c["serialNumber"], us(nb), us(na),
               hashlib.sha1(der).hexdigest().upper(), sans))


def thousands(n):
    return "{:,}".format(n)


def m_xml(sid, bitflags, timers, flags, pipe="", tunnel=False):
    t = " ".join('%s="%s"' % (k, timers.get(k) or ("0" if k.endswith("Time") else MIN)) for k in TIMERS)
    x = '\ufeff<?xml version="1.0" encoding="utf-8"?>\r\n<Session SID="%d" BitFlags="%x">\r\n' % (sid, bitflags)
    x += "  <SessionTimers %s />\r\n" % t
    x += "  <PipeInfo%s />\r\n" % pipe
    if tunnel:
        x += '  <TunnelInfo BytesEgress="0" BytesIngress="0" />\r\n'
    x += "  <SessionFlags>\r\n"
    for k, v in flags:
        x += '    <SessionFlag N="%s" V="%s" />\r\n' % (k, v.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;"))
    x += "  </SessionFlags>\r\n</Session>"
    return x.encode("utf-8")


def write_from_client(c, path):
    base = c.cfg["time_base_unix"]

    def ts(wall):
        return None if wall is None else fiddler_time(base + (wall - c.t0))

    def ms(a, b):
        return str(max(0, int(round((b - a) * 1000)))) if a and b else "0"
    items = sorted(c.saz, key=lambda e: e["t_send"])
    sessions = []
    for e in items:
        if "connect" in e or ("failed" in e and e["failed"].scheme == "https"):
            conn = e.get("connect") or e["failed"]
            hostport = "%s:%d" % (conn.host, conn.port)
            ch = conn.chan.client_hello if conn.chan else b""
            req = ("CONNECT %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nConnection: keep-alive\r\nProxy-Connection: keep-alive\r\n\r\n"
                   % (hostport, hostport, "Lync2013Mobile/5.4.1087 CFNetwork/711.3.18 Darwin/14.0.0")).encode() + client_hello_text(ch).encode()
            t_start = conn.t_start
            if conn.t_tcp is None:  # no SYN-ACK: Fiddler reports the failure itself
                body = ("[Fiddler] The connection to '%s' failed. <br />Error: TimedOut (0x274c). <br />System.Net.Sockets.SocketException "
                        "A connection attempt failed because the connected party did not properly respond after a period of time, or "
                        "established connection failed because connected host has failed to respond %s:%d" % (conn.host, S.real(conn.ip), conn.port)).encode()
                resp = ("HTTP/1.1 502 Fiddler - Connection Failed\r\nDate: %s\r\nContent-Type: text/html; charset=UTF-8\r\n"
                        "Connection: close\r\nCache-Control: no-cache, must-revalidate\r\nTimestamp: %s\r\n\r\n"
                        % (time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(base + e["t_fail"] - c.t0)), clock(base + e["t_fail"] - c.t0))).encode() + body
                t_end = e["t_fail"]
            else:
                text = ("Encrypted HTTPS traffic flows through this CONNECT tunnel. HTTPS Decryption is enabled in Fiddler, so decrypted "
                        "sessions running in this tunnel will be shown in the Web Sessions list.\n\nSecure Protocol: Tls12\nCipher: Aes256 256bits\n"
                        "Hash Algorithm: Sha384 ?bits\nKey Exchange: ECDHE_RSA (0xae06) 256bits\n\n")
                if conn.chan and conn.chan.chain:
                    text += cert_text(conn.chan.chain[0])
                resp = ("HTTP/1.1 200 Connection Established\r\nFiddlerGateway: Direct\r\nStartTime: %s\r\nConnection: close\r\n\r\n"
                        % clock(base + t_start - c.t0)).encode() + text.encode()
                t_end = conn.t_tls
            timers = {"ClientConnected": ts(t_start), "ClientBeginRequest": ts(t_start), "GotRequestHeaders": ts(t_start),
                      "ClientDoneRequest": ts(t_start), "GatewayTime": "0", "DNSTime": "0",
                      "TCPConnectTime": ms(t_start, conn.t_tcp or e.get("t_fail")),
                      "HTTPSHandshakeTime": ms(conn.t_tcp, conn.t_tls), "ServerConnected": ts(conn.t_tcp),
                      "FiddlerBeginRequest": ts(conn.t_tcp), "ServerGotRequest": ts(conn.t_tcp),
                      "ClientBeginResponse": ts(t_end), "ClientDoneResponse": ts(t_end)}
            body_len = len(resp.partition(b"\r\n\r\n")[2])
            flags = [("https-client-snihostname", conn.host), ("x-egressport", str(conn.cport)),
                     ("x-responsebodytransferlength", thousands(body_len)), ("x-clientport", str(conn.cport + 10000)),
                     ("https-server-version", "Tls12"), ("x-clientip", PHONE_IP), ("https-client-sessionid", "empty"),
                     ("x-hostip", S.real(conn.ip)), ("https-client-version", "Tls12"), ("https-server-cipher", "Aes256 256bits")]
            if conn.t_tcp is None:
                flags = [f for f in flags if f[0] in ("x-responsebodytransferlength", "x-clientport", "x-clientip", "x-hostip")]
            sessions.append((req, resp, 0x2100 if conn.t_tcp else 0x100, timers, flags, "", conn.t_tcp is not None))
            conn.connect_sid = len(sessions)
        elif "failed" in e:  # plain HTTP whose TCP connection never completed
            conn = e["failed"]
            req = e.get("request", b"")
            tf = base + e["t_fail"] - c.t0
            body = ("[Fiddler] The connection to '%s' failed. <br />Error: TimedOut (0x274c). <br />System.Net.Sockets.SocketException "
                    "A connection attempt failed because the connected party did not properly respond after a period of time, or "
                    "established connection failed because connected host has failed to respond %s:%d" % (conn.host, S.real(conn.ip), conn.port)).encode()
            resp = ("HTTP/1.1 502 Fiddler - Connection Failed\r\nDate: %s\r\nContent-Type: text/html; charset=UTF-8\r\n"
                    "Connection: close\r\nCache-Control: no-cache, must-revalidate\r\nTimestamp: %s\r\n\r\n"
                    % (time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(tf)), clock(tf))).encode() + body
            timers = {"ClientConnected": ts(conn.t_start), "ClientBeginRequest": ts(conn.t_start),
                      "GotRequestHeaders": ts(conn.t_start), "ClientDoneRequest": ts(conn.t_start), "GatewayTime": "0",
                      "DNSTime": "0", "TCPConnectTime": ms(conn.t_start, e["t_fail"]), "HTTPSHandshakeTime": "0",
                      "ClientBeginResponse": ts(e["t_fail"]), "ClientDoneResponse": ts(e["t_fail"])}
            flags = [("x-responsebodytransferlength", thousands(len(body))), ("x-clientport", str(conn.cport + 10000)),
                     ("x-clientip", PHONE_IP), ("x-hostip", S.real(conn.ip))]
            sessions.append((absolute_form(req, "http", conn), resp, 0x100, timers, flags, "", False))
        else:
            conn = e["conn"]
            first_on_conn = not getattr(conn, "_saz_used", False)
            conn._saz_used = True
            https = conn.scheme == "https"
            timers = {"ClientConnected": ts(conn.t_start), "ClientBeginRequest": ts(e["t_send"]),
                      "GotRequestHeaders": ts(e["t_send"]), "ClientDoneRequest": ts(e["t_sent"]), "GatewayTime": "0",
                      "DNSTime": "0", "TCPConnectTime": "0" if https or not first_on_conn else ms(conn.t_start, conn.t_tcp),
                      "HTTPSHandshakeTime": "0", "ServerConnected": ts(conn.t_tcp), "FiddlerBeginRequest": ts(e["t_sent"]),
                      "ServerGotRequest": ts(e["t_sent"]), "ServerBeginResponse": ts(e["t_first"]),
                      "GotResponseHeaders": ts(e["t_first"]), "ServerDoneResponse": ts(e["t_done"]),
                      "ClientBeginResponse": ts(e["t_done"]), "ClientDoneResponse": ts(e["t_done"])}
            flags = []
            if e["s"] is not None:
                flags.append(("x-responsebodytransferlength", thousands(len(e["s"].partition(b"\r\n\r\n")[2]))))
            flags += [("x-egressport", str(conn.cport)), ("x-clientport", str(conn.cport + 10000)), ("x-clientip", PHONE_IP)]
            if https or not first_on_conn:
                flags.append(("x-serversocket", "REUSE ServerPipe#%d" % (conn.connect_sid or 0) if https else "REUSE ServerPipe"))
            flags.append(("x-hostip", S.real(conn.ip)))
            bits = (0x1 | 0x8 | 0x10) if https else (0 if first_on_conn else 0x18)
            pipe = ' CltReuse="true" Reused="true"' if (https or not first_on_conn) else ""
            sessions.append((absolute_form(e["c"], conn.scheme, conn), e["s"], bits, timers, flags, pipe, False))
    width = len(str(len(sessions)))
    zf = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED)
    zi = zipfile.ZipInfo("raw/", date_time=time.gmtime(base + 20 + TZ_OFFSET)[:6])
    zi.compress_type = zipfile.ZIP_STORED
    zf.writestr(zi, b"")
    index = []
    for i, (req, resp, bits, timers, flags, pipe, tunnel) in enumerate(sessions, 1):
        nn = str(i).zfill(width)
        dt = time.gmtime(base + 20 + TZ_OFFSET)[:6]

        def put(name, data):
            z = zipfile.ZipInfo(name, date_time=dt)
            z.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(z, data)
        put("raw/%s_c.txt" % nn, req)
        put("raw/%s_m.xml" % nn, m_xml(i, bits, timers, flags, pipe, tunnel))
        if resp is not None:
            put("raw/%s_s.txt" % nn, resp)
        line = req.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
        status = resp.split(b" ", 2)[1].decode() if resp else "-"
        index.append((i, nn, status, line[0], line[1]))
    z = zipfile.ZipInfo("[Content_Types].xml", date_time=time.gmtime(base + 20 + TZ_OFFSET)[:6])
    z.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(z, CONTENT_TYPES)
    rows = "".join('<tr><td><a href="raw\\%s_c.txt">C</a>&nbsp;<a href="raw\\%s_s.txt">S</a>&nbsp;<a href="raw\\%s_m.xml">M</a></td>'
                   "<td>%d</td><td>%s</td><td>%s</td><td>%s</td></tr>" % (nn, nn, nn, i, st, m, u.replace("&", "&amp;"))
                   for i, nn, st, m, u in index)
    html = ('\ufeff<html><head><style>body,thead,td,a,p{font-family:verdana,sans-serif;font-size: 10px;}</style></head><body>'
            "<table cols=5><thead><tr><th>&nbsp;</th><th>#</th><th>Result</th><th>Method</th><th>URL</th></tr></thead><tbody>"
            + rows + "</tbody></table></body></html>")
    z = zipfile.ZipInfo("_index.htm", date_time=time.gmtime(base + 20 + TZ_OFFSET)[:6])
    z.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(z, html.encode("utf-8"))
    zf.comment = FIDDLER.encode()
    zf.close()


def absolute_form(raw, scheme, conn):
    """Fiddler stores request lines in absolute form, also for decrypted HTTPS."""
    line, _, rest = raw.partition(b"\r\n")
    method, target, ver = line.decode("latin-1").split(" ", 2)
    default = 443 if scheme == "https" else 80
    hostport = conn.host if conn.port == default else "%s:%d" % (conn.host, conn.port)
    return ("%s %s://%s%s %s" % (method, scheme, hostport, target, ver)).encode("latin-1") + b"\r\n" + rest
