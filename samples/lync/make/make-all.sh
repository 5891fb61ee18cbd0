#!/usr/bin/env bash
# Regenerates every sample in samples/lync/ from scratch:
#   bash samples/lync/make/make-all.sh            (all scenarios)
#   bash samples/lync/make/make-all.sh A B        (some; only their PKI set is built if missing)
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
ALL=$(python3 -c "import sys; sys.path.insert(0,'$HERE'); import scenarios as S; print(' '.join(S.SCENARIOS))")
LETTERS=${*:-$ALL}
# only the PKI sets the requested scenarios use (rebuilding a set changes its certificates)
bash "$HERE/make-pki.sh" $(python3 -c "import sys; sys.path.insert(0,'$HERE'); import scenarios as S; print(' '.join(sorted({S.SCENARIOS[l]['pki'] for l in '$LETTERS'.split()})))")
for L in $LETTERS; do
  unshare -n bash "$HERE/run-scenario.sh" "$L" "$OUT"
done
python3 "$HERE/check.py" "$OUT"
