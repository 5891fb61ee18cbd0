#!/usr/bin/env bash
# Makes the CONNECT-tunnel test captures in this folder: curl → squid (forward proxy on
# 127.0.0.1:3128) → nginx (self-signed certificate, HTTP/1.1 and h2 by ALPN), captured by
# tcpdump on the client–proxy leg only (port 3128), in a private network namespace (loopback
# only; nothing leaves the machine). Not run by CI: the captures are committed. Needs root,
# squid, nginx (with http_v2), curl, openssl, tcpdump. Run: bash make-captures.sh
# Each case NAME gives:
#   NAME.pcap        the client–proxy leg: CONNECT, the proxy's answer, the tunnel's bytes
#   NAME.keys.txt    curl's SSLKEYLOGFILE (the TLS inside the tunnel)
#   NAME.curl.json   curl's own record, one `-w '%{json}'` line per transfer
#   NAME.trace.txt   curl's `--trace-ascii` of the whole run
# Cases:
#   h1-tls12   two HTTP/1.1 GETs on one tunnel, TLS 1.2 (ECDHE-ECDSA-AES128-GCM-SHA256)
#   h1-tls13   one HTTP/1.1 GET (lyncdiscover root, JSON answer), TLS 1.3
#   h2         two h2 streams on one tunnel (ALPN h2), TLS 1.3
#   refused    CONNECT to a name the proxy denies: 403, no tunnel
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
if [ -z "${IN_NETNS:-}" ]; then exec unshare -n env IN_NETNS=1 bash "$0" "$@"; fi
ip link set lo up
T=$(mktemp -d)
chmod 755 "$T"
cd "$T"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ec.key -out ec.crt \
  -days 3650 -subj "/CN=lyncdiscover.contoso.test" \
  -addext "subjectAltName=DNS:lyncdiscover.contoso.test,DNS:blocked.contoso.test" 2>/dev/null
mkdir -p www/Autodiscover/AutodiscoverService.svc
printf '{"_links":{"self":{"href":"https://lyncdiscover.contoso.test/Autodiscover/AutodiscoverService.svc/root?originalDomain=contoso.test"},"user":{"href":"https://lyncweb.contoso.test/Autodiscover/AutodiscoverService.svc/root/oauth/user?originalDomain=contoso.test"},"xframe":{"href":"https://lyncweb.contoso.test/Autodiscover/XFrame/XFrame.html"}}}' \
  > www/Autodiscover/AutodiscoverService.svc/root
printf 'hello through the tunnel\n' > www/hello.txt
head -c 3000 /dev/zero | tr '\0' 'x' > www/3k.txt
cat > hosts <<H
127.0.0.1 lyncdiscover.contoso.test blocked.contoso.test localhost
H
cat > nginx.conf <<N
daemon off;
worker_processes 1;
error_log $T/nginx.err;
pid $T/nginx.pid;
events {}
http {
  access_log off;
  types { application/json root; text/plain txt; }
  default_type application/json;
  server {
    listen 127.0.0.1:443 ssl http2;
    server_name lyncdiscover.contoso.test;
    ssl_certificate $T/ec.crt;
    ssl_certificate_key $T/ec.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    root $T/www;
  }
}
N
cat > squid.conf <<S
http_port 127.0.0.1:3128
acl SSL_ports port 443
acl CONNECT method CONNECT
acl blocked dstdomain blocked.contoso.test
http_access deny blocked
http_access deny CONNECT !SSL_ports
http_access allow localhost
http_access deny all
hosts_file $T/hosts
dns_nameservers 127.0.0.1
cache deny all
cache_mem 8 MB
access_log none
cache_log $T/squid-cache.log
pid_filename $T/squid.pid
coredump_dir $T
cache_effective_user proxy
shutdown_lifetime 0 seconds
S
nginx -p "$T" -c "$T/nginx.conf" & NGX=$!
squid -N -f "$T/squid.conf" 2>"$T/squid.err" & SQ=$!
sleep 2

capture() { # name
  tcpdump -i lo --immediate-mode -w "$T/$1.pcap" -U "tcp port 3128" 2>/dev/null & echo $! > tcpdump.pid; sleep 1; }
stop() { sleep 1.5; kill "$(cat tcpdump.pid)"; wait "$(cat tcpdump.pid)" 2>/dev/null || true; }
run() { # name curl-args...
  local name=$1; shift
  capture "$name"
  SSLKEYLOGFILE="$T/$name.keys.txt" curl -sS -x http://127.0.0.1:3128 --cacert ec.crt \
    --trace-ascii "$T/$name.trace.txt" -w '%{json}\n' -o /dev/null "$@" > "$T/$name.curl.json" || true
  stop
  for f in pcap keys.txt curl.json trace.txt; do [ -f "$T/$name.$f" ] && cp "$T/$name.$f" "$HERE/"; done
}
U=https://lyncdiscover.contoso.test
run h1-tls12 --http1.1 --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-ECDSA-AES128-GCM-SHA256 "$U/hello.txt" -o /dev/null "$U/3k.txt"
run h1-tls13 --http1.1 --tlsv1.3 "$U/Autodiscover/AutodiscoverService.svc/root?originalDomain=contoso.test"
run h2 --http2 --tlsv1.3 "$U/hello.txt" -o /dev/null "$U/3k.txt"
run refused --http1.1 "https://blocked.contoso.test/hello.txt"
kill $SQ $NGX 2>/dev/null || true
wait $SQ $NGX 2>/dev/null || true
[ -n "${KEEP:-}" ] && echo "kept $T" || rm -rf "$T"
echo "made: $(ls "$HERE")"
