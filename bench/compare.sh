#!/usr/bin/env bash
# Times lyncscope against tshark on the big captures of ../shared/bench/make-big.sh, in the
# same run, and checks that lyncscope finds every response.
#   bash bench/compare.sh            # 3 runs each (median)
#   RUNS=1 bash bench/compare.sh     # quicker
# Needs: tshark, /usr/bin/time (apt-get install tshark time), the captures in /tmp/bench-data.
set -euo pipefail
HERE="$(cd "$(dirname "$0")/.." && pwd)"
D=${BENCH_DATA:-/tmp/bench-data}
RUNS=${RUNS:-3}
OUT=$D/lyncscope-results
mkdir -p "$OUT"
[ -f "$D/http-1g.pcap" ] || { echo "run ../shared/bench/make-big.sh first" >&2; exit 1; }
cargo build --release --manifest-path "$HERE/Cargo.toml" >/dev/null
BIN=$HERE/target/release/lyncscope
cat "$D/http-1g.pcap" "$D/tls12-300m.pcap" > /dev/null   # warm the page cache

CASES=(
  "lyncscope-http|$D/http-1g.pcap|$BIN report $D/http-1g.pcap --format json -q -o $OUT/http.json"
  "tshark-http|$D/http-1g.pcap|tshark -r $D/http-1g.pcap -q -z http,tree > $OUT/tshark-http.txt"
)
if [ "${WITH_TLS:-1}" = 1 ] && [ -f "$D/tls12-300m.pcap" ]; then
  CASES+=(
    "lyncscope-tls|$D/tls12-300m.pcap|$BIN report $D/tls12-300m.pcap --keylog $D/tls12-300m.keylog --format json -q -o $OUT/tls.json"
    "tshark-tls|$D/tls12-300m.pcap|tshark -r $D/tls12-300m.pcap -o tls.keylog_file:$D/tls12-300m.keylog -q -z http,tree > $OUT/tshark-tls.txt"
  )
fi
for c in "${CASES[@]}"; do
  IFS='|' read -r name input cmd <<< "$c"
  for i in $(seq 1 "$RUNS"); do
    /usr/bin/time -v -o "$OUT/$name.$i.time" bash -c "$cmd"
  done
done

python3 - "$OUT" "$RUNS" "$D" <<'PY'
import json, re, statistics, sys, os
out, runs, d = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def t(name):
    walls, rss = [], 0
    for i in range(1, runs + 1):
        p = f"{out}/{name}.{i}.time"
        if not os.path.exists(p): return None
        s = open(p).read()
        m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", s)
        walls.append(int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3)))
        rss = max(rss, int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", s).group(1)))
    return statistics.median(walls), rss / 1024
def counts(path):
    try: r = json.load(open(path))
    except Exception: return None
    ex = r["exchanges"]
    return sum(1 for e in ex if e["request"]), sum(1 for e in ex if e["response"]), sum(1 for e in ex if e["response"] and e["response"]["status"] == 200)
for kind, pcap, batches in (("http", "http-1g.pcap", "http-1g.batches"), ("tls", "tls12-300m.pcap", "tls12-300m.batches")):
    ours, theirs = t(f"lyncscope-{kind}"), t(f"tshark-{kind}")
    if not ours or not theirs: continue
    size = os.path.getsize(f"{d}/{pcap}")
    want = int(open(f"{d}/{batches}").read()) * 500
    c = counts(f"{out}/{kind}.json")
    print(f"{kind}: {size/1e6:.0f} MB, client made {want} requests")
    print(f"  lyncscope: {ours[0]:.2f} s median wall, peak RSS {ours[1]:.0f} MiB, {size/1e6/ours[0]:.0f} MB/s; requests/responses/200s found {c}")
    print(f"  tshark   : {theirs[0]:.2f} s median wall, peak RSS {theirs[1]:.0f} MiB")
    print(f"  speed-up : {theirs[0]/ours[0]:.1f}x (median of {runs} runs each, same run)")
PY
