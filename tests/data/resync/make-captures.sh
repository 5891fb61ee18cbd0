#!/usr/bin/env bash
# Makes the resync test captures in this folder with real peers (peers.py: Python's http.server
# and http.client), captured by tcpdump in a private network namespace (loopback only, MTU 1500,
# no segmentation offloads, so frames look like Ethernet ones). Not run by CI: the captures and the
# clients' records are committed. Needs root, python3, tcpdump, ip, ethtool. Run: bash make-captures.sh
#   mid-body.pcap + mid-body.client.json : port 80. The client downloads a 1 MiB text log
#       (rate-limited) on a keep-alive connection; tcpdump is started while the download runs, when
#       48 KiB of it are still to come (the server waits at that point until the capture runs, so
#       the capture stays small); then the client sends two more requests on the same connection.
#       The capture starts in the middle of the body: no handshake, no head of the first exchange.
#   snaplen-200.pcap + snaplen-200.client.json : port 8080, `tcpdump -s 200` (every frame cut to
#       200 bytes, 134 of them TCP payload): five requests on one keep-alive connection, one a POST
#       whose head crosses the cut; the response heads are longer than the cut as well.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
if [ -z "${IN_NETNS:-}" ]; then exec unshare -n env IN_NETNS=1 bash "$0" "$@"; fi
export PYTHONDONTWRITEBYTECODE=1
ip link set lo up
ip link set lo mtu 1500
ethtool -K lo tso off gso off gro off >/dev/null 2>&1 || echo "warning: could not disable offloads on lo"
T=$(mktemp -d)
PEERS="$HERE/peers.py"

python3 "$PEERS" server 80 "$T" & SRV80=$!
python3 "$PEERS" server 8080 "$T" & SRV8080=$!
sleep 0.5

# 1. The capture starts in the middle of a download.
python3 "$PEERS" download 80 "$T" & CLIENT=$!
while [ ! -f "$T/paused" ]; do sleep 0.05; done
tcpdump -i lo -nn --immediate-mode -s 0 -w "$T/mid-body.pcap" "tcp port 80" 2>"$T/tcpdump1.log" & TD=$!
sleep 1
touch "$T/capturing"
wait $CLIENT
sleep 0.5; kill -INT $TD; wait $TD || true

# 2. Every frame cut to 200 bytes.
tcpdump -i lo -nn --immediate-mode -s 200 -w "$T/snaplen-200.pcap" "tcp port 8080" 2>"$T/tcpdump2.log" & TD=$!
sleep 1
python3 "$PEERS" snaplen 8080 "$T"
sleep 0.5; kill -INT $TD; wait $TD || true

kill $SRV80 $SRV8080; wait $SRV80 $SRV8080 2>/dev/null || true
cp "$T"/mid-body.pcap "$T"/mid-body.client.json "$T"/snaplen-200.pcap "$T"/snaplen-200.client.json "$HERE/"
rm -rf "$T"
ls -l "$HERE"
