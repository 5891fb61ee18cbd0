#!/usr/bin/env bash
# Makes the HTTP/2 test captures in this folder with real peers (nginx 1.22 `http2`, curl 7.88
# with nghttp2, python3-h2 4.1 in h2peer.py), captured by tcpdump in a private network
# namespace (loopback only; nothing leaves the machine). Not run by CI: the captures and the
# clients' records are committed. Needs root, nginx, curl, tcpdump, editcap, tshark, python3-h2.
# Run: bash make-captures.sh. What each capture holds: README.md.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
if [ -z "${IN_NETNS:-}" ]; then exec unshare -n env IN_NETNS=1 bash "$0" "$@"; fi
ip link set lo up
PY=/usr/bin/python3
PEER="$HERE/h2peer.py"
T=$(mktemp -d)
chmod 755 "$T"; cd "$T"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ec.key -out ec.crt \
  -days 3650 -subj "/CN=h2.test" 2>/dev/null
mkdir www tmp
printf 'alpha\n' > www/a.txt; printf 'bravo\n' > www/b.txt; printf 'charlie\n' > www/c.txt
printf 'delta\n' > www/d.txt
# 1 MiB that does not compress (a fixed seed, so a rerun makes the same body).
(openssl enc -aes-128-ctr -nosalt -pass pass:lyncscope -in /dev/zero 2>/dev/null | head -c 1048576 > www/big.bin) || true
seq 1 3000 | sed 's/^/line of a page that compresses well /' > www/page.txt
cat > nginx.conf <<EOF
daemon off; pid $T/nginx.pid; error_log $T/error.log; worker_processes 1;
events {}
http {
  access_log off; types { text/plain txt; application/octet-stream bin; }
  gzip on; gzip_types text/plain; gzip_min_length 256;
  client_body_temp_path $T/tmp; proxy_temp_path $T/tmp; fastcgi_temp_path $T/tmp;
  uwsgi_temp_path $T/tmp; scgi_temp_path $T/tmp;
  server { listen 127.0.0.1:8443 ssl http2; ssl_certificate $T/ec.crt; ssl_certificate_key $T/ec.key;
           ssl_protocols TLSv1.2 TLSv1.3; root $T/www; }
}
EOF
nginx -c "$T/nginx.conf" & NGINX=$!
sleep 0.5

capture() { # name port
  tcpdump -i lo --immediate-mode -B 65536 -s 0 -w "$T/$1.pcap" -U "tcp port $2" 2>/dev/null & echo $! > tcpdump.pid; sleep 1; }
stop() { sleep 1; kill "$(cat tcpdump.pid)"; wait "$(cat tcpdump.pid)" 2>/dev/null || true; }
W='{"w":%{json},"h":%{header_json}}\n'
record() { # name: curl's write-out + trace -> name.curl.json
  $PY "$PEER" curl-record --writeout w.txt --trace trace.txt --out "$HERE/$1.curl.json"
  rm -f w.txt trace.txt o.*; }
U=https://127.0.0.1:8443

# 1. TLS 1.3, one connection, streams interleaved: three small files, 1 MiB (more than the
#    client's window: WINDOW_UPDATEs), a gzip text (--compressed); then HEAD on a second
#    connection and a conditional GET (If-None-Match) answered 304 on a third.
capture tls13 8443
export SSLKEYLOGFILE="$T/tls13.keys"
curl -sk --http2 --tlsv1.3 --parallel --compressed --trace-ascii t.1 -w "$W" \
  $U/a.txt -o o.1 $U/b.txt -o o.2 $U/c.txt -o o.3 $U/big.bin -o o.4 $U/page.txt -o o.5 > w.txt
curl -sk --http2 --tlsv1.3 -I --trace-ascii t.2 -w "$W" -o /dev/null -D head.txt $U/page.txt >> w.txt
ETAG=$(tr -d '\r' < head.txt | sed -n 's/^etag: //p')
curl -sk --http2 --tlsv1.3 -H "If-None-Match: $ETAG" --trace-ascii t.3 -w "$W" -o o.6 $U/page.txt >> w.txt
stop; unset SSLKEYLOGFILE
cat t.1 t.2 t.3 > trace.txt; rm t.*
record tls13-parallel
cp "$T/tls13.keys" "$HERE/tls13-parallel.keys.txt"; cp "$T/tls13.pcap" "$HERE/tls13-parallel.pcap"

# 2. TLS 1.2 (ECDHE-ECDSA-AES128-GCM), one connection, four streams interleaved.
capture tls12 8443
export SSLKEYLOGFILE="$T/tls12.keys"
curl -sk --http2 --tlsv1.2 --tls-max 1.2 --parallel --trace-ascii trace.txt -w "$W" \
  $U/a.txt -o o.1 $U/b.txt -o o.2 $U/c.txt -o o.3 $U/d.txt -o o.4 > w.txt
stop; unset SSLKEYLOGFILE
record tls12-parallel
cp "$T/tls12.keys" "$HERE/tls12-parallel.keys.txt"; cp "$T/tls12.pcap" "$HERE/tls12-parallel.pcap"
kill $NGINX; wait $NGINX 2>/dev/null || true

# 3. h2c by prior knowledge (python client): trailers, a ~30 KB response header block
#    (HEADERS + CONTINUATION), a POST echoed back, a plain GET.
$PY "$PEER" serve --port 8081 > ready.txt & SRV=$!; sleep 0.7
capture h2c 8081
$PY "$PEER" client --port 8081 --log "$HERE/h2c-prior-knowledge.client.json" \
  GET:/trailers GET:/big-headers POST:/echo:40000 GET:/plain
stop; wait $SRV || true
cp "$T/h2c.pcap" "$HERE/h2c-prior-knowledge.pcap"

# 4. GOAWAY mid-way: four requests sent at once; the server answers streams 1 and 3, sends
#    GOAWAY (NO_ERROR, last stream 3) and closes: streams 5 and 7 were never processed.
$PY "$PEER" serve --port 8082 --goaway-after 4 > ready.txt & SRV=$!; sleep 0.7
capture goaway 8082
$PY "$PEER" client --port 8082 --log "$HERE/goaway.client.json" GET:/g1 GET:/g2 GET:/g3 GET:/g4
stop; wait $SRV || true
cp "$T/goaway.pcap" "$HERE/goaway.pcap"

# 5. Upgrade: h2c (curl --http2 on http://): the upgrade request becomes stream 1, the second
#    URL goes on the same connection as stream 3.
$PY "$PEER" serve --port 8083 > ready.txt & SRV=$!; sleep 0.7
capture upgrade 8083
curl -s --http2 --trace-ascii trace.txt -w "$W" http://127.0.0.1:8083/up1 -o o.1 \
  http://127.0.0.1:8083/up2 -o o.2 > w.txt
stop; wait $SRV || true
record upgrade-h2c
cp "$T/upgrade.pcap" "$HERE/upgrade-h2c.pcap"

# 6. HTTP_1_1_REQUIRED: the server (TLS, ALPN h2) resets the stream; curl retries the request
#    on a new connection with ALPN http/1.1.
$PY "$PEER" serve --port 8444 --tls ec.crt ec.key --conns 2 > ready.txt & SRV=$!; sleep 0.7
capture h1req 8444
export SSLKEYLOGFILE="$T/h1req.keys"
curl -sk --http2 --trace-ascii trace.txt -w "$W" https://127.0.0.1:8444/h1-required -o o.1 > w.txt
stop; unset SSLKEYLOGFILE; wait $SRV || true
record http11-required
cp "$T/h1req.keys" "$HERE/http11-required.keys.txt"; cp "$T/h1req.pcap" "$HERE/http11-required.pcap"

# 7. A capture that starts mid-connection: h2c, one request after the other, all with the same
#    custom header (the client's HPACK encoder indexes it: later blocks name it by dynamic
#    table index). The copy drops every frame before stream 3's request.
$PY "$PEER" serve --port 8084 > ready.txt & SRV=$!; sleep 0.7
capture mid 8084
$PY "$PEER" client --port 8084 --sequential --header x-session:8c2f7e1a-mid-connection \
  --log "$HERE/mid-connection.client.json" GET:/m1 GET:/m2 GET:/m3 GET:/m4
stop; wait $SRV || true
FIRST=$(tshark -r "$T/mid.pcap" -d tcp.port==8084,http2 -Y 'http2.streamid == 3' -T fields -e frame.number | head -1)
editcap -r "$T/mid.pcap" "$HERE/mid-connection.pcap" "$FIRST-1000000" 2>/dev/null
echo "mid-connection.pcap starts at frame $FIRST of the original" > "$HERE/mid-connection.cut.txt"

rm -rf "$T"
ls -la "$HERE"
