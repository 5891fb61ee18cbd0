#!/usr/bin/env bash
# Times lyncscope against tshark, tcpflow and httpry on the big captures of
# ../shared/bench/make-big.sh, in the same run, and checks that lyncscope finds every response.
#   bash bench/compare.sh            # 3 runs each (median)
#   RUNS=1 bash bench/compare.sh     # quicker
#   TOOLS="lyncscope httpry" bash bench/compare.sh   # a subset
# Needs: tshark, tcpflow, httpry, editcap, /usr/bin/time (apt-get install tshark tcpflow httpry
# time), the captures in /tmp/bench-data. The pcapng copy of the HTTP capture is made here.
# The HTTP/2 capture (h2-300m.pcap, the same requests as tls12-300m over h2) is timed when
# bench/make-big-h2.sh has made it.
#
# What each tool does (so the ratios read right):
#   lyncscope  full reconstruction: TCP reassembly, TLS decryption, every body de-chunked,
#              decoded and hashed, stages, the JSON report
#   tshark     -z http,tree: dissects everything, counts HTTP requests and statuses
#   tcpflow    bare TCP reassembly, each flow written to a file (output on /tmp)
#   httpry     request and status lines only, no reassembly
set -euo pipefail
HERE="$(cd "$(dirname "$0")/.." && pwd)"
D=${BENCH_DATA:-/tmp/bench-data}
RUNS=${RUNS:-3}
TOOLS=${TOOLS:-"lyncscope tshark tcpflow httpry"}
OUT=$D/lyncscope-results
mkdir -p "$OUT"
[ -f "$D/http-1g.pcap" ] || { echo "run ../shared/bench/make-big.sh first" >&2; exit 1; }
[ -f "$D/http-1g.pcapng" ] || editcap -F pcapng "$D/http-1g.pcap" "$D/http-1g.pcapng"
cargo build --release --manifest-path "$HERE/Cargo.toml" >/dev/null
BIN=$HERE/target/release/lyncscope
HTTP=$D/http-1g.pcap
NG=$D/http-1g.pcapng
TLS=$D/tls12-300m.pcap
KEYS=$D/tls12-300m.keylog
H2=$D/h2-300m.pcap
H2KEYS=$D/h2-300m.keylog
FLOWS=$OUT/tcpflow
cat "$HTTP" "$NG" "$TLS" > /dev/null # warm the page cache
[ -f "$H2" ] && cat "$H2" > /dev/null

# input | tool | command
CASES=(
  "http|lyncscope|$BIN report $HTTP --format json -q -o $OUT/http.json"
  "http|tshark|tshark -r $HTTP -q -z http,tree > $OUT/tshark-http.txt"
  "http|tcpflow|rm -rf $FLOWS && mkdir -p $FLOWS && tcpflow -r $HTTP -o $FLOWS 2>/dev/null"
  "http|httpry|httpry -q -r $HTTP -o $OUT/httpry-http.txt"
  "pcapng|lyncscope|$BIN report $NG --format json -q -o $OUT/pcapng.json"
  "pcapng|tshark|tshark -r $NG -q -z http,tree > $OUT/tshark-pcapng.txt"
  "pcapng|tcpflow|rm -rf $FLOWS && mkdir -p $FLOWS && tcpflow -r $NG -o $FLOWS 2>/dev/null"
  "pcapng|httpry|httpry -q -r $NG -o $OUT/httpry-pcapng.txt"
)
if [ "${WITH_TLS:-1}" = 1 ] && [ -f "$TLS" ]; then
  CASES+=(
    "tls|lyncscope|$BIN report $TLS --keylog $KEYS --format json -q -o $OUT/tls.json"
    "tls|tshark|tshark -r $TLS -o tls.keylog_file:$KEYS -q -z http,tree > $OUT/tshark-tls.txt"
    "tls|tcpflow|rm -rf $FLOWS && mkdir -p $FLOWS && tcpflow -r $TLS -o $FLOWS 2>/dev/null"
  )
fi
if [ "${WITH_TLS:-1}" = 1 ] && [ -f "$H2" ]; then
  CASES+=(
    "h2|lyncscope|$BIN report $H2 --keylog $H2KEYS --format json -q -o $OUT/h2.json"
    "h2|tshark|tshark -r $H2 -o tls.keylog_file:$H2KEYS -q -z http2,tree > $OUT/tshark-h2.txt"
    "h2|tcpflow|rm -rf $FLOWS && mkdir -p $FLOWS && tcpflow -r $H2 -o $FLOWS 2>/dev/null"
  )
fi
# Rounds outside: each round runs every case once, tool by tool (lyncscope's runs of the four
# captures back to back), so a stretch of load on a shared host slows one run of every case
# rather than every run of one case.
for c in "${CASES[@]}"; do
  IFS='|' read -r input tool cmd <<< "$c"
  case " $TOOLS " in *" $tool "*) rm -f "$OUT/$input-$tool".*.time "$OUT/$input-$tool".*.us ;; esac
done
for i in $(seq 1 "$RUNS"); do
  for t in lyncscope tshark tcpflow httpry; do
    for c in "${CASES[@]}"; do
      IFS='|' read -r input tool cmd <<< "$c"
      [ "$tool" = "$t" ] || continue
      case " $TOOLS " in *" $tool "*) ;; *) continue ;; esac
      # Wall time to the microsecond beside /usr/bin/time's (10 ms steps: 2% of a 0.5 s run).
      s0=$(date +%s%N)
      /usr/bin/time -v -o "$OUT/$input-$tool.$i.time" bash -c "$cmd"
      echo $(( ($(date +%s%N) - s0) / 1000 )) > "$OUT/$input-$tool.$i.us"
    done
  done
done
rm -rf "$FLOWS"

python3 - "$OUT" "$RUNS" "$D" <<'PY'
import json, re, statistics, sys, os
out, runs, d = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def t(name):
    walls, rss = [], 0
    for i in range(1, runs + 1):
        p = f"{out}/{name}.{i}.time"
        if not os.path.exists(p): return None
        s = open(p).read()
        walls.append(wall(f"{out}/{name}.{i}"))
        rss = max(rss, int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", s).group(1)))
    return statistics.median(walls), rss / 1024
def wall(base):
    """Seconds: the microsecond count when there is one, else /usr/bin/time's."""
    if os.path.exists(base + ".us"):
        return int(open(base + ".us").read()) / 1e6
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)",
                  open(base + ".time").read())
    return int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
def counts(path):
    try: r = json.load(open(path))
    except Exception: return None
    ex = r["exchanges"]
    return (len(ex), sum(1 for e in ex if e["request"]), sum(1 for e in ex if e["response"]))
inputs = (("http", "http-1g.pcap", "http-1g.batches"), ("pcapng", "http-1g.pcapng", "http-1g.batches"),
          ("tls", "tls12-300m.pcap", "tls12-300m.batches"), ("h2", "h2-300m.pcap", "h2-300m.batches"))
per_mb = {}
for name, f, batches in inputs:
    ours = t(f"{name}-lyncscope")
    if not ours: continue
    size = os.path.getsize(f"{d}/{f}")
    want = int(open(f"{d}/{batches}").read()) * 500
    c = counts(f"{out}/{name}.json")
    print(f"{f}: {size/1e6:.0f} MB, client made {want} requests; lyncscope found (exchanges, requests, responses) {c}")
    print(f"  {'tool':<10} {'wall s':>7} {'peak MiB':>9} {'its time / ours':>16}")
    for tool in ("lyncscope", "tshark", "tcpflow", "httpry"):
        r = t(f"{name}-{tool}")
        if not r: continue
        print(f"  {tool:<10} {r[0]:>7.3f} {r[1]:>9.0f} {r[0]/ours[0]:>15.2f}x")
    per_mb[name] = ours[0] / (size / 1e6)
    print(f"  lyncscope: {1000 * per_mb[name]:.2f} ms per MB")
    print(f"  peak RSS budget for lyncscope (64 MiB + 1 KiB per exchange): {64 + (c[0] if c else 0)/1024:.0f} MiB")
def walls(name):
    return [wall(f"{out_dir}/{name}.{i}") for i in range(1, runs + 1)]
out_dir = out
if "h2" in per_mb and "tls" in per_mb:
    print(f"HTTP/2 over TLS per byte vs HTTP/1.1 over TLS: {per_mb['h2'] / per_mb['tls']:.3f}x the time (at most 1.00x is the goal)")
    sizes = {n: os.path.getsize(f"{d}/{f}") for n, f, _ in inputs if n in ("h2", "tls")}
    pairs = sorted((h / sizes["h2"]) / (t / sizes["tls"]) for h, t in zip(walls("h2-lyncscope"), walls("tls-lyncscope")))
    print(f"  the same, round by round (each round runs both): median {statistics.median(pairs):.3f}x of {', '.join(f'{r:.3f}' for r in pairs)}")
print(f"(median wall time of {runs} runs each, all in this run)")
PY
