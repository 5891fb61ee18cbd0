#!/usr/bin/env bash
# Runs ONE scenario inside a private network namespace (call it via `unshare -n`): only `lo` is
# up, MTU 1500 and no segmentation offloads (so frames look like Ethernet), the loopback stand-ins
# of the realistic addresses, nft SYN drops where the scenario has a silent firewall, the mock
# topology, tcpdump on lo, and the mock client. Then rewrites addresses/MACs/times and embeds the
# key log (pcapng DSB).   usage: unshare -n bash run-scenario.sh <A..K> <outdir>
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1
L=$1; OUT=$(realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
NAME=$(python3 -c "import sys; sys.path.insert(0,'$HERE'); import scenarios as S; print(S.SCENARIOS['$L']['name'])")
WORK=$(mktemp -d /tmp/lync-$L.XXXXXX)
echo "== scenario $L ($NAME), work dir $WORK"

ip link set lo up
ip link set lo mtu 1500
# exponential SYN back-off (1, 3, 7, 15 s) as in the document, not the linear first retries of Linux >= 6.5
sysctl -qw net.ipv4.tcp_syn_linear_timeouts=0 2>/dev/null || true
ethtool -K lo tso off gso off gro off >/dev/null 2>&1 || echo "warning: could not disable offloads on lo"
for a in $(python3 -c "import sys; sys.path.insert(0,'$HERE'); import scenarios as S; print(' '.join(S.LO_TO_REAL))"); do
  ip addr add "$a/32" dev lo
done
DROPS=$(python3 -c "import sys; sys.path.insert(0,'$HERE'); import scenarios as S; print(' '.join('%s:%d' % (S.lo(i), p) for i, p in S.SYN_DROPS['$L']))")
if [ -n "$DROPS" ]; then
  nft add table inet lync
  nft add chain inet lync input '{ type filter hook input priority 0; }'
  for d in $DROPS; do
    nft add rule inet lync input ip daddr "${d%:*}" tcp dport "${d#*:}" 'tcp flags & (syn|ack) == syn' drop
  done
fi

rm -f "$OUT/$NAME.done"
PY=python3; [ "$L" = M ] && PY=/usr/bin/python3  # M: python3-h2 (Debian) for the h2 proxy and client
$PY "$HERE/lync_topology.py" "$L" "$WORK/ready" 2>"$WORK/topology.log" &
TOPO=$!
for _ in $(seq 100); do [ -f "$WORK/ready" ] && break; sleep 0.1; done
tcpdump -i lo -nn --immediate-mode -s 0 -w "$WORK/raw.pcap" 2>"$WORK/tcpdump.log" &
TCPDUMP=$!
sleep 1
$PY "$HERE/mobile_client.py" "$L" "$OUT" 2>"$WORK/client.log" &
CLIENT=$!
while [ ! -f "$OUT/$NAME.done" ]; do
  if ! kill -0 $CLIENT 2>/dev/null; then echo "client died:"; cat "$WORK/client.log"; kill $TOPO $TCPDUMP; exit 1; fi
  sleep 0.2
done
sleep 1
kill -INT $TCPDUMP; wait $TCPDUMP || true
kill $CLIENT $TOPO; wait $CLIENT $TOPO 2>/dev/null || true
cat "$OUT/$NAME.done"; rm -f "$OUT/$NAME.done"
grep -q "DESIGN MISMATCH" "$WORK/client.log" && { grep "DESIGN MISMATCH" "$WORK/client.log"; exit 1; }

python3 "$HERE/rewrite.py" "$L" "$WORK/raw.pcap" "$WORK/rewritten.pcap"
if grep -qv "^#" "$OUT/$NAME.keylog.txt" 2>/dev/null; then
  editcap -F pcapng --inject-secrets "tls,$OUT/$NAME.keylog.txt" "$WORK/rewritten.pcap" "$OUT/$NAME.pcapng"
else  # no handshake got as far as a master secret (H): nothing to embed, no key log file
  rm -f "$OUT/$NAME.keylog.txt"
  editcap -F pcapng "$WORK/rewritten.pcap" "$OUT/$NAME.pcapng"
fi
ls -l "$OUT/$NAME".*
mkdir -p /tmp/lync-logs; for f in topology client tcpdump; do cp "$WORK/$f.log" "/tmp/lync-logs/$L-$f.log"; done
rm -rf "$WORK"
