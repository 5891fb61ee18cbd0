#!/usr/bin/python3
"""HTTP/2 peers for the test captures of this folder (python3-h2 4.1), run by make-captures.sh.

  h2peer.py serve --port P [--tls CERT KEY] [--conns N] [--goaway-after N]
      A server: h2 by ALPN (TLS) or by prior knowledge / `Upgrade: h2c` (plain), HTTP/1.1 for
      a client that asks for it. What it answers depends on the path:
        /trailers      200, a body, then trailer fields
        /big-headers   200 with a response header block of about 30 KB (HEADERS + CONTINUATION)
        /h1-required   RST_STREAM HTTP_1_1_REQUIRED on h2; 200 on HTTP/1.1
        /echo          200 with the request body
        anything else  200 with a short text naming the path
      --goaway-after N: once N requests arrived on a connection, answer the first two, send
      GOAWAY (NO_ERROR) whose last stream id is the second one, and close.

  h2peer.py client --port P [--tls] [--sequential] [--header NAME:VALUE]... --log OUT.json
                   METHOD:PATH[:BODYLEN]...
      A client on h2 by prior knowledge (or TLS with ALPN h2, key log in $SSLKEYLOGFILE) that
      writes its own record of every stream: what it sent and what it received.

  h2peer.py curl-record --writeout W --trace T --out OUT.json
      curl's record of a run as JSON (see curl_record).
"""
import argparse
import hashlib
import json
import os
import socket
import ssl
import sys
import threading

import h2.config
import h2.connection
import h2.errors
import h2.events


def code_name(code):
    try:
        return h2.errors.ErrorCodes(code).name
    except ValueError:
        return hex(code)


def text(v):
    return v.decode() if isinstance(v, bytes) else v


# ---------------------------------------------------------------------------------- server


def answer(conn, sid, path, body):
    """Answers one complete request on stream `sid`."""
    if path.startswith("/h1-required"):
        conn.reset_stream(sid, error_code=h2.errors.ErrorCodes.HTTP_1_1_REQUIRED)
        return
    if path.startswith("/trailers"):
        data = b"trailers follow this body\n" * 40
        conn.send_headers(sid, [(":status", "200"), ("content-type", "text/plain")])
        conn.send_data(sid, data)
        digest = hashlib.sha256(data).hexdigest()
        conn.send_headers(sid, [("x-body-sha256", digest), ("grpc-status", "0")], end_stream=True)
        return
    if path.startswith("/big-headers"):
        # 30 fields of 1000 characters that Huffman cannot shrink much: a block over 16 KiB,
        # which h2 cuts into HEADERS + CONTINUATION frames (the default max frame size).
        fields = [(":status", "200"), ("content-type", "text/plain")]
        for i in range(30):
            seed = hashlib.sha256(b"%d" % i).hexdigest()
            fields.append(("x-filler-%02d" % i, (seed * 16)[:1000]))
        data = b"big header block above\n"
        conn.send_headers(sid, fields + [("content-length", str(len(data)))])
        conn.send_data(sid, data, end_stream=True)
        return
    data = body if path.startswith("/echo") else ("you asked for %s\n" % path).encode() * 8
    conn.send_headers(
        sid,
        [(":status", "200"), ("content-type", "text/plain"), ("content-length", str(len(data)))],
    )
    # Respect the peer's flow-control window and frame size (the bodies here are small).
    step = conn.max_outbound_frame_size
    for i in range(0, len(data), step):
        conn.send_data(sid, data[i : i + step], end_stream=i + step >= len(data))
    if not data:
        conn.send_data(sid, b"", end_stream=True)


def read_head(sock, buf):
    while b"\r\n\r\n" not in buf:
        more = sock.recv(65536)
        if not more:
            return None, buf
        buf += more
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return (method, path, headers), rest


def serve_h1(sock, buf):
    """HTTP/1.1 keep-alive, bodies by Content-Length only (enough for these tests)."""
    while True:
        req, buf = read_head(sock, buf)
        if req is None:
            return
        method, path, headers = req
        n = int(headers.get("content-length", "0"))
        while len(buf) < n:
            more = sock.recv(65536)
            if not more:
                return
            buf += more
        body, buf = buf[:n], buf[n:]
        data = body if path.startswith("/echo") else ("you asked for %s on HTTP/1.1\n" % path).encode()
        sock.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(data)
            + (b"" if method == "HEAD" else data)
        )


def serve_h2(sock, conn, goaway_after, pending=None, initial=b""):
    reqs = {}  # stream id -> [path, body]
    order = []
    if pending:
        reqs[1] = pending
        order.append(1)
        answer(conn, 1, pending[0], b"")
    sock.sendall(conn.data_to_send())
    while True:
        data, initial = initial or sock.recv(65536), b""
        if not data:
            return
        for ev in conn.receive_data(data):
            if isinstance(ev, h2.events.RequestReceived):
                hs = {text(k): text(v) for k, v in ev.headers}
                reqs[ev.stream_id] = [hs.get(":path", ""), b""]
            elif isinstance(ev, h2.events.DataReceived):
                reqs[ev.stream_id][1] += ev.data
                conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                order.append(ev.stream_id)
                if not goaway_after:
                    path, body = reqs[ev.stream_id]
                    answer(conn, ev.stream_id, path, body)
            elif isinstance(ev, h2.events.ConnectionTerminated):
                sock.sendall(conn.data_to_send())
                return
        if goaway_after and len(order) >= goaway_after:
            for sid in order[:2]:
                answer(conn, sid, reqs[sid][0], reqs[sid][1])
            conn.close_connection(error_code=0, last_stream_id=order[1])
            sock.sendall(conn.data_to_send())
            return
        sock.sendall(conn.data_to_send())


def handle(sock, args):
    try:
        config = h2.config.H2Configuration(client_side=False, header_encoding=None)
        conn = h2.connection.H2Connection(config=config)
        if isinstance(sock, ssl.SSLSocket):
            if sock.selected_alpn_protocol() != "h2":
                return serve_h1(sock, b"")
            conn.initiate_connection()
            return serve_h2(sock, conn, args.goaway_after)
        buf = b""
        while len(buf) < 24:
            more = sock.recv(65536)
            if not more:
                return
            buf += more
        if buf.startswith(b"PRI * HTTP/2.0"):
            conn.initiate_connection()
            return serve_h2(sock, conn, args.goaway_after, initial=buf)
        req, rest = read_head(sock, buf)
        if req is None:
            return
        method, path, headers = req
        if headers.get("upgrade", "").lower() != "h2c":
            return serve_h1(sock, buf)
        sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
        conn.initiate_upgrade_connection(headers["http2-settings"].encode())
        return serve_h2(sock, conn, args.goaway_after, pending=[path, b""], initial=rest)
    finally:
        try:
            sock.close()
        except OSError:
            pass


def serve(args):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", args.port))
    ls.listen(8)
    ctx = None
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls[0], args.tls[1])
        ctx.set_alpn_protocols(["h2", "http/1.1"])
    print("ready", flush=True)
    threads = []
    for _ in range(args.conns):
        s, _ = ls.accept()
        if ctx:
            s = ctx.wrap_socket(s, server_side=True)
        t = threading.Thread(target=handle, args=(s, args))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()


# ---------------------------------------------------------------------------------- client


def client(args):
    sock = socket.create_connection(("127.0.0.1", args.port))
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["h2"])
        if os.environ.get("SSLKEYLOGFILE"):
            ctx.keylog_filename = os.environ["SSLKEYLOGFILE"]
        sock = ctx.wrap_socket(sock, server_hostname="h2.test")
    config = h2.config.H2Configuration(client_side=True, header_encoding=None)
    conn = h2.connection.H2Connection(config=config)
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    authority = "h2.test:%d" % args.port
    log = {"streams": [], "goaway": None}
    by_id = {}
    open_ids = set()

    def send(spec):
        parts = spec.split(":")
        method, path = parts[0], parts[1]
        body = bytes(range(256)) * (int(parts[2]) // 256) if len(parts) > 2 else b""
        sid = conn.get_next_available_stream_id()
        headers = [
            (":method", method),
            (":scheme", "https" if args.tls else "http"),
            (":authority", authority),
            (":path", path),
            ("user-agent", "h2peer/1"),
        ] + [tuple(h.split(":", 1)) for h in args.header]
        if body:
            headers.append(("content-length", str(len(body))))
        conn.send_headers(sid, headers, end_stream=not body)
        rec = {
            "stream_id": sid,
            "method": method,
            "path": path,
            "request_headers": [[k, v] for k, v in headers],
            "request_body_length": len(body),
            "request_body_sha256": hashlib.sha256(body).hexdigest(),
            "status": None,
            "response_headers": None,
            "trailers": None,
            "body": b"",
            "reset": None,
            "ended": False,
        }
        log["streams"].append(rec)
        by_id[sid] = rec
        open_ids.add(sid)
        sock.sendall(conn.data_to_send())
        if body:
            # Enough window for these small bodies (65,535 by default); sent in frame-size steps.
            step = conn.max_outbound_frame_size
            for i in range(0, len(body), step):
                conn.send_data(sid, body[i : i + step], end_stream=i + step >= len(body))
            sock.sendall(conn.data_to_send())

    def pump():
        data = sock.recv(65536)
        if not data:
            open_ids.clear()
            return
        for ev in conn.receive_data(data):
            rec = by_id.get(getattr(ev, "stream_id", None))
            if isinstance(ev, h2.events.ResponseReceived):
                hs = [[text(k), text(v)] for k, v in ev.headers]
                rec["response_headers"] = hs
                rec["status"] = int(dict(hs)[":status"])
            elif isinstance(ev, h2.events.TrailersReceived):
                rec["trailers"] = [[text(k), text(v)] for k, v in ev.headers]
            elif isinstance(ev, h2.events.DataReceived):
                rec["body"] += ev.data
                conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                rec["ended"] = True
                open_ids.discard(ev.stream_id)
            elif isinstance(ev, h2.events.StreamReset):
                rec["reset"] = code_name(ev.error_code)
                open_ids.discard(ev.stream_id)
            elif isinstance(ev, h2.events.ConnectionTerminated):
                log["goaway"] = {
                    "last_stream_id": ev.last_stream_id,
                    "error": code_name(ev.error_code),
                }
                for sid in list(open_ids):
                    if sid > ev.last_stream_id:
                        open_ids.discard(sid)
        out = conn.data_to_send()
        if out:
            sock.sendall(out)

    for spec in args.requests:
        send(spec)
        while args.sequential and open_ids:
            pump()
    while open_ids:
        pump()
    if log["goaway"] is None:
        conn.close_connection()
        sock.sendall(conn.data_to_send())
    sock.close()
    for rec in log["streams"]:
        body = rec.pop("body")
        rec["response_body_length"] = len(body)
        rec["response_body_sha256"] = hashlib.sha256(body).hexdigest()
    with open(args.log, "w") as f:
        json.dump(log, f, indent=1)
        f.write("\n")


# ------------------------------------------------------------------------------ curl's record


def curl_record(args):
    """curl's own record of a run: its write-out (one `{"w": %{json}, "h": %{header_json}}` per
    transfer), the stream ids and resets its --trace-ascii names, and the digests of the bodies
    it saved (decoded when --compressed)."""
    dec = json.JSONDecoder()
    out = open(args.writeout).read()
    transfers, pos = [], 0
    while True:
        while pos < len(out) and out[pos].isspace():
            pos += 1
        if pos >= len(out):
            break
        obj, pos = dec.raw_decode(out, pos)
        transfers.append(obj)
    # In the trace, curl 7.88 logs a request's pseudo-headers ("h2h3 [:path: /x]") and then
    # "Using Stream ID: N"; a reset stream as "HTTP/2 stream N was not closed cleanly: NAME".
    streams, resets, path = [], {}, None
    for line in open(args.trace, errors="replace"):
        if "h2h3 [:path: " in line:
            path = line.split("h2h3 [:path: ", 1)[1].rstrip().rstrip("]")
        elif "Using Stream ID: " in line and path is not None:
            streams.append((path, int(line.split("Using Stream ID: ", 1)[1].split()[0])))
            path = None
        elif "was not closed cleanly: " in line:
            sid = int(line.split("HTTP/2 stream ", 1)[1].split()[0])
            resets[sid] = line.split("was not closed cleanly: ", 1)[1].split()[0]
    records = []
    for t in transfers:
        w, h = t["w"], t["h"]
        url = w["url_effective"]
        p = "/" + url.split("//", 1)[1].split("/", 1)[1]
        sid = next((s for q, s in streams if q == p), None)
        if sid is not None:
            streams.remove((p, sid))
        body = b""
        fn = w.get("filename_effective")
        if fn and os.path.exists(fn):
            body = open(fn, "rb").read()
        records.append(
            {
                "url": url,
                "path": p,
                "method": w["method"],
                "status": w["http_code"],
                "http_version": w["http_version"],
                "stream_id": sid,
                "reset_before": resets.get(sid) if sid is not None else None,
                "size_download": w["size_download"],
                "num_connects": w["num_connects"],
                "headers": {k: v for k, v in h.items()},
                "body_length": len(body),
                "body_sha256": hashlib.sha256(body).hexdigest(),
            }
        )
    with open(args.out, "w") as f:
        json.dump({"transfers": records, "resets": {str(k): v for k, v in resets.items()}}, f, indent=1)
        f.write("\n")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    s.add_argument("--conns", type=int, default=1)
    s.add_argument("--goaway-after", type=int, default=0)
    c = sub.add_parser("client")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--tls", action="store_true")
    c.add_argument("--sequential", action="store_true")
    c.add_argument("--header", action="append", default=[])
    c.add_argument("--log", required=True)
    c.add_argument("requests", nargs="+")
    r = sub.add_parser("curl-record")
    r.add_argument("--writeout", required=True)
    r.add_argument("--trace", required=True)
    r.add_argument("--out", required=True)
    a = p.parse_args()
    {"serve": serve, "client": client, "curl-record": curl_record}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
