#!/usr/bin/env python3
"""Checks the generated samples with tshark (independent of lyncscope) and writes ../checks.txt:
every HTTP request the client recorded in <name>.script.json must appear, decrypted, in tshark's
view of <name>.pcapng (same method, Host, URI, order); every DNS query it recorded (name, txid)
must be there; every fatal TLS alert it says it sent must be there (to the same server, same
description); no loopback address may survive; the IPv4/TCP/UDP checksums must be valid; frames
must fit Ethernet; every Date header must equal the frame time (no clock skew); the SAZ must pair
every _c.txt with an _m.xml."""
import json
import os
import subprocess
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import scenarios as S  # noqa: E402
import email.utils  # noqa: E402

OUT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, ".."))


def tshark(path, filt, fields, extra=()):
    cmd = ["tshark", "-r", path, "-Y", filt, "-T", "fields", "-E", "separator=\t"] + list(extra)
    for f in fields:
        cmd += ["-e", f]
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return [l.split("\t") for l in r.stdout.splitlines() if l.strip()]


def main():
    lines, ok = [], True
    for letter, cfg in S.SCENARIOS.items():
        name = cfg["name"]
        pc = os.path.join(OUT, name + ".pcapng")
        sc = os.path.join(OUT, name + ".script.json")
        if not os.path.exists(pc):
            lines.append(f"{name}: missing")
            ok = False
            continue
        script = json.load(open(sc))
        want = [(s["method"], s["url"]) for s in script["steps"] if s["kind"] == "http"]
        want_https = [w for w in want if w[1].startswith("https://")]
        got = tshark(pc, "http.request", ["frame.number", "tls.record.content_type", "http.request.method",
                                          "http.host", "http.request.uri", "tcp.srcport"])
        got_urls = [(int(g[0]), g[2], ("https://" if g[1] else "http://") + g[3] + g[4]) for g in got]
        # HTTP/2 requests (M): tshark's http2 fields, one value per HEADERS frame in the packet
        for g in tshark(pc, "http2.headers.method", ["frame.number", "http2.headers.method", "http2.headers.authority",
                                                      "http2.headers.path"]):
            for m, host, path in zip(*(x.split(",") for x in g[1:4])):
                got_urls.append((int(g[0]), m, "https://" + host + path))
        got_urls = [(m, u) for _, m, u in sorted(got_urls, key=lambda x: x[0])]
        decrypted_https = [u for u in got_urls if u[1].startswith("https://")]
        bad = tshark(pc, "ip.checksum.status==0 or tcp.checksum.status==0 or udp.checksum.status==0", ["frame.number"],
                     ["-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE"])
        lo = tshark(pc, "ip.addr==127.0.0.0/8 or dns.a==127.0.0.0/8", ["frame.number"])
        big = tshark(pc, "frame.len > 1514", ["frame.number"])
        dates = tshark(pc, "http.date", ["frame.time_epoch", "http.date"])
        skew = max((abs(float(t) - email.utils.parsedate_to_datetime(d).timestamp()) for t, d in dates), default=0)
        first = tshark(pc, "frame.number==1", ["frame.time_epoch"])[0][0]
        frames = len(tshark(pc, "frame", ["frame.number"]))
        secrets = subprocess.run(["capinfos", "-q", pc], capture_output=True, text=True).stdout
        n_secrets = [l for l in secrets.splitlines() if "secrets" in l]
        match = got_urls == want
        want_dns = sorted((int(x["txid"], 16), x["qname"].lower()) for x in script["steps"] if x["kind"] == "dns")
        got_dns = sorted({(int(i, 16), q.lower()) for i, q in tshark(pc, "dns.flags.response==0", ["dns.id", "dns.qry.name"])})
        want_alerts = sorted((x["server"], int(x["alert"].split("(")[1].rstrip(")"))) for x in script["steps"]
                             if x["kind"] == "tcp" and x.get("alert") and not x["alert"].startswith("encrypted"))
        got_alerts = sorted((f"{d}:{p}", int(a)) for sip, d, p, a in
                            tshark(pc, "tls.alert_message.level==2", ["ip.src", "ip.dst", "tcp.dstport", "tls.alert_message.desc"])
                            if sip == cfg["client"])
        match_dns, match_alerts = got_dns == want_dns, got_alerts == want_alerts
        ok &= match and match_dns and match_alerts and not bad and not lo and not big and skew < 1.0 \
            and abs(float(first) - cfg["time_base_unix"]) < 1e-6
        lines.append(f"{name}.pcapng: {frames} frames, {os.path.getsize(pc)} bytes, first frame {cfg['time_base']}; "
                     f"HTTP requests in tshark {len(got_urls)} / recorded by the client {len(want)} (same order: {match}); "
                     f"HTTPS requests decrypted {len(decrypted_https)} / {len(want_https)}; "
                     f"DNS queries in tshark {len(got_dns)} / recorded {len(want_dns)} (same: {match_dns}); "
                     f"client fatal TLS alerts in tshark {[a for _, a in got_alerts]} / recorded {[a for _, a in want_alerts]} "
                     f"(same: {match_alerts}); bad checksums {len(bad)}; "
                     f"loopback addresses {len(lo)}; frames > 1514 bytes {len(big)}; max |Date - frame time| {skew:.3f} s; "
                     f"{n_secrets[0].strip() if n_secrets else 'no DSB'}")
        if not match:
            for w, g in zip(want + [None] * len(got_urls), got_urls + [None] * len(want)):
                if w != g:
                    lines.append(f"   first difference: client {w} vs tshark {g}")
                    break
        sz = os.path.join(OUT, name + ".saz")
        if os.path.exists(sz):
            z = zipfile.ZipFile(sz)
            names = z.namelist()
            cs = [n for n in names if n.endswith("_c.txt")]
            ms = [n for n in names if n.endswith("_m.xml")]
            ss = [n for n in names if n.endswith("_s.txt")]
            connects = sum(1 for n in cs if z.read(n).startswith(b"CONNECT "))
            inner = [z.read(n).split(b"\r\n", 1)[0].decode() for n in cs if not z.read(n).startswith(b"CONNECT ")]
            lines.append(f"{name}.saz: {len(cs)} sessions ({connects} CONNECT tunnels, {len(inner)} HTTP sessions), "
                         f"{len(ms)} _m.xml, {len(ss)} _s.txt; comment {z.comment.decode()!r}")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    with open(os.path.join(OUT, "checks.txt"), "w") as f:
        f.write(text)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
