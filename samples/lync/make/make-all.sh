#!/usr/bin/env bash
# Regenerates every sample in samples/lync/ from scratch:
#   bash samples/lync/make/make-all.sh            (all scenarios)
#   bash samples/lync/make/make-all.sh A B        (some)
# Needs root (unshare -n, tcpdump, nft) and: python3 >= 3.11 (stdlib only), openssl 3, tcpdump,
# editcap + tshark + capinfos (Wireshark >= 3.6 for --inject-secrets), nft, ip, ethtool, unshare.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(dirname "$HERE")
export PYTHONDONTWRITEBYTECODE=1
[ "$(id -u)" = 0 ] || { echo "make-all.sh: needs root (network namespace, tcpdump, nft)" >&2; exit 1; }
for t in python3 openssl tcpdump editcap tshark capinfos nft ip ethtool unshare; do
  command -v "$t" >/dev/null || { echo "make-all.sh: missing $t" >&2; exit 1; }
done
bash "$HERE/make-pki.sh"
for L in ${*:-A B C D E}; do
  unshare -n bash "$HERE/run-scenario.sh" "$L" "$OUT"
done
python3 "$HERE/check.py" "$OUT"
