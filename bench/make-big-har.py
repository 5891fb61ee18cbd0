#!/usr/bin/env python3
"""Writes a large HAR for timing the HAR reader (not kept in the repository).

    python3 bench/make-big-har.py [OUT] [ENTRIES]     # default /tmp/big.har, 215100 entries
    cargo build --release
    /usr/bin/time -v target/release/lyncscope report /tmp/big.har --format json > /dev/null

215,100 small GET/200 exchanges with text bodies of 80 to 200 bytes make a file of
about 100 MB, the size of the case in issue 14. Deterministic (seeded), so runs compare.
Entries hold what a reader needs (method, URL, status, a text body, timings with a `-1`);
the fields a reader may do without (cookies, queryString, sizes, headers) are left out.
"""
import json
import random
import sys
import time

out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/big.har"
count = int(sys.argv[2]) if len(sys.argv) > 2 else 215_100
r = random.Random(14)
words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()


def text(n):
    s = []
    length = 0
    while length < n:
        w = r.choice(words)
        s.append(w)
        length += len(w) + 1
    return " ".join(s)[:n]


start_ms = 1_700_000_000_000
with open(out, "w", encoding="utf-8") as f:
    f.write('{"log":{"version":"1.2","creator":{"name":"make-big-har.py","version":"1"},')
    f.write('"pages":[],"entries":[\n')
    for i in range(count):
        body = text(r.randint(80, 200))
        ms = start_ms + i * 3
        secs, milli = divmod(ms, 1000)
        entry = {
            "startedDateTime": "%s.%03dZ"
            % (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)), milli),
            "request": {
                "method": "GET",
                "url": "http://bench.test/s/%d.txt" % r.randrange(1000),
                "httpVersion": "HTTP/1.1",
                "headers": [],
            },
            "response": {
                "status": 200,
                "statusText": "OK",
                "httpVersion": "HTTP/1.1",
                "headers": [],
                "content": {"size": len(body), "mimeType": "text/plain", "text": body},
            },
            "timings": {"connect": -1, "send": 0, "wait": 1, "receive": 1},
        }
        f.write(json.dumps(entry, separators=(",", ":")))
        f.write(",\n" if i + 1 < count else "\n")
    f.write("]}}\n")
