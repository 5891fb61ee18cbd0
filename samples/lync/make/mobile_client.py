#!/usr/bin/env python3
"""Mock Lync 2013 / SfB mobile client (UCWA) that walks the sign-in of one scenario (A-E of
lync-sample-exchanges.md, F-K composed from the revised stage specification) over real DNS/TCP/TLS, following the
links it is given.

Given: the SIP address (alice@contoso.com; alice@fabrikam.com in the Online scenarios) and the
resolver. Everything else (hosts, paths, tokens,
application ids, NTLM challenges, SOAP endpoints, event links) comes from the responses. The
scenario functions below carry what a test needs to know about the *design*: the step ids of the
document, when each step starts (to approximate the document's timings), and the stage/outcome
the client means for each step; the client checks the outcome it actually got against the design
and fails loudly on a mismatch.

Writes into <outdir>: <name>.script.json (the client's own record), <name>.keylog.txt (NSS key
log) and for SAZ scenarios <name>.saz. Then touches <outdir>/<name>.done and keeps its sockets open
until it is killed (so the capture does not see them close).

Usage: mobile_client.py <scenario letter> <outdir>
"""
import base64
import json
import os
import re
import socket
import ssl
import struct
import sys
import tempfile
import threading
import time
import urllib.parse
import warnings
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import dnswire  # noqa: E402
from certs import decode_cert  # noqa: E402
import ntlm  # noqa: E402
import saz  # noqa: E402
import scenarios as S  # noqa: E402

warnings.filterwarnings("ignore", category=DeprecationWarning)  # TLS 1.0 minimum, like iOS 8
UA = "Lync2013Mobile/5.4.1087 (iPhone; iOS 8.3) [synthetic]"
# 2019 scenarios (F-K): the Skype for Business app; its web view (Azure AD sign-in) and CFNetwork
UA_2019 = "SkypeForBusiness/6.24.0.17 (iPhone; iOS 12.3.1) [synthetic]"
UA_WEBVIEW = "Mozilla/5.0 (iPhone; CPU iPhone OS 12_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
UA_CFNETWORK = "CFNetwork/978.0.7 Darwin/18.6.0"
AAD_CLIENT_ID = "7f3c9a21-5e84-4b6d-9c1e-2a0b8d4f6e13"  # the (fictional) app registration of the SfB app
AAD_REDIRECT = "urn:ietf:wg:oauth:2.0:oob"
PASSWORD = "Summer2019!synthetic"  # fictional; typed into the Azure AD page (F, G)
ENDPOINT_ID = "9b1f2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d"
SIP = S.SIP_URI
# What Secure Transport on iOS 8 offered (no GCM yet); the servers only accept ECDHE-RSA-AES256-SHA384.
CIPHERS = ("ECDHE-ECDSA-AES256-SHA384:ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA:ECDHE-ECDSA-AES128-SHA:"
           "ECDHE-RSA-AES256-SHA384:ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA:ECDHE-RSA-AES128-SHA:"
           "AES256-SHA256:AES128-SHA256:AES256-SHA:AES128-SHA")
X509_V_FLAG_NO_CHECK_TIME = 0x200000  # the certificates are from 2015
ALERT_CERTIFICATE_UNKNOWN = b"\x15\x03\x03\x00\x02\x02\x2e"
ALERT_NAMES = {40: "handshake_failure", 42: "bad_certificate", 43: "unsupported_certificate", 44: "certificate_revoked",
               45: "certificate_expired", 46: "certificate_unknown", 48: "unknown_ca", 80: "internal_error"}


def encrypted_record_lengths(data):
    """Lengths of the application_data records (type 23) in TLS bytes: in TLS 1.3 without keys
    that is all one sees of an encrypted alert (RFC 8446 §5.2: 2 + 1 + tag = 19 bytes)."""
    out, off = [], 0
    while off + 5 <= len(data):
        ctype, _ver, ln = struct.unpack("!BHH", data[off:off + 5])
        if ctype == 23:
            out.append(ln)
        off += 5 + ln
    return out


def server_picked_tls13(server_bytes):
    """The server's ServerHello (or HelloRetryRequest) selects TLS 1.3: `supported_versions`
    (43) = 0x0304 (RFC 8446 §4.2.1). Then the Certificate comes encrypted."""
    off = 0
    while off + 5 <= len(server_bytes):
        ctype, _ver, ln = struct.unpack("!BHH", server_bytes[off:off + 5])
        body = server_bytes[off + 5:off + 5 + ln]
        if ctype == 22 and body[:1] == b"\x02":
            p = 4 + 2 + 32
            p += 1 + body[p] if p < len(body) else 0
            p += 2 + 1
            end = p + 2 + int.from_bytes(body[p:p + 2], "big")
            p += 2
            while p + 4 <= min(end, len(body)):
                et, el = struct.unpack("!HH", body[p:p + 4])
                if et == 43 and body[p + 4:p + 6] == b"\x03\x04":
                    return True
                p += 4 + el
            return False
        off += 5 + ln
    return False


def alert_in(data):
    """`name (code)` of the first fatal alert record in plaintext TLS bytes, or None."""
    off = 0
    while off + 7 <= len(data):
        ctype, _ver, ln = struct.unpack("!BHH", data[off:off + 5])
        if ctype == 21 and ln == 2 and data[off + 5] == 2:
            code = data[off + 6]
            return "%s (%d)" % (ALERT_NAMES.get(code, "alert"), code)
        off += 5 + ln
    return None


class DesignMismatch(Exception):
    pass


class ConnectFailed(Exception):
    def __init__(self, what, reason, alert=None):
        super().__init__(f"{what}: {reason}")
        self.what, self.reason, self.alert = what, reason, alert


# ----------------------------------------------------------------------------------------------
# TLS over a plain socket with memory BIOs, so that the client itself can judge the server's
# certificate name before it sends its second flight (and abort with certificate_unknown like
# the iOS stack does, instead of OpenSSL's bad_certificate).

def parse_handshake_messages(data):
    """TLS 1.2 plaintext handshake messages (type, body) from the server's raw byte stream."""
    hs, off = b"", 0
    while off + 5 <= len(data):
        ctype, _ver, ln = struct.unpack("!BHH", data[off:off + 5])
        if ctype == 20:  # ChangeCipherSpec: everything after it is encrypted
            break
        if ctype == 22:
            hs += data[off + 5:off + 5 + ln]
        off += 5 + ln
    msgs, off = [], 0
    while off + 4 <= len(hs):
        t = hs[off]
        ln = int.from_bytes(hs[off + 1:off + 4], "big")
        msgs.append((t, hs[off + 4:off + 4 + ln]))
        off += 4 + ln
    return msgs


def cert_chain_from(server_bytes):
    for t, body in parse_handshake_messages(server_bytes):
        if t == 11:
            total = int.from_bytes(body[:3], "big")
            off, certs = 3, []
            while off < 3 + total:
                ln = int.from_bytes(body[off:off + 3], "big")
                certs.append(body[off + 3:off + 3 + ln])
                off += 3 + ln
            return certs
    return []


def name_matches(host, cert):
    names = [v for k, v in cert.get("subjectAltName", ()) if k == "DNS"]
    host = host.lower()
    for n in names:
        n = n.lower()
        if n == host:
            return True
        if n.startswith("*.") and "." in host and host.split(".", 1)[1] == n[2:]:
            return True
    return False


class TlsChannel:
    def __init__(self, sock, ctx, sni):
        self.sock, self.sni = sock, sni
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out, server_hostname=sni)
        self.client_hello = b""
        self.server_bytes = b""
        self.chain = []

    def handshake(self, judge_delay=0.015):
        sent_hello = False
        while True:
            done = False
            try:
                self.obj.do_handshake()
                done = True
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLCertVerificationError as e:  # chain problem: OpenSSL's own alert (unknown_ca for an untrusted root)
                alert = self.out.read()
                time.sleep(judge_delay)
                self.sock.sendall(alert)
                self.close_after_alert()
                if server_picked_tls13(self.server_bytes) and alert_in(alert) is None:
                    # an alert encrypted under the handshake keys (OpenSSL 3.0 sends it in clear, above)
                    sizes = encrypted_record_lengths(alert)
                    raise ConnectFailed("tls", "certificate verify failed: %s; TLS 1.3: sent its alert encrypted "
                                        "(records of %s bytes), nothing else" % (e.verify_message, sizes),
                                        "encrypted (%s-byte record)" % "+".join(map(str, sizes)))
                if server_picked_tls13(self.server_bytes):
                    raise ConnectFailed("tls", "certificate verify failed: %s; TLS 1.3, the server's certificate "
                                        "encrypted: sent alert %s in clear (OpenSSL does so before its own "
                                        "handshake keys are in use)" % (e.verify_message, alert_in(alert)),
                                        alert_in(alert))
                raise ConnectFailed("tls", "certificate verify failed: %s; sent alert %s"
                                    % (e.verify_message, alert_in(alert)), alert_in(alert))
            pending = self.out.read()
            # (TLS 1.3 encrypts the Certificate: OpenSSL's own verification judges it, above.)
            if pending and sent_hello and not self.chain and not server_picked_tls13(self.server_bytes):
                self.chain = cert_chain_from(self.server_bytes)
                leaf = decode_cert(self.chain[0]) if self.chain else {}
                if not name_matches(self.sni, leaf):
                    time.sleep(judge_delay)  # the app evaluates the trust result, then gives up
                    self.sock.sendall(ALERT_CERTIFICATE_UNKNOWN)
                    self.close_after_alert()
                    names = [v for k, v in leaf.get("subjectAltName", ()) if k == "DNS"]
                    raise ConnectFailed("tls", "certificate does not cover %s (SAN %s); sent alert certificate_unknown"
                                        % (self.sni, ", ".join(names)), alert_in(ALERT_CERTIFICATE_UNKNOWN))
            if pending:
                self.sock.sendall(pending)
                if not sent_hello:
                    self.client_hello = pending
                    sent_hello = True
            if done:
                return
            data = self.sock.recv(65536)
            if not data:
                raise ConnectFailed("tls", "server closed during handshake")
            self.server_bytes += data
            self.inc.write(data)

    def close_after_alert(self):
        """FIN right after the fatal alert, then wait for the server's FIN."""
        time.sleep(0.001)
        self.sock.shutdown(socket.SHUT_WR)
        self.sock.settimeout(2.0)
        try:
            while self.sock.recv(65536):
                pass
        except OSError:
            pass

    def sendall(self, data):
        self.obj.write(data)
        self.sock.sendall(self.out.read())

    def recv(self, n=65536):
        while True:
            try:
                return self.obj.read(n)
            except ssl.SSLWantReadError:
                d = self.sock.recv(65536)
                if not d:
                    return b""
                self.inc.write(d)
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return b""


class H2Session:
    """HTTP/2 on a TLS channel whose ALPN chose h2 (scenario M; python3-h2, imported only here).
    One reader thread feeds the frames to h2 and hands each stream's events to whoever waits for
    that stream, so a held long poll does not block the requests after it."""

    def __init__(self, chan):
        import h2.config
        import h2.connection
        self.h2events = __import__("h2.events").events
        self.errors = __import__("h2.errors").errors
        self.chan = chan
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.streams = {}  # id -> {"headers", "data", "done", "reset"}
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        with self.lock:
            self.conn.initiate_connection()
            self._flush()
        threading.Thread(target=self._reader, daemon=True).start()

    def _flush(self):  # with the lock held
        data = self.conn.data_to_send()
        if data:
            self.chan.obj.write(data)
            self.chan.sock.sendall(self.chan.out.read())

    def _reader(self):
        while True:
            try:
                d = self.chan.sock.recv(65536)
            except OSError:
                d = b""
            with self.cond:
                if not d:
                    for st in self.streams.values():
                        st["done"] = True
                    self.cond.notify_all()
                    return
                self.chan.inc.write(d)
                plain = b""
                while True:
                    try:
                        plain += self.chan.obj.read(65536)
                    except ssl.SSLWantReadError:
                        break
                    except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                        break
                E = self.h2events
                for ev in self.conn.receive_data(plain):
                    st = self.streams.get(getattr(ev, "stream_id", None))
                    if isinstance(ev, E.ResponseReceived) and st is not None:
                        st["headers"] = list(ev.headers)
                        st.setdefault("t_first", time.time())
                    elif isinstance(ev, E.DataReceived):
                        self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                        if st is not None:
                            st["data"] += ev.data
                    elif isinstance(ev, E.StreamEnded) and st is not None:
                        st["done"] = True
                    elif isinstance(ev, E.StreamReset) and st is not None:
                        st["reset"] = self.errors.ErrorCodes(ev.error_code).name
                        st["done"] = True
                self._flush()
                self.cond.notify_all()

    def request(self, headers, body):
        """Sends one request; returns its stream id."""
        with self.lock:
            sid = self.conn.get_next_available_stream_id()
            self.streams[sid] = {"headers": None, "data": b"", "done": False, "reset": None}
            self.conn.send_headers(sid, headers, end_stream=not body)
            if body:
                self.conn.send_data(sid, body, end_stream=True)
            self._flush()
        return sid

    def response(self, sid):
        with self.cond:
            self.cond.wait_for(lambda: self.streams[sid]["done"])
            return self.streams[sid]


# ----------------------------------------------------------------------------------------------

class Conn:
    def __init__(self, client, label, session, scheme, host, port, ip, cport):
        self.client, self.label, self.session = client, label, session
        self.scheme, self.host, self.port, self.ip, self.cport = scheme, host, port, ip, cport
        self.sock = None
        self.chan = None
        self.buf = b""
        self.busy = False
        self.t_start = self.t_tcp = self.t_tls = None
        self.connect_sid = None  # SAZ: the CONNECT session of this tunnel
        self.h2 = None  # H2Session when ALPN chose h2 (M)

    def open(self, timeout, judge_delay=0.015):
        c = self.client
        self.t_start = time.time()
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((c.lo_client, self.cport))
        s.settimeout(timeout)
        try:
            s.connect((self.ip, self.port))
        except (socket.timeout, OSError) as e:
            s.close()
            raise ConnectFailed("tcp", "no SYN-ACK (%s)" % e.__class__.__name__)
        s.settimeout(None)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.t_tcp = time.time()
        self.sock = s
        if self.scheme == "https":
            ctx = c.ctx_h1 if self.session.endswith("-h1") else c.ctx
            self.chan = TlsChannel(s, ctx, self.host)
            try:
                self.chan.handshake(judge_delay)
            finally:
                self.t_tls = time.time()
            if self.chan.obj.selected_alpn_protocol() == "h2":
                self.h2 = H2Session(self.chan)
        return self

    def sendall(self, data):
        (self.chan or self.sock).sendall(data)

    def recv(self):
        return (self.chan or self.sock).recv(65536)

    def read_response(self, method):
        """Returns (raw bytes, status, headers, body, t_first_byte)."""
        t_first = None
        while b"\r\n\r\n" not in self.buf:
            d = self.recv()
            if not d:
                raise ConnectFailed("http", "connection closed before response")
            if t_first is None:
                t_first = time.time()
            self.buf += d
        if t_first is None:
            t_first = time.time()
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = [tuple(x.strip() for x in l.split(":", 1)) for l in lines[1:] if ":" in l]
        n = 0
        for k, v in headers:
            if k.lower() == "content-length":
                n = int(v)
        if status in (204, 304) or method == "HEAD":
            n = 0
        while len(rest) < n:
            d = self.recv()
            if not d:
                break
            rest += d
        body, self.buf = rest[:n], rest[n:]
        return head + b"\r\n\r\n" + body, status, headers, body, t_first


class Response:
    def __init__(self, status, headers, body, url):
        self.status, self.headers, self.body, self.url = status, headers, body, url

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def json(self):
        return json.loads(self.body)

    def href(self, rel_href):
        """Absolute URL of an href relative to this response's request URL."""
        return urllib.parse.urljoin(self.url, rel_href)


def classify(resp, stage=None, sub_kind=None, after_type3=False):
    """The outcome as the client experienced it (the specification's outcome table, from its side)."""
    if resp is None:
        return "unknown"
    if after_type3 and resp.status == 401:  # the credentials themselves were refused
        return "fail"
    if sub_kind == "wpad":  # proxy auto-discovery: a missing PAC file is tolerated
        return "ok" if resp.status == 200 else "noise"
    if stage == "modern-auth":
        if resp.status == 200 and "".join(resp.header_all("Content-Type")).startswith("text/html"):
            return "challenge"  # the identity provider's interactive sign-in page
        if resp.status in (302, 303):
            loc = resp.header_all("Location")[0]
            return "ok" if ("code=" in loc or "access_token=" in loc) else "redirect"
    if 300 <= resp.status < 400:  # only roots answer 3xx here; the client does not follow another domain
        loc = urllib.parse.urlsplit(resp.header_all("Location")[0]).hostname or ""
        return "redirect" if loc.lower() == urllib.parse.urlsplit(resp.url).hostname.lower() else "fail"
    if resp.status == 401:
        return "challenge"
    if resp.status >= 400:
        return "fail"
    try:
        if "redirect" in resp.json.get("_links", {}):
            return "redirect"
    except (ValueError, AttributeError):
        pass
    return "ok"


class Client:
    def __init__(self, letter, outdir):
        self.cfg = S.SCENARIOS[letter]
        self.letter, self.outdir = letter, outdir
        self.name = self.cfg["name"]
        self.lo_client = S.lo(self.cfg["client"])
        self.lo_resolver = S.lo(self.cfg["resolver"])
        self.t0 = None
        self.steps = []
        self.lock = threading.Lock()
        self.dns_cache = {}  # name -> (target name or None, ip or None, step id)
        self.conns = []
        self.port_next = {"lync": self.cfg["lync_port_base"], "noise": self.cfg["lync_port_base"] + 10}
        self.label_next = {"lync": 1, "noise": 1}
        self.dns_ports = list(self.cfg["dns_ports"])
        self.noise_dns_port = 53101
        self.saz = []  # recorded exchanges for the SAZ
        self.errors = []
        self.keylog = os.path.join(outdir, self.name + ".keylog.txt")
        if os.path.exists(self.keylog):
            os.unlink(self.keylog)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False  # checked by TlsChannel (alert certificate_unknown like iOS)
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(os.path.join(HERE, "pki", self.cfg["trust"]))
        ctx.verify_flags = ctx.verify_flags | X509_V_FLAG_NO_CHECK_TIME
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_3 if self.cfg.get("tls13") else ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers(CIPHERS)
        ctx.options |= 0x00080000  # SSL_OP_NO_ENCRYPT_THEN_MAC: iOS 8 did not offer it
        if self.cfg.get("keylog", True):  # L: the phone's TLS secrets are not available
            ctx.keylog_filename = self.keylog
        self.ctx = self.ctx_h1 = ctx
        if self.cfg.get("h2"):  # M: the 2019 app offers h2 by ALPN; a leg redone on HTTP/1.1 offers only that
            self.ctx_h1 = self.make_ctx(ctx, ["http/1.1"])
            self.ctx = self.make_ctx(ctx, ["h2", "http/1.1"])

    def make_ctx(self, like, alpn):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(os.path.join(HERE, "pki", self.cfg["trust"]))
        ctx.verify_flags = like.verify_flags
        ctx.minimum_version, ctx.maximum_version = like.minimum_version, like.maximum_version
        ctx.set_ciphers(CIPHERS)
        ctx.options = like.options
        ctx.keylog_filename = self.keylog
        ctx.set_alpn_protocols(alpn)
        return ctx

    # -- clock ---------------------------------------------------------------------------------
    def at(self, t):
        if self.t0 is None:
            self.t0 = time.time()
            return
        d = self.t0 + t - time.time()
        if d > 0:
            time.sleep(d)

    def rel(self, wall):
        return None if wall is None else wall - self.t0

    # -- record ----------------------------------------------------------------------------------
    def record(self, start_wall, step):
        with self.lock:
            self.steps.append((start_wall, step))

    def check(self, step, got, want):
        if got != want:
            msg = f"{step}: design says outcome {want!r}, got {got!r}"
            print("DESIGN MISMATCH", msg, file=sys.stderr)
            self.errors.append(msg)

    # -- DNS -----------------------------------------------------------------------------------
    def dns(self, step, qname, qtype, txid, *, at, stage, outcome, parent, why, noise=False, sub_kind=None):
        self.at(at)
        if noise:
            sport = self.noise_dns_port
            self.noise_dns_port += 1
        else:
            sport = self.dns_ports.pop(0)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((self.lo_client, sport))
        s.settimeout(3.0)
        t = time.time()
        s.sendto(dnswire.build_query(txid, qname, qtype), (self.lo_resolver, 53))
        data, _ = s.recvfrom(4096)
        s.close()
        m = dnswire.parse_message(data)
        assert m["txid"] == txid
        for name, rtype, _ttl, val, _off in m["answers"]:
            if rtype == 5:
                self.dns_cache[name.lower()] = (val.lower(), None, step)
            elif rtype == 1:
                self.dns_cache[name.lower()] = (None, val, step)
        rcode = dnswire.RCODE_NAME.get(m["rcode"], str(m["rcode"]))
        self.check(step, "ok" if rcode == "NOERROR" else "noise", outcome if outcome != "fail" else "noise")
        rec = {"step": step, "kind": "dns", "qname": qname, "qtype": qtype, "txid": "0x%04x" % txid,
               "rcode": rcode, "stage": stage}
        if sub_kind:
            rec["sub_kind"] = sub_kind
        rec.update(outcome=outcome, parent=parent, why=why)
        self.record(t, rec)
        return m

    def cached_ip(self, host):
        name, seen = host.lower(), 0
        while name in self.dns_cache and seen < 10:
            seen += 1
            target, ip, step = self.dns_cache[name]
            if ip:
                return ip, step
            name = target
        return None, None

    # -- HTTP ------------------------------------------------------------------------------------
    def get_conn(self, session, scheme, host, port, *, dns, connect_at, timeout, fail_step, noise, judge_delay, request):
        for c in self.conns:
            if (c.session, c.scheme, c.host.lower(), c.port) == (session, scheme, host.lower(), port) and c.sock and not c.busy:
                return c, c.dns_step
        ip, dns_step = self.cached_ip(host)
        if ip is None:
            if dns is None:
                raise DesignMismatch(f"{host} not resolved and no DNS step designed")
            d = dict(dns)
            self.dns(d.pop("step"), host, "A", d.pop("txid"), **d)
            ip, dns_step = self.cached_ip(host)
        elif dns is not None:
            raise DesignMismatch(f"DNS step {dns['step']} designed but {host} is already cached")
        kind = "noise" if noise else "lync"
        cport = self.port_next[kind]
        self.port_next[kind] += 1
        label = ("NC%d" if noise else "C%d") % self.label_next[kind]
        self.label_next[kind] += 1
        conn = Conn(self, label, session, scheme, host, port, ip, cport)
        conn.dns_step = dns_step
        if connect_at is not None:
            self.at(connect_at)
        try:
            conn.open(timeout, judge_delay)
        except ConnectFailed as e:
            rec = dict(fail_step or {})
            sid = rec.pop("step", None)
            if sid is None:
                raise
            self.record(conn.t_start, {"step": sid, "kind": "tcp", "server": "%s:%d" % (S.real(ip), port),
                                       "sni": host if (scheme == "https" and e.what == "tls") else None,
                                       "alert": e.alert, "connection": label, "stage": rec["stage"],
                                       "carries": rec["carries"], "outcome": rec["outcome"],
                                       "parent": rec.get("parent"), "dns": dns_step, "why": rec["why"] + " [" + e.reason + "]"})
            self.saz_failed_connect(conn, e, request)
            return None, e
        if fail_step:
            self.errors.append("%s: design says the connection fails, but it completed" % fail_step.get("step"))
        self.conns.append(conn)
        if scheme == "https":
            self.saz_connect(conn)
        return conn, dns_step

    def http(self, step, method, url, *, at, stage, outcome, parent, why, session="main", accept=None,
             bearer=None, auth=None, ctype=None, body=None, soap_action=None, dns=None, connect_at=None,
             timeout=10.0, fail_step=None, wait=True, noise=False, headers=None, judge_delay=0.015, sub_kind=None):
        u = urllib.parse.urlsplit(url)
        scheme, host = u.scheme, u.netloc.rsplit(":", 1)[0] if ":" in u.netloc else u.netloc  # case as announced
        port = u.port or (443 if scheme == "https" else 80)
        target = (u.path or "/") + ("?" + u.query if u.query else "")
        hostport = host if port == (443 if scheme == "https" else 80) else f"{host}:{port}"
        if headers is None:  # the Lync app's header set
            h = [("Host", hostport)]
            if accept:
                h.append(("Accept", accept))
            if bearer:
                h.append(("Authorization", "Bearer " + bearer))
            if auth:
                h.append(("Authorization", auth))
            if body is not None:
                h.append(("Content-Type", ctype))
            if soap_action:
                h.append(("SOAPAction", soap_action))
            h += [("Accept-Language", "en-US"), ("Accept-Encoding", "gzip, deflate"), ("User-Agent", UA),
                  ("Connection", "keep-alive")]
        else:
            h = [("Host", hostport)] + headers
        if body is not None:
            if isinstance(body, str):
                body = body.encode()
            h.append(("Content-Length", str(len(body))))
        raw = (f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h) + "\r\n").encode("latin-1")
        raw += body or b""
        full_url = f"{scheme}://{hostport}{target}"
        conn, dns_step = self.get_conn(session, scheme, host, port, dns=dns,
                                       connect_at=connect_at if connect_at is not None else at,
                                       timeout=timeout, fail_step=fail_step, noise=noise, judge_delay=judge_delay,
                                       request=raw)
        if conn is None:
            return None
        self.at(at)
        rec = {"step": step, "kind": "http", "method": method, "url": full_url, "status": None,
               "connection": conn.label, "stage": stage}
        if sub_kind:
            rec["sub_kind"] = sub_kind
        rec.update(outcome=outcome, parent=parent)
        if dns_step:
            rec["dns"] = dns_step
        rec["why"] = why
        if conn.h2:
            return self.http2(conn, step, method, h, body, target, full_url, rec, outcome, stage, sub_kind, auth, wait)
        conn.busy = True
        t_send = time.time()
        conn.sendall(raw)
        t_sent = time.time()
        ex = {"conn": conn, "c": raw, "s": None, "t_send": t_send, "t_sent": t_sent, "t_first": None, "t_done": None,
              "url": full_url, "method": method, "noise": noise}
        with self.lock:
            self.saz.append(ex)
        self.record(t_send, rec)

        def finish():
            try:
                rawresp, status, rh, rb, t_first = conn.read_response(method)
            except (ConnectFailed, OSError):
                return None
            ex.update(s=rawresp, t_first=t_first, t_done=time.time())
            rec["status"] = status
            conn.busy = False
            return Response(status, rh, rb, full_url)
        if not wait:
            threading.Thread(target=finish, daemon=True).start()
            return None
        resp = finish()
        self.check(step, classify(resp, stage, sub_kind, bool(auth and auth.startswith("NTLM TlRMTVNTUAADAAAA"))), outcome)
        return resp

    def http2(self, conn, step, method, h, body, target, full_url, rec, outcome, stage, sub_kind, auth, wait):
        """The request as an HTTP/2 stream: pseudo-header fields from the request line and Host,
        the rest lower-case without the connection-specific ones (RFC 9113 section 8.2.2)."""
        fields = [(":method", method), (":scheme", "https"), (":authority", h[0][1]), (":path", target)]
        fields += [(k.lower(), v) for k, v in h[1:] if k.lower() not in ("connection", "keep-alive")]
        rec["http_version"] = "HTTP/2"
        t_send = time.time()
        sid = conn.h2.request(fields, body)
        rec["stream"] = sid
        self.record(t_send, rec)

        def finish():
            st = conn.h2.response(sid)
            if st["reset"]:
                rec["reset"] = st["reset"]
                return None
            if st["headers"] is None:
                return None
            rh = [(k, v) for k, v in st["headers"] if not k.startswith(":")]
            status = int(dict(st["headers"])[":status"])
            rec["status"] = status
            return Response(status, rh, st["data"], full_url)
        if not wait:
            threading.Thread(target=finish, daemon=True).start()
            return None
        resp = finish()
        got = "noise" if rec.get("reset") else classify(resp, stage, sub_kind, bool(auth and auth.startswith("NTLM TlRMTVNTUAADAAAA")))
        self.check(step, got, outcome)
        return resp

    # -- authentication helpers ------------------------------------------------------------------
    def ntlm_post(self, steps, ats, url, body, ctype, *, stage, parent, why, session="main", accept=None,
                  soap_action=None, final_outcome="ok"):
        """Windows authentication: anonymous POST -> 401 Negotiate/NTLM; type 1 -> 401 type 2;
        type 3 -> final. All legs on one connection (the session's)."""
        kw = dict(session=session, accept=accept, ctype=ctype, body=body, soap_action=soap_action)
        r = self.http(steps[0], "POST", url, at=ats[0], stage=stage, outcome="challenge", parent=parent,
                      why=why + " (anonymous first leg)", **kw)
        offered = [v.split()[0] for v in r.header_all("WWW-Authenticate")]
        if "NTLM" not in offered:
            raise DesignMismatch(f"{steps[0]}: NTLM not offered ({offered})")
        r = self.http(steps[1], "POST", url, at=ats[1], stage=stage, outcome="challenge", parent=steps[0],
                      auth="NTLM " + ntlm.b64(ntlm.negotiate()),
                      why="server offered NTLM in the 401 of %s: NTLM type 1 (negotiate)" % steps[0], **kw)
        t2 = [v for v in r.header_all("WWW-Authenticate") if v.startswith("NTLM ")][0][5:]
        t3 = ntlm.authenticate(base64.b64decode(t2), "CONTOSO", "alice", "ALICE-PHONE", os.urandom(8),
                               self.cfg["time_base_unix"] + time.time() - self.t0)
        return self.http(steps[2], "POST", url, at=ats[2], stage=stage, outcome=final_outcome, parent=steps[1],
                         auth="NTLM " + ntlm.b64(t3),
                         why="NTLM type 2 challenge of %s answered with type 3 (CONTOSO\\alice @ ALICE-PHONE) on the same connection" % steps[1],
                         **kw)

    def oauth_token(self, steps, ats, oauth_href, parent, session="main"):
        r = self.ntlm_post(steps, ats, oauth_href, "grant_type=urn:microsoft.rtc:windows",
                           "application/x-www-form-urlencoded;charset=UTF-8", stage="webticket-oauth", parent=parent,
                           session=session, accept="application/json",
                           why="MsRtcOAuth href of the 401 of %s: request an OAuth token with grant_type urn:microsoft.rtc:windows" % parent)
        return r.json["access_token"]

    # -- SAZ bookkeeping ---------------------------------------------------------------------------
    def saz_connect(self, conn):
        with self.lock:
            self.saz.append({"connect": conn, "t_send": conn.t_start})

    def saz_failed_connect(self, conn, err, request):
        with self.lock:
            self.saz.append({"failed": conn, "err": err, "request": request, "t_send": conn.t_start, "t_fail": time.time()})

    # -- output ------------------------------------------------------------------------------------
    def write(self, expect):
        steps = [s for _, s in sorted(self.steps, key=lambda x: x[0])]
        doc = {"scenario": self.letter, "title": self.cfg["title"], "capture": self.name + ".pcapng",
               "client": self.cfg["client"], "sip_uri": SIP, "time_base": self.cfg["time_base"],
               "steps": steps, "expect": expect}
        with open(os.path.join(self.outdir, self.name + ".script.json"), "w") as f:
            json.dump(doc, f, indent=2, ensure_ascii=False)
            f.write("\n")
        if self.cfg.get("saz"):
            saz.write_from_client(self, os.path.join(self.outdir, self.name + ".saz"))


# ----------------------------------------------------------------------------------------------
# Parsing helpers for what the servers announce

def msrtcoauth_href(resp):
    for v in resp.header_all("WWW-Authenticate"):
        m = re.match(r'MsRtcOAuth\s+href="([^"]+)"', v)
        if m:
            return m.group(1)
    raise DesignMismatch("no MsRtcOAuth href in 401")


NS = {"wsdl": "http://schemas.xmlsoap.org/wsdl/", "soap": "http://schemas.xmlsoap.org/wsdl/soap/",
      "sp": "http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702", "wsa10": "http://www.w3.org/2005/08/addressing"}


def wsdl_port_address(xml_bytes, port_name):
    root = ET.fromstring(xml_bytes)
    for p in root.iter("{%s}port" % NS["wsdl"]):
        if p.get("name") == port_name:
            return p.find("soap:address", NS).get("location")
    raise DesignMismatch("no WSDL port " + port_name)


def issued_token_issuer(xml_bytes):
    root = ET.fromstring(xml_bytes)
    for a in root.iter("{%s}Issuer" % NS["sp"]):
        return a.find("wsa10:Address", NS).text
    raise DesignMismatch("no IssuedToken issuer")


def extract_assertion(xml_bytes):
    m = re.search(rb"<saml:Assertion\b.*?</saml:Assertion>", xml_bytes, re.S)
    return m.group(0).decode()


def rst_body(applies_to, wsdl_ports):
    entropy = base64.b64encode(os.urandom(32)).decode()
    return f'''<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header><a:Action s:mustUnderstand="1">http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue</a:Action><a:MessageID>urn:uuid:6c1d7e2f-3a4b-4c5d-8e9f-0a1b2c3d4e5f</a:MessageID><a:To s:mustUnderstand="1">{wsdl_ports}</a:To></s:Header><s:Body><wst:RequestSecurityToken Context="8d3e0f1a" xmlns:wst="http://docs.oasis-open.org/ws-sx/ws-trust/200512"><wst:TokenType>http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV1.1</wst:TokenType><wst:RequestType>http://schemas.xmlsoap.org/ws/2005/02/trust/Issue</wst:RequestType><wsp:AppliesTo xmlns:wsp="http://schemas.xmlsoap.org/ws/2004/09/policy"><wsa:EndpointReference xmlns:wsa="http://www.w3.org/2005/08/addressing"><wsa:Address>{applies_to}</wsa:Address></wsa:EndpointReference></wsp:AppliesTo><wst:Claims Dialect="urn:component:Microsoft.Rtc.WebAuthentication.2010:authclaims"><auth:ClaimType Uri="http://schemas.xmlsoap.org/ws/2005/05/identity/claims/uri" Optional="false" xmlns:auth="http://schemas.xmlsoap.org/ws/2006/12/authorization"><auth:Value>sip:{SIP}</auth:Value></auth:ClaimType></wst:Claims><wst:Entropy><wst:BinarySecret>{entropy}</wst:BinarySecret></wst:Entropy><wst:KeyType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/SymmetricKey</wst:KeyType></wst:RequestSecurityToken></s:Body></s:Envelope>'''


def gapc_body(port_address, assertion, t_iso, t_exp):
    csr = open(os.path.join(HERE, "pki", "alice-device.csr")).read()
    csr_b64 = "".join(l.strip() for l in csr.splitlines() if not l.startswith("-----"))
    return f'''<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:a="http://www.w3.org/2005/08/addressing" xmlns:u="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"><s:Header><a:Action s:mustUnderstand="1">http://schemas.microsoft.com/OCS/AuthWebServices/GetAndPublishCert</a:Action><a:MessageID>urn:uuid:1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b</a:MessageID><a:To s:mustUnderstand="1">{port_address}</a:To><o:Security s:mustUnderstand="1" xmlns:o="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><u:Timestamp u:Id="timestamp"><u:Created>{t_iso}</u:Created><u:Expires>{t_exp}</u:Expires></u:Timestamp>{assertion}<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo><CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#hmac-sha1"/><Reference URI="#timestamp"><DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/><DigestValue>q2Vw0uYk3ZtC1a9b8n7m6l5k4j0=</DigestValue></Reference></SignedInfo><SignatureValue>c3ludGhldGljIGhtYWMtc2hhMQ==</SignatureValue></Signature></o:Security></s:Header><s:Body><GetAndPublishCert xmlns="http://schemas.microsoft.com/OCS/AuthWebServices/" DeviceId="{{{ENDPOINT_ID}}}" Entity="{SIP}"><wst:RequestSecurityToken xmlns:wst="http://docs.oasis-open.org/ws-sx/ws-trust/200512"><wst:TokenType>http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3</wst:TokenType><wst:RequestType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue</wst:RequestType><wsse:BinarySecurityToken ValueType="http://schemas.microsoft.com/OCS/AuthWebServices.xsd#PKCS10" EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd#Base64Binary" xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">{csr_b64}</wsse:BinarySecurityToken><wstep:RequestID xmlns:wstep="http://schemas.microsoft.com/windows/pki/2009/01/enrollment">0</wstep:RequestID></wst:RequestSecurityToken></GetAndPublishCert></s:Body></s:Envelope>'''


def iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + ".%03dZ" % int((ts % 1) * 1000)


# ----------------------------------------------------------------------------------------------
# The sign-in pieces shared by the scenarios

def authenticate_user(c, user_href, ids, ats, parent, why):
    """GET the user resource (401 MsRtcOAuth) -> OAuth token over NTLM. ids = (challenge, oauth
    leg 1, 2, 3); ats = their start times (+ optional connect time). Returns the token."""
    chal = c.http(ids[0], "GET", user_href, at=ats[0], connect_at=ats[4] if len(ats) > 4 else None,
                  stage="ad-user-challenge", outcome="challenge", parent=parent, accept="application/json", why=why)
    return c.oauth_token(ids[1:4], ats[1:4], msrtcoauth_href(chal), ids[0])


def certprov(c, ids, ats, fqdn, session, why_host):
    """First-sign-in certificate provisioning: CertProv mex -> WebTicket mex -> RST/Issue (NTLM)
    -> GetAndPublishCert with the SAML web ticket."""
    mex = c.http(ids[0], "GET", f"https://{fqdn}/CertProv/CertProvisioningService.svc/mex", at=ats[0],
                 session=session, accept="text/xml", stage="certprov", outcome="ok", parent=None,
                 why="first sign-in on this device: certificate provisioning metadata on " + why_host)
    issuer = issued_token_issuer(mex.body)
    port_addr = wsdl_port_address(mex.body, "CertProvisioningServiceWebTicketProof_SHA1")
    wt = c.http(ids[1], "GET", issuer + "/mex", at=ats[1], session=session, accept="text/xml",
                stage="webticket-soap", outcome="ok", parent=ids[0],
                why="CertProv policy of %s names the web ticket issuer (IssuedToken/Issuer/Address); fetch its metadata" % ids[0])
    auth_url = wsdl_port_address(wt.body, "WebTicketServiceWinNegotiate")
    rstr = c.ntlm_post(ids[2:5], ats[2:5], auth_url, rst_body(port_addr, auth_url), "text/xml; charset=utf-8",
                       stage="webticket-soap", parent=ids[1], session=session,
                       soap_action='"http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue"',
                       why="WSDL port WebTicketServiceWinNegotiate of %s: request a SAML web ticket for CertProv" % ids[1])
    assertion = extract_assertion(rstr.body)
    now = c.cfg["time_base_unix"] + time.time() - c.t0
    c.http(ids[5], "POST", port_addr, at=ats[5], session=session, ctype="text/xml; charset=utf-8",
           soap_action='"http://schemas.microsoft.com/OCS/AuthWebServices/GetAndPublishCert"',
           body=gapc_body(port_addr, assertion, iso(now), iso(now + 300)), stage="certprov", outcome="ok",
           parent=ids[0], why="CertProv port address of %s, web ticket (SAML) of %s: GetAndPublishCert with the device's PKCS#10" % (ids[0], ids[4]))


def ucwa_signed_in(c, app_resp, ids, ats, bearer):
    """makeMeAvailable, policies, MRAS, contacts, presence subscription, event channel and the
    presence reads the first event batch points at. Returns the policies JSON."""
    app = app_resp.json
    a = ids
    emb = app["_embedded"]
    H = dict(bearer=bearer)
    c.http(a[0], "POST", app_resp.href(emb["me"]["_links"]["makeMeAvailable"]["href"]), at=ats[0],
           ctype="application/json", accept="application/json", stage="signed-in", outcome="ok", parent=ids[-1],
           body=json.dumps({"signInAs": "Online", "supportedModalities": ["Messaging", "Audio", "Video", "PhoneAudio"],
                            "supportedMessageFormats": ["Plain", "Html"], "audioPreference": "VoipAudio",
                            "phoneNumber": "+14255550123"}, separators=(",", ":")),
           why="_embedded.me._links.makeMeAvailable of %s: go online" % ids[-1], **H)
    pol = c.http(a[1], "GET", app_resp.href(app["_links"]["policies"]["href"]), at=ats[1], accept="application/json",
                 stage="inband-provisioning", outcome="ok", parent=ids[-1],
                 why="_links.policies of %s: mobile policy" % ids[-1], **H)
    c.http(a[2], "GET", app_resp.href(emb["communication"]["_links"]["mediaRelayAccessToken"]["href"]), at=ats[2],
           accept="application/json", stage="mras", outcome="ok", parent=ids[-1],
           why="_embedded.communication._links.mediaRelayAccessToken of %s: media relay credentials" % ids[-1], **H)
    contacts = c.http(a[3], "GET", app_resp.href(emb["people"]["_links"]["myContacts"]["href"]), at=ats[3],
                      accept="application/json", stage="contacts-presence", outcome="ok", parent=ids[-1],
                      why="_embedded.people._links.myContacts of %s: contact list" % ids[-1], **H)
    uris = [x["uri"] for x in contacts.json["_embedded"]["contact"]]
    c.http(a[4], "POST", app_resp.href(emb["people"]["_links"]["presenceSubscriptions"]["href"]), at=ats[4],
           ctype="application/json", accept="application/json", stage="contacts-presence", outcome="ok", parent=ids[-1],
           body=json.dumps({"duration": 30, "Uris": uris}, separators=(",", ":")),
           why="_embedded.people._links.presenceSubscriptions of %s, contact URIs from %s: subscribe to presence" % (ids[-1], a[3]), **H)
    ev = c.http(a[5], "GET", app_resp.href(app["_links"]["events"]["href"]), at=ats[5], session="events",
                accept="application/json", stage="event-channel", outcome="ok", parent=ids[-1],
                why="_links.events of %s: open the event channel (P-GET) on its own connection" % ids[-1], **H)
    c.http(a[6], "GET", ev.href(ev.json["_links"]["next"]["href"]), at=ats[6], session="events",
           accept="application/json", stage="event-channel", outcome="ok", parent=a[5], wait=False,
           why="_links.next of %s: next long poll, held by the server (pending: no response before the capture ends)" % a[5], **H)
    presence_links = [e["link"]["href"] for snd in ev.json["sender"] for e in snd["events"]
                      if e["link"]["rel"] == "contactPresence"]
    for sid, t, href in zip(a[7:-1], ats[7:], presence_links):
        c.http(sid, "GET", ev.href(href), at=t, accept="application/json", stage="contacts-presence", outcome="ok",
               parent=a[5], why="contactPresence event link of %s: read the contact's presence" % a[5], **H)
    return pol.json


# ----------------------------------------------------------------------------------------------
# Scenarios

def scenario_internal(c, variant):
    domain = SIP.split("@")[1]
    disc = f"lyncdiscoverinternal.{domain}"
    c.dns("A01", disc, "A", 0x1a01, at=0.0, stage="dns-discovery", outcome="ok", parent=None,
          why="mobile discovery starts with the internal name lyncdiscoverinternal.<SIP domain>")
    root = c.http("A02", "GET", f"http://{disc}/?sipuri={SIP}", at=0.020, accept="application/json",
                  stage="ad-root-http", outcome="ok", parent=None,
                  why="Autodiscover root over HTTP first (no certificate needed) on the name A01 resolved")
    user_href = root.json["_links"]["user"]["href"]
    token = authenticate_user(c, user_href, ("A04", "A05", "A06", "A07"), (0.112, 0.150, 0.175, 0.195, 0.070), "A02",
                             "_links.user.href of A02 (no token yet)")
    user = c.http("A08", "GET", user_href, at=0.490, bearer=token, accept="application/json", stage="ad-user",
                  outcome="ok", parent="A04",
                  why="same user URL as A04, now with the token of A07: service locations")
    apps_href = user.json["_links"]["applications"]["href"]
    apps_host = urllib.parse.urlsplit(apps_href).hostname
    dns09 = dict(step="A09" if variant == "A" else "E09", txid=0x1a02, at=0.570, stage="dns-hop", outcome="ok",
                 parent="A08", why="host of _links.applications.href of A08 is not resolved yet")
    body = json.dumps({"UserAgent": UA, "EndpointId": ENDPOINT_ID, "Culture": "en-US"}, separators=(",", ":"))
    if variant == "E":
        for sid, t_conn, why in (("E10", 0.605, "connect to the address E09 returned for the UCWA host"),
                                 ("E11", 16.0, "client retry of the UCWA connection")):
            r = c.http(sid, "POST", apps_href, at=t_conn, connect_at=t_conn, dns=dns09 if sid == "E10" else None,
                       bearer=token, accept="application/json", ctype="application/json", body=body,
                       stage="ucwa-application", outcome="ok", parent="A08", why="unused", timeout=14.95,
                       fail_step=dict(step=sid, stage="tcp-tls", carries="ucwa-application", outcome="fail", parent="A08",
                                      why=why + " (_links.applications.href of A08): no SYN-ACK, hairpin dropped"))
            assert r is None
        c.at(c.cfg["capture_end"])
        return {"flow": "internal", "signed_in": False, "furthest_stage": "ad-user", "failed_stage": "tcp-tls",
                "verdict": "furthest: ad-user (ok) → failed: tcp-tls for ucwa-application (C-NET-1: hairpin to 203.0.113.10 blocked)",
                "findings": [{"check": "C-NET-1", "severity": "fail"}, {"check": "C-CERT-4", "severity": "info"}],
                "no_fail_findings": False}
    app = c.http("A11", "POST", apps_href, at=0.645, connect_at=0.585, dns=dns09, bearer=token,
                 accept="application/json", ctype="application/json", body=body, stage="ucwa-application",
                 outcome="ok", parent="A08", why="_links.applications.href of A08: create the UCWA application")
    certprov(c, ("A12", "A13", "A14", "A15", "A16", "A17"), (1.300, 1.370, 1.420, 1.445, 1.465, 1.720),
             urllib.parse.urlsplit(user_href).hostname, "certprov",
             "the pool's internal web FQDN learnt from A02 (well-known CertProv path; URL not announced)")
    ucwa_signed_in(c, app, ("A18", "A19", "A20", "A21", "A22", "A23", "A24", "A25", "A26", "A11"),
                   (2.500, 2.800, 2.860, 2.950, 3.120, 3.270, 3.910, 3.950, 4.010), token)
    c.at(c.cfg["capture_end"])
    return {"flow": "internal", "signed_in": True, "furthest_stage": "event-channel", "failed_stage": None,
            "verdict": "furthest: event-channel (ok)",
            "findings": [{"check": "C-CERT-4", "severity": "info"}, {"check": "C-POL-2", "severity": "info"}],
            "no_fail_findings": True}


def noise_thread(c):
    """Background traffic of other apps on the phone (scenario A): stage `unrelated`."""
    cfn = "CFNetwork/711.3.18 Darwin/14.0.0"

    def hdr(ua, accept="*/*", extra=()):
        return list(extra) + [("Accept", accept), ("Accept-Language", "en-us"), ("Accept-Encoding", "gzip, deflate"),
                              ("Connection", "keep-alive"), ("User-Agent", ua)]
    kw = dict(stage="unrelated", noise=True)
    for sid, name, qt, txid, t in (("N01", "captive.apple.com", "A", 0x6c01, 0.030), ("N02", "captive.apple.com", "AAAA", 0x6c02, 0.031)):
        c.dns(sid, name, qt, txid, at=t, outcome="ok", parent=None, why="iOS captive-portal probe on Wi-Fi join", **kw)
    c.http("N03", "GET", "http://captive.apple.com/hotspot-detect.html", at=0.060, session="captive", outcome="ok",
           parent=None, why="iOS captive-portal probe (background, not Lync)",
           headers=[("Connection", "keep-alive"), ("User-Agent", "CaptiveNetworkSupport-306.20.1 wispr")], **kw)
    c.dns("N04", "api.weather.example.com", "A", 0x7d11, at=0.800, outcome="ok", parent=None, why="weather widget refresh", **kw)
    c.dns("N05", "api.weather.example.com", "AAAA", 0x7d12, at=0.801, outcome="ok", parent=None, why="weather widget refresh", **kw)
    wua = "WeatherNow/3.2.1 " + cfn
    w = c.http("N06", "GET", "https://api.weather.example.com/v1/forecast?lat=47.64&lon=-122.13", at=0.830,
               session="weather", outcome="ok", parent=None, why="weather app: forecast (HAL JSON with _links)",
               headers=hdr(wua, "application/hal+json"), **kw)
    c.http("N07", "GET", w.href(w.json["_links"]["hourly"]["href"]), at=1.150, session="weather", outcome="ok",
           parent="N06", why="weather app follows _links.hourly.href of N06", headers=hdr(wua, "application/hal+json"), **kw)
    c.dns("N08", "login.example.net", "A", 0x8e21, at=1.900, outcome="ok", parent=None, why="fitness app token refresh", **kw)
    c.dns("N09", "login.example.net", "AAAA", 0x8e22, at=1.901, outcome="ok", parent=None, why="fitness app token refresh", **kw)
    fua = "FitTrack/2.0.4 " + cfn
    form = "grant_type=refresh_token&refresh_token=rt-3b9c0d1e2f3a4b5c&scope=activity%20profile"
    c.http("N10", "POST", "https://login.example.net/oauth2/token", at=1.930, session="login", outcome="challenge",
           parent=None, why="fitness app: OAuth2 refresh without client authentication",
           headers=hdr(fua, "application/json", [("Content-Type", "application/x-www-form-urlencoded")]), body=form, **kw)
    c.http("N11", "POST", "https://login.example.net/oauth2/token", at=2.010, session="login", outcome="ok",
           parent="N10", why="401 WWW-Authenticate: Bearer of N10: retry with client credentials",
           headers=hdr(fua, "application/json", [("Authorization", "Basic " + base64.b64encode(b"fittrack-ios:s3cr3t").decode()),
                                                 ("Content-Type", "application/x-www-form-urlencoded")]), body=form, **kw)
    c.dns("N12", "cdn.example.org", "A", 0x9f31, at=3.400, outcome="ok", parent=None, why="app remote configuration", **kw)
    c.dns("N13", "cdn.example.org", "AAAA", 0x9f32, at=3.401, outcome="ok", parent=None, why="app remote configuration", **kw)
    c.http("N14", "GET", "https://cdn.example.org/app/config.json", at=3.430, session="cdn", outcome="ok", parent=None,
           why="fitness app: remote configuration from a CDN (gzip)", headers=hdr(fua, "application/json"), **kw)


def scenario_external(c, variant):
    domain = SIP.split("@")[1]
    c.dns("B01", f"lyncdiscoverinternal.{domain}", "A", 0x2b01, at=0.0, stage="dns-discovery", outcome="noise", parent=None,
          why="mobile discovery tries the internal name first; NXDOMAIN is expected outside the company")
    c.dns("B02", f"lyncdiscover.{domain}", "A", 0x2b02, at=0.035, stage="dns-discovery", outcome="ok", parent=None,
          why="internal name does not exist here: external discovery name lyncdiscover.<SIP domain>")
    disc = f"lyncdiscover.{domain}"
    root_kw = dict(accept="application/json", stage="ad-root-http", outcome="ok", parent=None)
    r = c.http("B03x", "GET", f"http://{disc}/?sipuri={SIP}", at=0.085, timeout=4.0, why="", **root_kw,
               fail_step=dict(step="B03", stage="tcp-tls", carries="ad-root-http", outcome="noise", parent=None,
                              why="Autodiscover root over HTTP first; the reverse proxy does not publish port 80, the client gives up after 4 s and continues on HTTPS"))
    assert r is None
    root = c.http("B05", "GET", f"https://{disc}/?sipuri={SIP}", at=4.265, connect_at=4.090, accept="application/json",
                  stage="ad-root-https", outcome="ok", parent=None,
                  why="HTTP failed: Autodiscover root over HTTPS on the name B02 resolved")
    user_href = root.json["_links"]["user"]["href"]
    token1 = authenticate_user(c, user_href, ("B06", "B07", "B08", "B09"), (4.420, 4.660, 4.725, 4.795), "B05",
                              "_links.user.href of B05 (no token yet)")
    last = "D10" if variant == "D" else "B10"
    user = c.http(last, "GET", user_href, at=5.310, bearer=token1, accept="application/json", stage="ad-user",
                  outcome="fail" if variant == "D" else "redirect", parent="B06",
                  why="same user URL as B06, now with the token of B09 (issued by pool 1)")
    if variant == "D":
        c.at(c.cfg["capture_end"])
        return {"flow": "external", "signed_in": False, "furthest_stage": "ad-user", "failed_stage": "ad-user",
                "verdict": "furthest: ad-user (fail) → failed: ad-user (C-AD-3: Autodiscover does not know the user's home pool)",
                "findings": [{"check": "C-AD-3", "severity": "fail"}, {"check": "C-HTTP-1", "severity": "info"}],
                "no_fail_findings": False}
    redirect = user.json["_links"]["redirect"]["href"]
    rhost = urllib.parse.urlsplit(redirect).hostname
    c.dns("B11", rhost, "A", 0x2b03, at=5.430, stage="dns-hop", outcome="ok", parent="B10",
          why="host of _links.redirect.href of B10 (the user's home pool) is not resolved yet")
    token2 = authenticate_user(c, redirect, ("B13", "B14", "B15", "B16"), (5.655, 5.770, 5.835, 5.905, 5.475), "B10",
                              "_links.redirect.href of B10: alice is homed on another pool; tickets are pool-scoped, so authenticate again there")
    user2 = c.http("B17", "GET", redirect, at=6.490, bearer=token2, accept="application/json", stage="ad-user",
                   outcome="ok", parent="B13", why="same user URL as B13 with the pool-2 token of B16: service locations")
    apps_href = user2.json["_links"]["applications"]["href"]
    body = json.dumps({"UserAgent": UA, "EndpointId": ENDPOINT_ID, "Culture": "en-US"}, separators=(",", ":"))
    app = c.http("B18", "POST", apps_href, at=6.610, bearer=token2, accept="application/json", ctype="application/json",
                 body=body, stage="ucwa-application", outcome="ok", parent="B17",
                 why="_links.applications.href of B17: create the UCWA application on the home pool")
    certprov(c, ("B19", "B20", "B21", "B22", "B23", "B24"), (7.400, 7.490, 7.570, 7.635, 7.705, 8.160), rhost, "main",
             "the home pool's external web FQDN learnt from B10/B17 (well-known CertProv path; URL not announced)")
    pol = ucwa_signed_in(c, app, ("B25", "B26", "B27", "B28", "B29", "B30", "B31", "B32", "B18"),
                         (8.950, 9.320, 9.430, 9.560, 9.770, 9.960, 10.710, 10.750), token2)
    # Exchange integration, as the policy of B26 allows it: Autodiscover candidates from the SMTP domain.
    if pol.get("clientExchangeConnectivity") == "Enabled":
        c.dns("B33", domain, "A", 0x2b04, at=11.000, stage="exchange-autodiscover", outcome="ok", parent="B26",
              why="policy clientExchangeConnectivity=Enabled (B26): Exchange Autodiscover candidate 1 is the SMTP root domain")
        ad_xml = ('<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request>'
                  f'<EMailAddress>{SIP}</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>'
                  '</Request></Autodiscover>')
        r = c.http("B34x", "POST", f"https://{domain}/autodiscover/autodiscover.xml", at=11.045, session="exchange",
                   ctype="text/xml", body=ad_xml, stage="exchange-autodiscover", outcome="ok", parent=None, why="",
                   judge_delay=0.015,
                   fail_step=dict(step="B34", stage="exchange-autodiscover", carries="exchange-autodiscover", outcome="noise", parent=None,
                                  why="Exchange Autodiscover candidate 1 https://contoso.com/autodiscover/autodiscover.xml: certificate does not cover the root domain; next candidate"))
        assert r is None
        ad_host = "autodiscover." + domain
        c.dns("B35", ad_host, "A", 0x2b05, at=11.220, stage="dns-hop", outcome="ok", parent=None,
              why="Exchange Autodiscover candidate 2 is autodiscover.<SMTP domain>")
        resp = c.ntlm_post(("B36", "B37", "B38"), (11.265, 11.505, 11.565), f"https://{ad_host}/autodiscover/autodiscover.xml",
                           ad_xml, "text/xml", stage="exchange-autodiscover", parent=None, session="exchange",
                           why="Exchange Autodiscover candidate 2")
        ews = re.search(rb"<EwsUrl>([^<]+)</EwsUrl>", resp.body).group(1).decode()
        find = ('<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
                'xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">'
                '<soap:Header><t:RequestServerVersion Version="Exchange2013"/></soap:Header><soap:Body><m:FindItem Traversal="Shallow">'
                '<m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="item:Subject"/>'
                '<t:FieldURI FieldURI="calendar:Start"/><t:FieldURI FieldURI="calendar:End"/><t:FieldURI FieldURI="calendar:Location"/></t:AdditionalProperties></m:ItemShape>'
                '<m:CalendarView MaxEntriesReturned="20" StartDate="2015-06-29T00:00:00Z" EndDate="2015-06-30T00:00:00Z"/>'
                '<m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem></soap:Body></soap:Envelope>')
        c.ntlm_post(("B39", "B40", "B41"), (12.150, 12.405, 12.465), ews, find, "text/xml; charset=utf-8",
                    stage="exchange-ews", parent="B38", session="exchange",
                    why="EwsUrl of B38: read today's calendar")
    c.at(c.cfg["capture_end"])
    return {"flow": "external", "signed_in": True, "furthest_stage": "event-channel", "failed_stage": None,
            "verdict": "furthest: event-channel (ok)",
            "findings": [{"check": "C-HTTP-1", "severity": "info"}, {"check": "C-POL-2", "severity": "info"}],
            "no_fail_findings": True}


def scenario_c(c):
    domain = SIP.split("@")[1]
    disc = f"lyncdiscover.{domain}"
    c.dns("C01", f"lyncdiscoverinternal.{domain}", "A", 0x3c01, at=0.0, stage="dns-discovery", outcome="noise", parent=None,
          why="mobile discovery tries the internal name first; NXDOMAIN is expected outside the company")
    c.dns("C02", disc, "A", 0x3c02, at=0.035, stage="dns-discovery", outcome="ok", parent=None,
          why="external discovery name lyncdiscover.<SIP domain>")
    kw = dict(accept="application/json", stage="ad-root-https", outcome="ok", parent=None, why="")
    c.http("C03x", "GET", f"http://{disc}/?sipuri={SIP}", at=0.085, timeout=4.0, **kw,
           fail_step=dict(step="C03", stage="tcp-tls", carries="ad-root-http", outcome="noise", parent=None,
                          why="Autodiscover root over HTTP first; port 80 not published, the client gives up after 4 s"))
    for sid, t in (("C04", 4.090), ("C05", 6.300)):
        r = c.http(sid + "x", "GET", f"https://{disc}/?sipuri={SIP}", at=t, **kw,
                   fail_step=dict(step=sid, stage="tcp-tls", carries="ad-root-https", outcome="fail", parent=None,
                                  why=("Autodiscover root over HTTPS on the name C02 resolved" if sid == "C04"
                                       else "client retry of the HTTPS Autodiscover root")))
        assert r is None
    c.at(c.cfg["capture_end"])
    return {"flow": "external", "signed_in": False, "furthest_stage": "dns-discovery", "failed_stage": "tcp-tls",
            "verdict": "furthest: dns-discovery (ok) → failed: tcp-tls for ad-root-https (C-CERT-7: certificate_unknown, the certificate does not cover lyncdiscover.contoso.com)",
            "findings": [{"check": "C-CERT-1", "severity": "fail"}, {"check": "C-CERT-2", "severity": "fail"},
                         {"check": "C-CERT-7", "severity": "fail"}, {"check": "C-HTTP-1", "severity": "info"}],
            "findings_absent": ["C-ONLINE-1"],
            "no_fail_findings": False}


# ----------------------------------------------------------------------------------------------
# Issue 15 scenarios (2019): SfB Online with Azure AD, token rejection, untrusted internal CA, WPAD

def challenges(resp):
    """[(scheme, {param: value})] of every WWW-Authenticate line; one line may carry several
    comma-folded challenges (RFC 7235 §4.1: a new challenge starts at a token not followed by '=')."""
    out = []
    tok_re = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")
    for line in resp.header_all("WWW-Authenticate"):
        i, n = 0, len(line)
        fresh = True
        while i < n:
            while i < n and line[i] in " ,":
                i += 1
            m = tok_re.match(line, i)
            if not m:
                break
            tok, i = m.group(0), m.end()
            k = i
            while k < n and line[k] == " ":
                k += 1
            if not fresh and k < n and line[k] == "=":  # a parameter of the current challenge
                k += 1
                if k < n and line[k] == '"':
                    e = line.index('"', k + 1)
                    val, i = line[k + 1:e], e + 1
                else:
                    e = line.find(",", k)
                    e = n if e < 0 else e
                    val, i = line[k:e].strip(), e
                out[-1][1][tok.lower()] = val
            else:
                out.append((tok, {}))
                fresh = False
    return out


def origin(url):
    """scheme://host of a URL, the host's case kept (the resource of an Azure AD token request)."""
    u = urllib.parse.urlsplit(url)
    return f"{u.scheme}://{u.netloc}"


def aad_token_endpoint(authorization_uri):
    """ADAL derives the token endpoint from the authority of the authorization URI."""
    return authorization_uri.rsplit("/", 1)[0] + "/token"


def aad_headers(ua, accept, extra=()):
    return list(extra) + [("Accept", accept), ("Accept-Language", "en-us"), ("Accept-Encoding", "gzip, deflate"),
                          ("Connection", "keep-alive"), ("User-Agent", ua)]


def aad_interactive(c, ids, ats, authorization_uri, resource, parent, dns_txid):
    """First sign-in with Azure AD: the web view opens the authorize URL of the Bearer challenge
    (sign-in page), posts the credentials (302 to the redirect URI with a code), then ADAL redeems
    the code for a token for `resource`. ids = (DNS, page, post, token). Returns the token JSON."""
    q = urllib.parse.urlencode([("response_type", "code"), ("client_id", AAD_CLIENT_ID), ("redirect_uri", AAD_REDIRECT),
                                ("resource", resource), ("login_hint", SIP), ("x-client-SKU", "iOS"),
                                ("x-client-Ver", "2.7.14")])
    url = authorization_uri + "?" + q
    host = urllib.parse.urlsplit(url).netloc
    page = c.http(ids[1], "GET", url, at=ats[1], session="webview", stage="modern-auth", sub_kind="authorize",
                  outcome="challenge", parent=parent,
                  dns=dict(step=ids[0], txid=dns_txid, at=ats[0], stage="dns-hop", outcome="ok", parent=parent,
                           why="host of the Bearer authorization_uri of %s (Azure AD) is not resolved yet" % parent),
                  headers=aad_headers(UA_WEBVIEW, "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
                  why="Bearer challenge of %s: authorization_uri %s; the app opens its web view there for resource %s"
                      % (parent, authorization_uri, resource))
    html = page.body.decode()
    action = re.search(r'<form[^>]*action="([^"]+)"', html).group(1)
    fields = [("login", SIP), ("passwd", PASSWORD)]
    fields += re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)
    form = urllib.parse.urlencode(fields)
    post = c.http(ids[2], "POST", page.href(action.replace("&amp;", "&")), at=ats[2], session="webview",
                  stage="modern-auth", sub_kind="authorize", outcome="ok", parent=ids[1], body=form,
                  headers=aad_headers(UA_WEBVIEW, "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                                      [("Content-Type", "application/x-www-form-urlencoded"), ("Origin", "https://" + host),
                                       ("Referer", url)]),
                  why="the user typed the password into the sign-in form of %s; the form posts back to its action" % ids[1])
    loc = post.header_all("Location")[0]
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)["code"][0]
    body = urllib.parse.urlencode([("grant_type", "authorization_code"), ("client_id", AAD_CLIENT_ID), ("code", code),
                                   ("redirect_uri", AAD_REDIRECT), ("resource", resource)])
    tok = c.http(ids[3], "POST", aad_token_endpoint(authorization_uri), at=ats[3], session="adal", stage="modern-auth",
                 sub_kind="token", outcome="ok", parent=ids[2], body=body,
                 headers=aad_headers(UA_2019, "application/json", [("Content-Type", "application/x-www-form-urlencoded"),
                                                                   ("client-request-id", "d7c3a1e0-4b5f-4e2a-9c8d-6f1e0b3a7c52"),
                                                                   ("return-client-request-id", "true")]),
                 why="the 302 of %s handed the app an authorization code: redeem it at the token endpoint of the same authority" % ids[2])
    return tok.json


def aad_refresh(c, sid, at, authorization_uri, refresh_token, resource, parent, why):
    """ADAL's multi-resource refresh: a token for another Lync host without another sign-in."""
    body = urllib.parse.urlencode([("grant_type", "refresh_token"), ("client_id", AAD_CLIENT_ID),
                                   ("refresh_token", refresh_token), ("resource", resource)])
    tok = c.http(sid, "POST", aad_token_endpoint(authorization_uri), at=at, session="adal", stage="modern-auth",
                 sub_kind="token", outcome="ok", parent=parent, body=body,
                 headers=aad_headers(UA_2019, "application/json", [("Content-Type", "application/x-www-form-urlencoded"),
                                                                   ("client-request-id", "2e9b4f17-8a3c-4d61-b5e0-7c2d9a4f1b86"),
                                                                   ("return-client-request-id", "true")]),
                 why=why)
    return tok.json


def scenario_online(c, variant):
    """F (and G up to F17): SfB Online behind the vanity lyncdiscover CNAME, Azure AD tokens per resource."""
    domain = SIP.split("@")[1]
    disc = f"lyncdiscover.{domain}"
    c.dns("F01", f"lyncdiscoverinternal.{domain}", "A", 0x4f01, at=0.0, stage="dns-discovery", outcome="noise", parent=None,
          why="mobile discovery tries the internal name first; NXDOMAIN is expected on mobile data")
    c.dns("F02", disc, "A", 0x4f02, at=0.045, stage="dns-discovery", outcome="ok", parent=None,
          why="external discovery name lyncdiscover.<SIP domain>; the answer is a CNAME to webdir.online.lync.com (the tenant is in SfB Online)")
    r = c.http("F03x", "GET", f"https://{disc}/?sipuri={SIP}", at=0.105, accept="application/json", stage="ad-root-https",
               outcome="ok", parent=None, why="",
               fail_step=dict(step="F03", stage="tcp-tls", carries="ad-root-https", outcome="noise", parent=None,
                              why="Autodiscover root over HTTPS on the name F02 resolved: SfB Online presents its *.online.lync.com certificate, which cannot cover the vanity name; the client falls back to HTTP"))
    assert r is None
    root = c.http("F04", "GET", f"http://{disc}/?sipuri={SIP}", at=0.300, accept="application/json", stage="ad-root-http",
                  outcome="redirect", parent=None,
                  why="HTTPS failed on the certificate name (F03): Autodiscover root over HTTP on the same name, answered by Online")
    nxt = root.json["_links"]["redirect"]["href"]
    dir2 = c.http("F06", "GET", nxt, at=0.520, accept="application/json", stage="ad-root-https", outcome="redirect",
                  parent="F04", dns=dict(step="F05", txid=0x4f03, at=0.470, stage="dns-hop", outcome="ok", parent="F04",
                                         why="host of _links.redirect.href of F04 (a regional director) is not resolved yet"),
                  why="_links.redirect.href of F04: the global director sends the tenant to a regional director")
    nxt2 = dir2.json["_links"]["redirect"]["href"]
    home = c.http("F08", "GET", nxt2, at=0.860, accept="application/json", stage="ad-root-https", outcome="ok",
                  parent="F06", dns=dict(step="F07", txid=0x4f04, at=0.820, stage="dns-hop", outcome="ok", parent="F06",
                                         why="host of _links.redirect.href of F06 (the tenant's director) is not resolved yet"),
                  why="_links.redirect.href of F06: the regional director sends the tenant to its own director")
    user_href = home.json["_links"]["user"]["href"]
    chal = c.http("F09", "GET", user_href, at=1.120, accept="application/json", stage="ad-user-challenge",
                  outcome="challenge", parent="F08",
                  why="_links.user.href of F08 (no token yet; same host as F08 in other letter case, same connection)")
    ch = dict(challenges(chal))
    authz = ch["Bearer"]["authorization_uri"]
    tok1 = aad_interactive(c, ("F10", "F11", "F12", "F13"), (1.230, 1.260, 4.700, 5.150), authz, origin(user_href),
                           "F09", 0x4f05)
    user = c.http("F14", "GET", user_href, at=5.400, bearer=tok1["access_token"], accept="application/json",
                  stage="ad-user", outcome="ok", parent="F09",
                  why="same user URL as F09 with the Azure AD token of F13 (resource = the director F09 is on): service locations")
    apps_href = user.json["_links"]["applications"]["href"]
    probe = c.http("F16", "GET", apps_href, at=5.640, accept="application/json", stage="ucwa-probe", outcome="challenge",
                   parent="F14", dns=dict(step="F15", txid=0x4f06, at=5.590, stage="dns-hop", outcome="ok", parent="F14",
                                          why="host of _links.applications.href of F14 (the user's webpool) is not resolved yet"),
                   why="_links.applications.href of F14: the SfB engine's unauthenticated metadata request, to learn what the webpool wants")
    ch2 = dict(challenges(probe))
    tok2 = aad_refresh(c, "F17", 5.800, ch2["Bearer"]["authorization_uri"], tok1["refresh_token"], origin(apps_href), "F16",
                       "the 401 of F16 asks for a Bearer token for the webpool (another resource than F13's): refresh token of F13 for resource %s" % origin(apps_href))
    body = json.dumps({"UserAgent": UA, "EndpointId": ENDPOINT_ID, "Culture": "en-US"}, separators=(",", ":"))
    apps_kw = dict(accept="application/json", ctype="application/json", body=body, stage="ucwa-application")
    if variant == "G":
        rej = c.http("G18", "POST", apps_href, at=6.050, bearer=tok2["access_token"], outcome="fail", parent="F14",
                     why="_links.applications.href of F14, with the webpool token of F17: create the UCWA application", **apps_kw)
        fresh = dict(challenges(rej))  # one folded line: Bearer and MsRtcOAuth
        tok3 = aad_refresh(c, "G19", 6.250, fresh["Bearer"]["authorization_uri"], tok2["refresh_token"], origin(apps_href), "G18",
                           "G18 was refused with 403 InvalidToken (28055) and a fresh Bearer challenge: get a new token for the webpool")
        c.http("G20", "POST", apps_href, at=6.600, bearer=tok3["access_token"], outcome="fail", parent="G18",
               why="retry of G18 with the new token of G19; refused again, the app gives up", **apps_kw)
        c.at(c.cfg["capture_end"])
        return {"flow": "external", "signed_in": False, "furthest_stage": "ucwa-application", "failed_stage": "ucwa-application",
                "verdict": "furthest: ucwa-application (fail) → failed: ucwa-application (C-AUTH-9: the webpool rejected the Azure AD token twice, 28055 InvalidToken)",
                "findings": [{"check": "C-AUTH-9", "severity": "fail"}, {"check": "C-AUTH-11", "severity": "fail"},
                             {"check": "C-ONLINE-1", "severity": "info"}],
                "findings_absent": ["C-POL-1", "C-AUTH-5", "C-NET-3", "C-AUTH-2", "C-AUTH-4", "C-CERT-1", "C-CERT-2",
                                    "C-CERT-7", "C-DNS-3", "C-NET-1"],
                "no_fail_findings": False}
    app = c.http("F18", "POST", apps_href, at=6.050, bearer=tok2["access_token"], parent="F14", outcome="ok",
                 why="_links.applications.href of F14, with the webpool token of F17: create the UCWA application", **apps_kw)
    ucwa_online(c, app, ("F19", "F20", "F21", "F22", "F18"), (6.600, 6.900, 7.000), tok2["access_token"])
    c.at(c.cfg["capture_end"])
    return {"flow": "external", "signed_in": True, "furthest_stage": "event-channel", "failed_stage": None,
            "verdict": "furthest: event-channel (ok)",
            "findings": [{"check": "C-ONLINE-1", "severity": "info"}, {"check": "C-AUTH-11", "severity": "info"},
                         {"check": "C-POL-2", "severity": "info"}],
            "findings_absent": ["C-CERT-1", "C-CERT-2", "C-CERT-7", "C-DNS-3", "C-HTTP-1", "C-AUTH-2", "C-AUTH-4",
                                "C-AUTH-5", "C-AUTH-9", "C-NET-1", "C-NET-2", "C-AD-1", "C-POL-1"],
            "no_fail_findings": True}


def ucwa_online(c, app_resp, ids, ats, bearer):
    """makeMeAvailable, policies, and the event channel (its second P-GET held open)."""
    app = app_resp.json
    H = dict(bearer=bearer)
    c.http(ids[0], "POST", app_resp.href(app["_embedded"]["me"]["_links"]["makeMeAvailable"]["href"]), at=ats[0],
           ctype="application/json", accept="application/json", stage="signed-in", outcome="ok", parent=ids[-1],
           body=json.dumps({"signInAs": "Online", "supportedModalities": ["Messaging", "Audio", "Video", "PhoneAudio"],
                            "supportedMessageFormats": ["Plain", "Html"], "audioPreference": "VoipAudio"},
                           separators=(",", ":")),
           why="_embedded.me._links.makeMeAvailable of %s: go online" % ids[-1], **H)
    c.http(ids[1], "GET", app_resp.href(app["_links"]["policies"]["href"]), at=ats[1], accept="application/json",
           stage="inband-provisioning", outcome="ok", parent=ids[-1], why="_links.policies of %s: mobile policy" % ids[-1], **H)
    ev = c.http(ids[2], "GET", app_resp.href(app["_links"]["events"]["href"]), at=ats[2], session="events",
                accept="application/json", stage="event-channel", outcome="ok", parent=ids[-1],
                why="_links.events of %s: open the event channel (P-GET) on its own connection" % ids[-1], **H)
    c.http(ids[3], "GET", ev.href(ev.json["_links"]["next"]["href"]), at=0, session="events", accept="application/json",
           stage="event-channel", outcome="ok", parent=ids[2], wait=False,
           why="_links.next of %s: next long poll, held by the server (pending: no response before the capture ends)" % ids[2], **H)


def scenario_untrusted_ca(c):
    """H: internal Wi-Fi; the phone lacks the enterprise root, so TLS to the internal web FQDN fails.
    L: the same on TLS 1.3 without a key log: the certificate and the alert are encrypted."""
    L = c.letter
    tls13 = bool(c.cfg.get("tls13"))
    domain = SIP.split("@")[1]
    disc = f"lyncdiscoverinternal.{domain}"
    c.dns(L + "01", disc, "A", 0x5c01 if tls13 else 0x5a01, at=0.0, stage="dns-discovery", outcome="ok", parent=None,
          why="mobile discovery starts with the internal name lyncdiscoverinternal.<SIP domain>")
    root = c.http(L + "02", "GET", f"http://{disc}/?sipuri={SIP}", at=0.020, accept="application/json",
                  stage="ad-root-http", outcome="ok", parent=None,
                  why="Autodiscover root over HTTP first (no certificate needed) on the name %s01 resolved" % L)
    user_href = root.json["_links"]["user"]["href"]
    if tls13:
        first = ("_links.user.href of L02, on the pool's internal web FQDN, over TLS 1.3 without a key log: the "
                 "certificate travels encrypted; it chains to Contoso Root CA G2, which this phone does not have; the "
                 "OpenSSL-based stack answers unknown_ca")
    else:
        first = ("_links.user.href of H02, on the pool's internal web FQDN: its certificate chains to Contoso Root CA G2, "
                 "which this phone does not have; OpenSSL-style stack answers unknown_ca")
    for sid, t, why in ((L + "03", 0.070, first),
                        (L + "04", 2.600, "the app retries the same user URL once (the user tapped Sign In again); same certificate, same abort")):
        r = c.http(sid + "x", "GET", user_href, at=t, accept="application/json", stage="ad-user-challenge",
                   outcome="challenge", parent=L + "02", why="",
                   fail_step=dict(step=sid, stage="tcp-tls", carries="ad-user-challenge", outcome="fail", parent=L + "02", why=why))
        assert r is None
    c.at(c.cfg["capture_end"])
    verdict = ("furthest: ad-root-http (ok) → failed: tcp-tls for ad-user-challenge (C-CERT-7: "
               + ("unknown_ca, after the server's encrypted flight: TLS 1.3 without a key log)" if tls13 else
                  "unknown_ca, the phone does not trust the enterprise root Contoso Root CA G2)"))
    return {"flow": "internal", "signed_in": False, "furthest_stage": "ad-root-http", "failed_stage": "tcp-tls",
            "verdict": verdict,
            "findings": [{"check": "C-CERT-7", "severity": "fail"}],
            "findings_absent": ["C-CERT-1", "C-CERT-2", "C-CERT-3", "C-ONLINE-1", "C-NET-1", "C-DNS-2", "C-AUTH-2",
                                "C-AUTH-4"],
            "no_fail_findings": False}


def scenario_wpad(c):
    """I: Wi-Fi with HTTP proxy "Auto": WPAD before each discovery request, then a normal internal sign-in."""
    domain = SIP.split("@")[1]
    kw = dict(stage="unrelated", sub_kind="wpad", noise=True)
    pac_headers = [("Accept", "*/*"), ("Accept-Language", "en-us"), ("Accept-Encoding", "gzip, deflate"),
                   ("Connection", "keep-alive"), ("User-Agent", UA_CFNETWORK)]

    def pac(sid, at, before):
        c.http(sid, "GET", f"http://wpad.{domain}/wpad.dat", at=at, session="wpad", outcome="noise", parent=None,
               headers=pac_headers, why="proxy auto-discovery before %s: fetch the PAC file from the host I02 resolved; the server answers 404 slowly and the request waits for it" % before,
               **kw)
    c.dns("I01", "wpad.corp." + domain, "A", 0x6b01, at=0.0, outcome="noise", parent=None,
          why="Wi-Fi HTTP proxy set to Auto: WPAD looks up wpad.<DHCP search domain corp.contoso.com> before the app's first request", **kw)
    c.dns("I02", "wpad." + domain, "A", 0x6b02, at=0.008, outcome="ok", parent=None,
          why="WPAD devolution to the parent domain: wpad.contoso.com still has a record", **kw)
    pac("I03", 0.020, "the discovery lookup I04")
    disc = f"lyncdiscoverinternal.{domain}"
    c.dns("I04", disc, "A", 0x6b03, at=1.200, stage="dns-discovery", outcome="ok", parent=None,
          why="mobile discovery starts with the internal name lyncdiscoverinternal.<SIP domain> (after proxy discovery gave up)")
    root = c.http("I05", "GET", f"http://{disc}/?sipuri={SIP}", at=1.210, accept="application/json",
                  stage="ad-root-http", outcome="ok", parent=None,
                  why="Autodiscover root over HTTP first on the name I04 resolved")
    user_href = root.json["_links"]["user"]["href"]
    pac("I06", 1.300, "the user request I07")
    token = authenticate_user(c, user_href, ("I07", "I08", "I09", "I10"), (2.450, 2.600, 2.620, 2.640, 2.450), "I05",
                              "_links.user.href of I05 (no token yet)")
    pac("I11", 3.000, "the authenticated user request I12")
    user = c.http("I12", "GET", user_href, at=4.150, bearer=token, accept="application/json", stage="ad-user",
                  outcome="ok", parent="I07", why="same user URL as I07, now with the token of I10: service locations")
    apps_href = user.json["_links"]["applications"]["href"]
    pac("I13", 4.300, "the UCWA probe I15")
    probe = c.http("I15", "GET", apps_href, at=5.450, accept="application/json", stage="ucwa-probe", outcome="challenge",
                   parent="I12", dns=dict(step="I14", txid=0x6b04, at=5.450, stage="dns-hop", outcome="ok", parent="I12",
                                          why="host of _links.applications.href of I12 is not resolved yet"),
                   why="_links.applications.href of I12: the SfB engine's unauthenticated metadata request")
    offered = [s for s, _ in challenges(probe)]
    if "MsRtcOAuth" not in offered:
        raise DesignMismatch(f"I15: no MsRtcOAuth challenge ({offered})")
    body = json.dumps({"UserAgent": UA, "EndpointId": ENDPOINT_ID, "Culture": "en-US"}, separators=(",", ":"))
    app = c.http("I16", "POST", apps_href, at=5.600, bearer=token, accept="application/json", ctype="application/json",
                 body=body, stage="ucwa-application", outcome="ok", parent="I12",
                 why="_links.applications.href of I12; the probe I15 names this pool's token service, so the token of I10 (same pool) is presented")
    ucwa_online(c, app, ("I17", "I18", "I19", "I20", "I16"), (6.300, 6.650, 6.750), token)
    c.at(c.cfg["capture_end"])
    return {"flow": "internal", "signed_in": True, "furthest_stage": "event-channel", "failed_stage": None,
            "verdict": "furthest: event-channel (ok)",
            "findings": [{"check": "C-PROXY-3", "severity": "warning"}, {"check": "C-CERT-4", "severity": "info"},
                         {"check": "C-POL-2", "severity": "info"}],
            "findings_absent": ["C-PROXY-1", "C-PROXY-2", "C-NET-1", "C-NET-2", "C-DNS-2", "C-AUTH-2", "C-AUTH-4",
                                "C-AUTH-9"],
            "no_fail_findings": True}


def external_discovery(c, ids, txids, root_at, root_outcome):
    """lyncdiscoverinternal (NXDOMAIN), lyncdiscover, then the Autodiscover root over HTTP/80."""
    domain = SIP.split("@")[1]
    disc = f"lyncdiscover.{domain}"
    c.dns(ids[0], f"lyncdiscoverinternal.{domain}", "A", txids[0], at=0.0, stage="dns-discovery", outcome="noise",
          parent=None, why="mobile discovery tries the internal name first; NXDOMAIN is expected outside the company")
    c.dns(ids[1], disc, "A", txids[1], at=0.035, stage="dns-discovery", outcome="ok", parent=None,
          why="internal name does not exist here: external discovery name lyncdiscover.<SIP domain>")
    return c.http(ids[2], "GET", f"http://{disc}/?sipuri={SIP}", at=root_at, accept="application/json",
                  stage="ad-root-http", outcome=root_outcome, parent=None,
                  why="Autodiscover root over HTTP first (no certificate needed) on the name %s resolved" % ids[1])


def scenario_wrong_password(c):
    """J: the user typed a wrong password: the NTLM type 3 of the OAuth token request gets a 401."""
    root = external_discovery(c, ("J01", "J02", "J03"), (0x7c01, 0x7c02), 0.090, "ok")
    user_href = root.json["_links"]["user"]["href"]
    chal = c.http("J04", "GET", user_href, at=0.300, accept="application/json", stage="ad-user-challenge",
                  outcome="challenge", parent="J03", why="_links.user.href of J03 (no token yet)")
    c.ntlm_post(("J05", "J06", "J07"), (0.600, 0.680, 0.760), msrtcoauth_href(chal), "grant_type=urn:microsoft.rtc:windows",
                "application/x-www-form-urlencoded;charset=UTF-8", stage="webticket-oauth", parent="J04",
                accept="application/json", final_outcome="fail",
                why="MsRtcOAuth href of the 401 of J04: request an OAuth token with grant_type urn:microsoft.rtc:windows (the password typed is wrong)")
    c.at(c.cfg["capture_end"])
    return {"flow": "external", "signed_in": False, "furthest_stage": "webticket-oauth", "failed_stage": "webticket-oauth",
            "verdict": "furthest: webticket-oauth (fail) → failed: webticket-oauth (C-AUTH-2: the NTLM credentials of CONTOSO\\alice were refused)",
            "findings": [{"check": "C-AUTH-2", "severity": "fail"}],
            "findings_absent": ["C-AUTH-3", "C-AUTH-4", "C-AUTH-9", "C-H2-1", "C-HTTP-1", "C-CERT-1", "C-CERT-2"],
            "no_fail_findings": False}


def scenario_root_redirect(c):
    """K: the reverse proxy redirects http://lyncdiscover.<d>/ to the company web site; HTTPS works."""
    domain = SIP.split("@")[1]
    external_discovery(c, ("K01", "K02", "K03"), (0x7d01, 0x7d02), 0.090, "fail")
    root = c.http("K04", "GET", f"https://lyncdiscover.{domain}/?sipuri={SIP}", at=0.200, accept="application/json",
                  stage="ad-root-https", outcome="ok", parent=None,
                  why="the HTTP root of K03 redirected to another domain (www.contoso.com), which a Lync client does not follow: Autodiscover root over HTTPS")
    user_href = root.json["_links"]["user"]["href"]
    token = authenticate_user(c, user_href, ("K05", "K06", "K07", "K08"), (0.600, 0.720, 0.800, 0.880), "K04",
                              "_links.user.href of K04 (no token yet)")
    user = c.http("K09", "GET", user_href, at=1.450, bearer=token, accept="application/json", stage="ad-user", outcome="ok",
                  parent="K05", why="same user URL as K05, now with the token of K08: service locations")
    apps_href = user.json["_links"]["applications"]["href"]
    c.http("K10", "GET", apps_href, at=1.600, accept="application/json", stage="ucwa-probe", outcome="challenge",
           parent="K09", why="_links.applications.href of K09: the SfB engine's unauthenticated metadata request")
    body = json.dumps({"UserAgent": UA, "EndpointId": ENDPOINT_ID, "Culture": "en-US"}, separators=(",", ":"))
    app = c.http("K11", "POST", apps_href, at=1.700, bearer=token, accept="application/json", ctype="application/json",
                 body=body, stage="ucwa-application", outcome="ok", parent="K09",
                 why="_links.applications.href of K09 with the token of K08 (same pool): create the UCWA application")
    ucwa_online(c, app, ("K12", "K13", "K14", "K15", "K11"), (2.600, 2.900, 3.000), token)
    c.at(c.cfg["capture_end"])
    return {"flow": "external", "signed_in": True, "furthest_stage": "event-channel", "failed_stage": None,
            "verdict": "furthest: event-channel (ok)",
            "findings": [{"check": "C-HTTP-1", "severity": "info"}, {"check": "C-POL-2", "severity": "info"}],
            "findings_absent": ["C-PROXY-1", "C-CERT-1", "C-CERT-2", "C-AUTH-2", "C-AUTH-4", "C-ONLINE-1"],
            "no_fail_findings": True}

def scenario_h2_proxy(c):
    """M: the reverse proxy speaks h2 (ALPN); IIS refuses Windows authentication over HTTP/2
    with RST_STREAM HTTP_1_1_REQUIRED, the app redoes the NTLM leg on a new HTTP/1.1 connection,
    then goes on over h2 and signs in."""
    domain = SIP.split("@")[1]
    root = external_discovery(c, ("M01", "M02", "M03"), (0x7e01, 0x7e02), 0.090, "ok")
    user_href = root.json["_links"]["user"]["href"]
    chal = c.http("M04", "GET", user_href, at=0.300, accept="application/json", stage="ad-user-challenge",
                  outcome="challenge", parent="M03", why="_links.user.href of M03 (no token yet); the proxy's ALPN chose h2")
    oauth = msrtcoauth_href(chal)
    body = "grant_type=urn:microsoft.rtc:windows"
    ctype = "application/x-www-form-urlencoded;charset=UTF-8"
    c.http("M05", "POST", oauth, at=0.600, accept="application/json", ctype=ctype, body=body, stage="webticket-oauth",
           outcome="noise", parent="M04",
           why="MsRtcOAuth href of the 401 of M04 on the h2 connection: IIS does no Windows authentication over HTTP/2 and resets the stream")
    r = c.ntlm_post(("M06", "M07", "M08"), (0.700, 0.780, 0.860), oauth, body, ctype, stage="webticket-oauth",
                    parent="M04", session="main-h1", accept="application/json",
                    why="MsRtcOAuth href of the 401 of M04 again, after RST_STREAM HTTP_1_1_REQUIRED of M05: the same request on a new connection that offers only http/1.1")
    token = r.json["access_token"]
    user = c.http("M09", "GET", user_href, at=1.450, bearer=token, accept="application/json", stage="ad-user", outcome="ok",
                  parent="M04", why="same user URL as M04, now with the token of M08, back on the h2 connection: service locations")
    apps_href = user.json["_links"]["applications"]["href"]
    c.http("M10", "GET", apps_href, at=1.600, accept="application/json", stage="ucwa-probe", outcome="challenge",
           parent="M09", why="_links.applications.href of M09: the SfB engine's unauthenticated metadata request")
    body = json.dumps({"UserAgent": UA, "EndpointId": ENDPOINT_ID, "Culture": "en-US"}, separators=(",", ":"))
    app = c.http("M11", "POST", apps_href, at=1.700, bearer=token, accept="application/json", ctype="application/json",
                 body=body, stage="ucwa-application", outcome="ok", parent="M09",
                 why="_links.applications.href of M09 with the token of M08 (same pool): create the UCWA application")
    ucwa_online(c, app, ("M12", "M13", "M14", "M15", "M11"), (2.600, 2.900, 3.000), token)
    c.at(c.cfg["capture_end"])
    return {"flow": "external", "signed_in": True, "furthest_stage": "event-channel", "failed_stage": None,
            "verdict": "furthest: event-channel (ok)",
            "findings": [{"check": "C-H2-1", "severity": "info"}],
            "findings_absent": ["C-AUTH-2", "C-AUTH-4", "C-CERT-1", "C-CERT-2", "C-PROXY-1", "C-ONLINE-1"],
            "no_fail_findings": True}


def main():
    global SIP, UA
    letter, outdir = sys.argv[1], sys.argv[2]
    SIP = S.SCENARIOS[letter]["sip_uri"]
    if S.SCENARIOS[letter]["pki"] == "2019":
        UA = UA_2019
    c = Client(letter, outdir)
    # wait until the topology answers DNS (it is started first); the first real query is the time base
    if letter in ("A", "E"):
        nt = None
        if letter == "A":
            nt = threading.Thread(target=lambda: (time.sleep(0.01), noise_thread(c)), daemon=True)
        c.at(0.0)
        if nt:
            nt.start()
        expect = scenario_internal(c, letter)
        if nt:
            nt.join()
    elif letter in ("B", "D"):
        expect = scenario_external(c, letter)
    elif letter in ("F", "G"):
        expect = scenario_online(c, letter)
    elif letter in ("H", "L"):
        expect = scenario_untrusted_ca(c)
    elif letter == "I":
        expect = scenario_wpad(c)
    elif letter == "J":
        expect = scenario_wrong_password(c)
    elif letter == "K":
        expect = scenario_root_redirect(c)
    elif letter == "M":
        expect = scenario_h2_proxy(c)
    else:
        expect = scenario_c(c)
    c.write(expect)
    with open(os.path.join(outdir, c.name + ".done"), "w") as f:
        f.write("errors: %d\n" % len(c.errors) + "".join(e + "\n" for e in c.errors))
    print("client %s done, %d steps, %d design mismatches" % (letter, len(c.steps), len(c.errors)), file=sys.stderr, flush=True)
    while True:  # keep the sockets (and the pending long poll) open until the capture is stopped
        time.sleep(3600)


if __name__ == "__main__":
    main()
