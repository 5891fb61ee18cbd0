#!/bin/bash
# Makes the HTTP/2 bench capture in /tmp/bench-data (not kept in the repo):
#   h2-300m.pcap  ~300 MB HTTP/2 over TLS 1.2 (ECDHE-RSA-AES128-GCM-SHA256, ALPN h2), nginx +
#                 curl --http2 --parallel (transfers multiplexed on a connection), + h2-300m.keylog
# The same server content, request batches, cipher and network set-up as the HTTP/1.1 TLS
# capture of ../shared/bench/make-big.sh (run that first: it writes the content and batches),
# so that the two reconstruct comparable bytes.
# Runs in a private network namespace (loopback MTU 1500, TSO/GSO/GRO off: Ethernet-sized frames).
# Needs: root, nginx (with http2), curl (with nghttp2), tcpdump, ethtool.
set -euo pipefail
D=/tmp/bench-data
TARGET=${TARGET:-300000000}
if [ -z "${BENCH_IN_NETNS:-}" ]; then
  exec unshare -n env BENCH_IN_NETNS=1 bash "$0" "$@"
fi
[ -d "$D/www" ] && [ -d "$D/batches" ] || { echo "run ../shared/bench/make-big.sh first" >&2; exit 1; }
ip link set lo up
ip link set lo mtu 1500
ethtool -K lo tso off gso off gro off >/dev/null
cd "$D"
[ -f "$D/server.key" ] || openssl req -x509 -newkey rsa:2048 -nodes -keyout "$D/server.key" -out "$D/server.crt" \
  -days 3650 -subj "/CN=bench.test" -addext "subjectAltName=DNS:bench.test" 2>/dev/null
cat > nginx-h2.conf <<NGINXCONF
daemon off;
master_process off;
worker_processes 1;
error_log $D/nginx-h2-error.log;
pid $D/nginx-h2.pid;
events { worker_connections 1024; }
http {
  include /etc/nginx/mime.types;
  access_log off;
  client_body_temp_path $D/t_body; proxy_temp_path $D/t_proxy; fastcgi_temp_path $D/t_fcgi; uwsgi_temp_path $D/t_uwsgi; scgi_temp_path $D/t_scgi;
  keepalive_requests 100000; keepalive_timeout 60s;
  gzip on; gzip_types text/plain application/json; gzip_min_length 256;
  server { listen 127.0.0.1:443 ssl http2; root $D/www;
           ssl_certificate $D/server.crt; ssl_certificate_key $D/server.key;
           ssl_protocols TLSv1.2; ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256; ssl_session_cache off; ssl_session_tickets off; }
}
NGINXCONF
nginx -p "$D" -c "$D/nginx-h2.conf" & NGINX_PID=$!
trap 'kill $NGINX_PID 2>/dev/null || true' EXIT
for i in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/443) 2>/dev/null && break; sleep 0.1; done

pcap="$D/h2-300m.pcap" keylog="$D/h2-300m.keylog"
rm -f "$pcap" "$keylog"
tcpdump -i lo -s 0 -n -B 524288 -w "$pcap" "tcp port 443" 2> "$D/h2-300m.tcpdump.log" & TP=$!
for i in $(seq 1 100); do grep -q "listening on" "$D/h2-300m.tcpdump.log" && break; sleep 0.1; done
b=0 t0=$(date +%s)
while [ $b -lt 400 ]; do
  ae=()
  if [ $((b % 2)) -eq 1 ]; then ae=(-H "Accept-Encoding: gzip"); fi   # odd batches ask for gzip
  sed "s#HOSTPART#https://bench.test#" "$D/batches/$b.cfg" > "$D/cur-h2.cfg"
  # Two processes of 250 each: two connections, each carrying up to 6 streams at a time.
  SSLKEYLOGFILE="$keylog" curl -sS --no-progress-meter --http2 -k --resolve "bench.test:443:127.0.0.1" \
    --parallel --parallel-max 6 "${ae[@]}" -K <(head -n 500 "$D/cur-h2.cfg") & C1=$!
  SSLKEYLOGFILE="$keylog" curl -sS --no-progress-meter --http2 -k --resolve "bench.test:443:127.0.0.1" \
    --parallel --parallel-max 6 "${ae[@]}" -K <(tail -n +501 "$D/cur-h2.cfg")
  wait $C1
  b=$((b + 1))
  if [ "$(stat -c %s "$pcap")" -ge "$TARGET" ]; then break; fi
done
sleep 2; kill -INT $TP; wait $TP || true
echo "h2-300m: $b batches x 500 requests in $(( $(date +%s) - t0 )) s"
grep packets "$D/h2-300m.tcpdump.log"
echo "$b" > "$D/h2-300m.batches"
ls -la "$pcap"
kill $NGINX_PID; wait $NGINX_PID 2>/dev/null || true
trap - EXIT
