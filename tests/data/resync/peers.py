#!/usr/bin/env python3
"""The real peers of the resync test captures (stdlib only): an HTTP/1.1 keep-alive server and
two clients that write their own record (what they asked for, what status and body they got) as
JSON next to the capture. The tests check lyncscope against these records.

  peers.py server PORT DIR      serves until killed; DIR/paused and DIR/capturing are the
                                hand-shake with make-captures.sh for the download (see there)
  peers.py download PORT DIR    capture 1: a long download on a keep-alive connection, then two
                                more requests on the same connection -> DIR/mid-body.client.json
  peers.py snaplen PORT DIR     capture 2: five requests on one keep-alive connection, one a
                                POST whose head is longer than a 200-byte frame holds
                                -> DIR/snaplen-200.client.json
"""
import hashlib
import http.client
import http.server
import json
import os
import sys
import time

DOWNLOAD_SIZE = 1024 * 1024
# Bytes of the download still to come when the capture starts (the server waits there until
# tcpdump runs): more than the dispatcher holds while sniffing (2 x 16 KiB).
TAIL = 48 * 1024


def download_body():
    """1 MiB of a text log whose lines look like HTTP: request lines, status lines and header
    lines at line starts, as in a proxy log, so a parser that resynchronises on lines that merely
    look like HTTP invents exchanges from it."""
    lines = []
    n = 0
    size = 0
    while size < DOWNLOAD_SIZE:
        n += 1
        block = (
            f"{n:06d} 10.1.2.3 proxy log entry, request follows\r\n"
            f"GET /logged/{n} HTTP/1.1\r\n"
            f"Host: logged.example\r\n"
            f"\r\n"
            f"HTTP/1.1 200 OK\r\n"
            f"Content-Length: 0\r\n"
            f"\r\n"
        )
        lines.append(block)
        size += len(block)
    return "".join(lines).encode()[:DOWNLOAD_SIZE]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "resync-test/1"
    sys_version = ""

    def log_message(self, *args):
        pass

    def reply(self, status, body, ctype="text/plain", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for k, v in extra:
            self.send_header(k, v)
        if status not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        d = self.server.dir
        if self.path == "/download/proxy.log":
            body = download_body()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            pos = 0
            # Rate-limited: 64 KiB every 20 ms up to the tail, then 4 KiB every 20 ms.
            while pos < len(body) - TAIL:
                step = min(64 * 1024, len(body) - TAIL - pos)
                self.wfile.write(body[pos:pos + step])
                pos += step
                time.sleep(0.02)
            open(os.path.join(d, "paused"), "w").close()
            while not os.path.exists(os.path.join(d, "capturing")):
                time.sleep(0.05)
            while pos < len(body):
                self.wfile.write(body[pos:pos + 4096])
                pos += 4096
                time.sleep(0.02)
        elif self.path == "/after/status.json":
            self.reply(200, b'{"state": "idle", "queue": []}\n', "application/json")
        elif self.path == "/index.html":
            # Starts with lines that look like a response, then a request line: in a 200-byte
            # frame they survive while the head before them is cut.
            body = (b"HTTP/1.1 200 OK\r\nGET /not-a-request HTTP/1.1\r\n\r\n"
                    + b"<html><body>" + b"x" * 1900 + b"</body></html>\n")
            self.reply(200, body, "text/html")
        elif self.path == "/events":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(3):
                data = f"data: event {i}\n\n".encode() * 20
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                time.sleep(0.05)
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/empty":
            self.reply(204, b"")
        else:
            self.reply(404, b"no such thing here\n")

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(n)
        body = json.dumps({"stored": len(data), "sha256": hashlib.sha256(data).hexdigest()}).encode()
        self.reply(201, body, "application/json", [("Location", "/api/uploads/7")])


def serve(port, d):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv.dir = d
    srv.serve_forever()


def ask(conn, method, target, record, body=None, headers=()):
    hdrs = dict(headers)
    conn.request(method, target, body=body, headers=hdrs)
    r = conn.getresponse()
    got = r.read()
    record.append({
        "method": method,
        "target": target,
        "request_body_length": len(body) if body else 0,
        "status": r.status,
        "reason": r.reason,
        "content_length": int(r.headers["Content-Length"]) if "Content-Length" in r.headers else None,
        "body_length": len(got),
        "body_sha256": hashlib.sha256(got).hexdigest(),
        "time": time.time(),
    })
    return got


def download(port, d):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    record = []
    ask(conn, "GET", "/download/proxy.log", record)
    record[0]["started_before_capture"] = True
    record[0]["tail_in_capture"] = TAIL
    ask(conn, "GET", "/after/status.json", record)
    payload = json.dumps({"note": "second request after the download", "n": 2}).encode()
    ask(conn, "POST", "/after/notes", record, payload,
        [("Content-Type", "application/json")])
    conn.close()
    with open(os.path.join(d, "mid-body.client.json"), "w") as f:
        json.dump({"connection": "one keep-alive connection", "exchanges": record}, f, indent=1)


def snaplen(port, d):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    record = []
    ask(conn, "GET", "/index.html", record)
    upload = b"".join(b"line %04d of the uploaded file\n" % i for i in range(100))
    # Content-Length first: it survives the cut, the long headers after it do not.
    head_fields = [
        ("Content-Length", str(len(upload))),
        ("Content-Type", "text/plain"),
        ("Authorization", "Bearer " + "t0k3n" * 24),
        ("X-Request-Id", "7f3d1c2a-5b6e-4f80-9a1b-2c3d4e5f6a7b"),
    ]
    ask(conn, "POST", "/api/uploads", record, upload, head_fields)
    ask(conn, "GET", "/missing", record)
    ask(conn, "GET", "/events", record)
    ask(conn, "GET", "/empty", record)
    conn.close()
    with open(os.path.join(d, "snaplen-200.client.json"), "w") as f:
        json.dump({"connection": "one keep-alive connection", "exchanges": record}, f, indent=1)


if __name__ == "__main__":
    mode, port, d = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    {"server": serve, "download": download, "snaplen": snaplen}[mode](port, d)
