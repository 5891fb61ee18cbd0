#!/usr/bin/env bash
# Makes the TLS test captures in this folder with real OpenSSL peers, captured by tcpdump in a
# private network namespace (loopback only; nothing leaves the machine). Not run by CI: the
# captures are committed. Needs root, openssl, tcpdump. Run: bash make-captures.sh
#   resume-partial-keylog.pcap + .keys.txt : TLS 1.2 ECDHE, a full handshake then two resumed
#       connections (session ID, then session ticket); the key log holds ONLY the first
#       connection's CLIENT_RANDOM, as when logging was switched on for one connection.
#   hrr.pcap + hrr.keys.txt : TLS 1.3 where the client's first key share (X25519) is refused by
#       the server (P-256 only): HelloRetryRequest, a second ClientHello, then HTTP.
#   rsa-kx.pcap : TLS 1.2 TLS_RSA_WITH_AES_128_GCM_SHA256 with the test key ../keys (made by
#       ../keys/make-fixtures.sh), decrypted by the RSA key alone.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
if [ -z "${IN_NETNS:-}" ]; then exec unshare -n env IN_NETNS=1 bash "$0" "$@"; fi
ip link set lo up
T=$(mktemp -d)
cd "$T"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ec.key -out ec.crt \
  -days 3650 -subj "/CN=lyncdiscover.contoso.test" 2>/dev/null

capture() { # name port
  tcpdump -i lo --immediate-mode -w "$T/$1.pcap" -U "tcp port $2" 2>/dev/null & echo $! > tcpdump.pid; sleep 1; }
stop() { sleep 1.5; kill "$(cat tcpdump.pid)"; wait "$(cat tcpdump.pid)" 2>/dev/null || true; }
req() { printf 'GET /%s HTTP/1.1\r\nHost: lyncdiscover.contoso.test\r\nConnection: close\r\n\r\n' "$1"; sleep 0.3; }

# 1. TLS 1.2 resumption by session ID and by ticket, partial key log.
openssl s_server -accept 4431 -cert ec.crt -key ec.key -www -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256 >/dev/null 2>&1 &
SRV=$!; sleep 0.5; capture resume 4431
req first | openssl s_client -connect 127.0.0.1:4431 -tls1_2 -no_ticket -sess_out s1 -keylogfile k1 -quiet >/dev/null 2>&1 || true
req by-session-id | openssl s_client -connect 127.0.0.1:4431 -tls1_2 -no_ticket -sess_in s1 -quiet >/dev/null 2>&1 || true
req with-ticket-first | openssl s_client -connect 127.0.0.1:4431 -tls1_2 -sess_out s2 -keylogfile k2 -quiet >/dev/null 2>&1 || true
req by-ticket | openssl s_client -connect 127.0.0.1:4431 -tls1_2 -sess_in s2 -quiet >/dev/null 2>&1 || true
stop; kill $SRV
cat k1 k2 > "$HERE/resume-partial-keylog.keys.txt"
cp "$T/resume.pcap" "$HERE/resume-partial-keylog.pcap"

# 2. HelloRetryRequest.
openssl s_server -accept 4432 -cert ec.crt -key ec.key -www -tls1_3 -groups P-256 >/dev/null 2>&1 &
SRV=$!; sleep 0.5; capture hrr 4432
req after-hrr | openssl s_client -connect 127.0.0.1:4432 -tls1_3 -groups X25519:P-256 -keylogfile khrr -quiet >/dev/null 2>&1 || true
stop; kill $SRV
cp khrr "$HERE/hrr.keys.txt"; cp "$T/hrr.pcap" "$HERE/hrr.pcap"

# 3. Static RSA key exchange with the test RSA key.
K="$HERE/../keys"
openssl s_server -accept 4433 -cert "$K/cert.pem" -key "$K/rsa2048.pkcs1.pem" -www -tls1_2 -cipher AES128-GCM-SHA256 >/dev/null 2>&1 &
SRV=$!; sleep 0.5; capture rsa 4433
req rsa | openssl s_client -connect 127.0.0.1:4433 -tls1_2 -cipher AES128-GCM-SHA256 -quiet >/dev/null 2>&1 || true
stop; kill $SRV
cp "$T/rsa.pcap" "$HERE/rsa-kx.pcap"
rm -rf "$T"
echo "made: $(ls "$HERE")"
