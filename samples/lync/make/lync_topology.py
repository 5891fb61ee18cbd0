#!/usr/bin/env python3
"""Mock Lync 2013 / SfB topology for one scenario of lync-sample-exchanges.md.

One process, several loopback listeners (stand-ins for the realistic addresses, see scenarios.lo):
the internal HLB VIP of pool 1 (HTTP :80 + HTTPS :443), the reverse proxy (internal VIP and public
listeners), Exchange, the company web site, the background hosts of scenario A, and a DNS
responder (UDP :53) answering with loopback addresses that rewrite.py maps back.

Implements: Lync Autodiscover root/user (JSON), the MsRtcOAuth challenge, /WebTicket/oauthtoken
with NTLM legs (state kept per TCP connection), WebTicketService.svc mex + RST/Issue, CertProv
mex + GetAndPublishCert, UCWA (applications incl. the unauthenticated probe, makeMeAvailable,
policies, mediaRelayAccessToken, contacts, presenceSubscriptions, presence, events P-GET whose
second poll is held open), Exchange autodiscover.xml and EWS behind NTLM. Response latencies
approximate the timings of the document.
Scenarios F/G add SfB Online (the webdir directors, a webpool, Online response headers, Bearer +
MsRtcOAuth challenges, the 403 InvalidToken rejection) and Azure AD (authorize page, credential
post, authorization-code and refresh-token grants issuing JWTs per resource); I adds an intranet
web server that still answers for wpad.contoso.com (slow 404 for /wpad.dat).

Usage: lync_topology.py <scenario letter> <ready-file>
"""
import base64
import email.utils
import gzip
import json
import os
import re
import socket
import ssl
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import dnswire  # noqa: E402
import ntlm  # noqa: E402
import scenarios as S  # noqa: E402

PKI = os.path.join(HERE, "pki")
SCN = sys.argv[1] if len(sys.argv) > 1 else "A"
CFG = S.SCENARIOS[SCN]
GROUP = CFG["flow"]  # internal / external
ONLINE = CFG.get("online", False)  # F/G: the tenant is homed in SfB Online
PKI_SET = CFG["pki"]  # 2015 (A-E) / 2019 (F-K): which certificates the listeners present

T_FIRST = [None]  # wall clock of the first DNS query = the scenario's time base
LOCK = threading.Lock()


def elapsed():
    return 0.0 if T_FIRST[0] is None else time.time() - T_FIRST[0]


def scenario_now():
    return CFG["time_base_unix"] + elapsed()


def http_date():
    return email.utils.formatdate(scenario_now(), usegmt=True)


def iso_ms(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + ".%03dZ" % int((ts % 1) * 1000)


def log(*a):
    print("[topology %s +%.3f]" % (SCN, elapsed()), *a, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------
# Topology facts (lync-sample-exchanges.md "Shared topology and artefacts")

POOLS = {
    "pool1": dict(int_fqdn="webint-pool1.contoso.net", ext_fqdn="webext-pool1.contoso.com",
                  app_id="102146789012", sub_id="5e1a9c02", comm_guid="d0c1e7a2-5b0f-4c1e-9f3a-2b6d8e4f1a90",
                  comm_etag="3140562359", app_etag="680531847", cookie="AAEBHAEFAAAAAAAFFQAAAP1U9cwtUkt7mZqA1ph",
                  assertion_id="_wtA1c9d2", mras_user="AgAAJNa7mCIB0lxqFhG3X2Yw2v5vTq9dHkR1sP4uCKq8=",
                  mras_pass="t6cY0Pq3cZ6b8mHdW2xK1oRZlfE="),
    "pool2": dict(int_fqdn="webint-pool2.contoso.net", ext_fqdn="webext-pool2.contoso.com",
                  app_id="203157890123", sub_id="7c33d0e5", comm_guid="4f7a2b9c-1d3e-4a5b-8c6d-7e8f9a0b1c2d",
                  comm_etag="2217736410", app_etag="918273645", cookie="AAEBHAEFAAAAAAAFFQAAAP2V0dxuVlu8nArB2ph",
                  assertion_id="_wtB1e4f6", mras_user="AgAAJNa8nDJC1myrGiH4Y3Zx3w6wUr0eIlS2tQ5vDZt1=",
                  mras_pass="u7dZ1Qr4dA7c9nIeX3yL2pSAmgF="),
}
TOKENS = {  # (pool) -> access token issued by that pool's /WebTicket/oauthtoken in this scenario
    "A": {"pool1": "cwt=AAEBHAEFAAAAAAAFFQAAAP1INTaliceA1xYz0"},
    "E": {"pool1": "cwt=AAEBHAEFAAAAAAAFFQAAAP1INTaliceA1xYz0"},
    "B": {"pool1": "cwt=AAEBHAEFAAAAAAAFFQAAAP1EXTaliceB1kQw7", "pool2": "cwt=AAEBHAEFAAAAAAAFFQAAAP2EXTaliceB2mNr4"},
    "C": {"pool1": "cwt=AAEBHAEFAAAAAAAFFQAAAP1EXTaliceB1kQw7"},
    "D": {"pool1": "cwt=AAEBHAEFAAAAAAAFFQAAAP1EXTaliceB1kQw7"},
    "F": {}, "G": {},  # Online: JWTs from Azure AD, see AAD below
    "H": {"pool1": "cwt=AAEBHAEFAAAAAAAFFQAAAP1INTaliceH1gTe6"},
    "L": {"pool1": "cwt=AAEBHAEFAAAAAAAFFQAAAP1INTaliceL1nvr13"},  # never issued: TLS fails first
    "I": {"pool1": "cwt=AAEBHAEFAAAAAAAFFQAAAP1INTaliceI1wPd3"},
    "J": {"pool1": "cwt=AAEBHAEFAAAAAAAFFQAAAP1EXTaliceJ1never"},  # never issued: the password is wrong
    "K": {"pool1": "cwt=AAEBHAEFAAAAAAAFFQAAAP1EXTaliceK1rZt8"},
    "M": {"pool1": "cwt=AAEBHAEFAAAAAAAFFQAAAP1EXTaliceM1h2Rq9"},
}[SCN]
HOME_POOL = {"A": "pool1", "E": "pool1", "B": "pool2", "C": "pool2", "D": None, "F": None, "G": None,
             "H": "pool1", "I": "pool1", "J": "pool1", "K": "pool1", "L": "pool1", "M": "pool1"}[SCN]
FE = {"pool1": "fe01.contoso.net" if GROUP == "internal" else "fe02.contoso.net", "pool2": "fe21.contoso.net"}

HOST_SITE = {  # Host header -> (pool, site)
    "lyncdiscoverinternal.contoso.com": ("pool1", "int"), "webint-pool1.contoso.net": ("pool1", "int"),
    "lyncdiscover.contoso.com": ("pool1", "ext"), "webext-pool1.contoso.com": ("pool1", "ext"),
    "webint-pool2.contoso.net": ("pool2", "int"), "webext-pool2.contoso.com": ("pool2", "ext"),
}

# ----------------------------------------------------------------------------------------------
# DNS: split-brain internal zone vs public zone. Values are realistic; answers carry loopbacks.

SOA_COM = ("ns1.contoso.com", "hostmaster.contoso.com", 2015062901 if PKI_SET == "2015" else 2019062101, 3600, 600, 86400, 3600)
NOISE_ZONE = {
    "captive.apple.com": [("A", "192.0.2.20")],
    "api.weather.example.com": [("A", "192.0.2.31")],
    "login.example.net": [("A", "192.0.2.45")],
    "cdn.example.org": [("CNAME", "cdn.example.org.edge.example.net")],
    "cdn.example.org.edge.example.net": [("A", "192.0.2.58"), ("AAAA", "2001:db8:58::1")],
}
if ONLINE:
    ZONE = {  # the public zones as the carrier's resolver sees them (F, G)
        # the record Microsoft 365 tells tenants to publish; no lyncdiscoverinternal
        "lyncdiscover.fabrikam.com": [("CNAME", "webdir.online.lync.com")],
        "webdir.online.lync.com": [("A", "203.0.113.140")],
        "webdir2a.online.lync.com": [("A", "203.0.113.141")],
        "webdir1e.online.lync.com": [("A", "203.0.113.142")],
        "webpooldb41e03.infra.lync.com": [("A", "203.0.113.150")],
        "login.windows.net": [("A", "203.0.113.160")],
        "login.microsoftonline.com": [("A", "203.0.113.160")],
    }
elif GROUP == "internal":
    ZONE = {
        "lyncdiscoverinternal.contoso.com": [("CNAME", "webint-pool1.contoso.net")],
        "webint-pool1.contoso.net": [("A", "10.10.1.50")],
        # A, H, I: split-brain record -> internal RP VIP; E: no internal record, forwarded to the public zone
        "webext-pool1.contoso.com": [("A", "203.0.113.10" if SCN == "E" else "10.20.0.10")],
        **NOISE_ZONE,
    }
    if SCN == "I":  # a stale WPAD record: the host answers, the PAC file is long gone
        ZONE["wpad.contoso.com"] = [("A", "10.10.0.80")]
else:
    ZONE = {
        "lyncdiscover.contoso.com": [("CNAME", "webext-pool1.contoso.com")],
        "webext-pool1.contoso.com": [("A", "203.0.113.10")],
        "webext-pool2.contoso.com": [("A", "203.0.113.11")],
        "contoso.com": [("A", "203.0.113.80")],
        # CNAME so that the EWS host learnt from Autodiscover is already resolved (#B39 has no DNS)
        "autodiscover.contoso.com": [("CNAME", "mail.contoso.com")],
        "mail.contoso.com": [("A", "203.0.113.30")],
    }
DNS_DELAY = {  # resolver latency per name (document: #A01 12 ms, #B01 30 ms, #B02 45 ms, ...)
    "lyncdiscoverinternal.contoso.com": 0.012 if GROUP == "internal" else 0.030,
    "lyncdiscover.contoso.com": 0.045, "webext-pool1.contoso.com": 0.030 if SCN == "E" else 0.010,
    "webext-pool2.contoso.com": 0.040, "contoso.com": 0.040, "autodiscover.contoso.com": 0.040,
    # F/G: carrier resolver, names cached or not
    "lyncdiscoverinternal.fabrikam.com": 0.041, "lyncdiscover.fabrikam.com": 0.052, "webdir2a.online.lync.com": 0.036,
    "webdir1e.online.lync.com": 0.033, "webpooldb41e03.infra.lync.com": 0.047, "login.windows.net": 0.021,
    # I: WPAD names (the search domain first, then devolved)
    "wpad.corp.contoso.com": 0.006, "wpad.contoso.com": 0.005,
}


def dns_answer(query):
    q = dnswire.parse_message(query)
    qname, qtype = q["questions"][0]
    qname_l = qname.lower()
    answers, name, seen = [], qname_l, 0
    rcode = 0
    while seen < 8:
        seen += 1
        recs = ZONE.get(name)
        if recs is None:
            if not answers:
                rcode = 3
            break
        cname = [r for r in recs if r[0] == "CNAME"]
        if cname:
            answers.append((name, "CNAME", 3600, cname[0][1]))
            name = cname[0][1]
            continue
        for rtype, data in recs:
            if dnswire.TYPE[rtype] == qtype:
                answers.append((name, rtype, 3600 if name.endswith("contoso.com") or name.endswith("contoso.net") else 300,
                                S.lo(data) if rtype == "A" else data))
        break
    authority = []
    if rcode == 3 or not [a for a in answers if dnswire.TYPE[a[1]] == qtype]:
        zone = "contoso.com" if qname_l.endswith("contoso.com") else ".".join(qname_l.split(".")[-2:])
        authority = [(zone, "SOA", 3600, SOA_COM if zone == "contoso.com" else
                      ("ns1." + zone, "hostmaster." + zone, 2015060101, 7200, 900, 1209600, 300))]
    return dnswire.build_response(query, rcode, answers, authority), DNS_DELAY.get(qname_l, 0.015)


def dns_server(ip):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, 53))
    while True:
        data, peer = s.recvfrom(2048)
        with LOCK:
            if T_FIRST[0] is None:
                T_FIRST[0] = time.time()
        try:
            resp, delay = dns_answer(data)
        except Exception as e:  # malformed query: ignore like a real resolver would log and drop
            log("dns error", e)
            continue
        threading.Timer(delay, s.sendto, (resp, peer)).start()


# ----------------------------------------------------------------------------------------------
# Response latencies (seconds), approximating lync-sample-exchanges.md

LAT = {
    "internal": dict(root=0.040, user_401=0.028, oauth_anon=0.020, oauth_t1=0.015, oauth_t3=0.285,
                     user_ok=0.070, apps=0.565, certprov_mex=0.060, wt_mex=0.040, wt_anon=0.020, wt_t1=0.015,
                     wt_t3=0.235, gapc=0.730, mma=0.280, policies=0.050, mras=0.070, contacts=0.150,
                     presence_sub=0.140, events=0.580, presence=0.050, user_404=0.070),
    "external": {"root": 0.135, "user_401": 0.070, "user_401@pool2": 0.105, "oauth_anon": 0.060, "oauth_t1": 0.065,
                 "oauth_t3": 0.505, "oauth_t3@pool2": 0.575, "user_ok": 0.110, "apps": 0.740, "certprov_mex": 0.080,
                 "wt_mex": 0.070, "wt_anon": 0.060, "wt_t1": 0.065, "wt_t3": 0.445, "gapc": 0.740, "mma": 0.350,
                 "policies": 0.100, "mras": 0.110, "contacts": 0.190, "presence_sub": 0.180, "events": 0.570,
                 "presence": 0.100, "user_404": 0.070,
                 "ex_anon": 0.085, "ex_t1": 0.055, "ex_t3": 0.535, "ews_anon": 0.100, "ews_t1": 0.055, "ews_t3": 0.485},
    # SfB Online and Azure AD as seen from a phone on mobile data (F, G)
    "online": dict(root=0.085, user_401=0.060, user_ok=0.140, probe=0.045, apps=0.420, apps_403=0.095, mma=0.240,
                   policies=0.070, events=0.450, aad_page=0.160, aad_post=0.380, aad_token=0.190),
}
WPAD_404 = 1.2  # I: the intranet web server that still owns wpad.contoso.com answers /wpad.dat slowly
NOISE_LAT = dict(captive=0.030, weather=0.120, hourly=0.090, oauth2_401=0.050, oauth2_ok=0.120, cdn=0.040)


def lat(key, pool=None):
    t = LAT["online" if ONLINE else GROUP]
    return t.get(f"{key}@{pool}", t.get(key, 0.02))


# ----------------------------------------------------------------------------------------------
# HTTP plumbing

class Resp:
    def __init__(self, status, reason, headers=(), body=b"", latency=0.0, kind="lync", fqdn=None,
                 ctype=None, cache="no-cache"):
        self.status, self.reason, self.headers, self.body = status, reason, list(headers), body
        self.latency, self.kind, self.fqdn, self.ctype, self.cache = latency, kind, fqdn, ctype, cache
        self.https = True

    def fields(self):
        h = []
        if self.kind in ("lync", "exchange"):
            h.append(("Cache-Control", self.cache))
            if self.cache == "no-store":
                h.append(("Pragma", "no-cache"))
            if self.ctype:
                h.append(("Content-Type", self.ctype))
            h.append(("Server", "Microsoft-IIS/8.5"))
            h += self.headers
            if self.kind == "lync":
                h.append(("X-MS-Server-Fqdn", self.fqdn))
            else:
                h.append(("X-FEServer", "EXCH01"))
            h.append(("X-Content-Type-Options", "nosniff"))
            h.append(("X-Powered-By", "ASP.NET"))
            h.append(("Date", http_date()))
        elif self.kind == "online":  # SfB Online front ends (OfficeDev/skype-android-app-sdk-samples #48)
            h.append(("Cache-Control", self.cache))
            if self.ctype:
                h.append(("Content-Type", self.ctype))
            h += self.headers
            h.append(("X-MS-Server-Fqdn", self.fqdn))
            h.append(("X-Ms-Correlation-Id", str(next_correlation())))
            h.append(("client-request-id", uuid_like()))
            h.append(("X-Content-Type-Options", "nosniff"))
            if self.https:
                h.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
            h.append(("X-Powered-By", "ASP.NET"))
            h.append(("Date", http_date()))
        elif self.kind == "aad":  # Azure AD (login.windows.net / login.microsoftonline.com)
            h.append(("Cache-Control", "no-cache, no-store"))
            h.append(("Pragma", "no-cache"))
            if self.ctype:
                h.append(("Content-Type", self.ctype))
            h.append(("Expires", "-1"))
            h += self.headers
            h.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
            h.append(("X-Content-Type-Options", "nosniff"))
            h.append(("x-ms-request-id", uuid_like()))
            h.append(("P3P", 'CP="DSP CUR OTPi IND OTRi ONL FIN"'))
            h.append(("Date", http_date()))
        else:  # background hosts: whatever their stacks send
            if self.ctype:
                h.append(("Content-Type", self.ctype))
            h += self.headers
            h.append(("Date", http_date()))
        if self.status not in (204, 304):
            h.append(("Content-Length", str(len(self.body))))
        return h

    def render(self):
        h = self.fields()
        head = "HTTP/1.1 %d %s\r\n" % (self.status, self.reason)
        head += "".join("%s: %s\r\n" % kv for kv in h) + "\r\n"
        return head.encode("latin-1") + self.body


HOLD = object()
_CORRELATION = [2147515829]


def next_correlation():
    with LOCK:
        _CORRELATION[0] += 1 + int.from_bytes(os.urandom(1), "big") % 7
        return _CORRELATION[0]


def uuid_like():
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class Request:
    def __init__(self, method, target, headers, body):
        self.method, self.target, self.headers, self.body = method, target, headers, body
        u = urllib.parse.urlsplit(target)
        self.path, self.query = u.path, urllib.parse.parse_qs(u.query)
        self.host = self.header("host", "").split(":")[0].lower()

    def header(self, name, default=None):
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default


def read_request(sock, state):
    buf = state["buf"]
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ver = lines[0].split(" ", 2)
    headers = [tuple(x.strip() for x in l.split(":", 1)) for l in lines[1:] if ":" in l]
    n = 0
    for k, v in headers:
        if k.lower() == "content-length":
            n = int(v)
    while len(rest) < n:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        rest += chunk
    state["buf"] = rest[n:]
    return Request(method, target, headers, rest[:n])


def serve_connection(sock, local_ip, scheme, peer):
    state = {"buf": b"", "ntlm": None, "peer": peer, "local": local_ip}
    try:
        while True:
            req = read_request(sock, state)
            if req is None:
                break
            try:
                resp = route(req, state, scheme)
            except Exception as e:  # a bug in the mock must not look like a protocol answer
                log("handler error", repr(e))
                import traceback
                traceback.print_exc()
                resp = Resp(500, "Internal Server Error", fqdn="fe01.contoso.net", ctype="text/plain", body=b"mock error")
            if resp is HOLD:
                log("holding", req.method, req.target)
                while sock.recv(65536):
                    pass
                break
            time.sleep(resp.latency)
            resp.https = scheme == "https"
            sock.sendall(resp.render())
            log(req.method, req.host, req.target, "->", resp.status)
    except (OSError, ssl.SSLError) as e:
        log("connection ended:", repr(e))
    finally:
        try:
            sock.close()
        except OSError:
            pass


def serve_h2(sock, local_ip, peer):
    """M: the reverse proxy's h2 listener (ALPN h2; python3-h2, imported only here). Each stream
    is routed like an HTTP/1.1 request; Windows authentication (the OAuth token endpoint, the
    one NTLM leg of M) is refused with RST_STREAM HTTP_1_1_REQUIRED, as IIS 10 does."""
    import h2.config
    import h2.connection
    import h2.errors
    import h2.events
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    state = {"buf": b"", "ntlm": None, "peer": peer, "local": local_ip}
    reqs = {}
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                break
            for ev in conn.receive_data(data):
                if isinstance(ev, h2.events.RequestReceived):
                    reqs[ev.stream_id] = [list(ev.headers), b""]
                elif isinstance(ev, h2.events.DataReceived):
                    reqs[ev.stream_id][1] += ev.data
                    conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, h2.events.StreamEnded):
                    fields, body = reqs.pop(ev.stream_id)
                    f = dict(fields)
                    headers = [("Host", f[":authority"])] + [(k, v) for k, v in fields if not k.startswith(":")]
                    req = Request(f[":method"], f[":path"], headers, body)
                    if req.path.lower().startswith("/webticket/oauthtoken"):
                        time.sleep(0.012)
                        conn.reset_stream(ev.stream_id, error_code=h2.errors.ErrorCodes.HTTP_1_1_REQUIRED)
                        log("h2", req.method, req.host, req.target, "-> RST_STREAM HTTP_1_1_REQUIRED")
                        continue
                    resp = route(req, state, "https")
                    if resp is HOLD:
                        log("h2 holding", req.method, req.target)
                        continue
                    time.sleep(resp.latency)
                    hop = ("connection", "keep-alive", "transfer-encoding")
                    out = [(":status", str(resp.status))] + [(k.lower(), v) for k, v in resp.fields() if k.lower() not in hop]
                    conn.send_headers(ev.stream_id, out, end_stream=not resp.body)
                    step = conn.max_outbound_frame_size
                    for i in range(0, len(resp.body), step):
                        conn.send_data(ev.stream_id, resp.body[i:i + step], end_stream=i + step >= len(resp.body))
                    log("h2", req.method, req.host, req.target, "->", resp.status)
            out = conn.data_to_send()
            if out:
                sock.sendall(out)
    except (OSError, ssl.SSLError) as e:
        log("h2 connection ended:", repr(e))
    finally:
        try:
            sock.close()
        except OSError:
            pass


# ----------------------------------------------------------------------------------------------
# Lync / Exchange / background handlers

def json_body(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def ntlm_leg(req, state, lat_keys, pool, on_success, kind="lync", fqdn=None):
    """Windows authentication on IIS: 401 Negotiate/NTLM, then type 1 -> type 2 (remembered on
    this TCP connection), then type 3 -> on_success()."""
    auth = req.header("authorization", "")
    fq = fqdn or (FE.get(pool) if pool else None)
    if auth.startswith("NTLM "):
        blob = base64.b64decode(auth[5:])
        mtype, f = ntlm.parse(blob)
        if mtype == 1:
            state["ntlm"] = os.urandom(8)
            nbc, dnsc = (fq.split(".")[0].upper(), fq) if kind == "lync" else ("EXCH01", "exch01.contoso.net")
            t2 = ntlm.challenge(state["ntlm"], "CONTOSO", nbc, "contoso.net", dnsc, scenario_now())
            return Resp(401, "Unauthorized", [("WWW-Authenticate", "NTLM " + ntlm.b64(t2))], b"",
                        lat(lat_keys[1], pool), kind, fq, "text/html")
        if mtype == 3 and SCN == "J":  # wrong password: IIS answers the type 3 with a fresh challenge
            state["ntlm"] = None
            return Resp(401, "Unauthorized", [("WWW-Authenticate", "Negotiate"), ("WWW-Authenticate", "NTLM")],
                        IIS_401_HTML, lat(lat_keys[2], pool), kind, fq, "text/html")
        if mtype == 3 and state["ntlm"] is not None and f["domain"].upper() == "CONTOSO" and f["user"].lower() == "alice":
            state["ntlm"] = None
            state["user"] = "CONTOSO\\alice"
            r = on_success()
            r.latency = lat(lat_keys[2], pool)
            return r
    return Resp(401, "Unauthorized", [("WWW-Authenticate", "Negotiate"), ("WWW-Authenticate", "NTLM")],
                IIS_401_HTML, lat(lat_keys[0], pool), kind, fq, "text/html")


IIS_401_HTML = (b'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\r\n'
                b'<html xmlns="http://www.w3.org/1999/xhtml">\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"/>\r\n'
                b'<title>401 - Unauthorized: Access is denied due to invalid credentials.</title>\r\n</head>\r\n<body>\r\n'
                b'<div id="header"><h1>Server Error</h1></div>\r\n<div id="content">\r\n <div class="content-container"><fieldset>\r\n'
                b'  <h2>401 - Unauthorized: Access is denied due to invalid credentials.</h2>\r\n'
                b'  <h3>You do not have permission to view this directory or page using the credentials that you supplied.</h3>\r\n'
                b' </fieldset></div>\r\n</div>\r\n</body>\r\n</html>\r\n')


def bearer_pool(req):
    auth = req.header("authorization", "")
    if auth.startswith("Bearer "):
        for pool, tok in TOKENS.items():
            if auth[7:] == tok:
                return pool
    return None


def route(req, state, scheme):
    host = req.host
    if ONLINE and host in ONLINE_HOSTS:
        return online(req, state, scheme, host)
    if ONLINE and host in AAD_HOSTS:
        return aad(req, state)
    if SCN == "K" and scheme == "http" and host == "lyncdiscover.contoso.com":
        # the reverse proxy's catch-all rule for port 80: everything to the company web site
        body = b'<head><title>Document Moved</title></head>\n<body><h1>Object Moved</h1>This document may be found <a HREF="https://www.contoso.com/">here</a></body>'
        return Resp(302, "Redirect", [("Location", "https://www.contoso.com/"), ("Server", "Microsoft-IIS/10.0"),
                                      ("X-Powered-By", "ASP.NET")], body, 0.030, "other", ctype="text/html; charset=UTF-8")
    if host == "wpad.contoso.com":
        return Resp(404, "Not Found", [("Server", "Microsoft-IIS/7.5"), ("X-Powered-By", "ASP.NET")], IIS_404_HTML,
                    WPAD_404, "other", ctype="text/html")
    if host in HOST_SITE:
        pool, site = HOST_SITE[host]
        return lync(req, state, scheme, pool, site)
    if host in ("autodiscover.contoso.com", "mail.contoso.com"):
        return exchange(req, state)
    if host in ("captive.apple.com", "api.weather.example.com", "login.example.net", "cdn.example.org"):
        return background(req, state)
    return Resp(404, "Not Found", kind="other", ctype="text/html", body=b"<html><body>Not Found</body></html>")


def site_fqdn(pool, site):
    return POOLS[pool]["int_fqdn" if site == "int" else "ext_fqdn"]


def user_url(fqdn):
    return f"https://{fqdn}/Autodiscover/AutodiscoverService.svc/root/oauth/user?originalDomain=contoso.com"


def lync(req, state, scheme, pool, site):
    fq = FE[pool]
    P = POOLS[pool]
    fqdn = site_fqdn(pool, site)
    path = req.path.lower()
    R = lambda *a, **k: Resp(*a, fqdn=fq, **k)  # noqa: E731

    if path in ("/", "/autodiscover/autodiscoverservice.svc/root"):
        body = {"_links": {
            "self": {"href": f"https://{fqdn}/Autodiscover/AutodiscoverService.svc/root?originalDomain=contoso.com"},
            "user": {"href": user_url(fqdn)},
            "xframe": {"href": f"https://{fqdn}/Autodiscover/XFrame/XFrame.html"}}}
        return R(200, "OK", body=json_body(body), latency=lat("root", pool), ctype="application/json")

    if path == "/autodiscover/autodiscoverservice.svc/root/oauth/user":
        tpool = bearer_pool(req)
        if tpool != pool:
            h = [("WWW-Authenticate", 'Bearer trusted_issuers="00000002-0000-0ff1-ce00-000000000000@contoso.com", '
                                      'client_id="00000004-0000-0ff1-ce00-000000000000"'),
                 ("WWW-Authenticate", f'MsRtcOAuth href="https://{fqdn}/WebTicket/oauthtoken",'
                                      'grant_type="urn:microsoft.rtc:windows,urn:microsoft.rtc:anonmeeting,password"')]
            return R(401, "Unauthorized", h, IIS_401_HTML, lat("user_401", pool), ctype="text/html")
        if HOME_POOL is None:
            return R(404, "Not Found", latency=lat("user_404", pool))
        if HOME_POOL != pool:
            body = {"_links": {"self": {"href": user_url(fqdn)},
                               "redirect": {"href": user_url(POOLS[HOME_POOL]["ext_fqdn"])}}}
        else:
            body = {"_links": {"self": {"href": user_url(fqdn)},
                               "applications": {"href": f"https://{P['ext_fqdn']}/ucwa/oauth/v1/applications"},
                               "xframe": {"href": f"https://{fqdn}/Autodiscover/XFrame/XFrame.html"}}}
        return R(200, "OK", body=json_body(body), latency=lat("user_ok", pool), ctype="application/json")

    if path == "/webticket/oauthtoken" and req.method == "POST":
        def ok():
            return R(200, "OK", body=json_body({"access_token": TOKENS[pool], "expires_in": 28800,
                                                "ms_rtc_identityscope": "local", "token_type": "Bearer"}),
                     ctype="application/json", cache="no-store")
        return ntlm_leg(req, state, ("oauth_anon", "oauth_t1", "oauth_t3"), pool, ok)

    if path == "/certprov/certprovisioningservice.svc/mex":
        return R(200, "OK", body=certprov_mex(fqdn).encode(), latency=lat("certprov_mex", pool), ctype="text/xml; charset=utf-8")
    if path == "/webticket/webticketservice.svc/mex":
        return R(200, "OK", body=webticket_mex(fqdn).encode(), latency=lat("wt_mex", pool), ctype="text/xml; charset=utf-8")
    if path == "/webticket/webticketservice.svc/auth" and req.method == "POST":
        def ok():
            state["saml"] = P["assertion_id"]
            return R(200, "OK", body=rstr(fqdn, P["assertion_id"]).encode(), ctype="text/xml; charset=utf-8")
        return ntlm_leg(req, state, ("wt_anon", "wt_t1", "wt_t3"), pool, ok)
    if path == "/certprov/certprovisioningservice.svc/webticket_proof" and req.method == "POST":
        if P["assertion_id"].encode() not in req.body:
            return R(500, "Internal Server Error", body=b"", latency=0.05, ctype="text/xml; charset=utf-8")
        return R(200, "OK", body=gapc_response().encode(), latency=lat("gapc", pool), ctype="text/xml; charset=utf-8")

    m = re.match(r"^/ucwa/oauth/v1/applications(?:/(\d+)(/.*)?)?$", req.path)
    if m:
        if req.header("authorization") is None:  # the SfB engine's metadata probe: IIS 401 page
            h = [("WWW-Authenticate", 'Bearer trusted_issuers="00000002-0000-0ff1-ce00-000000000000@contoso.com", '
                                      'client_id="00000004-0000-0ff1-ce00-000000000000"'),
                 ("WWW-Authenticate", f'MsRtcOAuth href="https://{fqdn}/WebTicket/oauthtoken",'
                                      'grant_type="urn:microsoft.rtc:windows,urn:microsoft.rtc:anonmeeting,password"')]
            return R(401, "Unauthorized", h, IIS_401_HTML, 0.045, ctype="text/html")
        if bearer_pool(req) != pool:
            return R(401, "Unauthorized", [("WWW-Authenticate", 'Bearer trusted_issuers="00000002-0000-0ff1-ce00-000000000000@contoso.com", '
                                                               'client_id="00000004-0000-0ff1-ce00-000000000000"'),
                                           ("X-Ms-diagnostics", '28032;reason="The web ticket is invalid."')],
                     b"", 0.05, ctype="text/html")
        app, rest = m.group(1), (m.group(2) or "")
        base = f"/ucwa/oauth/v1/applications/{P['app_id']}"
        if app is None and req.method == "POST":
            ua = json.loads(req.body or b"{}").get("UserAgent", "")
            return R(201, "Created", [("Set-Cookie", f"cwt_ucwa={P['cookie']}; path={base}/photos; secure; HttpOnly")],
                     json_body(application_body(P, base, ua)), lat("apps", pool), ctype="application/json; charset=utf-8")
        if app != P["app_id"]:
            return R(404, "Not Found", latency=0.03)
        if rest == "/me/makeMeAvailable" and req.method == "POST":
            return R(204, "No Content", latency=lat("mma", pool))
        if rest == "/policies":
            return R(200, "OK", body=json_body(policies(base)), latency=lat("policies", pool), ctype="application/json")
        if rest == "/communication/mediaRelayAccessToken":
            internal_client = S.real(state["peer"][0]).startswith("10.")
            return R(200, "OK", body=json_body(mras(P, base, internal_client)), latency=lat("mras", pool), ctype="application/json")
        if rest == "/people/contacts":
            return R(200, "OK", body=json_body(contacts(base)), latency=lat("contacts", pool), ctype="application/json")
        if rest == "/people/presenceSubscriptions" and req.method == "POST":
            sid = P["sub_id"]
            body = {"id": sid, "_links": {
                "self": {"href": f"{base}/people/presenceSubscriptions/{sid}"},
                "memberships": {"href": f"{base}/people/presenceSubscriptionMemberships?presenceSubscriptionId={sid}"},
                "addToPresenceSubscription": {"href": f"{base}/people/presenceSubscriptionMemberships?presenceSubscriptionId={sid}"}},
                "rel": "presenceSubscription"}
            return R(201, "Created", body=json_body(body), latency=lat("presence_sub", pool), ctype="application/json; charset=utf-8")
        if rest == "/events":
            ack = int(req.query.get("ack", ["1"])[0])
            if ack >= 2:
                return HOLD  # P-GET: nothing happens before the capture ends
            body = events(base, P["sub_id"]) if PKI_SET == "2015" else events_signed_in(base)
            return R(200, "OK", body=json_body(body), latency=lat("events", pool), ctype="application/json")
        pm = re.match(r"^/people/([^/]+)/presence$", rest)
        if pm:
            return R(200, "OK", body=json_body(presence(base, pm.group(1))), latency=lat("presence", pool), ctype="application/json")
        return R(404, "Not Found", latency=0.03)
    return R(404, "Not Found", ctype="text/html", body=b"<html><body>404 - File or directory not found.</body></html>", latency=0.02)


def application_body(P, base, ua, sip=S.SIP_URI):
    return {
        "culture": "en-US", "userAgent": ua,
        "_links": {"self": {"href": base}, "policies": {"href": f"{base}/policies"},
                   "batch": {"href": f"{base}/batch"}, "events": {"href": f"{base}/events?ack=1"}},
        "_embedded": {
            "me": {"name": "Alice Ahlberg", "uri": "sip:" + sip, "_links": {
                "self": {"href": f"{base}/me"}, "makeMeAvailable": {"href": f"{base}/me/makeMeAvailable"},
                "callForwardingSettings": {"href": f"{base}/me/callForwardingSettings"},
                "phones": {"href": f"{base}/me/phones"},
                "photo": {"href": f"{base}/photos/{sip}"}}, "rel": "me"},
            "people": {"_links": {
                "self": {"href": f"{base}/people"},
                "presenceSubscriptions": {"href": f"{base}/people/presenceSubscriptions"},
                "subscribedContacts": {"href": f"{base}/people/subscribedContacts"},
                "presenceSubscriptionMemberships": {"href": f"{base}/people/presenceSubscriptionMemberships"},
                "myGroups": {"href": f"{base}/people/groups"},
                "myGroupMemberships": {"href": f"{base}/people/groupMemberships"},
                "myContacts": {"href": f"{base}/people/contacts"},
                "myContactsAndGroupsSubscription": {"href": f"{base}/people/contactsAndGroupsSubscription"},
                "search": {"href": f"{base}/people/search"}}, "rel": "people"},
            "onlineMeetings": {"_links": {
                "self": {"href": f"{base}/onlineMeetings"},
                "myOnlineMeetings": {"href": f"{base}/onlineMeetings/myOnlineMeetings"},
                "onlineMeetingDefaultValues": {"href": f"{base}/onlineMeetings/defaultValues"},
                "onlineMeetingEligibleValues": {"href": f"{base}/onlineMeetings/eligibleValues"},
                "onlineMeetingInvitationCustomization": {"href": f"{base}/onlineMeetings/customInvitation"},
                "onlineMeetingPolicies": {"href": f"{base}/onlineMeetings/policies"},
                "phoneDialInInformation": {"href": f"{base}/onlineMeetings/phoneDialInInformation"}}, "rel": "onlineMeetings"},
            "communication": {
                P["comm_guid"]: "please pass this in a PUT request",
                "supportedModalities": [], "supportedMessageFormats": ["Plain"],
                "_links": {
                    "self": {"href": f"{base}/communication"},
                    "mediaRelayAccessToken": {"href": f"{base}/communication/mediaRelayAccessToken"},
                    "mediaPolicies": {"href": f"{base}/mediaPolicies"},
                    "conversations": {"href": f"{base}/communication/conversations?filter=active"},
                    "startMessaging": {"href": f"{base}/communication/messagingInvitations"},
                    "startAudioVideo": {"href": f"{base}/communication/audioVideoInvitations"}},
                "rel": "communication", "etag": P["comm_etag"]}},
        "rel": "application", "etag": P["app_etag"]}


def policies(base, sip=S.SIP_URI):
    return {"rel": "policies", "audioOnlyOnWifi": "Disabled", "videoOnlyOnWifi": "Enabled", "sharingOnlyOnWifi": "Disabled",
            "telephonyMode": "AudioVideo", "saveCredentials": "Enabled", "saveMessagingHistory": "Enabled",
            "saveCallLogs": "Enabled", "clientExchangeConnectivity": "Enabled", "allowDeviceContactsSync": "Enabled",
            "encryptAppData": "Disabled", "photos": "Enabled", "emoticons": "Enabled", "htmlMessaging": "Enabled",
            "logging": "Disabled", "loggingLevel": "Off", "voicemailUri": f"sip:{sip};opaque=app:voicemail",
            "emergencyDialString": "911", "emergencyDialMask": "112", "_links": {"self": {"href": f"{base}/policies"}}}


def mras(P, base, internal_client):
    relay = lambda host, ip, loc: {"rel": "mediaRelay", "host": host, "ipv4": ip, "location": loc,  # noqa: E731
                                   "tcpPort": 443, "udpPort": 3478,
                                   "_links": {"self": {"href": f"{base}/communication/mediaRelay"}}}
    relays = ([relay("edgeint.contoso.net", "10.30.0.5", "Intranet")] if internal_client else []) + \
        [relay("av.contoso.com", "203.0.113.22", "Internet")]
    valid_until = (CFG["time_base_unix"] + 8 * 3600) * 1000
    return {"rel": "mediaRelayAccessToken", "duration": 480, "Uri": "sip:alice@contoso.com",
            "userName": P["mras_user"], "password": P["mras_pass"], "validUntil": "/Date(%d)/" % valid_until,
            "_links": {"self": {"href": f"{base}/communication/mediaRelayAccessToken"}},
            "_embedded": {"mediaRelay": relays}}


def contacts(base):
    def c(user, name):
        return {"rel": "contact", "name": name, "uri": f"sip:{user}", "type": "User", "sourceNetwork": "SameEnterprise",
                "_links": {"self": {"href": f"{base}/people/{user}"},
                           "contactPresence": {"href": f"{base}/people/{user}/presence"}}}
    return {"rel": "myContacts", "_links": {"self": {"href": f"{base}/people/contacts"},
                                            "contact": [{"href": f"{base}/people/bob@contoso.com"},
                                                        {"href": f"{base}/people/carol@contoso.com"}]},
            "_embedded": {"contact": [c("bob@contoso.com", "Bob Barker"), c("carol@contoso.com", "Carol Cole")]}}


def events(base, sid):
    def upd(user):
        return {"link": {"rel": "contactPresence", "href": f"{base}/people/{user}/presence"},
                "in": {"rel": "contact", "href": f"{base}/people/{user}"}, "type": "updated"}

    def added(user):
        return {"link": {"rel": "contact", "href": f"{base}/people/{user}"},
                "in": {"rel": "subscribedContacts", "href": f"{base}/people/subscribedContacts"}, "type": "added"}
    return {"_links": {"self": {"href": f"{base}/events?ack=1"}, "next": {"href": f"{base}/events?ack=2"}},
            "sender": [
                {"rel": "me", "href": f"{base}/me", "events": [
                    {"link": {"rel": "presence", "href": f"{base}/me/presence"}, "type": "updated"}]},
                {"rel": "people", "href": f"{base}/people", "events": [
                    added("bob@contoso.com"), added("carol@contoso.com"),
                    {"link": {"rel": "presenceSubscription", "href": f"{base}/people/presenceSubscriptions/{sid}"}, "type": "added"},
                    upd("bob@contoso.com")] + ([upd("carol@contoso.com")] if SCN != "B" else [])}]}


def events_signed_in(base, key=None):
    """The first event batch after makeMeAvailable when the client subscribed to nothing yet."""
    q = "" if key is None else f"&key={key}"
    return {"_links": {"self": {"href": f"{base}/events?ack=1{q}"}, "next": {"href": f"{base}/events?ack=2{q}"}},
            "sender": [{"rel": "me", "href": f"{base}/me", "events": [
                {"link": {"rel": "me", "href": f"{base}/me"}, "type": "updated"},
                {"link": {"rel": "presence", "href": f"{base}/me/presence"}, "type": "updated"},
                {"link": {"rel": "location", "href": f"{base}/me/location"}, "type": "updated"}]},
                {"rel": "communication", "href": f"{base}/communication", "events": [
                    {"link": {"rel": "communication", "href": f"{base}/communication"}, "type": "updated"}]}]}


def presence(base, user):
    if user.startswith("bob"):
        av, act, dev = ("Busy", "on-the-phone", "PC") if SCN == "B" else ("Online", "Available", "PC")
    else:
        av, act, dev = "Away", "off-work", "Mobile"
    return {"rel": "contactPresence", "availability": av, "activity": act, "deviceType": dev,
            "lastActive": "/Date(1435586112000)/", "_links": {"self": {"href": f"{base}/people/{user}/presence"}}}


def certprov_mex(fqdn):
    return f'''<?xml version="1.0" encoding="utf-8"?><wsdl:definitions name="CertProvisioningService" targetNamespace="http://schemas.microsoft.com/OCS/AuthWebServices/" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:wsp="http://schemas.xmlsoap.org/ws/2004/09/policy" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd" xmlns:sp="http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702" xmlns:wsa10="http://www.w3.org/2005/08/addressing" xmlns:tns="http://schemas.microsoft.com/OCS/AuthWebServices/"><wsp:Policy wsu:Id="CertProvisioningServiceWebTicketProof_SHA1_policy"><wsp:ExactlyOne><wsp:All><sp:TransportBinding><wsp:Policy><sp:TransportToken><wsp:Policy><sp:HttpsToken/></wsp:Policy></sp:TransportToken><sp:AlgorithmSuite><wsp:Policy><sp:Basic256/></wsp:Policy></sp:AlgorithmSuite><sp:Layout><wsp:Policy><sp:Strict/></wsp:Policy></sp:Layout><sp:IncludeTimestamp/></wsp:Policy></sp:TransportBinding><sp:EndorsingSupportingTokens><wsp:Policy><sp:IssuedToken sp:IncludeToken="http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702/IncludeToken/AlwaysToRecipient"><sp:Issuer><wsa10:Address>https://{fqdn}/WebTicket/WebTicketService.svc</wsa10:Address></sp:Issuer><sp:RequestSecurityTokenTemplate><t:TokenType xmlns:t="http://docs.oasis-open.org/ws-sx/ws-trust/200512">http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV1.1</t:TokenType><t:KeyType xmlns:t="http://docs.oasis-open.org/ws-sx/ws-trust/200512">http://docs.oasis-open.org/ws-sx/ws-trust/200512/SymmetricKey</t:KeyType></sp:RequestSecurityTokenTemplate><wsp:Policy><sp:RequireInternalReference/></wsp:Policy></sp:IssuedToken></wsp:Policy></sp:EndorsingSupportingTokens></wsp:All></wsp:ExactlyOne></wsp:Policy><wsdl:portType name="ICertProvisioningService"><wsdl:operation name="GetAndPublishCert"><wsdl:input wsaw:Action="http://schemas.microsoft.com/OCS/AuthWebServices/GetAndPublishCert" message="tns:GetAndPublishCertRequest" xmlns:wsaw="http://www.w3.org/2006/05/addressing/wsdl"/></wsdl:operation></wsdl:portType><wsdl:service name="CertProvisioningService"><wsdl:port name="CertProvisioningServiceWebTicketProof_SHA1" binding="tns:CertProvisioningServiceWebTicketProof_SHA1"><soap:address location="https://{fqdn}/CertProv/CertProvisioningService.svc/WebTicket_Proof"/></wsdl:port></wsdl:service></wsdl:definitions>'''


def webticket_mex(fqdn):
    return f'''<?xml version="1.0" encoding="utf-8"?><wsdl:definitions name="WebTicketService" targetNamespace="http://tempuri.org/" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:wsp="http://schemas.xmlsoap.org/ws/2004/09/policy" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd" xmlns:tns="http://tempuri.org/"><wsp:Policy wsu:Id="WebTicketServiceWinNegotiate_policy"><wsp:ExactlyOne><wsp:All><http:NegotiateAuthentication xmlns:http="http://schemas.microsoft.com/ws/06/2004/policy/http"/></wsp:All></wsp:ExactlyOne></wsp:Policy><wsdl:portType name="IWebTicketService"><wsdl:operation name="IssueToken"><wsdl:input wsaw:Action="http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue" message="tns:RequestSecurityToken" xmlns:wsaw="http://www.w3.org/2006/05/addressing/wsdl"/></wsdl:operation></wsdl:portType><wsdl:service name="WebTicketService"><wsdl:port name="WebTicketServiceWinNegotiate" binding="tns:WebTicketServiceWinNegotiate"><soap:address location="https://{fqdn}/WebTicket/WebTicketService.svc/Auth"/></wsdl:port><wsdl:port name="WebTicketServiceAnon" binding="tns:WebTicketServiceAnon"><soap:address location="https://{fqdn}/WebTicket/WebTicketService.svc/Anon"/></wsdl:port><wsdl:port name="WebTicketServiceCert" binding="tns:WebTicketServiceCert"><soap:address location="https://{fqdn}/WebTicket/WebTicketService.svc/Cert"/></wsdl:port></wsdl:service></wsdl:definitions>'''


def rstr(fqdn, assertion_id):
    now = scenario_now()
    created, expires = iso_ms(now), iso_ms(now + 8 * 3600)
    secret = base64.b64encode(os.urandom(32)).decode()
    return f'''<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:u="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"><s:Body><wst:RequestSecurityTokenResponseCollection xmlns:wst="http://docs.oasis-open.org/ws-sx/ws-trust/200512"><wst:RequestSecurityTokenResponse><wst:TokenType>http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV1.1</wst:TokenType><wst:RequestedSecurityToken><saml:Assertion MajorVersion="1" MinorVersion="1" AssertionID="{assertion_id}" Issuer="URI:https://{fqdn}/WebTicket/WebTicketService.svc" IssueInstant="{created}" xmlns:saml="urn:oasis:names:tc:SAML:1.0:assertion"><saml:Conditions NotBefore="{created}" NotOnOrAfter="{expires}"><saml:AudienceRestrictionCondition><saml:Audience>https://{fqdn}/CertProv/CertProvisioningService.svc/WebTicket_Proof</saml:Audience></saml:AudienceRestrictionCondition></saml:Conditions><saml:AuthenticationStatement AuthenticationMethod="urn:federation:authentication:windows" AuthenticationInstant="{created}"><saml:Subject><saml:NameIdentifier Format="http://schemas.xmlsoap.org/claims/UPN">alice@contoso.com</saml:NameIdentifier><saml:SubjectConfirmation><saml:ConfirmationMethod>urn:oasis:names:tc:SAML:1.0:cm:holder-of-key</saml:ConfirmationMethod></saml:SubjectConfirmation></saml:Subject></saml:AuthenticationStatement><saml:AttributeStatement><saml:Subject><saml:NameIdentifier>sip:alice@contoso.com</saml:NameIdentifier></saml:Subject><saml:Attribute AttributeName="uri" AttributeNamespace="http://schemas.xmlsoap.org/ws/2005/05/identity/claims"><saml:AttributeValue>sip:alice@contoso.com</saml:AttributeValue></saml:Attribute></saml:AttributeStatement><Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo><CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#rsa-sha1"/></SignedInfo><SignatureValue>dGhpcyBpcyBhIHN5bnRoZXRpYyBzaWduYXR1cmUgZm9yIHRlc3RzIG9ubHk=</SignatureValue></Signature></saml:Assertion></wst:RequestedSecurityToken><wst:Lifetime><u:Created>{created}</u:Created><u:Expires>{expires}</u:Expires></wst:Lifetime><wst:Entropy><wst:BinarySecret>{secret}</wst:BinarySecret></wst:Entropy></wst:RequestSecurityTokenResponse></wst:RequestSecurityTokenResponseCollection></s:Body></s:Envelope>'''


def gapc_response():
    der = open(os.path.join(PKI, "alice-device.crt"), "rb").read()
    b64 = "".join(l.strip() for l in der.decode().splitlines() if not l.startswith("-----"))
    return f'''<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetAndPublishCertResponse xmlns="http://schemas.microsoft.com/OCS/AuthWebServices/"><RequestSecurityTokenResponse xmlns="http://docs.oasis-open.org/ws-sx/ws-trust/200512"><TokenType>http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3</TokenType><DispositionMessage xmlns="http://schemas.microsoft.com/windows/pki/2009/01/enrollment">Issued</DispositionMessage><BinarySecurityTokenCollection xmlns="http://schemas.microsoft.com/windows/pki/2009/01/enrollment"><BinarySecurityToken ValueType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3" EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd#Base64Binary" xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">{b64}</BinarySecurityToken></BinarySecurityTokenCollection><RequestedSecurityToken><BinarySecurityToken ValueType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3" EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd#Base64Binary" xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">{b64}</BinarySecurityToken></RequestedSecurityToken><RequestID xmlns="http://schemas.microsoft.com/windows/pki/2009/01/enrollment">6142</RequestID></RequestSecurityTokenResponse></GetAndPublishCertResponse></s:Body></s:Envelope>'''


def exchange(req, state):
    path = req.path.lower()
    if path == "/autodiscover/autodiscover.xml" and req.method == "POST":
        def ok():
            return Resp(200, "OK", body=EXCH_AD_XML.encode(), kind="exchange", ctype="text/xml; charset=utf-8", cache="private")
        return ntlm_leg(req, state, ("ex_anon", "ex_t1", "ex_t3"), None, ok, kind="exchange")
    if path == "/ews/exchange.asmx" and req.method == "POST":
        def ok():
            return Resp(200, "OK", body=EWS_XML.encode(), kind="exchange", ctype="text/xml; charset=utf-8", cache="private")
        return ntlm_leg(req, state, ("ews_anon", "ews_t1", "ews_t3"), None, ok, kind="exchange")
    return Resp(404, "Not Found", kind="exchange", ctype="text/html", body=b"<html><body>404</body></html>", latency=0.02)


EXCH_AD_XML = '''<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
  <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
    <User>
      <DisplayName>Alice Ahlberg</DisplayName>
      <LegacyDN>/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=alice</LegacyDN>
      <AutoDiscoverSMTPAddress>alice@contoso.com</AutoDiscoverSMTPAddress>
      <DeploymentId>3c5e7d1a-6f2b-4e8c-9a0d-1b2c3d4e5f60</DeploymentId>
    </User>
    <Account>
      <AccountType>email</AccountType>
      <Action>settings</Action>
      <MicrosoftOnline>False</MicrosoftOnline>
      <Protocol>
        <Type>EXPR</Type>
        <Server>mail.contoso.com</Server>
        <SSL>On</SSL>
        <AuthPackage>Ntlm</AuthPackage>
        <ASUrl>https://mail.contoso.com/EWS/Exchange.asmx</ASUrl>
        <EwsUrl>https://mail.contoso.com/EWS/Exchange.asmx</EwsUrl>
        <OOFUrl>https://mail.contoso.com/EWS/Exchange.asmx</OOFUrl>
        <OABUrl>https://mail.contoso.com/OAB/6a1b2c3d-4e5f-4061-8273-9a8b7c6d5e4f/</OABUrl>
      </Protocol>
    </Account>
  </Response>
</Autodiscover>'''

EWS_XML = '''<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><h:ServerVersionInfo MajorVersion="15" MinorVersion="0" MajorBuildNumber="1104" MinorBuildNumber="5" Version="V2_23" xmlns:h="http://schemas.microsoft.com/exchange/services/2006/types" xmlns="http://schemas.microsoft.com/exchange/services/2006/types"/></s:Header><s:Body><m:FindItemResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages><m:FindItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:RootFolder TotalItemsInView="1" IncludesLastItemInRange="true"><t:Items><t:CalendarItem><t:ItemId Id="AAMkAGE1ZTQ2YzQ4LTc2ZjktNDRjZC1hNmE3LTQ5YjI0ZWJmNGQ0OABGAAAAAAB" ChangeKey="DwAAABYAAAA"/><t:Subject>Weekly sync</t:Subject><t:Start>2015-06-29T20:00:00Z</t:Start><t:End>2015-06-29T20:30:00Z</t:End><t:Location>Lync Meeting</t:Location></t:CalendarItem></t:Items></m:RootFolder></m:FindItemResponseMessage></m:ResponseMessages></m:FindItemResponse></s:Body></s:Envelope>'''


def background(req, state):
    host, path = req.host, req.path
    if host == "captive.apple.com":
        body = b"<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>"
        return Resp(200, "OK", [("Server", "AkamaiGHost"), ("Cache-Control", "max-age=0, no-cache, no-store"),
                                ("Pragma", "no-cache"), ("Connection", "keep-alive")],
                    body, NOISE_LAT["captive"], "other", ctype="text/html")
    if host == "api.weather.example.com":
        base = "https://api.weather.example.com"
        if path == "/v1/forecast":
            body = {"location": {"name": "Redmond, WA", "lat": 47.64, "lon": -122.13},
                    "current": {"tempC": 19.5, "condition": "Partly cloudy", "observed": iso_ms(scenario_now() - 600)},
                    "_links": {"self": {"href": f"{base}/v1/forecast?lat=47.64&lon=-122.13"},
                               "hourly": {"href": "/v1/forecast/hourly?lat=47.64&lon=-122.13"},
                               "alerts": {"href": f"{base}/v1/alerts?zone=WAZ558"},
                               "user": {"href": f"{base}/v1/user/preferences"},
                               "applications": {"href": f"{base}/v1/widgets"}}}
            lt = NOISE_LAT["weather"]
        else:
            body = {"hours": [{"h": 14 + i, "tempC": 19 + i * 0.5, "pop": 10} for i in range(6)],
                    "_links": {"self": {"href": "/v1/forecast/hourly?lat=47.64&lon=-122.13"},
                               "next": {"href": "/v1/forecast/hourly?lat=47.64&lon=-122.13&page=2"}}}
            lt = NOISE_LAT["hourly"]
        return Resp(200, "OK", [("Server", "nginx/1.8.0"), ("Cache-Control", "public, max-age=300"),
                                ("Connection", "keep-alive"), ("Vary", "Accept-Encoding")],
                    json_body(body), lt, "other", ctype="application/hal+json")
    if host == "login.example.net":
        if req.header("authorization", "").startswith("Basic "):
            body = {"access_token": "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJmaXQtdXNlci04ODEiLCJhdWQiOiJmaXR0cmFjayIsImV4cCI6MTQzNTU5MDAwMH0.c3ludGhldGljLXNpZ25hdHVyZQ",
                    "token_type": "Bearer", "expires_in": 3600, "refresh_token": "rt-7f1e2d3c4b5a6978", "scope": "activity profile"}
            return Resp(200, "OK", [("Server", "Apache"), ("Cache-Control", "no-store"), ("Pragma", "no-cache")],
                        json_body(body), NOISE_LAT["oauth2_ok"], "other", ctype="application/json;charset=UTF-8")
        return Resp(401, "Unauthorized", [("Server", "Apache"),
                                          ("WWW-Authenticate", 'Bearer realm="login.example.net", error="invalid_client", error_description="client authentication required"'),
                                          ("Cache-Control", "no-store")],
                    json_body({"error": "invalid_client"}), NOISE_LAT["oauth2_401"], "other", ctype="application/json;charset=UTF-8")
    if host == "cdn.example.org":
        cfg = {"minVersion": "2.0.0", "features": {"sync": True, "badges": False}, "refreshSeconds": 3600,
               "endpoints": {"api": "https://api.fittrack.example.net/v2", "login": "https://login.example.net/oauth2/token"}}
        body = gzip.compress(json.dumps(cfg, indent=2).encode(), mtime=0)
        return Resp(200, "OK", [("Server", "ECS (sea/1C2E)"), ("Cache-Control", "max-age=300"), ("Content-Encoding", "gzip"),
                                ("ETag", '"5592c7a1-1f4"'), ("Last-Modified", "Fri, 26 Jun 2015 16:52:17 GMT"),
                                ("Vary", "Accept-Encoding"), ("X-Cache", "HIT")],
                    body, NOISE_LAT["cdn"], "other", ctype="application/json")
    return Resp(404, "Not Found", kind="other")


# ----------------------------------------------------------------------------------------------
# SfB Online (F, G): directors webdir / webdir2A / webdir1E, the webpool, and Azure AD

IIS_404_HTML = (b'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\r\n'
                b'<html xmlns="http://www.w3.org/1999/xhtml">\r\n<head>\r\n<title>404 - File or directory not found.</title>\r\n</head>\r\n'
                b'<body>\r\n<div id="header"><h1>Server Error</h1></div>\r\n<div id="content">\r\n <div class="content-container"><fieldset>\r\n'
                b'  <h2>404 - File or directory not found.</h2>\r\n'
                b'  <h3>The resource you are looking for might have been removed, had its name changed, or is temporarily unavailable.</h3>\r\n'
                b' </fieldset></div>\r\n</div>\r\n</body>\r\n</html>\r\n')

TENANT = "fabrikam.com"
TENANT_ID = "3f1c8e62-9b4a-4d27-8e15-6a0c2b9d7f41"
AUTHORIZE = "https://login.windows.net/common/oauth2/authorize"
# Host (lower case) -> (role, FE name in X-MS-Server-Fqdn). Links the servers hand out mix case,
# as Online does (webdir2A, webdir1E, webpoolDB41E03).
ONLINE_HOSTS = {
    "lyncdiscover.fabrikam.com": ("webdir", "BL2A02DIR11.infra.lync.com"),  # the vanity CNAME lands on webdir
    "webdir.online.lync.com": ("webdir", "BL2A02DIR11.infra.lync.com"),
    "webdir2a.online.lync.com": ("webdir2a", "DB5A01DIR05.infra.lync.com"),
    "webdir1e.online.lync.com": ("webdir1e", "DB41E01DIR03.infra.lync.com"),
    "webpooldb41e03.infra.lync.com": ("webpool", "DB41E03FES07.infra.lync.com"),
}
AAD_HOSTS = ("login.windows.net", "login.microsoftonline.com")
ONLINE_APP = dict(app_id="184467440737", comm_guid="6a2f9d41-0c3b-4e8a-b7d5-19e3c6f0a2b8", comm_etag="4011273605",
                  app_etag="775193402", cookie="AAEBHAEFAAAAAAAFFQAAAOnL1vYpRm2x8TqK0abc", events_key="Xk3vR9pQe1")
AAD_STATE = {"codes": {}, "refresh": {}, "issued": []}


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt(resource):
    now = int(scenario_now())
    head = {"typ": "JWT", "alg": "RS256", "x5t": "u4OfNFPHwEBosHjtrauObV84LnY", "kid": "u4OfNFPHwEBosHjtrauObV84LnY"}
    body = {"aud": resource, "iss": f"https://sts.windows.net/{TENANT_ID}/", "iat": now - 300, "nbf": now - 300,
            "exp": now + 3299, "acr": "1", "amr": ["pwd"], "appid": "7f3c9a21-5e84-4b6d-9c1e-2a0b8d4f6e13",
            "appidacr": "0", "family_name": "Ahlberg", "given_name": "Alice", "ipaddr": S.CGNAT_CLIENT, "name": "Alice Ahlberg",
            "oid": "0b7e4c19-6d2a-4f85-a3e1-9c5d7f2b8a64", "scp": "Contacts.ReadWrite Conversations.Initiate Meetings.ReadWrite User.ReadWrite",
            "sub": "pQm4Jx0sX9t2bL7vN1cR8kZ3yH6wF5dG0aE4uT7iO2s", "tid": TENANT_ID, "unique_name": "alice@fabrikam.com",
            "upn": "alice@fabrikam.com", "ver": "1.0"}
    tok = b64url(json.dumps(head, separators=(",", ":")).encode()) + "." + \
        b64url(json.dumps(body, separators=(",", ":")).encode()) + "." + b64url(os.urandom(256))
    AAD_STATE["issued"].append((resource.lower(), tok))
    return tok


def jwt_audience(req):
    auth = req.header("authorization", "")
    if not auth.startswith("Bearer "):
        return None
    for aud, tok in AAD_STATE["issued"]:
        if tok == auth[7:]:
            return aud
    return ""


def online_challenge(webdir_fqdn, folded=False):
    bearer = ('Bearer trusted_issuers="00000001-0000-0000-c000-000000000000@*", '
              f'client_id="00000004-0000-0ff1-ce00-000000000000", authorization_uri="{AUTHORIZE}"')
    msrtc = (f'MsRtcOAuth href="https://{webdir_fqdn}/WebTicket/oauthtoken",'
             'grant_type="urn:microsoft.rtc:passive,urn:microsoft.rtc:anonmeeting"')
    if folded:  # both challenges on one comma-folded line (RFC 7235 §4.1: a list of challenges)
        return [("WWW-Authenticate", bearer + ", " + msrtc)]
    return [("WWW-Authenticate", bearer), ("WWW-Authenticate", msrtc)]


def online_root_url(host):
    return f"https://{host}/Autodiscover/AutodiscoverService.svc/root?originalDomain={TENANT}"


def online(req, state, scheme, host):
    role, fe = ONLINE_HOSTS[host]
    path = req.path.lower()
    R = lambda *a, **k: Resp(*a, kind="online", fqdn=fe, **k)  # noqa: E731
    if path in ("/", "/autodiscover/autodiscoverservice.svc/root"):
        if role in ("webdir", "webdir2a"):  # the global director, then a regional one, send the tenant on
            nxt = "webdir2A.online.lync.com" if role == "webdir" else "webdir1E.online.lync.com"
            self_host = "webdir.online.lync.com" if role == "webdir" else "webdir2a.online.lync.com"
            body = {"_links": {"self": {"href": online_root_url(self_host)},
                               "xframe": {"href": f"https://{self_host}/Autodiscover/XFrame/XFrame.html"},
                               "redirect": {"href": online_root_url(nxt)}}}
        else:
            body = {"_links": {"self": {"href": online_root_url(host)},
                               "user": {"href": f"https://{host}/Autodiscover/AutodiscoverService.svc/root/oauth/user?originalDomain={TENANT}"},
                               "xframe": {"href": f"https://{host}/Autodiscover/XFrame/XFrame.html"}}}
        return R(200, "OK", body=json_body(body), latency=lat("root"), ctype="application/json")
    if role == "webdir1e" and path == "/autodiscover/autodiscoverservice.svc/root/oauth/user":
        if jwt_audience(req) != "https://" + host:
            return R(401, "Unauthorized", online_challenge(host), IIS_401_HTML, lat("user_401"), ctype="text/html")
        body = {"_links": {"self": {"href": f"https://{host}/Autodiscover/AutodiscoverService.svc/root/oauth/user?originalDomain={TENANT}"},
                           "applications": {"href": "https://webpoolDB41E03.infra.lync.com/ucwa/oauth/v1/applications",
                                            "revision": "2"},
                           "xframe": {"href": f"https://{host}/Autodiscover/XFrame/XFrame.html"}}}
        return R(200, "OK", body=json_body(body), latency=lat("user_ok"), ctype="application/json")
    m = re.match(r"^/ucwa/oauth/v1/applications(?:/(\d+)(/.*)?)?$", req.path)
    if role == "webpool" and m:
        aud = jwt_audience(req)
        if aud is None:  # unauthenticated probe: IIS page + both challenges, the token href on the director
            return R(401, "Unauthorized", online_challenge("webdir1e.online.lync.com"), IIS_401_HTML, lat("probe"),
                     ctype="text/html")
        if aud != "https://" + host or SCN == "G":
            # G: the webpool rejects the (in-scope) token, as in OfficeDev/skype-docs #347
            h = [("Warning", f'120 {fe} "InvalidToken"'),
                 ("X-Ms-diagnostics", f'28055;source="{fe}";reason="The OAuth token is invalid.";faultcode="wsse:FailedAuthentication"')]
            return R(403, "Forbidden", h + online_challenge("webdir1e.online.lync.com", folded=True), b"",
                     lat("apps_403"))
        app, rest = m.group(1), (m.group(2) or "")
        P = ONLINE_APP
        base = f"/ucwa/oauth/v1/applications/{P['app_id']}"
        if app is None and req.method == "POST":
            ua = json.loads(req.body or b"{}").get("UserAgent", "")
            body = application_body(P, base, ua, sip=S.ONLINE_SIP_URI)
            body["_links"]["events"]["href"] = f"{base}/events?ack=1&key={P['events_key']}"
            return R(201, "Created", [("Set-Cookie", f"cwt_ucwa={P['cookie']}; path={base}/photos; secure; HttpOnly")],
                     json_body(body), lat("apps"), ctype="application/json; charset=utf-8")
        if app != P["app_id"]:
            return R(404, "Not Found", latency=0.03)
        if rest == "/me/makeMeAvailable" and req.method == "POST":
            return R(204, "No Content", latency=lat("mma"))
        if rest == "/policies":
            return R(200, "OK", body=json_body(policies(base, sip=S.ONLINE_SIP_URI)), latency=lat("policies"),
                     ctype="application/json")
        if rest == "/events":
            ack = int(req.query.get("ack", ["1"])[0])
            if ack >= 2:
                return HOLD
            body = events_signed_in(base, P["events_key"])
            return R(200, "OK", body=json_body(body), latency=lat("events"), ctype="application/json")
        return R(404, "Not Found", latency=0.03)
    return R(404, "Not Found", ctype="text/html", body=IIS_404_HTML, latency=0.02)


def aad_page(query):
    """The Azure AD sign-in page (abbreviated): a form posting the credentials back."""
    ctx = b64url(os.urandom(48))
    flow = b64url(os.urandom(96))
    action = ("/common/oauth2/authorize?" + query).replace("&", "&amp;")
    return f'''<!DOCTYPE html>
<html dir="ltr" class="" lang="en"><head><title>Sign in to your account</title>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8"><meta name="viewport" content="width=device-width, initial-scale=1.0, maximum-scale=2.0, user-scalable=yes">
</head><body class="cb">
<form name="f1" id="i0281" novalidate="novalidate" spellcheck="false" method="post" target="_top" autocomplete="off" action="{action}">
<div role="heading" aria-level="1" class="row title">Sign in</div>
<input type="email" name="login" id="i0116" maxlength="113" value="" aria-required="true">
<input name="passwd" type="password" id="i0118" autocomplete="off">
<input type="hidden" name="ctx" value="{ctx}">
<input type="hidden" name="flowToken" value="{flow}">
<input type="hidden" name="canary" value="{b64url(os.urandom(32))}">
<input type="submit" id="idSIButton9" value="Sign in">
</form></body></html>
'''.encode()


def aad(req, state):
    path = req.path.lower()
    form = urllib.parse.parse_qs(req.body.decode("latin-1")) if req.body else {}
    R = lambda *a, **k: Resp(*a, kind="aad", **k)  # noqa: E731
    if path == "/common/oauth2/authorize" and req.method == "GET":
        return R(200, "OK", [("Set-Cookie", "buid=" + b64url(os.urandom(24)) + "; expires=Wed, 24-Jul-2019 08:00:00 GMT; path=/; secure; HttpOnly"),
                             ("X-Frame-Options", "DENY")],
                 aad_page(urllib.parse.urlsplit(req.target).query), lat("aad_page"), ctype="text/html; charset=utf-8")
    if path == "/common/oauth2/authorize" and req.method == "POST":
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(req.target).query)
        code = "AQABAAIAAAD--DLA3VO7QrddgJg7WevrAgDs_wQA9P8" + b64url(os.urandom(180))
        AAD_STATE["codes"][code] = q["resource"][0]
        loc = q["redirect_uri"][0] + "?code=" + code + "&session_state=" + uuid_like()
        body = f'<html><head><title>Object moved</title></head><body>\r\n<h2>Object moved to <a href="{loc}">here</a>.</h2>\r\n</body></html>\r\n'
        return R(302, "Found", [("Location", loc), ("X-Frame-Options", "DENY")], body.encode(), lat("aad_post"),
                 ctype="text/html; charset=utf-8")
    if path == "/common/oauth2/token" and req.method == "POST":
        grant = form.get("grant_type", [""])[0]
        if grant == "authorization_code":
            resource = AAD_STATE["codes"].pop(form["code"][0])
        elif grant == "refresh_token":
            resource = form["resource"][0]
        else:
            return R(400, "Bad Request", body=json_body({"error": "unsupported_grant_type"}), latency=0.05,
                     ctype="application/json; charset=utf-8")
        now = int(scenario_now())
        rt = "AQABAAAAAAD--DLA3VO7QrddgJg7WevrKa" + b64url(os.urandom(300))
        body = {"token_type": "Bearer", "scope": "Contacts.ReadWrite Conversations.Initiate Meetings.ReadWrite User.ReadWrite",
                "expires_in": "3599", "ext_expires_in": "3599", "expires_on": str(now + 3599), "not_before": str(now - 300),
                "resource": resource, "access_token": jwt(resource), "refresh_token": rt,
                "id_token": b64url(b'{"typ":"JWT","alg":"none"}') + "." + b64url(json.dumps(
                    {"aud": "7f3c9a21-5e84-4b6d-9c1e-2a0b8d4f6e13", "iss": f"https://sts.windows.net/{TENANT_ID}/",
                     "iat": now - 300, "nbf": now - 300, "exp": now + 3299, "name": "Alice Ahlberg",
                     "tid": TENANT_ID, "unique_name": "alice@fabrikam.com", "upn": "alice@fabrikam.com", "ver": "1.0"},
                    separators=(",", ":")).encode()) + "."}
        return R(200, "OK", body=json_body(body), latency=lat("aad_token"), ctype="application/json; charset=utf-8")
    return R(404, "Not Found", latency=0.03, ctype="text/html")


# ----------------------------------------------------------------------------------------------
# Listeners

def server_ctx(cert):
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    c.minimum_version = c.maximum_version = ssl.TLSVersion.TLSv1_2
    if CFG.get("tls13"):  # L: a 2019 server that also speaks TLS 1.3 (the 1.3 suites are OpenSSL's defaults)
        c.maximum_version = ssl.TLSVersion.TLSv1_3
    c.set_ciphers("ECDHE-RSA-AES256-SHA384")
    c.options |= ssl.OP_NO_TICKET | 0x00080000  # no session tickets, no encrypt-then-MAC (IIS 8.5 had neither)
    if not CFG.get("tls13"):  # L: OpenSSL's default groups (X25519 first), as the client offers: no HelloRetryRequest
        c.set_ecdh_curve("prime256v1")
    c.load_cert_chain(os.path.join(PKI, cert + ".chain.pem"), os.path.join(PKI, cert + ".key"))
    if CFG.get("h2"):  # M: the reverse proxy offers h2 (IIS 10 / a modern proxy)
        c.set_alpn_protocols(["h2", "http/1.1"])
    return c


def listener(ip, port, cert=None, hs_delay=0.0):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((ip, port))
    s.listen(16)
    ctx = None
    if cert:
        ctx = server_ctx(cert)
        ctx.sni_callback = lambda sslsock, name, c: time.sleep(hs_delay)  # server think time before ServerHello

    def accept_loop():
        while True:
            c, peer = s.accept()
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def handle(c=c, peer=peer):
                if ctx:
                    try:
                        c = ctx.wrap_socket(c, server_side=True)
                    except (ssl.SSLError, OSError) as e:
                        log("TLS handshake on %s:%d failed: %r" % (ip, port, e))
                        c.close()
                        return
                if ctx and c.selected_alpn_protocol() == "h2":
                    serve_h2(c, ip, peer)
                    return
                serve_connection(c, ip, "https" if ctx else "http", peer)
            threading.Thread(target=handle, daemon=True).start()
    threading.Thread(target=accept_loop, daemon=True).start()


def main():
    L = S.lo
    threading.Thread(target=dns_server, args=(L(CFG["resolver"]),), daemon=True).start()
    if ONLINE:  # F, G: Microsoft's hosts (the webdir VIP also answers HTTP/80 for the vanity name)
        listener(L("203.0.113.140"), 80)
        listener(L("203.0.113.140"), 443, "cert-online-2019", 0.07)
        listener(L("203.0.113.141"), 443, "cert-online-2019", 0.09)
        listener(L("203.0.113.142"), 443, "cert-online-2019", 0.08)
        listener(L("203.0.113.150"), 443, "cert-online-2019", 0.08)
        listener(L("203.0.113.160"), 443, "cert-aad-2019", 0.05)
    elif PKI_SET == "2019" and GROUP == "internal":  # H, I, L: the 2015 topology of A with the renewed certificates
        listener(L("10.10.1.50"), 80)
        listener(L("10.10.1.50"), 443, "cert-int-p1-2019", 0.035)
        listener(L("10.20.0.10"), 443, "cert-ext-2019", 0.045)
        if SCN == "I":
            listener(L("10.10.0.80"), 80)
    elif PKI_SET == "2019":  # J, K, M: the reverse proxy publishes pool 1, HTTP/80 included
        listener(L("203.0.113.10"), 80)
        listener(L("203.0.113.10"), 443, "cert-ext-2019", 0.12)
    elif GROUP == "internal":
        listener(L("10.10.1.50"), 80)
        listener(L("10.10.1.50"), 443, "cert-int-p1", 0.035)
        listener(L("10.20.0.10"), 443, "cert-ext", 0.045)
        listener(L("203.0.113.10"), 443, "cert-ext", 0.16)  # public RP listener (behind the hairpin drop in E)
        if CFG.get("noise"):
            listener(L("192.0.2.20"), 80)
            listener(L("192.0.2.31"), 443, "cert-weather", 0.05)
            listener(L("192.0.2.45"), 443, "cert-login", 0.06)
            listener(L("192.0.2.58"), 443, "cert-cdn", 0.02)
    else:
        listener(L("203.0.113.10"), 443, "cert-ext-bad" if SCN == "C" else "cert-ext", 0.11 if SCN == "C" else 0.16)
        listener(L("203.0.113.11"), 443, "cert-ext", 0.165)
        listener(L("203.0.113.80"), 443, "cert-www", 0.15)
        listener(L("203.0.113.30"), 443, "cert-mail", 0.15)
    with open(sys.argv[2], "w") as f:
        f.write("ready\n")
    log("ready")
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
