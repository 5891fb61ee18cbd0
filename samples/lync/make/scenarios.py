"""Shared facts of the sample scenarios: A-E of lync-sample-exchanges.md and F-K composed for
issue 15 from the revised stage specification (SfB Online, token rejection, untrusted internal CA, WPAD, wrong
password, port-80 catch-all redirect): names, time bases, addresses and the loopback stand-ins
used while capturing inside the private network namespace.

Only addresses, names and time bases live here. The mock client learns every URL from the
responses it gets; it uses this module only to translate loopback addresses to the realistic
ones when it writes its own record (script.json, SAZ)."""
import calendar
import time

SIP_URI = "alice@contoso.com"
EXTERNAL_CLIENT = "198.51.100.77"
INTERNAL_CLIENT = "10.50.12.34"
INTERNAL_RESOLVER = "10.10.0.10"
PUBLIC_RESOLVER = "198.51.100.53"
# F/G: a phone on mobile data behind carrier-grade NAT (RFC 6598 shared address space)
CGNAT_CLIENT = "100.78.23.45"
ONLINE_SIP_URI = "alice@fabrikam.com"


def lo(real):
    """Loopback stand-in of a realistic IPv4 address (bijective for the addresses used here):
    10.b.c.d -> 127.b.c.d, 203.0.113.d -> 127.203.113.d, 198.51.100.d -> 127.198.100.d,
    192.0.2.d -> 127.192.2.d, 100.b.c.d (CGNAT) -> 127.100.c.d."""
    a, b, c, d = real.split(".")
    if a == "10":
        return f"127.{b}.{c}.{d}"
    return {"203": f"127.203.{c}.{d}", "198": f"127.198.{c}.{d}", "192": f"127.192.{c}.{d}",
            "100": f"127.100.{c}.{d}"}[a]


# Every realistic address that appears in any scenario.
REAL_ADDRESSES = [
    INTERNAL_CLIENT, INTERNAL_RESOLVER, "10.10.1.50", "10.10.2.50", "10.20.0.10", "10.20.0.11",
    EXTERNAL_CLIENT, PUBLIC_RESOLVER, "203.0.113.10", "203.0.113.11", "203.0.113.22", "203.0.113.30",
    "203.0.113.80", "10.30.0.5",
    # background (noise) hosts of scenario A, TEST-NET-1
    "192.0.2.20", "192.0.2.31", "192.0.2.45", "192.0.2.58",
    # F/G: the CGNAT phone; SfB Online directors, webpool and Azure AD (TEST-NET-3 upper half)
    CGNAT_CLIENT, "203.0.113.140", "203.0.113.141", "203.0.113.142", "203.0.113.150", "203.0.113.160",
    # I: the intranet web server that still answers for wpad.contoso.com
    "10.10.0.80",
]
LO_TO_REAL = {lo(r): r for r in REAL_ADDRESSES}
assert len(LO_TO_REAL) == len(REAL_ADDRESSES)


def real(lo_ip):
    return LO_TO_REAL.get(lo_ip, lo_ip)


def _ts(s):
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))


SCENARIOS = {
    "A": dict(name="A-internal-rp-vip", flow="internal", time_base="2015-06-29T14:00:00Z", capture_end=10.0,
              title="Internal corporate Wi-Fi, internal RP VIP (split-brain DNS), user homed on pool 1, first sign-in, with background app traffic",
              client=INTERNAL_CLIENT, resolver=INTERNAL_RESOLVER, lync_port_base=50101, dns_ports=[53001, 53002],
              noise=True),
    "B": dict(name="B-external-home-pool-redirect", flow="external", time_base="2015-06-29T18:30:00Z", capture_end=20.0,
              title="External (carrier network) via reverse proxy, user homed on pool 2 (Autodiscover redirect), first sign-in, then Exchange",
              client=EXTERNAL_CLIENT, resolver=PUBLIC_RESOLVER, lync_port_base=41001,
              dns_ports=[33001, 33002, 33003, 33004, 33005], saz=True),
    "C": dict(name="C-cert-mismatch", flow="external", time_base="2015-06-29T19:00:00Z", capture_end=30.0,
              title="Failing: external, reverse-proxy certificate lacks lyncdiscover.contoso.com, HTTP/80 not published",
              client=EXTERNAL_CLIENT, resolver=PUBLIC_RESOLVER, lync_port_base=42001, dns_ports=[34001, 34002]),
    "D": dict(name="D-user-404", flow="external", time_base="2015-06-29T18:30:00Z", capture_end=20.0,
              title="Failing: external, Autodiscover answers 404 for the authenticated user resource",
              client=EXTERNAL_CLIENT, resolver=PUBLIC_RESOLVER, lync_port_base=41001, dns_ports=[33001, 33002]),
    "E": dict(name="E-hairpin-blocked", flow="internal", time_base="2015-06-29T14:00:00Z", capture_end=35.0,
              title="Failing: internal client, no split-brain record for the external web FQDN, hairpin to the RP public address blocked",
              client=INTERNAL_CLIENT, resolver=INTERNAL_RESOLVER, lync_port_base=50101, dns_ports=[53001, 53002]),
    # Issue 15 (the stage specification's revision: modern-auth, ucwa-probe, wpad, C-ONLINE-1, C-AUTH-9,
    # C-CERT-7, C-PROXY-3). A 2019 world: the SfB mobile app, the 2019 PKI of make-pki.sh.
    "F": dict(name="F-online-modern-auth", flow="external", time_base="2019-06-24T08:00:00Z", capture_end=8.0,
              title="SfB Online via the vanity lyncdiscover CNAME to webdir.online.lync.com (HTTPS meets the *.online.lync.com certificate, HTTP/80 goes on), director redirect chain, Azure AD modern authentication per resource, UCWA probe, signed in, event channel",
              client=CGNAT_CLIENT, resolver=PUBLIC_RESOLVER, lync_port_base=44001,
              dns_ports=[35001, 35002, 35003, 35004, 35005, 35006], sip_uri=ONLINE_SIP_URI, pki="2019", online=True),
    "G": dict(name="G-online-token-rejected", flow="external", time_base="2019-06-24T08:00:00Z", capture_end=8.0,
              title="Failing: SfB Online as F up to the webpool token, then POST applications answered 403 InvalidToken / 28055 with a fresh folded challenge, twice",
              client=CGNAT_CLIENT, resolver=PUBLIC_RESOLVER, lync_port_base=44001,
              dns_ports=[35001, 35002, 35003, 35004, 35005, 35006], sip_uri=ONLINE_SIP_URI, pki="2019", online=True),
    "H": dict(name="H-untrusted-internal-ca", flow="internal", time_base="2019-06-24T10:00:00Z", capture_end=6.0,
              title="Failing: internal Wi-Fi, the phone does not trust the internal enterprise CA: TLS to the pool's internal web FQDN aborted with alert unknown_ca, twice",
              client=INTERNAL_CLIENT, resolver=INTERNAL_RESOLVER, lync_port_base=51101, dns_ports=[54001],
              pki="2019", trust="device-trust-2019-public.pem"),
    # L: H on TLS 1.3 without a key log (the phone's secrets are not available): the certificate and
    # the client's alert are encrypted, only the record lengths show the abort (C-CERT-7, TLS 1.3).
    "L": dict(name="L-untrusted-ca-tls13", flow="internal", time_base="2019-06-24T10:30:00Z", capture_end=6.0,
              title="Failing: internal Wi-Fi, TLS 1.3 and no key log: the phone does not trust the internal enterprise CA and aborts TLS to the pool's internal web FQDN with an encrypted alert, twice",
              client=INTERNAL_CLIENT, resolver=INTERNAL_RESOLVER, lync_port_base=51201, dns_ports=[54101],
              pki="2019", trust="device-trust-2019-public.pem", tls13=True, keylog=False),
    "I": dict(name="I-wifi-wpad", flow="internal", time_base="2019-06-24T11:00:00Z", capture_end=12.0,
              title="Internal Wi-Fi with automatic proxy discovery: WPAD lookups and slow /wpad.dat 404s before each discovery request, otherwise a working internal sign-in with the UCWA probe",
              client=INTERNAL_CLIENT, resolver=INTERNAL_RESOLVER, lync_port_base=52101,
              dns_ports=[55001, 55002, 55003, 55004], pki="2019"),
    "J": dict(name="J-ntlm-wrong-password", flow="external", time_base="2019-06-24T12:00:00Z", capture_end=4.0,
              title="Failing: external via the reverse proxy, the NTLM type-3 message of the OAuth token request is answered 401 (wrong password)",
              client=EXTERNAL_CLIENT, resolver=PUBLIC_RESOLVER, lync_port_base=46001, dns_ports=[36001, 36002], pki="2019"),
    "K": dict(name="K-http-root-redirect", flow="external", time_base="2019-06-24T12:30:00Z", capture_end=6.0,
              title="External: the reverse proxy answers the HTTP/80 Autodiscover root with a 302 to the company web site (catch-all rule); HTTPS works and the sign-in completes",
              client=EXTERNAL_CLIENT, resolver=PUBLIC_RESOLVER, lync_port_base=47001, dns_ports=[37001, 37002], pki="2019"),
    # Issue 17: a reverse proxy that speaks h2; the web-ticket leg's NTLM is refused over HTTP/2.
    "M": dict(name="M-h2-proxy-http11-required", flow="external", time_base="2019-06-24T13:00:00Z", capture_end=5.0,
              title="External via a reverse proxy that speaks h2 (ALPN): the NTLM web-ticket leg is reset with RST_STREAM HTTP_1_1_REQUIRED, redone on a new HTTP/1.1 connection, then the sign-in completes over h2",
              client=EXTERNAL_CLIENT, resolver=PUBLIC_RESOLVER, lync_port_base=48001, dns_ports=[38001, 38002],
              pki="2019", h2=True),
}
for _k, _v in SCENARIOS.items():
    _v["letter"] = _k
    _v["time_base_unix"] = _ts(_v["time_base"])
    _v.setdefault("sip_uri", SIP_URI)
    _v.setdefault("pki", "2015")
    _v.setdefault("trust", "device-trust.pem" if _v["pki"] == "2015" else "device-trust-2019.pem")

# Port 80 of the RP is not published (SYNs dropped); in E the firewall drops the hairpin.
SYN_DROPS = {"A": [], "B": [("203.0.113.10", 80)], "C": [("203.0.113.10", 80)],
             "D": [("203.0.113.10", 80)], "E": [("203.0.113.10", 443)],
             "F": [], "G": [], "H": [], "I": [], "J": [], "K": [], "L": [], "M": []}

# Link layer and IP TTLs for the rewrite: the client's own MAC vs its default gateway's MAC.
CLIENT_MAC = "a4:d1:d2:5e:12:34"   # Apple OUI
GATEWAY_MAC = {"internal": "00:1b:54:0a:14:01", "external": "00:25:9c:c6:33:01"}
CLIENT_TTL = 64
SERVER_TTL = {  # initial TTL minus hops as seen at the client
    "10.10.0.10": 127, "10.10.1.50": 62, "10.20.0.10": 126, "10.20.0.11": 126,
    "198.51.100.53": 62, "203.0.113.10": 115, "203.0.113.11": 115, "203.0.113.30": 115,
    "203.0.113.80": 52, "192.0.2.20": 53, "192.0.2.31": 50, "192.0.2.45": 113, "192.0.2.58": 57,
    "203.0.113.140": 109, "203.0.113.141": 109, "203.0.113.142": 108, "203.0.113.150": 108, "203.0.113.160": 111,
    "10.10.0.80": 127,
}
