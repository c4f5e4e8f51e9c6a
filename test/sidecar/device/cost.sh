#!/usr/bin/env bash
# CPU cost of the sidecar against the real nvidia-smi: 1 s period, default -q -x every 30 s, 60 s measured.
set -u
D=.bench/device  # bundle and node.gz, see test/sidecar/device/README.md
gzip -dc $D/node.gz > /tmp/node && chmod +x /tmp/node
/tmp/node $D/sidecar.mjs sidecar --port 19835 --period 1000 --samples-file /tmp/samples.jsonl 2> /tmp/sidecar.stderr &
SC=$!
/tmp/node -e 'setInterval(() => {}, 1000)' &
BASE=$!
sleep 6
NV=$(pgrep -P $SC nvidia-smi | head -1)
ticks() { awk '{print $14+$15}' /proc/$1/stat; }
# cutime + cstime: CPU of reaped children (the one-shot identity and -q -x queries).
cticks() { awk '{print $16+$17}' /proc/$1/stat; }
S0=$(ticks $SC); B0=$(ticks $BASE); N0=$(ticks $NV); C0=$(cticks $SC); T0=$(date +%s.%N)
for i in 1 2 3 4; do sleep 15; curl -s localhost:19835/metrics > /tmp/metrics.txt; done
S1=$(ticks $SC); B1=$(ticks $BASE); N1=$(ticks $NV); C1=$(cticks $SC); T1=$(date +%s.%N)
python3 - "$S0" "$S1" "$B0" "$B1" "$N0" "$N1" "$C0" "$C1" "$T0" "$T1" <<'PY'
import sys
s0,s1,b0,b1,n0,n1,c0,c1=map(int,sys.argv[1:9]); t=float(sys.argv[10])-float(sys.argv[9])
pct=lambda a,b:(b-a)/100/t*100
print(f"measured {t:.1f} s: sidecar {pct(s0,s1):.2f} %, idle node {pct(b0,b1):.2f} %, sidecar-baseline {pct(s0,s1)-pct(b0,b1):.2f} %, nvidia-smi -lms 1000 child {pct(n0,n1):.2f} %, one-shot queries {pct(c0,c1):.2f} % of one core")
PY
grep -E '^(gpu_sidecar_collect|gpu_sidecar_sample)' /tmp/metrics.txt
grep -c . /tmp/samples.jsonl
grep 'VmRSS' /proc/$SC/status
kill $SC $BASE; wait $SC
cat /tmp/sidecar.stderr
pgrep -a nvidia-smi || echo "no nvidia-smi left"
